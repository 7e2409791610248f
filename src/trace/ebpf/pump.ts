import { open } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Channel } from "../../core/channel.js";
import { LineSplitter } from "../../core/lines.js";
import { durationOf, formatTs, type Head, scanHead } from "../../parse/bpftrace/line.js";
import type { TraceLoss } from "../tracer.js";
import { readRecord } from "./json.js";
import { Reorder } from "./reorder.js";

const FORK_CALLS = new Set(["clone", "clone3", "fork", "vfork"]);

/**
 * Reads bpftrace's output file as it grows and hands the raw lines on in time order.
 * Reading a file (not a pipe) means bpftrace never waits on us, so a slow pipeline
 * cannot make the kernel drop records; our own reading waits on the channel instead.
 * On the way it keeps the set of live traced tasks (from fork, exec and exit lines), so
 * the tracer knows when the whole tree is gone.
 */
export class TracePump {
  readonly lines = new Channel<string[]>(64);
  /** Traced tasks believed alive. */
  readonly live = new Set<number>();
  /** Key (epoch µs) of the latest exit line. */
  lastExitKey = 0;
  /** The program's last probe fired: everything is attached. */
  ready = false;
  readonly losses: TraceLoss[] = [];
  /** Set once bpftrace has exited: the file then holds everything. */
  writerGone = false;
  /** Called after every read, to let the tracer decide whether to stop bpftrace. */
  onTick: () => void = () => {};
  private readonly reorder = new Reorder(10_000);
  private openLoss: TraceLoss | null = null;
  private readonly h: Head = { ts: 0, cpu: 0, tid: 0, body: 0, timeEnd: 0, timeIsUs: false };

  constructor(
    private readonly file: string,
    private readonly t0: number,
    root: number,
    /** Syscall numbers to names: the exit probe prints `sys NR`, the raw line carries the name. */
    private readonly names: ReadonlyMap<number, string>,
  ) {
    this.live.add(root);
  }

  /** A line the tracer writes itself (the begin line), at `key`. */
  add(key: number, text: string): void {
    this.reorder.add(-1, key, text, Date.now());
  }

  get cpusHeard(): number {
    return this.reorder.cpuCount;
  }

  /** Time (epoch µs) every CPU has reported past. */
  watermark(): number {
    return this.reorder.watermark(Date.now());
  }

  /** Newest time seen in the output (epoch µs). */
  get latest(): number {
    return this.reorder.latest;
  }

  async run(): Promise<void> {
    const fh = await open(this.file, "r");
    const buf = Buffer.alloc(1 << 20);
    const splitter = new LineSplitter();
    let pos = 0;
    try {
      for (;;) {
        const gone = this.writerGone;
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead > 0) {
          pos += bytesRead;
          const parts = splitter.write(buf.subarray(0, bytesRead));
          const now = Date.now();
          for (const l of parts) if (l.length > 0) this.record(l, now);
        } else if (gone) break;
        else await sleep(this.ready ? 10 : 2);
        this.onTick();
        const out = this.reorder.release(Date.now());
        if (out.length > 0) await this.lines.push(out);
      }
      const last = splitter.end();
      if (last !== null) this.record(last, Date.now());
      const tail = this.reorder.flush();
      if (tail.length > 0) await this.lines.push(tail);
      this.lines.close();
    } catch (e) {
      this.lines.close(e);
    } finally {
      await fh.close();
    }
  }

  private record(jsonLine: string, now: number): void {
    const r = readRecord(jsonLine);
    if (r.type === "lost") {
      const key = this.reorder.latest;
      this.reorder.add(-1, key, `${formatTs(key)} -1 0 lost ${r.count}`, now);
      const loss: TraceLoss = {
        count: r.count,
        reason: `the kernel dropped ${r.count} records: bpftrace did not read its perf buffers fast enough`,
        from_ts: key - this.t0,
        to_ts: null,
      };
      this.losses.push(loss);
      this.openLoss = loss;
      return;
    }
    if (r.type !== "printf") return;
    let s = r.text;
    const h = this.h;
    if (!scanHead(s, h)) {
      // not a line of ours: kept, the parser reports it
      this.reorder.add(-1, this.reorder.latest, s, now);
      return;
    }
    if (h.timeIsUs === true) {
      // the program prints epoch µs (one printf field less); raw lines carry `<s>.<µs>`
      const shift = s.length;
      s = formatTs(h.ts) + s.slice(h.timeEnd);
      h.body += s.length - shift;
    }
    const b = h.body;
    if (s.length === b + 2 && s.startsWith("hb", b)) {
      this.reorder.add(h.cpu, h.ts, null, now);
      return;
    }
    if (s.length === b + 5 && s.startsWith("ready", b)) {
      this.ready = true;
      this.reorder.add(h.cpu, h.ts, null, now);
      return;
    }
    if (s.startsWith("sys ", b)) {
      const sp = s.indexOf(" ", b + 4);
      const name = this.names.get(Number(s.slice(b + 4, sp)));
      if (name !== undefined) s = s.slice(0, b) + name + s.slice(sp);
    }
    const dur = durationOf(s, b);
    const key = dur >= 0 ? h.ts + dur : h.ts;
    this.follow(s, h, dur, key);
    if (this.openLoss !== null) {
      this.openLoss.to_ts = key - this.t0;
      this.openLoss = null;
    }
    this.reorder.add(h.cpu, key, s, now);
  }

  /** Keep `live` up to date from fork, exec and exit lines. */
  private follow(s: string, h: Head, dur: number, key: number): void {
    const b = h.body;
    if (dur >= 0) {
      const sp = s.indexOf(" ", b);
      if (!FORK_CALLS.has(s.slice(b, sp))) return;
      const child = Number.parseInt(s.slice(sp + 3, s.indexOf(" ", sp + 3)), 10);
      if (child > 0) this.live.add(child);
    } else if (s.startsWith("exit ", b)) {
      this.live.delete(h.tid);
      if (key > this.lastExitKey) this.lastExitKey = key;
    } else if (s.startsWith("exec ", b)) {
      const old = Number.parseInt(s.slice(b + 5), 10);
      if (old !== h.tid) this.live.delete(old);
      this.live.add(h.tid);
    }
  }
}
