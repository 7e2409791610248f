/**
 * The profile's system calls as an OCI seccomp profile: the JSON Docker (`--security-opt
 * seccomp=F`), Podman and runc take. Observed calls are allowed, everything else fails
 * with EPERM (`SCMP_ACT_ERRNO`, errno 1). From a session traced below level `full` the
 * calls that level never records are allowed too (baseline.ts): unseen is not unused; exit
 * and exit_group always are.
 */
import { impliedSyscalls } from "./baseline.js";
import type { Profile } from "./model.js";

export interface OciSeccomp {
  defaultAction: "SCMP_ACT_ERRNO";
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: Array<{ names: string[]; action: "SCMP_ACT_ALLOW"; comment?: string }>;
}

const ARCHES: Record<string, string[]> = {
  x64: ["SCMP_ARCH_X86_64"],
  arm64: ["SCMP_ARCH_AARCH64"],
};

export function ociSeccomp(p: Profile, arch: string = process.arch): OciSeccomp {
  const observed = [...new Set(p.syscalls ?? [])].sort();
  const implicit = impliedSyscalls(p).filter((c) => !observed.includes(c));
  const syscalls: OciSeccomp["syscalls"] = [{ names: observed, action: "SCMP_ACT_ALLOW", comment: "observed" }];
  if (implicit.length)
    syscalls.push({
      names: [...implicit].sort(),
      action: "SCMP_ACT_ALLOW",
      comment:
        "always allowed (exit), not recorded below tracing level full, or a file's times where files are written",
    });
  return { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, architectures: ARCHES[arch] ?? [], syscalls };
}

/** The calls an OCI seccomp profile allows (for Capsule's own loader). */
export function allowedCalls(o: OciSeccomp): string[] {
  return o.syscalls.filter((s) => s.action === "SCMP_ACT_ALLOW").flatMap((s) => s.names);
}
