#!/usr/bin/env bash
# Sets Airlock up on a Debian/Ubuntu machine: the system packages the sandbox needs (installed only
# when missing), then the Node dependencies, which also build the native sandbox helper.
# Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v bwrap >/dev/null || need_apt+=(bubblewrap)
command -v cc >/dev/null || need_apt+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] || need_apt+=(libc6-dev)
# Tools the containment tests run inside the sandbox (the host's /usr is the sandbox's image).
[ -x /usr/bin/perl ] || need_apt+=(perl)
[ -x /usr/bin/python3 ] || need_apt+=(python3)
[ -x /usr/bin/pkill ] || need_apt+=(procps)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "airlock setup: please install as root: apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq "${need_apt[@]}"
fi

npm ci --no-audit --no-fund
