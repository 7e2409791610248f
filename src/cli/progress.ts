import type { PipelineCounts } from "../pipeline/pipeline.js";

/** A one-line progress display on stderr (only used when stderr is a TTY). */
export function progressLine(): {
  update: (c: Readonly<PipelineCounts>) => void;
  /** A line of its own (a warning): the progress line is cleared first and redrawn at the next update. */
  say: (line: string) => void;
  done: () => void;
} {
  let last = 0;
  let shown = false;
  return {
    update(c) {
      const now = performance.now();
      if (now - last < 250) return; // redraw at most 4 times a second
      last = now;
      shown = true;
      process.stderr.write(
        `\r\x1b[2Kcapsule: ${c.lines} lines, ${c.events} events, ${c.actions} actions${c.parse_errors ? `, ${c.parse_errors} parse errors` : ""}`,
      );
    },
    say(line) {
      process.stderr.write(`${shown ? "\r\x1b[2K" : ""}${line}\n`);
      shown = false;
      last = 0;
    },
    done() {
      if (shown) process.stderr.write("\r\x1b[2K");
    },
  };
}
