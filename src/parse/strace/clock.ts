/**
 * Turns the timestamps strace prints into µs since the trace's start (t0).
 *
 * -ttt prints epoch seconds: exact. -t/-tt print the local time of day without a date: they
 * are anchored on t0's local date when t0 is known (else on the first line, and t0 stays
 * unknown), and a jump back by more than half a day is taken as midnight passing.
 * -r prints the time since the previous line: the deltas are summed.
 */
import { CLOCK_R, CLOCK_T, CLOCK_TT, CLOCK_TTT, type Leader } from "./scanner.js";

const DAY_US = 86_400_000_000;
const HALF_DAY_US = DAY_US / 2;

/** Local time of day of epoch µs `t`, in µs. */
function localTimeOfDayUs(t: number): number {
  const ms = Math.floor(t / 1000);
  const d = new Date(ms);
  return (
    ((d.getHours() * 60 + d.getMinutes()) * 60 + d.getSeconds()) * 1_000_000 + (t - (ms - d.getMilliseconds()) * 1000)
  );
}

export class TraceClock {
  /** Epoch µs of ts 0; null until known. */
  t0: number | null;
  /** For -t/-tt: ts = origin + day + time of day. */
  private origin = 0;
  private day = 0;
  private lastTod = -1;
  private relative = 0;

  constructor(t0: number | null) {
    this.t0 = t0;
  }

  /** ts of a line whose leader was just scanned, or null when it has no timestamp. */
  ts(l: Leader): number | null {
    switch (l.clock) {
      case CLOCK_TTT: {
        const e = l.sec * 1_000_000 + l.us;
        if (this.t0 === null) this.t0 = e;
        return e - this.t0;
      }
      case CLOCK_T:
      case CLOCK_TT: {
        const tod = l.sec * 1_000_000 + l.us;
        if (this.lastTod < 0) this.anchor(tod);
        else this.wrap(tod);
        this.lastTod = tod;
        return this.origin + this.day + tod;
      }
      case CLOCK_R:
        this.relative += l.sec * 1_000_000 + l.us;
        return this.relative;
      default:
        return null;
    }
  }

  private anchor(tod: number): void {
    if (this.t0 === null) {
      this.origin = -tod;
      return;
    }
    // Midnight of t0's local date, relative to t0.
    const t0Tod = localTimeOfDayUs(this.t0);
    this.origin = -t0Tod;
    this.lastTod = t0Tod;
    this.wrap(tod);
  }

  private wrap(tod: number): void {
    if (tod < this.lastTod - HALF_DAY_US) this.day += DAY_US;
    else if (tod > this.lastTod + HALF_DAY_US) this.day -= DAY_US;
  }
}
