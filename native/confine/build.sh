#!/usr/bin/env bash
# Builds capsule-confine, the launcher `capsule run --enforce` puts between the tracer and
# the command: it applies Landlock rules and a seccomp filter, then execs the command.
# Called from `npm install` (prepare). Tolerant: without gcc or kernel headers it says why
# and exits 0, and --enforce then reports that it cannot confine.
set -u
cd "$(dirname "$0")"
out=../../dist/native
mkdir -p "$out"
if ! command -v gcc >/dev/null; then echo "capsule: native/confine: no gcc; capsule run --enforce will not confine" >&2; exit 0; fi
# the syscall table of this architecture, from the C library's headers
if ! echo '#include <sys/syscall.h>' | gcc -dM -E - 2>/dev/null |
  sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9]*\)$/{"\1", \2},/p' | sort -u >"$out/syscalls.inc.tmp"; then
  echo "capsule: native/confine: cannot read <sys/syscall.h>; capsule run --enforce will not confine" >&2
  exit 0
fi
mv "$out/syscalls.inc.tmp" "$out/syscalls.inc"
# static: the launcher loads no libraries, so the only files it touches are its spec and the command
if gcc -O2 -Wall -Wextra -static -I"$out" -o "$out/capsule-confine" confine.c 2>"$out/build.log" ||
  gcc -O2 -Wall -Wextra -I"$out" -o "$out/capsule-confine" confine.c 2>>"$out/build.log"; then
  exit 0
fi
echo "capsule: native/confine failed to build (see $out/build.log); capsule run --enforce will not confine" >&2
exit 0
