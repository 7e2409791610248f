#!/usr/bin/env bash
# Builds the kernel tracer into native/build/ (git-ignored): the BPF object, its skeleton,
# the loader, a BTF trimmed to what the object uses (bpftool gen min_core_btf: libbpf
# then parses ~3 KB of types instead of the kernel's 5 MB) and the syscall names.
# Tolerant: when something is missing (not Linux, no clang, no BTF, ...) it writes the
# reason to native/build/UNAVAILABLE and exits 0, so `npm install` still succeeds and
# `capsule run --tracer auto` uses strace, saying why.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../build"
mkdir -p "$out"
rm -f "$out/UNAVAILABLE"
fail() { echo "$1" >"$out/UNAVAILABLE"; echo "capsule: kernel tracer not built: $1" >&2; exit 0; }
[ "$(uname -s)" = Linux ] || fail "not Linux ($(uname -s))"
case "$(uname -m)" in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
  *) fail "no syscall table for $(uname -m)" ;;
esac
btf=/sys/kernel/btf/vmlinux
[ -r "$btf" ] || fail "the kernel has no BTF ($btf)"
for tool in clang bpftool gcc pkg-config; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/system-deps.sh installs it)"
done
pkg-config --exists libbpf libelf zlib 2>/dev/null || fail "libbpf-dev, libelf-dev or zlib1g-dev is not installed"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
log="$tmp/log"
run() { "$@" >>"$log" 2>&1 || fail "$1 failed: $(tail -n 3 "$log" | tr '\n' ' ')"; }
bpftool btf dump file "$btf" format c >"$tmp/vmlinux.h" 2>>"$log" || fail "bpftool cannot read $btf"
run clang -g -O2 -target bpf -mcpu=v3 "-D__TARGET_ARCH_$arch" -I"$tmp" -I"$here" -c "$here/tracer.bpf.c" -o "$tmp/tracer.bpf.o"
bpftool gen skeleton "$tmp/tracer.bpf.o" name capsule_tracer_bpf >"$tmp/tracer.skel.h" 2>>"$log" || fail "bpftool gen skeleton failed"
# shellcheck disable=SC2046
run gcc -O2 -Wall -I"$tmp" -I"$here" "$here/loader.c" -o "$tmp/capsule-kernel-tracer" $(pkg-config --libs libbpf libelf zlib)
bpftool gen min_core_btf "$btf" "$tmp/min.btf" "$tmp/tracer.bpf.o" >>"$log" 2>&1 || rm -f "$tmp/min.btf"
# syscall numbers and names of this architecture, for the `full` level's every call
echo '#include <sys/syscall.h>' | gcc -dM -E - 2>>"$log" | sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9]*\)$/\2 \1/p' | sort -n >"$tmp/syscalls.txt"
[ -s "$tmp/syscalls.txt" ] || fail "no syscall names from <sys/syscall.h>"
uname -r >"$tmp/kernel"
for f in capsule-kernel-tracer tracer.bpf.o syscalls.txt kernel; do mv -f "$tmp/$f" "$out/$f"; done
[ -f "$tmp/min.btf" ] && mv -f "$tmp/min.btf" "$out/min.btf"
echo "capsule: kernel tracer built in $out" >&2
