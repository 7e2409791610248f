import type { RecordDataMode } from "../core/levels.js";
import type { StreamName } from "./layout.js";

/** The seal of one stream: its final chain value and line count. */
export interface StreamSeal {
  lines: number;
  chain: string;
}

/** metadata.json (DESIGN.md "Session folder"). Keys are never removed once published. */
export interface SessionMetadata {
  /** Record format: 1 (raw, events, enriched, actions, risks: every line stored three times), 2 (docs/SESSION.md). */
  format: 1 | 2;
  session_id: string;
  command: string[];
  cwd: string;
  /** "run" for a live trace, "import" for a saved one. */
  mode: "run" | "import";
  /** For imports: the file or folder read. */
  source: string | null;
  tracer: {
    name: "strace" | "ebpf" | "import";
    version: string | null;
    flags: string[];
    level: string | null;
    /** Why this tracer was chosen (e.g. "auto: not root, using strace"). */
    reason: string | null;
    /** What a reader should know about the trace's coverage (from the tracer). */
    notes?: string[];
  };
  record_data: RecordDataMode;
  /** Wall-clock start/end, ISO 8601 UTC. */
  started_at: string;
  ended_at: string | null;
  /** Epoch µs that `ts` 0 stands for. */
  t0_epoch_us: number | null;
  exit: { code: number | null; signal: string | null; status: number | null } | null;
  counts: {
    lines: number;
    events: number;
    parse_errors: number;
    enriched: number;
    actions: number;
    risks: number;
    /** Records lost anywhere (kernel drops, writer failures); 0 means none. */
    dropped: number;
  };
  /** Explicit losses with their cause and time window (and seq range in their stream, when known). */
  losses: Array<{
    stream: string;
    count: number;
    reason: string;
    from_ts: number | null;
    to_ts: number | null;
    from_seq?: number | null;
    to_seq?: number | null;
  }>;
  /**
   * The process recording the session (session/recorder.ts): while the seal is null, a
   * reader tells a recording in progress from one that was cut. Absent in older sessions.
   */
  recorder?: { pid: number; start: number | null; boot: string | null };
  /** The traced program's HOME (what `home://` in a profile stands for); absent in older sessions. */
  home?: string | null;
  /** Set when the run was checked against a profile (`--profile`) or confined to one (`--enforce`). */
  profile?: {
    file: string;
    mode: "check" | "enforce";
    /** Capsule's launcher and bubblewrap, whose own start-up is not the agent's (enforce only). */
    launchers: string[];
    /** Mechanism → parts of the profile it enforced / could not express. */
    mechanisms: Array<{ name: string; enforced: string[]; not_expressed: string[] }>;
  };
  /** Set by `run --otlp URL`: what the live OpenTelemetry export delivered (src/otlp/live.ts). */
  otlp?: {
    url: string;
    /** Distinct process spans and finding log records the receiver took. */
    sent: { spans: number; logs: number };
    /** Spans sent again at the end, under the same ids, because their content changed after they went. */
    resent: number;
    /** Items dropped during the run (queue full, the receiver failed or did not answer in time). */
    dropped: { spans: number; logs: number };
    /** Items the receiver never took, not even at the end. */
    missing: { spans: number; logs: number };
    /** The first failure, one line; null when every request succeeded. */
    error: string | null;
  };
  /** How the streams are chained (docs/INTEGRITY.md); written by the session writer from the start. */
  integrity?: { chain: "blake3-keyed-v1"; keyed: boolean };
  /** Filled when the session is sealed. */
  seal: {
    sealed_at: string;
    /** "normal" at the end of a run; "verify --seal" when sealed afterwards. */
    how: "normal" | "verify --seal";
    keyed: boolean;
    streams: Partial<Record<StreamName, StreamSeal>>;
    /** BLAKE3 (hex) of tree.json as sealed: the MAC covers it, so the tree cannot be edited unseen. */
    tree?: string;
    /** With a secret: hex MAC over the seal and the losses (docs/INTEGRITY.md, "Seal"). */
    mac?: string | null;
  } | null;
}

/**
 * Whether the session's actions carry real byte counts: strace traces no read or write
 * below level `full` (its actions say 0 bytes for data it never saw); the kernel tracer
 * sums them in the kernel at every level from `files`, and an import's trace says itself.
 */
export function byteCountsRecorded(meta: { tracer?: { name?: unknown; level?: unknown } | null }): boolean {
  const t = meta.tracer;
  return !(t?.name === "strace" && (t.level === "process" || t.level === "files"));
}
