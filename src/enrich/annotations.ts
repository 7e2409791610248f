/**
 * What strace's -y/-yy fd annotations say about the object behind an fd. With -yy the
 * text inside `3<...>` is one of:
 *
 *   /etc/passwd                a path (devices add `<char 1:3>`, unlinked files ` (deleted)`)
 *   pipe:[5508]                a pipe
 *   TCP:[a:p->b:q] UDPv6:[..]  an inet socket;  UNIX-STREAM:[..], NETLINK:[..], socket:[N]
 *   anon_inode:[eventfd]       eventfd, eventpoll, timerfd, signalfd, inotify, pidfd, ...
 *   /memfd:name (deleted)      a memfd
 *   net:[4026531840]           a namespace or other pseudo-file
 */
import type { ResourceType } from "../core/events.js";
import { normalise, typeOfPath, withoutDeleted } from "../core/paths.js";
import { netOfAnnotation } from "./net.js";
import type { OpenFile } from "./state.js";

const ANON: ReadonlyMap<string, ResourceType> = new Map([
  ["eventfd", "EVENTFD"],
  ["eventpoll", "EPOLL"],
  ["timerfd", "TIMERFD"],
  ["signalfd", "SIGNALFD"],
  ["inotify", "INOTIFY"],
  ["fanotify", "INOTIFY"],
  ["pidfd", "PROCESS"],
  ["memfd", "MEMORY"],
]);

/** `UNIX-STREAM:[123->456]`: an unnamed unix socket connected to its peer (no `,"/path"`). */
const UNNAMED_PAIR = /^UNIX-[A-Z]+:\[\d+->\d+\]$/;

/** A path annotation without strace's device suffix or ` (deleted)` marker, and whether it is a device. */
function cleanPath(text: string, dev: string | null): { path: string; device: boolean } {
  let p = text;
  let device = dev !== null && dev !== "";
  // -yy: `/dev/null<char 1:3>`, in case a parser keeps the inner <...> in the path
  if (!device && p.endsWith(">")) {
    const lt = p.lastIndexOf("<");
    if (lt > 0 && (p.startsWith("char ", lt + 1) || p.startsWith("block ", lt + 1))) {
      p = p.slice(0, lt);
      device = true;
    }
  }
  return { path: normalise(withoutDeleted(p)), device };
}

/**
 * The open file an annotation describes; `dev` is -yy's device suffix ("char 1:3") when
 * the parser split it off. Never fails: unknown shapes become type OTHER.
 */
export function fileFromAnnotation(text: string, dev: string | null = null): OpenFile {
  if (text.charCodeAt(0) === 47 /* / */) {
    if (text.startsWith("/memfd:")) return { type: "MEMORY", path: null, net: null, ann: text };
    const { path, device } = cleanPath(text, dev);
    return { type: device ? "DEVICE" : typeOfPath(path), path, net: null, ann: text };
  }
  // a pipe has no path: its name is the one Linux gives it (/proc/PID/fd), which both ends share
  if (text.startsWith("pipe:[")) return { type: "PIPE", path: text, net: null, ann: text };
  if (text.startsWith("anon_inode:")) {
    const kind = text.slice(11).replace(/^\[|\]$/g, "");
    return { type: ANON.get(kind) ?? "OTHER", path: null, net: null, ann: text };
  }
  const net = netOfAnnotation(text);
  if (net !== null) {
    const unix = net.family === "AF_UNIX";
    // a unix socket has its bound name for a path; an unnamed connected one (a socket pair's
    // end) is named as strace -yy shows it, `UNIX-STREAM:[inode->peer's]`, so that its
    // actions say which pair
    const path =
      unix && net.local_addr?.startsWith("/") ? net.local_addr : unix && UNNAMED_PAIR.test(text) ? text : null;
    return { type: "SOCKET", path, net, ann: text };
  }
  return { type: "OTHER", path: null, net: null, ann: text };
}
