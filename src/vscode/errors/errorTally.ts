// Counts repeats of each distinct error so the user sees it once and the log gets a line only
// at the 1st, 10th, 100th... time. Kept apart from ErrorReporter (which talks to VS Code) so
// the counting is unit-tested.

/** Distinct errors remembered; the oldest is forgotten first. */
export const MAX_DISTINCT_ERRORS = 200;

export interface Tally {
  /** True the first time this key is counted (since the last reset). */
  first: boolean;
  count: number;
  /** True when this repeat deserves a log line: the 10th, 100th, 1000th... */
  logRepeat: boolean;
}

export class ErrorTally {
  private readonly seen = new Map<string, number>();

  count(key: string): Tally {
    const count = (this.seen.get(key) ?? 0) + 1;
    // Re-inserted so the map's order is least recently seen first.
    this.seen.delete(key);
    this.seen.set(key, count);
    if (this.seen.size > MAX_DISTINCT_ERRORS) this.seen.delete(this.seen.keys().next().value as string);
    return { first: count === 1, count, logRepeat: count > 1 && isPowerOfTen(count) };
  }

  get size(): number {
    return this.seen.size;
  }

  reset(): void {
    this.seen.clear();
  }
}

function isPowerOfTen(n: number): boolean {
  while (n >= 10 && n % 10 === 0) n /= 10;
  return n === 1;
}
