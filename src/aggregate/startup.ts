/**
 * Start-up noise: what the dynamic loader, libc and interpreters read before (and while)
 * a program does its own work. Such actions are kept but marked `startup: true`, so
 * reports can fold them. Two sources decide:
 *
 *   1. the path table below, for reads, look-ups and listings at any time (Python also
 *      imports its stdlib long after start-up);
 *   2. the phase: from a successful exec until the program's first access to something
 *      the table does not cover, look-ups (stat/access/readlink) and failed opens are the
 *      loader's and interpreter's search-path probes, whatever their path.
 */

/** One rule: paths matching `re` are start-up reads. `why` documents the rule. */
export interface StartupRule {
  why: string;
  re: RegExp;
}

export const STARTUP_RULES: readonly StartupRule[] = [
  { why: "dynamic loader configuration", re: /^\/etc\/ld\.so\./ },
  { why: "shared libraries", re: /\.so(?:\.[0-9][^/]*)?$/ },
  { why: "libc locale data", re: /^\/usr\/(?:lib|share)\/locale(?:\/|$)|^\/usr\/share\/i18n\/|\/locale\.alias$/ },
  { why: "iconv modules", re: /\/gconv(?:\/|$)/ },
  { why: "time zone data", re: /^\/etc\/localtime$|^\/usr\/share\/zoneinfo\// },
  { why: "terminal descriptions", re: /\/terminfo(?:\/|$)/ },
  {
    why: "Python stdlib, site-packages and bytecode caches",
    re: /^\/usr\/(?:local\/)?lib\/python[0-9.]*(?:\/|$)|\/(?:site|dist)-packages(?:\/|$)|\/__pycache__(?:\/|$)|\.pyc$|\/pyvenv\.cfg$|\/python[0-9.]*\._pth$/,
  },
  { why: "Node.js global modules", re: /^\/usr\/(?:local\/)?(?:lib|share)\/node(?:js|_modules)(?:\/|$)/ },
  { why: "runtime sizing from procfs", re: /^\/proc\/(?:self|thread-self)\/|^\/proc\/(?:meminfo|cpuinfo|stat)$/ },
  { why: "runtime sizing from sysfs", re: /^\/sys\/(?:fs\/cgroup|devices\/system\/cpu)\// },
  { why: "OpenSSL configuration", re: /^\/(?:etc|usr\/lib)\/ssl\/openssl\.cnf$/ },
];

const cache = new Map<string, boolean>();

/** Whether `path` is covered by the start-up table; `/proc/<pid>/` of the process itself counts as `/proc/self/`. */
export function isStartupPath(path: string, pid: number): boolean {
  if (path.startsWith("/proc/")) {
    const own = `/proc/${pid}/`;
    return matches(path.startsWith(own) ? `/proc/self/${path.slice(own.length)}` : path);
  }
  // the same libraries and stdlib files come up in every process: remember the answer
  let hit = cache.get(path);
  if (hit === undefined) {
    if (cache.size >= 65_536) cache.clear();
    cache.set(path, (hit = matches(path)));
  }
  return hit;
}

function matches(p: string): boolean {
  for (const r of STARTUP_RULES) if (r.re.test(p)) return true;
  return false;
}
