// Recent suggestions, keyed by the text around the cursor, so that typing along a suggestion
// (or coming back to a place already asked about) answers at once, with the same text, and
// without a model run. Bounded in entries and in bytes; least recently used goes first.

/** Characters of the text before and after the cursor that make a key. */
const KEY_PREFIX_CHARS = 512;
const KEY_SUFFIX_CHARS = 256;
/**
 * Most characters typed since a cached suggestion that are matched against it. A hit stores the
 * rest under the new cursor, so typing along further keeps hitting; a miss (on the keystroke
 * path) builds at most this many keys.
 */
const MAX_TYPED_ALONG = 32;

export interface CacheHit {
  /** What is left of the cached suggestion after the characters typed since. */
  text: string;
  /** Characters typed along the cached suggestion (0: asked at exactly this text). */
  typed: number;
}

function keyOf(scope: string, prefix: string, suffix: string): string {
  return `${scope}\u0000${prefix.slice(-KEY_PREFIX_CHARS)}\u0000${suffix.slice(0, KEY_SUFFIX_CHARS)}`;
}

export class SuggestionCache {
  /** Insertion order is recency order: a Map iterates oldest first. */
  private readonly entries = new Map<string, string>();
  private bytes = 0;

  constructor(
    readonly maxEntries = 250,
    readonly maxBytes = 2 * 1024 * 1024,
  ) {}

  /** Remembers `text` as the suggestion for this cursor ('' too: the model had nothing to say here). */
  put(scope: string, prefix: string, suffix: string, text: string): void {
    const key = keyOf(scope, prefix, suffix);
    this.remove(key);
    this.entries.set(key, text);
    this.bytes += 2 * (key.length + text.length);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.remove(oldest);
    }
  }

  /**
   * The suggestion for this cursor: asked here before, or asked up to MAX_TYPED_ALONG characters
   * back with a suggestion that starts with what was typed since (the rest of it comes back, and
   * is remembered here).
   */
  lookup(scope: string, prefix: string, suffix: string): CacheHit | undefined {
    const exact = this.touch(keyOf(scope, prefix, suffix));
    if (exact !== undefined) return { text: exact, typed: 0 };
    for (let typed = 1; typed <= Math.min(MAX_TYPED_ALONG, prefix.length); typed++) {
      const text = this.entries.get(keyOf(scope, prefix.slice(0, prefix.length - typed), suffix));
      if (text === undefined || text.length <= typed) continue;
      const along = prefix.slice(prefix.length - typed);
      if (!text.startsWith(along)) continue;
      const rest = text.slice(typed);
      if (!/\S/.test(rest)) continue;
      this.put(scope, prefix, suffix, rest);
      return { text: rest, typed };
    }
    return undefined;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get byteSize(): number {
    return this.bytes;
  }

  private touch(key: string): string | undefined {
    const text = this.entries.get(key);
    if (text === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, text);
    return text;
  }

  private remove(key: string): void {
    const text = this.entries.get(key);
    if (text === undefined) return;
    this.entries.delete(key);
    this.bytes -= 2 * (key.length + text.length);
  }
}
