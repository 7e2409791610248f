/**
 * -t/-tt clocks have no date: a real -tt trace, shifted so it runs across midnight, keeps
 * increasing ts; with t0 given, ts is anchored on t0's local date.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CORPUS, parseLines, readLines } from "./helpers.js";

const DAY = 86_400_000_000;
const TOD = /(\d\d):(\d\d):(\d\d)\.(\d{6}) /;

function tod(line: string): number | null {
  const m = TOD.exec(line);
  if (m === null) return null;
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1e6 + Number(m[4]);
}

function fmt(us: number): string {
  const t = ((us % DAY) + DAY) % DAY;
  const s = Math.floor(t / 1e6);
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${p2(Math.floor(s / 3600))}:${p2(Math.floor(s / 60) % 60)}:${p2(s % 60)}.${String(t % 1e6).padStart(6, "0")} `;
}

describe("time of day clocks", () => {
  const lines = readLines(join(CORPUS, "agent-tt-stderr.strace"));
  const first = tod(lines[0]!)!;
  // The trace moved to start 0.5 s before midnight.
  const start = DAY - 500_000;
  const shifted = lines.map((l) => {
    const t = tod(l);
    return t === null ? l : l.replace(TOD, fmt(t - first + start));
  });

  it("the shifted trace really crosses midnight", () => {
    assert.ok(shifted[0]!.includes("23:59:59.500000 "));
    assert.ok(shifted.some((l) => /^(\[pid +\d+\] )?00:00:0\d\./.test(l)));
  });

  it("without t0: µs since the first line, increasing past midnight", () => {
    const { events } = parseLines(shifted);
    for (const e of events) {
      if (e.ts === null) continue;
      const line = lines[e.raw[0]!]!;
      assert.equal(e.ts, tod(line)! - first, line);
    }
  });

  it("with t0: anchored on t0's local date", () => {
    // t0 = 23:59:59.400000 local time on 2031-03-04 (no DST change that night in any zone we run in).
    const d = new Date(2031, 2, 4, 23, 59, 59, 400);
    const t0 = d.getTime() * 1000;
    const { events, parser } = parseLines(shifted, { t0EpochUs: t0 });
    assert.equal(parser.t0EpochUs, t0);
    for (const e of events) {
      if (e.ts === null) continue;
      assert.equal(e.ts, 100_000 + tod(lines[e.raw[0]!]!)! - first);
    }
    // t0 just after midnight, trace lines just before: the trace began the day before.
    const after = new Date(2031, 2, 5, 0, 0, 0, 100).getTime() * 1000;
    const p2 = parseLines(shifted, { t0EpochUs: after });
    const firstTs = p2.events.find((e) => e.ts !== null)!.ts!;
    assert.equal(firstTs, -600_000);
  });
});
