/**
 * The written-then-executed chain: a file written in this session (by a process that had
 * talked to the network: a download; or by one that had read a download: tar x of a
 * downloaded archive, a copy of one) that is then run, directly or handed to an
 * interpreter (`sh /tmp/x.sh`). One finding holds the write(s), the chmod that made it
 * executable and the exec. A program that existed before the session is never part of it,
 * nor a link the session made to one.
 *
 * State: the files written in the session, their writer and chmod, at most MAX_WRITTEN
 * (the least recently written forgotten first); the live processes that read a download.
 */
import type { EnhancedEvent, ProcessTreeSnapshot } from "../../core/events.js";
import { execPath, type FileAccess } from "../facts.js";
import { basenameOf, normalizePath } from "../match.js";
import { BoundedMap, BoundedSet } from "./bounded.js";
import { type CompiledRule, octal, programsPass } from "./compile.js";
import type { FindingSink } from "./findings.js";
import { MAX_PROCESSES, type Procs } from "./procs.js";

export const MAX_WRITTEN = 10_000;
/** A file in an installed package's metadata folder (RECORD, INSTALLER, METADATA). */
const PACKAGE_METADATA = /\.(dist|egg)-info\/[^/]+$/;

interface Written {
  pid: number;
  writer: string;
  downloaded: boolean;
  /** The downloaded file its writer read before writing it (tar x of a downloaded archive, a cp of one). */
  from: string | null;
  seqs: number[];
  chmod: { pid: number; program: string; seq: number; mode: number } | null;
}

export function createChainDetector(rules: readonly CompiledRule[], procs: Procs, sink: FindingSink) {
  const chains = rules.filter((c) => c.rule.detector === "exec" && c.rule.written_in_session);
  const written = new BoundedMap<string, Written>(MAX_WRITTEN);
  const reported = new Set<string>(); // rule|path, at most one per written path

  /** Processes that read a downloaded file (tar x, unzip, cp of a download): what they write is the download's. */
  const carriers = new BoundedMap<number, string>(MAX_PROCESSES);
  /**
   * Processes that wrote a Python package's metadata (a *.dist-info or *.egg-info folder): package
   * installers, whatever their name (`python -m pip`, ensurepip's python -c running pip).
   */
  const installers = new BoundedSet<number>(MAX_PROCESSES);
  // The traced root is the agent: what it writes after talking to its API is code it
  // generated, not a download (its own run of such a file is still reported, as written).
  const downloads = (pid: number) => (procs.online(pid) || carriers.has(pid)) && pid !== procs.rootPid;

  const remember = (path: string, e: EnhancedEvent) => {
    const w = written.get(path);
    if (w && w.pid === e.pid) {
      w.downloaded ||= downloads(e.pid);
      w.from ??= w.downloaded && !procs.online(e.pid) ? (carriers.get(e.pid) ?? null) : null;
      written.set(path, w);
      if (w.seqs.length >= 8) return; // only the first writes are evidence: nothing to watch
      w.seqs.push(e.seq);
    } else {
      const downloaded = downloads(e.pid);
      written.set(path, {
        pid: e.pid,
        writer: procs.name(e.pid),
        downloaded,
        from: downloaded && !procs.online(e.pid) ? (carriers.get(e.pid) ?? null) : null,
        seqs: [e.seq],
        chmod: null,
      });
    }
    sink.watch(e.seq);
  };

  const finding = (c: CompiledRule, path: string, pid: number, program: string, execSeqs: number[]): void => {
    const w = written.get(path);
    if (!w || !programsPass(c, [program, basenameOf(path)])) return;
    const r = c.rule;
    // Build and install tools come first: running what a compiler or pip produced is routine.
    const severity =
      c.builtBy?.(w.writer) === true || installers.has(w.pid)
        ? (r.built_severity ?? r.severity)
        : w.downloaded
          ? (r.downloaded_severity ?? r.severity)
          : r.severity;
    let writer =
      w.from !== null
        ? `written by ${w.writer} (pid ${w.pid}) from the download ${w.from}`
        : `${w.downloaded ? "downloaded" : "written"} by ${w.writer} (pid ${w.pid})`;
    const ch = w.chmod;
    if (ch) writer += `, made executable by ${ch.program} (pid ${ch.pid}, chmod ${octal(ch.mode)})`;
    reported.add(`${r.id}|${path}`);
    if (reported.size > MAX_WRITTEN) reported.clear();
    sink.add({
      c,
      key: path,
      pid,
      vars: { program, pid: String(pid), path, writer },
      seqs: [...w.seqs, ...(ch ? [ch.seq] : []), ...execSeqs],
      severity,
    });
  };

  return {
    /** Writes, moves into place and chmods are remembered; an exec of a written file is the chain. */
    event(e: EnhancedEvent, files: readonly FileAccess[]) {
      const [first, second] = files;
      // A file moved into place (`curl -o x.part && mv x.part x`) keeps who wrote it.
      const moved = files.length === 2 && first?.access.includes("rename") ? written.get(first.path) : undefined;
      if (moved && first && second) {
        written.delete(first.path);
        written.set(second.path, { ...moved, seqs: [...moved.seqs, e.seq].slice(-8), chmod: null });
        sink.watch(e.seq);
      }
      // A link (ln, ln -s: a venv's bin/python3 -> the machine's python) writes no program: it is
      // its target's, written in the session only when the target was.
      const linked = e.operation === "LINK";
      if (linked && first) {
        written.delete(first.path);
        const target = e.abs_path2 ? written.get(e.abs_path2) : undefined;
        if (target) {
          written.set(first.path, { ...target, seqs: [...target.seqs, e.seq].slice(-8) });
          sink.watch(e.seq);
        }
      }
      for (const { path, access } of files) {
        if (
          access.includes("read") &&
          e.pid !== procs.rootPid &&
          !carriers.has(e.pid) &&
          written.get(path)?.downloaded
        ) {
          carriers.set(e.pid, path);
          // tar's child opens the archive and becomes gzip: tar writes what it reads back
          const parent = procs.forkOf(e.pid);
          if (parent !== null && parent !== procs.rootPid) carriers.set(parent, path);
        }
        if (access.includes("write") && PACKAGE_METADATA.test(path)) installers.add(e.pid);
        if (access.includes("write") && !linked && e.resource_type !== "DIR" && !(moved && path === second?.path))
          remember(path, e);
        const w = access.includes("chmod") ? written.get(path) : undefined;
        if (w && e.perm_bits !== null && (e.perm_bits & 0o111) !== 0) {
          w.chmod = { pid: e.pid, program: procs.name(e.pid), seq: e.seq, mode: e.perm_bits };
          sink.watch(e.seq);
        }
      }
      const exe = execPath(e);
      if (exe !== null) {
        installers.delete(e.pid); // a new program (or a pid used again) has installed nothing yet
        for (const c of chains) finding(c, exe, e.pid, procs.name(e.pid), [e.seq]);
      }
    },
    /** `sh /tmp/x.sh`, `python3 dl.py`: an interpreter given a downloaded file. */
    end(tree: ProcessTreeSnapshot, execSeq: (eventSeq: number) => number | undefined) {
      for (const n of tree.nodes) {
        if (n.kind !== "process") continue;
        for (const x of n.execs) {
          const names = [basenameOf(x.path), basenameOf(x.argv[0] ?? x.path)];
          const s = execSeq(x.event_seq);
          for (const c of chains) {
            if (!c.interpreters || !names.some(c.interpreters)) continue;
            for (const a of x.argv.slice(1)) {
              if (a.startsWith("-")) continue;
              const p = normalizePath(a, n.cwd);
              const w = written.get(p);
              if (p !== x.path && w?.downloaded && !reported.has(`${c.rule.id}|${p}`))
                finding(c, p, n.pid, names[1] ?? names[0] ?? "a process", s === undefined ? [] : [s]);
            }
          }
        }
      }
    },
    /** A process ended: what it carried goes with it. */
    ended(pid: number) {
      carriers.delete(pid);
    },
    memory: () => ({
      written: written.size,
      reported: reported.size,
      carriers: carriers.size,
      installers: installers.size,
    }),
  };
}
