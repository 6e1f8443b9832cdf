#!/usr/bin/env bash
# Sets Airlock up on a Debian/Ubuntu machine: the system packages the sandbox drivers and the tests
# need (installed only when missing), the Node dependencies (which also build the native sandbox helper), and, as
# root, a running Docker daemon with gVisor registered and the Docker driver's base image.
# Idempotent: safe to run again; each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo)
else
  as_root=()
fi
export DEBIAN_FRONTEND=noninteractive
codename="$( (. /etc/os-release && echo "${VERSION_CODENAME:-}") 2>/dev/null || true)"

# The URI of the first apt source that serves suite $1 (one-line .list or deb822 .sources format).
debian_mirror() {
  local files=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  awk -v suite="$1" '
    FILENAME ~ /\.list$/ && $1 == "deb" {
      i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      if ($(i + 1) == suite) { print $i; exit }
    }
    FILENAME ~ /\.sources$/ {
      if ($0 ~ /^[ \t]*$/) { uris = ""; suites = ""; types = ""; next }
      if (tolower($1) == "types:") types = $0 " "
      if (tolower($1) == "uris:") uris = $2
      if (tolower($1) == "suites:") suites = $0 " "
      if (uris != "" && types ~ / deb / && suites ~ (" " suite " ")) { print uris; exit }
    }' "${files[@]}"
}

need_apt=()
command -v bwrap >/dev/null || need_apt+=(bubblewrap)
command -v cc >/dev/null || need_apt+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] || need_apt+=(libc6-dev)
# The fuzz test of the helper's frame parser (test/fuzz): clang with its libFuzzer runtime.
command -v clang >/dev/null || need_apt+=(clang)
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 || need_apt+=(libclang-rt-dev)
# Tools the containment tests run inside the sandbox (the host's /usr is the sandbox's image).
[ -x /usr/bin/perl ] || need_apt+=(perl)
[ -x /usr/bin/python3 ] || need_apt+=(python3)
[ -x /usr/bin/pkill ] || need_apt+=(procps)
# The PostgreSQL store and the cluster tests: each suite starts a throw-away server of its own with
# initdb (never the system one), so only the binaries are needed.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || need_apt+=(postgresql)
# The dashboard's browser tests (test/dashboard) and `npm run screenshots`: headless Chromium,
# driven by playwright-core, which downloads no browser of its own.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# The Docker driver: the daemon, and debootstrap for its base image (`airlock image build`).
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)

# The gVisor driver. Debian 12's own runsc (2022) rejects statx flags that Debian 12's coreutils use
# (`ls -l` fails inside it) and has no systrap platform; bookworm-backports carries a 2024 release.
runsc_from_backports=false
if [ "$codename" = bookworm ]; then
  if ! command -v runsc >/dev/null || runsc --version 2>/dev/null | grep -q '0.0~2022'; then
    runsc_from_backports=true
  fi
elif ! command -v runsc >/dev/null; then
  need_apt+=(runsc)
fi

if [ ${#need_apt[@]} -gt 0 ] || [ "$runsc_from_backports" = true ]; then
  if [ "$(id -u)" -ne 0 ] && [ ${#as_root[@]} -eq 0 ]; then
    echo "airlock setup: please install as root: apt-get install ${need_apt[*]} runsc" >&2
    exit 1
  fi
  backports=/etc/apt/sources.list.d/airlock-bookworm-backports.sources
  if [ "$runsc_from_backports" = true ] && [ ! -f "$backports" ]; then
    # Backports come from the mirror this machine already uses for bookworm (a private mirror or a
    # proxy on many hosts), never from a host name written here.
    mirror=$(debian_mirror bookworm)
    if [ -z "$mirror" ]; then
      echo "airlock setup: no apt source for bookworm found to take bookworm-backports from; add bookworm-backports to your apt sources and run this again" >&2
      exit 1
    fi
    printf '%s\n' 'Types: deb' "URIs: $mirror" 'Suites: bookworm-backports' \
      'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
      "${as_root[@]}" tee "$backports" >/dev/null
  fi
  "${as_root[@]}" apt-get update -qq
  if [ ${#need_apt[@]} -gt 0 ]; then
    "${as_root[@]}" apt-get install -y -qq "${need_apt[@]}"
  fi
  if [ "$runsc_from_backports" = true ]; then
    "${as_root[@]}" apt-get install -y -qq -t bookworm-backports runsc
  fi
fi

npm ci --no-audit --no-fund

# Each session runs as a host uid (and gid) of its own from sandbox.uidRange, by default
# 200000-299999: reserved here as the subordinate ids of a system user `airlock`, which has no login
# and no home, so that no other account or subordinate range is given them later.
if [ "$(id -u)" -eq 0 ] || [ ${#as_root[@]} -gt 0 ]; then
  if ! getent passwd airlock >/dev/null; then
    "${as_root[@]}" useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin airlock
  fi
  for ids in /etc/subuid /etc/subgid; do
    if ! grep -qs '^airlock:' "$ids"; then
      echo 'airlock:200000:100000' | "${as_root[@]}" tee -a "$ids" >/dev/null
    fi
  done
fi

# Docker: gVisor registered as runtime `runsc` (with --network=none: Airlock's containers have no
# network, and runsc refuses Docker's "none" namespace otherwise), the daemon running, the base
# image built once (its tag is a hash of its recipe, so this is a no-op when it exists).
if [ "$(id -u)" -eq 0 ] || [ ${#as_root[@]} -gt 0 ]; then
  daemon_json=/etc/docker/daemon.json
  if command -v runsc >/dev/null && ! grep -qs '"runsc"' "$daemon_json"; then
    "${as_root[@]}" mkdir -p /etc/docker
    "${as_root[@]}" runsc install --runtime=runsc -- --network=none
    # A running daemon reloads its runtimes on SIGHUP.
    if [ -s /var/run/docker.pid ]; then "${as_root[@]}" kill -HUP "$(cat /var/run/docker.pid)" || true; fi
  fi
  if ! "${as_root[@]}" docker info >/dev/null 2>&1; then
    if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
      "${as_root[@]}" systemctl start docker
    else
      # No init system (a container or a CI VM): run the daemon in the background, logging aside.
      "${as_root[@]}" sh -c 'nohup dockerd >/var/log/airlock-dockerd.log 2>&1 &'
    fi
    for _ in $(seq 60); do
      "${as_root[@]}" docker info >/dev/null 2>&1 && break
      sleep 0.5
    done
  fi
  if "${as_root[@]}" docker info >/dev/null 2>&1; then
    "${as_root[@]}" npx airlock image build --quiet >/dev/null
  else
    echo "airlock setup: dockerd did not start (see /var/log/airlock-dockerd.log); the Docker driver's tests will be skipped" >&2
  fi
fi
