/**
 * The process tree and the timeline side by side, sharing one vertical scroll: only the
 * rows in view are rendered (a tree of 1,500 processes is 1,500 × 24 px of scroll but
 * ~40 DOM rows), and the canvas redraws on scroll, zoom and data changes.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Action } from "../../src/core/events.js";
import { duration, exitText, lifetime, processName } from "./format.js";
import type { Row, Store } from "./store.js";
import { actionAt, drawAxis, drawTimeline, ROW, type TimeWindow } from "./timeline.js";
import { KIND_COLOURS, LABEL_COLOURS, WORKFLOW_COLOURS, WORKFLOW_SHORT } from "./vocab.js";

function TreeRow({ store, row, top }: { store: Store; row: Row; top: number }) {
  const n = row.node;
  const exit = exitText(n);
  const life = lifetime(n);
  const label = n.label ?? "Unknown";
  const selected = store.selected?.kind === "process" && store.selected.id === n.id;
  const cls = `row${selected ? " selected" : ""}${store.matches(n) ? " match" : ""}`;
  return (
    <div class={cls} style={{ top: `${top}px` }} data-id={n.id} data-testid="tree-row">
      <span class="indent" style={{ width: `${row.depth * 14}px` }} />
      {row.hasChildren ? (
        <button
          type="button"
          class="caret"
          aria-label={store.collapsed.has(n.id) ? "expand" : "collapse"}
          onClick={() => store.toggle(n.id)}
        >
          {store.collapsed.has(n.id) && !store.query ? "▸" : "▾"}
        </button>
      ) : (
        <span class="caret" />
      )}
      <button
        type="button"
        class="name"
        title={n.argv.join(" ")}
        onClick={() => store.select({ kind: "process", id: n.id })}
      >
        <span class="label-dot" style={{ background: LABEL_COLOURS[label] }} />
        {processName(n)}
      </button>
      <span class="chip label" style={{ color: LABEL_COLOURS[label], borderColor: LABEL_COLOURS[label] }}>
        {label}
      </span>
      {n.workflows.map((w) => (
        <span key={w} class="wf" title={w} style={{ background: WORKFLOW_COLOURS[w] }}>
          {WORKFLOW_SHORT[w]}
        </span>
      ))}
      <span class="spacer-flex" />
      <span class={`exit ${exit.ok === true ? "ok" : exit.ok === false ? "bad" : ""}`}>{exit.text}</span>
      <span class="dur">{life === null ? "" : duration(life)}</span>
      <span class="pid">{n.pid}</span>
    </div>
  );
}

interface Props {
  store: Store;
}

export function ProcessPane({ store }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const axis = useRef<HTMLCanvasElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [size, setSize] = useState({ w: 600, h: 400, aw: 600 });
  const view = useRef<TimeWindow | null>(null);
  const drag = useRef<{ x: number; t0: number; t1: number; moved: boolean } | null>(null);
  const [, redrawTick] = useState(0);

  const rows = useMemo(() => store.rows(), [store.version]);
  const flagged = useMemo(() => {
    const m = new Map<number, number[]>();
    for (const r of store.risks) {
      if (!r) continue;
      for (const s of r.action_seqs) {
        const a = store.actions[s];
        if (!a) continue;
        const list = m.get(a.pid);
        if (list) list.push(a.first_ts);
        else m.set(a.pid, [a.first_ts]);
      }
    }
    return m;
  }, [store.version]);
  const full = (): TimeWindow => {
    const pad = Math.max(1000, (store.end - store.start) * 0.02);
    return { t0: Math.max(0, store.start - pad), t1: store.end + pad };
  };
  if (view.current === null && store.end > 0) view.current = full();

  // Keep the window's size in the state: canvas pixels follow it.
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => {
      const c = canvas.current?.parentElement;
      setSize({ w: c?.clientWidth ?? 600, h: el.clientHeight, aw: axis.current?.parentElement?.clientWidth ?? 600 });
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // A live session grows: while the user has not zoomed, the window follows its end.
  const zoomed = useRef(false);
  if (!zoomed.current && view.current && store.end > view.current.t1) view.current = full();

  const draw = () => {
    const c = canvas.current;
    const a = axis.current;
    const v = view.current ?? full();
    const dpr = window.devicePixelRatio || 1;
    if (c) {
      const ctx = c.getContext("2d");
      if (ctx) {
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        const selectedId = store.selected?.kind === "process" ? store.selected.id : store.focus;
        drawTimeline(ctx, store, { rows, scrollTop, width: size.w, height: size.h, view: v, selectedId, flagged });
      }
    }
    if (a) {
      const ctx = a.getContext("2d");
      if (ctx) {
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        drawAxis(ctx, size.aw, 24, v);
      }
    }
  };
  useEffect(draw);

  // Bring a focused process into view.
  useEffect(() => {
    const el = scroller.current;
    if (!el || store.focus === null) return;
    const i = rows.findIndex((r) => r.node.id === store.focus);
    if (i === -1) return;
    const y = i * ROW;
    if (y < el.scrollTop || y > el.scrollTop + el.clientHeight - ROW * 2)
      el.scrollTop = Math.max(0, y - el.clientHeight / 3);
    store.focus = null;
  }, [store.focus, rows]);

  const setView = (v: TimeWindow) => {
    const f = full();
    const span = Math.min(f.t1 - f.t0, Math.max(50, v.t1 - v.t0));
    let t0 = Math.max(f.t0, Math.min(v.t0, f.t1 - span));
    if (!Number.isFinite(t0)) t0 = 0;
    view.current = { t0, t1: t0 + span };
    zoomed.current = span < f.t1 - f.t0;
    redrawTick((x) => x + 1);
  };
  const zoomAt = (factor: number, frac: number) => {
    const v = view.current ?? full();
    const span = v.t1 - v.t0;
    const t = v.t0 + span * frac;
    const ns = span * factor;
    setView({ t0: t - ns * frac, t1: t - ns * frac + ns });
  };

  const onWheel = (e: WheelEvent) => {
    const rect = (e.currentTarget as HTMLElement).getBoundingClientRect();
    const frac = (e.clientX - rect.left) / rect.width;
    if (e.ctrlKey || e.metaKey || e.altKey) {
      e.preventDefault();
      zoomAt(Math.exp(e.deltaY * 0.002), frac);
    } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      e.preventDefault();
      const v = view.current ?? full();
      const d = ((e.shiftKey ? e.deltaY : e.deltaX) / rect.width) * (v.t1 - v.t0);
      setView({ t0: v.t0 + d, t1: v.t1 + d });
    }
  };
  const onDown = (e: PointerEvent) => {
    const v = view.current ?? full();
    drag.current = { x: e.clientX, t0: v.t0, t1: v.t1, moved: false };
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
  };
  const onMove = (e: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.x;
    if (Math.abs(dx) > 3) d.moved = true;
    if (!d.moved) return;
    const dt = (-dx / size.w) * (d.t1 - d.t0);
    setView({ t0: d.t0 + dt, t1: d.t1 + dt });
  };
  const onUp = (e: PointerEvent) => {
    const d = drag.current;
    drag.current = null;
    if (!d || d.moved) return;
    const rect = (e.currentTarget as HTMLElement).getBoundingClientRect();
    const i = Math.floor((e.clientY - rect.top + scrollTop) / ROW);
    const row = rows[i];
    if (!row) return;
    const a: Action | null = actionAt(store, row, e.clientX - rect.left, size.w, view.current ?? full());
    if (a) store.select({ kind: "action", seq: a.seq });
    else store.select({ kind: "process", id: row.node.id });
  };

  const first = Math.max(0, Math.floor(scrollTop / ROW) - 2);
  const last = Math.min(rows.length, first + Math.ceil(size.h / ROW) + 4);
  const dpr = typeof window !== "undefined" ? window.devicePixelRatio || 1 : 1;
  const processes = store.byId.size;

  return (
    <section class="pane">
      <div class="pane-head">
        <div class="tree-head">
          <input
            type="search"
            placeholder="search processes: name, argument, pid, label, workflow"
            value={store.query}
            data-testid="search"
            onInput={(e) => {
              store.query = (e.currentTarget as HTMLInputElement).value;
              store.changed();
            }}
          />
          <span class="count" data-testid="row-count">
            {store.query ? `${rows.length} of ${processes}` : `${processes} processes`}
          </span>
        </div>
        <div class="time-head">
          <div class="axis-wrap">
            <canvas
              ref={axis}
              width={Math.round(size.aw * dpr)}
              height={Math.round(24 * dpr)}
              style={{ width: `${size.aw}px`, height: "24px" }}
            />
          </div>
          <div class="zoom">
            <button type="button" title="zoom in" data-testid="zoom-in" onClick={() => zoomAt(0.5, 0.5)}>
              +
            </button>
            <button type="button" title="zoom out" onClick={() => zoomAt(2, 0.5)}>
              −
            </button>
            <button type="button" title="whole session" onClick={() => setView(full())}>
              fit
            </button>
          </div>
        </div>
      </div>
      <div class="scroller" ref={scroller} onScroll={(e) => setScrollTop((e.currentTarget as HTMLElement).scrollTop)}>
        <div class="spacer" style={{ height: `${Math.max(rows.length * ROW, size.h)}px` }}>
          <div class="window" style={{ height: `${size.h}px` }}>
            <div class="tree-rows" data-testid="tree">
              {rows.slice(first, last).map((r, k) => (
                <TreeRow key={r.node.id} store={store} row={r} top={(first + k) * ROW - scrollTop} />
              ))}
              {rows.length === 0 && <p class="empty">{store.query ? "no process matches" : "no processes yet"}</p>}
            </div>
            <div class="timeline-wrap">
              <canvas
                ref={canvas}
                data-testid="timeline"
                width={Math.round(size.w * dpr)}
                height={Math.round(size.h * dpr)}
                style={{ width: `${size.w}px`, height: `${size.h}px` }}
                onWheel={onWheel}
                onPointerDown={onDown}
                onPointerMove={onMove}
                onPointerUp={onUp}
                onDblClick={(e) => {
                  const rect = (e.currentTarget as HTMLElement).getBoundingClientRect();
                  zoomAt(0.5, (e.clientX - rect.left) / rect.width);
                }}
              />
            </div>
          </div>
        </div>
      </div>
      <div class="legend">
        {Object.entries(LABEL_COLOURS).map(([k, c]) => (
          <span key={k}>
            <i style={{ background: c }} />
            {k}
          </span>
        ))}
        <span class="sep" />
        {(["FileRead", "FileWrite", "NetConnect", "ProcessSpawn", "PermChange"] as const).map((k) => (
          <span key={k}>
            <b style={{ background: KIND_COLOURS[k] }} />
            {k}
          </span>
        ))}
        <span>
          <b class="flag" />
          finding
        </span>
        <span class="hint">ctrl+wheel or +/− to zoom · drag to pan · click a tick for its action</span>
      </div>
    </section>
  );
}
