import type { SyscallEvent } from "../../core/events.js";
import type { CallValues } from "./args.js";
import type { CallSpec } from "./format.js";
import { resolvePathText } from "./paths.js";
import type { TaskState } from "./state.js";
import { AT_FDCWD, MFD_CLOEXEC, O_CLOEXEC } from "./symbols.js";

const OPEN_CALLS = new Set(["open", "openat", "openat2", "creat"]);

/**
 * What a call teaches the task tables (cwd, the path behind each fd), and an open's or
 * dup's resolved path on its event: shared by the eBPF text parser and the kernel
 * tracer's record decoder.
 */
export function learnFromCall(tasks: TaskState, spec: CallSpec, ev: SyscallEvent, v: CallValues): void {
  const { p, s } = v;
  if (ev.errno !== null) {
    if (spec.name === "close") tasks.closeFd(ev.pid, p[0]!);
    return;
  }
  const tid = ev.pid;
  const ret = v.ret;
  const name = spec.name;
  if (OPEN_CALLS.has(name)) {
    const at = name === "openat" || name === "openat2" ? p[0]! : AT_FDCWD;
    const fl =
      name === "openat" ? p[2]! : name === "open" ? p[1]! : name === "openat2" ? Number(v.ext?.words[0] ?? 0n) : 0;
    const dir = at === AT_FDCWD ? tasks.cwd(tid) : tasks.fdPath(tid, at);
    const asked = s[0] === undefined || s[0].truncated ? null : resolvePathText(dir, s[0].value);
    const path = asked !== null && tasks.realPath !== null ? (tasks.realPath(asked) ?? asked) : asked;
    ev.retPath = path;
    tasks.setFd(tid, ret, path, (fl & O_CLOEXEC) !== 0);
  } else if (name === "chdir") tasks.chdir(tid, s[0]?.value ?? "");
  else if (name === "fchdir") tasks.fchdir(tid, p[0]!);
  else if (name === "close") tasks.closeFd(tid, p[0]!);
  else if (name === "dup" || name === "dup2" || name === "dup3" || name === "fcntl") {
    const path = tasks.fdPath(tid, p[0]!);
    ev.retPath = path;
    const cloexec = (name === "dup3" && p[2] !== 0) || (name === "fcntl" && p[1] === 1030);
    tasks.setFd(tid, ret, path, cloexec);
  } else if (name === "socket" || name === "accept" || name === "accept4") tasks.setFd(tid, ret, null, false);
  else if (name === "pipe" || name === "pipe2" || name === "socketpair") {
    // the fds as the call's array shows them (fdPair): `pipe:[N]`, `UNIX-STREAM:[A->B]`
    const pair = ev.args[name === "socketpair" ? 3 : 0];
    const cloexec = name === "socketpair" ? (p[1]! & O_CLOEXEC) !== 0 : name === "pipe2" && (p[1]! & O_CLOEXEC) !== 0;
    if (pair?.k === "array") for (const it of pair.items) if (it.k === "fd") tasks.setFd(tid, it.fd, it.path, cloexec);
  } else if (name === "memfd_create") {
    // what strace -yy shows of the fd (and /proc/PID/exe of a program exec'd from it)
    const path = `/memfd:${s[0]?.value ?? ""} (deleted)`;
    ev.retPath = path;
    tasks.setFd(tid, ret, path, (p[1]! & MFD_CLOEXEC) !== 0);
  }
}
