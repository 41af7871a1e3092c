// Who runs the models next. One request holds the turn at a time (the sessions run one forward
// pass at a time, and a request's prompt cache is checked out while it holds it). A completion
// is what the user is waiting on while typing, so it outranks an explanation, which outranks
// background work (warm-up). A holder offers its turn between model runs (`between`, called
// before each prefill chunk and decode step): if a higher-ranked request waits, it steps aside
// and resumes, exactly where it was, once that request is done. So a completion waits for at
// most the one model run in flight, never for a whole explanation.
import { abortError } from '../errors';

export type TurnPriority = 'completion' | 'explanation' | 'background';

const RANK: Record<TurnPriority, number> = { completion: 2, explanation: 1, background: 0 };

export interface Turn {
  /** Steps aside for a waiting request that outranks this one, then waits to get the turn back. */
  between(): Promise<void>;
}

interface Waiter {
  rank: number;
  wake(): void;
}

export class Turns {
  private busy = false;
  /** Highest rank first; first come first served within a rank (a resuming holder goes first). */
  private readonly waiting: Waiter[] = [];
  private idleWaiters: (() => void)[] = [];

  /** Runs `work` once it holds the turn; an abort while it waits rejects at once (ABORTED). */
  async run<T>(priority: TurnPriority, work: (turn: Turn) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const rank = RANK[priority];
    await this.acquire(rank, false, signal);
    let held = true;
    const turn: Turn = {
      between: async () => {
        if (!held || !this.outranked(rank)) return;
        held = false;
        this.release();
        await this.acquire(rank, true, signal);
        held = true;
      },
    };
    try {
      return await work(turn);
    } finally {
      // Not held: it was aborted while waiting to resume, so another request holds the turn.
      if (held) this.release();
    }
  }

  /** Whether a waiting request outranks `rank`. */
  private outranked(rank: number): boolean {
    return this.waiting.length > 0 && this.waiting[0].rank > rank;
  }

  /** Requests holding or waiting for the turn (tests). */
  get pending(): number {
    return this.waiting.length + (this.busy ? 1 : 0);
  }

  /** Resolves once no request holds or waits for the turn. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private acquire(rank: number, resuming: boolean, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError());
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        this.notifyIfIdle();
        reject(abortError());
      };
      const waiter: Waiter = {
        rank,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const at = this.waiting.findIndex((w) => (resuming ? w.rank <= rank : w.rank < rank));
      this.waiting.splice(at < 0 ? this.waiting.length : at, 0, waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Hands the turn straight to the next waiter (it stays busy), or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) {
      next.wake();
      return;
    }
    this.busy = false;
    this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.pending > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
