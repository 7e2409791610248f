/**
 * The side panel: the findings, and what is selected: a finding with its evidence
 * chain (finding → actions → events → raw lines), a process with its actions, or one
 * action with its events. Any event opens to its whole enriched record.
 */
import { useEffect, useState } from "preact/hooks";
import type { Action, EnhancedEvent, RiskFinding } from "../../src/core/events.js";
import { at, bytes, duration, exitText, lifetime, processName } from "./format.js";
import type { Store } from "./store.js";
import { KIND_COLOURS, LABEL_COLOURS, SEVERITY_COLOURS, SEVERITY_ORDER, WORKFLOW_COLOURS } from "./vocab.js";

const MAX_LIST = 300;

function EventLine({ store, seq }: { store: Store; seq: number }) {
  const [open, setOpen] = useState(false);
  const e = store.event(seq);
  if (e === undefined) return <div class="event loading">event #{seq}…</div>;
  if (e === null) return <div class="event missing">event #{seq}: not in enriched.jsonl</div>;
  return (
    <div class="event" data-testid="event">
      <button type="button" class="event-head" onClick={() => setOpen(!open)} title="show the whole record">
        <span class="seq">#{e.seq}</span>
        <span class="call">{e.call}</span>
        <span class={e.errno ? "ret bad" : "ret"}>
          = {String(e.retval)}
          {e.errno ? ` ${e.errno}` : ""}
        </span>
        <span class="ts">{at(e.ts)}</span>
        <span class="pidlink">pid {e.pid}</span>
      </button>
      <pre class="raw" data-testid="raw-line">
        {e.raw_line}
      </pre>
      {open && <pre class="record">{JSON.stringify(e satisfies EnhancedEvent, null, 2)}</pre>}
    </div>
  );
}

function Events({ store, seqs }: { store: Store; seqs: number[] }) {
  const [limit, setLimit] = useState(MAX_LIST);
  const shown = seqs.slice(0, limit);
  useEffect(() => void store.loadEvents(shown), [seqs.length, seqs[0], limit]);
  return (
    <div class="events">
      {shown.map((s) => (
        <EventLine key={s} store={store} seq={s} />
      ))}
      {seqs.length > shown.length && (
        <button type="button" class="more" onClick={() => setLimit(limit + MAX_LIST)}>
          show more ({seqs.length - shown.length} events left)
        </button>
      )}
    </div>
  );
}

/** Every enriched event of a process, in or out of an action, fetched when asked for. */
function AllEvents({ store, pid }: { store: Store; pid: number }) {
  const [seqs, setSeqs] = useState<number[] | null>(null);
  if (seqs === null)
    return (
      <button
        type="button"
        class="more"
        data-testid="all-events"
        onClick={() =>
          void fetch(`api/pid-events?pid=${pid}`)
            .then((r) => r.json())
            .then((s: number[]) => setSeqs(s))
        }
      >
        every event of pid {pid}, with its raw line
      </button>
    );
  return (
    <>
      <h3>Events ({seqs.length})</h3>
      <Events store={store} seqs={seqs} />
    </>
  );
}

function ActionCard({ store, a, open: initial, only }: { store: Store; a: Action; open?: boolean; only?: number[] }) {
  const [open, setOpen] = useState(initial ?? false);
  const node = store.nodeOf(a.pid, a.first_ts);
  const seqs = only ? a.event_seqs.filter((s) => only.includes(s)) : a.event_seqs;
  return (
    <div class={`action${a.ok ? "" : " failed"}`} data-testid="action">
      <button type="button" class="action-head" onClick={() => setOpen(!open)}>
        <span class="kind" style={{ color: KIND_COLOURS[a.kind], borderColor: KIND_COLOURS[a.kind] }}>
          {a.kind}
        </span>
        <span class="resource">{a.resource ?? "—"}</span>
      </button>
      <div class="action-meta">
        <span>{at(a.first_ts)}</span>
        {a.last_ts > a.first_ts && <span>for {duration(a.last_ts - a.first_ts)}</span>}
        <span>
          {a.count} call{a.count === 1 ? "" : "s"}
        </span>
        {a.bytes > 0 && <span>{bytes(a.bytes)}</span>}
        {!a.ok && <span class="bad">{a.errno ?? "failed"}</span>}
        {node && (
          <button type="button" class="link" onClick={() => store.select({ kind: "process", id: node.id }, node.id)}>
            {processName(node).slice(0, 40)} (pid {a.pid})
          </button>
        )}
      </div>
      {open && <Events store={store} seqs={seqs.length > 0 ? seqs : a.event_seqs} />}
    </div>
  );
}

function FindingDetail({ store, r }: { store: Store; r: RiskFinding }) {
  const node = r.pid === null ? undefined : [...store.byId.values()].find((n) => n.pid === r.pid);
  const inActions = new Set(r.action_seqs.flatMap((s) => store.actions[s]?.event_seqs ?? []));
  const loose = r.event_seqs.filter((s) => !inActions.has(s));
  return (
    <div class="detail" data-testid="finding-detail">
      <h2>
        <span class="sev" style={{ background: SEVERITY_COLOURS[r.severity] }}>
          {r.severity}
        </span>
        {r.rule}
      </h2>
      <p class="detail-reason">{r.reason}</p>
      {node && (
        <p>
          process{" "}
          <button type="button" class="link" onClick={() => store.select({ kind: "process", id: node.id }, node.id)}>
            {processName(node)} (pid {node.pid})
          </button>
        </p>
      )}
      <h3>Evidence</h3>
      <ol class="chain">
        {r.action_seqs.map((s) => {
          const a = store.actions[s];
          return (
            <li key={`a${s}`}>
              {a ? <ActionCard store={store} a={a} open only={r.event_seqs} /> : <p>action #{s} (not loaded yet)</p>}
            </li>
          );
        })}
        {loose.length > 0 && (
          <li>
            <Events store={store} seqs={loose} />
          </li>
        )}
      </ol>
    </div>
  );
}

function ProcessDetail({ store, id }: { store: Store; id: string }) {
  const n = store.byId.get(id);
  const [limit, setLimit] = useState(100);
  if (!n) return <p class="detail">process {id} is not in the tree</p>;
  const label = n.label ?? "Unknown";
  const life = lifetime(n);
  const acts = store
    .actionsOf(n.pid)
    .filter((a) => a.first_ts >= (n.start_ts ?? 0) && a.first_ts <= (n.end_ts ?? store.end));
  const visible = acts.filter((a) => !a.startup);
  return (
    <div class="detail" data-testid="process-detail">
      <h2>
        <span class="label-dot big" style={{ background: LABEL_COLOURS[label] }} />
        {processName(n)}
      </h2>
      <pre class="argv">{n.argv.map((a) => JSON.stringify(a)).join(" ")}</pre>
      <dl>
        <dt>pid</dt>
        <dd>
          {n.pid}
          {n.ppid !== null ? ` (parent ${n.ppid})` : ""}
        </dd>
        <dt>label</dt>
        <dd style={{ color: LABEL_COLOURS[label] }}>{label}</dd>
        <dt>workflows</dt>
        <dd>
          {n.workflows.length === 0
            ? "—"
            : n.workflows.map((w) => (
                <span key={w} class="wf" style={{ background: WORKFLOW_COLOURS[w] }}>
                  {w}
                </span>
              ))}
        </dd>
        <dt>exe</dt>
        <dd>{n.exe ?? "—"}</dd>
        <dt>cwd</dt>
        <dd>{n.cwd ?? "—"}</dd>
        <dt>ran</dt>
        <dd>
          {at(n.start_ts)} {life !== null ? `for ${duration(life)}` : ""}
        </dd>
        <dt>exit</dt>
        <dd>{exitText(n).text}</dd>
      </dl>
      <AllEvents key={n.pid} store={store} pid={n.pid} />
      <h3>
        Actions ({visible.length}
        {acts.length > visible.length ? `, and ${acts.length - visible.length} start-up reads not shown` : ""})
      </h3>
      {visible.slice(0, limit).map((a) => (
        <ActionCard key={a.seq} store={store} a={a} />
      ))}
      {visible.length > limit && (
        <button type="button" class="more" onClick={() => setLimit(limit + 200)}>
          show more ({visible.length - limit} left)
        </button>
      )}
    </div>
  );
}

function Findings({ store }: { store: Store }) {
  const list = store.risks
    .filter(Boolean)
    .sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.seq - b.seq);
  return (
    <div class="findings">
      <h3>Findings ({list.length})</h3>
      {list.length === 0 && <p class="empty">no findings</p>}
      {list.map((r) => {
        const sel = store.selected?.kind === "finding" && store.selected.seq === r.seq;
        const a = store.actions[r.action_seqs[0] ?? -1];
        const node = a ? store.nodeOf(a.pid, a.first_ts) : undefined;
        return (
          <button
            type="button"
            key={r.seq}
            class={`finding${sel ? " selected" : ""}`}
            data-testid="finding"
            onClick={() => store.select({ kind: "finding", seq: r.seq }, node?.id ?? null)}
          >
            <span class="sev" style={{ background: SEVERITY_COLOURS[r.severity] }}>
              {r.severity}
            </span>
            <span class="rule">{r.rule}</span>
            <span class="reason">{r.reason}</span>
          </button>
        );
      })}
    </div>
  );
}

export function Side({ store }: { store: Store }) {
  const s = store.selected;
  let detail = <p class="hint detail">Select a finding, a process or an action on the timeline.</p>;
  if (s?.kind === "finding") {
    const r = store.risks[s.seq];
    if (r) detail = <FindingDetail key={`f${s.seq}`} store={store} r={r} />;
  } else if (s?.kind === "process") detail = <ProcessDetail key={`p${s.id}`} store={store} id={s.id} />;
  else if (s?.kind === "action") {
    const a = store.actions[s.seq];
    if (a)
      detail = (
        <div class="detail" data-testid="action-detail">
          <h2>Action #{a.seq}</h2>
          <ActionCard key={`a${a.seq}`} store={store} a={a} open />
        </div>
      );
  }
  return (
    <aside class="side">
      <Findings store={store} />
      {detail}
    </aside>
  );
}
