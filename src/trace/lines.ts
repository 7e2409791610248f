import type { Readable } from "node:stream";
import { Channel } from "../core/channel.js";

/**
 * Split a text stream into batches of lines, keeping the partial last line for the next
 * chunk. Batches go into a bounded channel: when the pipeline falls behind, reading
 * pauses, the tracer blocks on its write, and nothing is dropped.
 */
export function linesOf(stream: Readable, capacity = 256): Channel<string[]> {
  const ch = new Channel<string[]>(capacity);
  stream.setEncoding("utf8");
  let rest = "";
  stream.on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    if (parts.length === 0) return;
    if (!ch.tryPush(parts)) {
      stream.pause();
      ch.push(parts).then(
        () => stream.resume(),
        () => stream.destroy(),
      );
    }
  });
  stream.on("end", () => {
    const tail = rest;
    rest = "";
    const done = (): void => ch.close();
    if (tail.length > 0) ch.push([tail]).then(done, done);
    else done();
  });
  stream.on("error", (e) => ch.close(e));
  return ch;
}
