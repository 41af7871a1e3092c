// How long to wait after a keystroke before asking the model: a little longer than this user's
// usual gap between keys, so the model runs when they pause rather than on every key (a fast
// typist waits less, a slow one is not interrupted mid-word). Bounded both ways. After a word
// or token boundary (a space, a line end, punctuation) people pause to read more often than
// inside a word, so there the wait is the lower bound.

/** Gaps longer than this are pauses, not typing rhythm. */
const PAUSE_MS = 1500;
/** Gaps remembered. */
const WINDOW = 16;
/** Wait this many times the median gap. */
const FACTOR = 1.3;

export const ADAPTIVE_MIN_MS = 100;
export const ADAPTIVE_MAX_MS = 400;
const INITIAL_MS = 200;
const BOUNDARY = /[\s.,;:()[\]{}=]$/;

export class TypingRhythm {
  private last: number | undefined;
  private readonly gaps: number[] = [];

  constructor(
    private readonly minMs = ADAPTIVE_MIN_MS,
    private readonly maxMs = ADAPTIVE_MAX_MS,
  ) {}

  keystroke(now: number): void {
    if (this.last !== undefined) {
      const gap = now - this.last;
      if (gap > 0 && gap < PAUSE_MS) {
        this.gaps.push(gap);
        if (this.gaps.length > WINDOW) this.gaps.shift();
      }
    }
    this.last = now;
  }

  /** The debounce for the next request, in ms, given the text before the cursor. */
  delay(before = ''): number {
    if (BOUNDARY.test(before)) return this.minMs;
    if (this.gaps.length < 3) return Math.min(this.maxMs, Math.max(this.minMs, INITIAL_MS));
    const sorted = [...this.gaps].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    return Math.round(Math.min(this.maxMs, Math.max(this.minMs, FACTOR * median)));
  }
}
