// Keeps the prompt KV of recent requests so the next keystroke prefills only what changed.
// Entries hold prompt positions only (the decoder's KV for generated tokens is dropped before
// check-in), are keyed by the model that prefilled them, and are bounded in count and bytes.
import type { KvCache } from '../runtime/kvCache';

export type PrefillRole = 'full' | 'decoder';

interface Entry {
  role: PrefillRole;
  /** Token ids whose KV the cache holds (cache.length === ids.length). */
  ids: number[];
  cache: KvCache;
}

export interface Checkout {
  cache: KvCache;
  /** Leading prompt tokens already in the cache. */
  reused: number;
}

export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class PromptCache {
  /** Most recently used last. */
  private entries: Entry[] = [];

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  /**
   * Takes the entry sharing the longest prefix with `ids` out of the cache (a request owns it
   * until check-in, also while it has stepped aside for a more urgent request: that one never
   * gets it). At least one prompt token is always left to run: its logits start generation.
   */
  checkout(role: PrefillRole, ids: readonly number[], create: () => KvCache): Checkout {
    let best = -1;
    let bestLength = 0;
    this.entries.forEach((e, i) => {
      if (e.role !== role) return;
      const n = commonPrefixLength(e.ids, ids);
      if (n > bestLength || (best < 0 && n === 0)) {
        best = i;
        bestLength = n;
      }
    });
    const reusable = best >= 0 && (bestLength > 0 || this.entries.length >= this.maxEntries);
    if (!reusable) return { cache: create(), reused: 0 };
    // With no overlap this still recycles the least useful buffer rather than growing memory.
    const [entry] = this.entries.splice(best, 1);
    const reused = Math.min(bestLength, ids.length - 1);
    entry.cache.truncate(reused);
    // A device cache cannot be cut: it may come back empty (runtime/kvCache.ts).
    return { cache: entry.cache, reused: entry.cache.length };
  }

  /** Returns a cache holding the KV of `ids` (exactly its first cache.length tokens). */
  checkin(role: PrefillRole, ids: readonly number[], cache: KvCache): void {
    if (cache.length === 0) return;
    this.entries.push({ role, ids: ids.slice(0, cache.length), cache });
    while (this.entries.length > this.maxEntries || (this.entries.length > 1 && this.totalBytes() > this.maxBytes)) {
      this.entries.shift()?.cache.release();
    }
  }

  clear(): void {
    for (const e of this.entries) e.cache.release();
    this.entries = [];
  }

  totalBytes(): number {
    return this.entries.reduce((sum, e) => sum + e.cache.bytes, 0);
  }

  get size(): number {
    return this.entries.length;
  }
}
