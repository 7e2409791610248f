/**
 * The timeline, drawn on a canvas of our own: one row per visible tree row, the
 * process's lifetime as a bar in its label's colour, its actions as ticks in their
 * kind's colour, findings as red marks. Only the rows in view are drawn and only the
 * actions inside the time window (binary search over each pid's sorted actions), and
 * ticks falling on a pixel already drawn are skipped, so a frame costs about the same
 * at 15 or 1,500 processes.
 */
import type { Action } from "../../src/core/events.js";
import type { Row, Store } from "./store.js";
import { KIND_COLOURS, LABEL_COLOURS } from "./vocab.js";

export const ROW = 24;

export interface TimeWindow {
  t0: number;
  t1: number;
}

export interface Frame {
  rows: Row[];
  scrollTop: number;
  width: number;
  height: number;
  view: TimeWindow;
  selectedId: string | null;
  /** Per pid, the times of actions some finding points at. */
  flagged: Map<number, number[]>;
}

/** The first index of `list` whose last_ts >= t (actions sorted by first_ts; close enough for drawing). */
function firstFrom(list: Action[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.first_ts < t) lo = mid + 1;
    else hi = mid;
  }
  // an action that started just before the window may still reach into it
  return Math.max(0, lo - 1);
}

export function drawTimeline(ctx: CanvasRenderingContext2D, store: Store, f: Frame): void {
  const { view, width, height } = f;
  const scale = width / Math.max(1, view.t1 - view.t0);
  const X = (t: number): number => (t - view.t0) * scale;
  ctx.clearRect(0, 0, width, height);
  const first = Math.floor(f.scrollTop / ROW);
  const last = Math.min(f.rows.length, first + Math.ceil(height / ROW) + 1);
  for (let i = first; i < last; i++) {
    const row = f.rows[i]!;
    const n = row.node;
    const y = i * ROW - f.scrollTop;
    if (n.id === f.selectedId) {
      ctx.fillStyle = "rgba(100, 181, 246, 0.16)";
      ctx.fillRect(0, y, width, ROW);
    } else if (i % 2 === 1) {
      ctx.fillStyle = "rgba(255, 255, 255, 0.025)";
      ctx.fillRect(0, y, width, ROW);
    }
    const start = n.start_ts ?? 0;
    const end = n.end_ts ?? store.end;
    const x0 = Math.max(-1, X(start));
    const x1 = Math.min(width + 1, X(end));
    if (x1 >= 0 && x0 <= width) {
      ctx.fillStyle = LABEL_COLOURS[n.label ?? "Unknown"];
      ctx.globalAlpha = 0.35;
      ctx.fillRect(x0, y + 6, Math.max(2, x1 - x0), ROW - 12);
      ctx.globalAlpha = 1;
      ctx.fillRect(x0, y + 6, Math.min(2, Math.max(1, x1 - x0)), ROW - 12);
    }
    drawActions(ctx, store.actionsOf(n.pid), start, end, y, X, f);
    for (const t of f.flagged.get(n.pid) ?? []) {
      if (t < start || t > end) continue;
      const x = X(t);
      if (x < -4 || x > width + 4) continue;
      ctx.fillStyle = "#ff5252";
      ctx.beginPath();
      ctx.moveTo(x - 4, y + 1);
      ctx.lineTo(x + 4, y + 1);
      ctx.lineTo(x, y + 8);
      ctx.fill();
    }
  }
}

function drawActions(
  ctx: CanvasRenderingContext2D,
  list: Action[],
  start: number,
  end: number,
  y: number,
  X: (t: number) => number,
  f: Frame,
): void {
  const from = Math.max(start, f.view.t0);
  const to = Math.min(end, f.view.t1);
  let lastX = -2;
  let lastKind = "";
  for (let j = firstFrom(list, from); j < list.length; j++) {
    const a = list[j]!;
    if (a.first_ts > to) break;
    if (a.last_ts < from || a.first_ts < start || a.first_ts > end) continue;
    const x = Math.floor(X(a.first_ts));
    const w = Math.max(1, Math.floor(X(a.last_ts)) - x);
    if (x === lastX && a.kind === lastKind && w === 1) continue;
    lastX = x;
    lastKind = a.kind;
    ctx.fillStyle = KIND_COLOURS[a.kind] ?? KIND_COLOURS.Other;
    ctx.fillRect(x, y + 8, w, ROW - 16);
  }
}

/** The action drawn at (x, row), if any (within 3 px). */
export function actionAt(store: Store, row: Row, x: number, width: number, view: TimeWindow): Action | null {
  const scale = width / Math.max(1, view.t1 - view.t0);
  const t = view.t0 + x / scale;
  const slack = 3 / scale;
  const list = store.actionsOf(row.node.pid);
  let best: Action | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (let j = firstFrom(list, t - slack); j < list.length; j++) {
    const a = list[j]!;
    if (a.first_ts > t + slack) break;
    const d = t < a.first_ts ? a.first_ts - t : t > a.last_ts ? t - a.last_ts : 0;
    if (d <= slack && d < bestD) {
      best = a;
      bestD = d;
    }
  }
  return best;
}

/** A tick step of 1, 2 or 5 × 10^k µs giving about `n` ticks over `span`. */
function tickStep(span: number, n: number): number {
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function tickLabel(us: number, step: number): string {
  if (step >= 60e6) return `${Math.floor(us / 60e6)}m${String(Math.round((us % 60e6) / 1e6)).padStart(2, "0")}s`;
  if (step >= 1e6) return `${Math.round(us / 1e6)}s`;
  if (step >= 1e3) return `${(us / 1e6).toFixed(step >= 1e5 ? 1 : step >= 1e4 ? 2 : 3)}s`;
  return `${(us / 1e3).toFixed(step >= 100 ? 1 : 3)}ms`;
}

export function drawAxis(ctx: CanvasRenderingContext2D, width: number, height: number, view: TimeWindow): void {
  ctx.clearRect(0, 0, width, height);
  const span = Math.max(1, view.t1 - view.t0);
  const step = tickStep(span, Math.max(2, Math.floor(width / 90)));
  ctx.fillStyle = "#90a4ae";
  ctx.strokeStyle = "#37474f";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "top";
  for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
    const x = Math.round(((t - view.t0) / span) * width) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, height - 6);
    ctx.lineTo(x, height);
    ctx.stroke();
    ctx.fillText(tickLabel(t, step), x + 3, 4);
  }
}
