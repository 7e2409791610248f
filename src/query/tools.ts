/**
 * The session tools: one implementation serving both `capsule mcp` (as MCP tools) and
 * `capsule chat` (as the model's tools). Each has a name, a description a model reads,
 * a zod schema for its arguments (JSON Schema is derived from it) and a handler that
 * returns JSON or text. Handlers only read; every answer is size-bounded.
 */
import { z } from "zod";
import { CapsuleError } from "../core/errors.js";
import { ACTION_KINDS, type ActionKind, type Severity } from "../core/events.js";
import { buildAISynthesis } from "../report/ai.js";
import { programName } from "../report/describe.js";
import { renderHuman } from "../report/human.js";
import { buildMachineReport } from "../report/json.js";
import { forEachAction, forEachEnriched } from "../report/load.js";
import { descendants, rankedRisks } from "../report/model.js";
import { loadSecret } from "../session/secret.js";
import { verifySession } from "../session/verify.js";
import { actionsBySeq, eventsBySeq } from "./evidence.js";
import { sessionSummaries } from "./list.js";
import { actionPredicate, eventLineFilter, eventPredicate } from "./match.js";
import { MAX_LIMIT, PAGE_BYTES, Pager } from "./page.js";
import { actionView, eventView, findingView, nodeView } from "./project.js";
import { sessionDir, sessionModel } from "./session.js";

export type ToolOutput = { json: unknown } | { text: string };

export interface SessionTool {
  name: string;
  title: string;
  description: string;
  input: z.ZodObject;
  run(args: Record<string, unknown>): Promise<ToolOutput>;
}

/** A JSON report larger than this is refused with a pointer to the paged tools. */
export const REPORT_JSON_BYTES = 256 * 1024;
/** Raw lines in query pages are clipped to this; explain shows up to EXPLAIN_RAW. */
const QUERY_RAW = 400;
const EXPLAIN_RAW = 4000;
const EXPLAIN_EVENTS = 40;
const FINDING_EVIDENCE = 5;

const session = z
  .string()
  .min(1)
  .optional()
  .describe("session folder name (or unique prefix) or path; default: the newest session");
const offset = z
  .number()
  .int()
  .min(0)
  .optional()
  .describe("skip this many matches (use next_offset of the previous page)");
const limit = z
  .number()
  .int()
  .min(1)
  .max(MAX_LIMIT)
  .optional()
  .describe(`at most this many items (default 50, max ${MAX_LIMIT})`);
const seqArg = (what: string) => z.number().int().min(0).optional().describe(what);
const kinds = ACTION_KINDS as unknown as [ActionKind, ...ActionKind[]];
const SEVERITIES = ["LOW", "MEDIUM", "HIGH"] as const;
const rank = (s: Severity) => SEVERITIES.indexOf(s);

function define<S extends z.ZodObject>(
  t: Omit<SessionTool, "run" | "input"> & { input: S; run(args: z.infer<S>): Promise<ToolOutput> },
): SessionTool {
  return t as unknown as SessionTool;
}

const listSessions = define({
  name: "list_sessions",
  title: "List sessions",
  description:
    "The recorded Capsule sessions, newest first: name, command, start/end time, exit status, record counts, whether sealed.",
  input: z.strictObject({ offset, limit }),
  async run(a) {
    const p = new Pager<ReturnType<typeof sessionSummaries>[number]>(a.offset ?? 0, a.limit ?? 50);
    for (const s of sessionSummaries()) p.add(() => s);
    return { json: p.done() };
  },
});

const report = define({
  name: "report",
  title: "Session report",
  description:
    "A session's report. format 'ai' (default): the compact AI synthesis (at most 32 KiB) whose refs cite event, action and risk seqs; 'human': the text report a person reads; 'json': the full machine report (refused when over 256 KiB; page with process_tree/query then).",
  input: z.strictObject({ session, format: z.enum(["ai", "human", "json"]).optional() }),
  async run(a) {
    const m = await sessionModel(sessionDir(a.session));
    const format = a.format ?? "ai";
    if (format === "human") return { text: renderHuman(m, { width: 100, color: false }) };
    if (format === "ai") return { text: buildAISynthesis(m).json };
    const text = JSON.stringify(buildMachineReport(m));
    if (text.length > REPORT_JSON_BYTES)
      throw new CapsuleError(
        "USAGE",
        `the json report is ${Math.round(text.length / 1024)} KiB (over ${REPORT_JSON_BYTES / 1024}); use format "ai", process_tree or query`,
      );
    return { text };
  },
});

const processTree = define({
  name: "process_tree",
  title: "Process tree",
  description:
    "The session's process tree, depth first: each process with id, pid, parent_id, depth, program, argv, exe, cwd, label (Agent/Tool/SystemTool/Unknown), workflows, start/end µs, exit code or signal. 'pid' starts at that process's subtree; 'max_depth' limits depth below it. Paginated.",
  input: z.strictObject({
    session,
    pid: z.number().int().optional().describe("show only this process and its descendants"),
    max_depth: z.number().int().min(0).optional().describe("levels below the start to include"),
    offset,
    limit,
  }),
  async run(a) {
    const m = await sessionModel(sessionDir(a.session));
    const depthOf = new Map<string, number>();
    let start = m.index.roots;
    if (a.pid !== undefined) {
      const n = m.tree.nodes.find((x) => x.pid === a.pid && x.kind === "process");
      if (!n) throw new CapsuleError("USAGE", `no process with pid ${a.pid} in this session`);
      start = [n];
    }
    const p = new Pager<ReturnType<typeof nodeView>>(a.offset ?? 0, a.limit ?? 50);
    for (const root of start) {
      depthOf.set(root.id, 0);
      for (const n of [root, ...descendants(m, root)]) {
        const d = n === root ? 0 : (depthOf.get(n.parent_id ?? "") ?? 0) + 1;
        depthOf.set(n.id, d);
        if (n.kind !== "process" || (a.max_depth !== undefined && d > a.max_depth)) continue;
        p.add(() => nodeView(n, d, programName(n)));
      }
    }
    return {
      json: {
        session: m.session.metadata.session_id,
        processes: m.tree.nodes.filter((n) => n.kind === "process").length,
        ...p.done(),
      },
    };
  },
});

const findings = define({
  name: "findings",
  title: "Risk findings with evidence",
  description:
    "The session's risk findings, most severe first, each with its evidence: the actions and events (with raw trace lines) it points at (first 5 of each; 'explain' with finding=SEQ shows all). Filter by minimum severity. Paginated.",
  input: z.strictObject({ session, min_severity: z.enum(SEVERITIES).optional(), offset, limit }),
  async run(a) {
    const dir = sessionDir(a.session);
    const m = await sessionModel(dir);
    const min = rank(a.min_severity ?? "LOW");
    const p = new Pager<ReturnType<typeof findingView>>(a.offset ?? 0, a.limit ?? 20, PAGE_BYTES * 2);
    for (const r of rankedRisks(m.risks)) if (rank(r.severity) >= min) p.add(() => findingView(r));
    const page = p.done();
    const evSeqs = page.items.flatMap((r) => r.event_seqs.slice(0, FINDING_EVIDENCE));
    const acSeqs = page.items.flatMap((r) => r.action_seqs.slice(0, FINDING_EVIDENCE));
    const [evs, acts] = await Promise.all([eventsBySeq(dir, evSeqs), actionsBySeq(dir, acSeqs)]);
    const items = page.items.map((r) => ({
      ...r,
      evidence: {
        actions: r.action_seqs.slice(0, FINDING_EVIDENCE).flatMap((s) => {
          const x = acts.get(s);
          return x ? [actionView(x, 5)] : [];
        }),
        events: r.event_seqs.slice(0, FINDING_EVIDENCE).flatMap((s) => {
          const x = evs.get(s);
          return x ? [eventView(x, QUERY_RAW)] : [];
        }),
        more_actions: Math.max(0, r.action_seqs.length - FINDING_EVIDENCE),
        more_events: Math.max(0, r.event_seqs.length - FINDING_EVIDENCE),
      },
    }));
    return { json: { session: m.session.metadata.session_id, overall_risk: m.overall, ...page, items } };
  },
});

const query = define({
  name: "query",
  title: "Query events or actions",
  description:
    "Search the session's record. stream 'actions' (default: merged, human-level actions such as FileRead of a path; start-up noise left out unless include_startup) or 'events' (single syscalls, with their raw trace line). Filters: pid, kind (FileRead, FileWrite, NetConnect, ProcessSpawn, ...), call (syscall name, events only), path (exact, a folder, or a glob: * within a segment, ** across; an action matches by its resource, an atomic save's temporary `via` and a rename's new name `target` too), endpoint ('127.0.0.1:8080', ':443' or a glob), from_us/to_us (µs since the trace started), failed_only. Every item has its seq; cite them. Paginated and size-bounded: ask again with next_offset.",
  input: z.strictObject({
    session,
    stream: z.enum(["actions", "events"]).optional(),
    pid: z.number().int().optional(),
    kind: z.enum(kinds).optional(),
    call: z.string().min(1).optional(),
    path: z.string().min(1).optional(),
    endpoint: z.string().min(1).optional(),
    from_us: z.number().optional(),
    to_us: z.number().optional(),
    failed_only: z.boolean().optional(),
    include_startup: z.boolean().optional(),
    offset,
    limit,
  }),
  async run(a) {
    const dir = sessionDir(a.session);
    const stream = a.stream ?? "actions";
    if (a.call !== undefined && stream !== "events")
      throw new CapsuleError("USAGE", '"call" filters events: add stream "events"');
    if (a.include_startup !== undefined && stream !== "actions")
      throw new CapsuleError("USAGE", '"include_startup" applies to stream "actions"');
    if (stream === "events") {
      const keep = eventPredicate(a);
      const p = new Pager<ReturnType<typeof eventView>>(a.offset ?? 0, a.limit ?? 50);
      await forEachEnriched(
        dir,
        (batch) => {
          for (const e of batch) if (keep(e)) p.add(() => eventView(e, QUERY_RAW));
        },
        eventLineFilter(a),
      );
      return { json: { stream, ...p.done() } };
    }
    const keep = actionPredicate(a);
    const p = new Pager<ReturnType<typeof actionView>>(a.offset ?? 0, a.limit ?? 50);
    await forEachAction(dir, (batch) => {
      for (const x of batch) if (keep(x)) p.add(() => actionView(x));
    });
    return { json: { stream, ...p.done() } };
  },
});

const explain = define({
  name: "explain",
  title: "Explain an action, finding or event",
  description:
    "Trace one record back to its evidence: an action (action=SEQ) to the events it merged and their raw trace lines; a finding (finding=SEQ) to its actions, events and raw lines; an event (event=SEQ) to its raw line. Give exactly one of them.",
  input: z.strictObject({
    session,
    action: seqArg("an action seq"),
    finding: seqArg("a risk finding seq"),
    event: seqArg("an event seq"),
  }),
  async run(a) {
    const given = [a.action, a.finding, a.event].filter((x) => x !== undefined).length;
    if (given !== 1) throw new CapsuleError("USAGE", "give exactly one of action, finding or event");
    const dir = sessionDir(a.session);
    const events = async (seqs: number[]) => {
      const shown = seqs.slice(0, EXPLAIN_EVENTS);
      const got = await eventsBySeq(dir, shown);
      return {
        events: shown.flatMap((s) => {
          const e = got.get(s);
          return e ? [eventView(e, EXPLAIN_RAW)] : [];
        }),
        more_events: Math.max(0, seqs.length - shown.length),
      };
    };
    if (a.event !== undefined) {
      const r = await events([a.event]);
      if (r.events.length === 0) throw new CapsuleError("USAGE", `no event with seq ${a.event} in this session`);
      return { json: { event: r.events[0] } };
    }
    if (a.action !== undefined) {
      const x = (await actionsBySeq(dir, [a.action])).get(a.action);
      if (!x) throw new CapsuleError("USAGE", `no action with seq ${a.action} in this session`);
      return { json: { action: actionView(x, EXPLAIN_EVENTS), ...(await events(x.event_seqs ?? [])) } };
    }
    const m = await sessionModel(dir);
    const r = m.risks.find((x) => x.seq === a.finding);
    if (!r) throw new CapsuleError("USAGE", `no finding with seq ${a.finding} in this session`);
    const acts = await actionsBySeq(dir, r.action_seqs.slice(0, EXPLAIN_EVENTS));
    const actions = r.action_seqs.flatMap((s) => {
      const x = acts.get(s);
      return x ? [actionView(x, 10)] : [];
    });
    // The finding's own events first, then those of its actions, each once.
    const seqs = [...new Set([...r.event_seqs, ...actions.flatMap((x) => x.event_seqs)])];
    return { json: { finding: findingView(r), actions, ...(await events(seqs)) } };
  },
});

const verify = define({
  name: "verify",
  title: "Verify a session",
  description:
    "Check the session's tamper-evident record (hash chains, seal, cross-links): status intact, unsealed (recording never finished) or tampered, with the first bad line of each stream and why.",
  input: z.strictObject({ session }),
  async run(a) {
    const dir = sessionDir(a.session);
    const r = verifySession(dir, { secret: loadSecret({ sessionDir: dir }) });
    return {
      json: {
        session: r.sessionId,
        status: r.status,
        sealed: r.sealed,
        keyed: r.keyed,
        seal: r.seal,
        streams: r.streams,
        problems: r.problems.slice(0, 20),
        losses: r.losses.slice(0, 20),
        warnings: r.warnings.slice(0, 20),
      },
    };
  },
});

/** Every tool, in the order they are listed. */
export const SESSION_TOOLS: readonly SessionTool[] = [
  listSessions,
  report,
  processTree,
  findings,
  query,
  explain,
  verify,
];

export function findTool(name: string): SessionTool | undefined {
  return SESSION_TOOLS.find((t) => t.name === name);
}
