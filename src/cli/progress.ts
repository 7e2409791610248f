import type { PipelineCounts } from "../pipeline/pipeline.js";

/** A one-line progress display on stderr (only used when stderr is a TTY). */
export function progressLine(): { update: (c: Readonly<PipelineCounts>) => void; done: () => void } {
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
    done() {
      if (shown) process.stderr.write("\r\x1b[2K");
    },
  };
}
