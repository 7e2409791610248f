#!/usr/bin/env bash
# Installs the system tools Capsule and its tests need, from Debian's packages.
# Idempotent: installs only what is missing. Without root it prints the exact command.
set -euo pipefail
need=()
command -v strace >/dev/null || need+=(strace)
command -v bpftrace >/dev/null || need+=(bpftrace)
command -v clang >/dev/null || need+=(clang)
command -v llvm-objdump >/dev/null || need+=(llvm)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
# the kernel tracer's loader (native/kernel-tracer): bpftool, libelf, zlib, pkg-config
command -v bpftool >/dev/null || need+=(bpftool)
[ -f /usr/include/libelf.h ] || need+=(libelf-dev)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v gcc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v git >/dev/null || need+=(git)
command -v patch >/dev/null || need+=(patch) # the atomic-save tests trace patch -p1 (perl -pi, sed -i: always there)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
command -v chromium >/dev/null || need+=(chromium) # capsule view's browser tests (driven by playwright-core)
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v vim >/dev/null || need+=(vim) # an editor's own state files (.viminfo through .viminfo.tmp) in the rules tests
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; else
    echo "capsule: missing system packages: ${need[*]}" >&2
    echo "capsule: install them with: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
else SUDO=; fi
echo "capsule: installing system packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >&2
