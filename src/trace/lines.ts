import { open } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { Channel } from "../core/channel.js";
import { LineSplitter } from "../core/lines.js";

export interface LinesOptions {
  /** Batches queued before reading stops (default 256). */
  capacity?: number;
  /**
   * How long lines may wait to be joined by more before their batch is handed on (ms,
   * default 10). A tracer writes a line or two per write, so without this each line
   * would travel the whole pipeline and every stream writer on its own.
   */
  coalesceMs?: number;
  /** A batch is handed on at once when it reaches this many lines (default 1024). */
  batchLines?: number;
}

/**
 * Text chunks into batches of lines (core's LineSplitter: a partial last line waits for
 * the next chunk; a last line without a newline ends the last batch). Batches go into a bounded
 * channel; while it is full the source is not read, so the tracer blocks on its write
 * and nothing is dropped. A reader that leaves early (closing the channel) stops the reading.
 */
export function batchLines(source: AsyncIterable<string>, o: LinesOptions = {}): Channel<string[]> {
  const ch = new Channel<string[]>(o.capacity ?? 256);
  const coalesceMs = o.coalesceMs ?? 10;
  const max = o.batchLines ?? 1024;
  let acc: string[] = [];
  let timer: NodeJS.Timeout | null = null;
  // pushes that had to wait for room, in order; reading waits for them
  let waiting = 0;
  let queue: Promise<void> = Promise.resolve();

  const flush = (): void => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (acc.length === 0) return;
    const batch = acc;
    acc = [];
    if (waiting === 0 && ch.tryPush(batch)) return;
    waiting++;
    queue = queue
      .then(() => ch.push(batch))
      .catch(() => {}) // the reader closed the channel: nothing more to deliver
      .finally(() => {
        waiting--;
      });
  };

  void (async () => {
    const splitter = new LineSplitter();
    let failure: unknown;
    try {
      for await (const chunk of source) {
        const parts = splitter.push(chunk);
        if (parts.length > 0) {
          if (acc.length === 0) acc = parts;
          else for (const p of parts) acc.push(p);
          if (acc.length >= max || coalesceMs <= 0) flush();
          else if (timer === null) timer = setTimeout(flush, coalesceMs);
        }
        while (waiting > 0) await queue;
        if (ch.isClosed) break; // the reader left: stop reading (closes the source)
      }
    } catch (e) {
      failure = e;
    }
    const last = splitter.end();
    if (last !== null) acc.push(last);
    flush();
    while (waiting > 0) await queue;
    ch.close(failure);
  })();
  return ch;
}

/** A file or named pipe read as text, through one reused buffer. */
export interface TextSource extends AsyncIterable<string> {
  /** Whether the open has returned (a FIFO's open waits for its writer). */
  readonly opened: boolean;
}

export function readText(path: string, bufferBytes = 1 << 16): TextSource {
  let opened = false;
  async function* chunks(): AsyncGenerator<string> {
    const fh = await open(path, "r");
    opened = true;
    try {
      // A fresh buffer per read (what fs streams do) would be megabytes of garbage a
      // second for a tracer that writes a line at a time.
      const buf = Buffer.allocUnsafe(bufferBytes);
      const dec = new StringDecoder("utf8");
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        yield dec.write(buf.subarray(0, bytesRead));
      }
      const tail = dec.end();
      if (tail.length > 0) yield tail;
    } finally {
      await fh.close();
    }
  }
  const it = chunks();
  return {
    get opened() {
      return opened;
    },
    [Symbol.asyncIterator]: () => it,
  };
}
