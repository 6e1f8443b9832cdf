/*
 * Raw system calls and clone.
 *
 * Processes made with clone(CLONE_VM) share memory with their parent, thread-local storage included,
 * and with it libc's errno: a libc wrapper that fails in one of them writes the errno the other is
 * about to read. Code that runs in such a process after the clone therefore calls the kernel through
 * raw_syscall(), which returns -errno and touches no memory but its arguments, and uses no allocator,
 * stdio or lock. launch_clone() (clone.c) makes such a process and runs a function in it on a given
 * stack.
 */
#ifndef AIRLOCK_RAW_SYSCALL_H
#define AIRLOCK_RAW_SYSCALL_H

#if defined(__x86_64__)
static inline long raw_syscall(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
static inline long raw_syscall(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
}

#else
#error "airlock-helper starts commands with raw clone(2): add this architecture's syscall and clone stubs"
#endif

/* The child runs fn(arg) on stack_top and exits with its result; returns the child's pid or -errno
 * (never touches errno). Like musl's __clone, without the tid/tls arguments. */
long launch_clone(int (*fn)(void *), void *stack_top, unsigned long flags, void *arg);

#define sys0(n) raw_syscall((n), 0, 0, 0, 0, 0, 0)
#define sys1(n, a) raw_syscall((n), (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) raw_syscall((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) raw_syscall((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) raw_syscall((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(n, a, b, c, d, e) raw_syscall((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

#define GUARD_BYTES 4096

#endif
