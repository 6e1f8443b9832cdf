/**
 * Kernel files that describe the host rather than the sandbox, masked in every driver's /proc and
 * /sys: a file reads as nothing (or is refused), a directory lists empty. Docker's and runc's default
 * masked paths are the starting point; the rest are files any process may read that name the host's
 * boot options, kernel build and symbols, modules, hardware, disks or other users' timers and keys.
 * The fresh procfs of a sandbox is the host kernel's procfs: its pid entries are the sandbox's own,
 * but these global files are the host's.
 */

export const maskedProcPaths = [
  // Boot command line: can hold secrets (credentials of network boots, root= devices), always
  // names the host.
  '/proc/cmdline',
  // Kernel symbol names, configuration and loaded modules: a map for kernel exploits (addresses
  // are zeroed for unprivileged readers, names are not).
  '/proc/kallsyms',
  '/proc/modules',
  '/proc/config.gz',
  // Keyrings and per-user key counts, which name the host's users.
  '/proc/keys',
  '/proc/key-users',
  // Other processes of the host by name and pid, and timing and interrupt side channels.
  '/proc/sched_debug',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/latency_stats',
  '/proc/interrupts',
  // Physical memory and its page state.
  '/proc/kcore',
  '/proc/kpagecount',
  '/proc/kpageflags',
  '/proc/kpagecgroup',
  '/proc/vmallocinfo',
  // Host hardware.
  '/proc/acpi',
  '/proc/asound',
  '/proc/scsi',
  // Triggers host-wide actions (sync, reboot, OOM kill) for whoever may write it.
  '/proc/sysrq-trigger',
] as const;

/**
 * /sys entries that describe the host. bwrap and gVisor sandboxes have no host sysfs at all (bwrap
 * mounts none; gVisor's is its own); Docker mounts the host's read-only, so these are masked there.
 */
export const maskedSysPaths = [
  // Kernel build id (/sys/kernel/notes), tracing, security modules, debug and memory-management knobs.
  '/sys/kernel',
  '/sys/module',
  '/sys/firmware',
  // CPU energy counters (PLATYPUS, CVE-2020-8694/8695) and board identity.
  '/sys/devices/virtual/powercap',
  '/sys/devices/virtual/dmi',
  '/sys/class/dmi',
] as const;
