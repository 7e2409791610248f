/**
 * capsule view's page: loads the session (api/session), follows its feed (api/feed:
 * actions and findings from the start, then live updates until the session is sealed)
 * and asks for the verify report once the page is drawn and again when the session seals.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Action, ProcessTreeSnapshot, RiskFinding } from "../../src/core/events.js";
import { sessionDurationUs } from "../../src/core/span.js";
import type { SessionMetadata } from "../../src/session/metadata.js";
import type { VerifyReport } from "../../src/session/verify.js";
import { duration } from "./format.js";
import { ProcessPane } from "./pane.js";
import { Side } from "./side.js";
import { Store } from "./store.js";

function VerifyBadge({ store }: { store: Store }) {
  const v = store.verify;
  if (store.verifyError) return <span class="badge bad">verify failed: {store.verifyError}</span>;
  if (!v) return <span class="badge">verifying…</span>;
  const first = v.problems[0];
  const title = first ? `${first.stream ?? "seal"}: line ${first.line ?? "?"}: ${first.kind}: ${first.detail}` : "";
  if (v.status === "intact")
    return (
      <span class="badge ok" data-testid="verify" title="every stream matches its hash chain and the seal">
        ✔ record intact
      </span>
    );
  if (v.status === "unsealed")
    return (
      <span class="badge warn" data-testid="verify" title="no seal yet: intact as far as written">
        unsealed · intact so far
      </span>
    );
  return (
    <span class="badge bad" data-testid="verify" title={title}>
      ✘ TAMPERED{first ? ` (${first.stream ?? "seal"} line ${first.line ?? "?"})` : ""}
    </span>
  );
}

function Header({ store }: { store: Store }) {
  const m = store.metadata;
  if (!m) return <header class="top">capsule view</header>;
  const end = m.ended_at ? Date.parse(m.ended_at) : null;
  // as the report says it: the processes' span (the run's wall time adds capsule's start and seal)
  const span = end === null ? null : sessionDurationUs(store.tree.nodes, m);
  const exit = m.exit;
  return (
    <header class="top">
      <span class="brand">capsule</span>
      <span class="cmd" title={m.command.join(" ")}>
        {m.command.join(" ")}
      </span>
      <span class="meta">
        {m.session_id} · {m.tracer.name}
        {m.tracer.level ? ` (${m.tracer.level})` : ""} ·{" "}
        <span data-testid="duration">{end === null ? "running" : span !== null ? duration(span) : "no clock"}</span>
        {exit ? ` · exit ${exit.signal ?? exit.code}` : ""} · {m.counts.events.toLocaleString()} events ·{" "}
        {store.actions.length.toLocaleString()} actions
      </span>
      <span class="grow" />
      {store.live && (
        <span class="badge live" data-testid="live">
          ● live
        </span>
      )}
      {store.feedError && <span class="badge bad">{store.feedError}</span>}
      <VerifyBadge store={store} />
    </header>
  );
}

function App({ store }: { store: Store }) {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion(store.version)), []);
  return (
    <div class="app" data-version={store.version}>
      <Header store={store} />
      <div class="main">
        <ProcessPane store={store} />
        <Side store={store} />
      </div>
    </div>
  );
}

async function verify(store: Store): Promise<void> {
  try {
    const res = await fetch("api/verify");
    if (!res.ok) throw new Error(await res.text());
    store.verify = (await res.json()) as VerifyReport;
    store.verifyError = null;
  } catch (e) {
    store.verifyError = (e as Error).message;
  }
  store.changed();
}

function follow(store: Store): void {
  const feed = new EventSource("api/feed");
  const on = <T,>(name: string, fn: (data: T) => void) =>
    feed.addEventListener(name, (e) => fn(JSON.parse((e as MessageEvent<string>).data) as T));
  on<{ metadata: SessionMetadata; tree: ProcessTreeSnapshot }>("session", (s) => {
    const wasLive = store.live;
    store.setSession(s.metadata, s.tree);
    if (wasLive && !store.live) void verify(store);
  });
  on<Action[]>("actions", (batch) => store.addActions(batch));
  on<RiskFinding[]>("risks", (batch) => store.addRisks(batch));
  on<string>("failed", (msg) => {
    store.feedError = msg;
    store.changed();
  });
  on("end", () => {
    feed.close();
    store.live = false;
    store.changed();
    document.body.dataset.feedMs = String(performance.now());
    document.body.dataset.feed = "done";
  });
}

async function main(): Promise<void> {
  const store = new Store();
  const root = document.getElementById("app")!;
  const res = await fetch("api/session");
  if (!res.ok) {
    root.textContent = `cannot load the session: ${await res.text()}`;
    return;
  }
  const s = (await res.json()) as { metadata: SessionMetadata; tree: ProcessTreeSnapshot };
  store.setSession(s.metadata, s.tree);
  root.textContent = "";
  render(<App store={store} />, root);
  follow(store);
  requestAnimationFrame(() => {
    document.body.dataset.rendered = String(performance.now());
    void verify(store);
  });
}

void main();
