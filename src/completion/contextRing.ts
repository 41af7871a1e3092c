// Chunks of the files the user works in (opened, edited, saved, selected from), offered to the
// model as context beyond the cursor's window. New chunks wait in a queue and join the ring only
// at a pause (commit): the ring sits at the start of every prompt, so while the user types it
// must not change, or the cached prompt KV would be lost on each keystroke.
import type { ContextChunk } from '../engine/requests';

export interface RingLimits {
  /** Most chunks kept. */
  maxChunks: number;
  /** Lines per chunk. */
  chunkLines: number;
}

interface Chunk extends ContextChunk {
  lines: Set<string>;
}

/** Characters one chunk may hold (minified files have few, very long lines). */
const MAX_CHUNK_CHARS = 4096;
/** Chunks sharing this share of their lines are the same chunk: the newer one replaces the older. */
const DUPLICATE_SHARE = 0.9;
/** A chunk of the current file with this share of its lines in the window adds nothing. */
const IN_WINDOW_SHARE = 0.5;
/** Chunks waiting for the next commit. */
const MAX_QUEUED = 16;

function lineSet(text: string): Set<string> {
  const set = new Set<string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t) set.add(t);
  }
  return set;
}

/** Share of the smaller set's lines found in the other. */
function overlap(a: Set<string>, b: Set<string>): number {
  return a.size <= b.size ? shareIn(a, b) : shareIn(b, a);
}

/** The last `n` items (none for 0: `slice(-0)` would keep them all). */
function keepLast<T>(items: T[], n: number): T[] {
  return n > 0 ? items.slice(-n) : [];
}

/** Share of `a`'s lines found in `b`. */
function shareIn(a: Set<string>, b: Set<string>): number {
  if (a.size === 0) return 1;
  let shared = 0;
  for (const line of a) if (b.has(line)) shared++;
  return shared / a.size;
}

export class ContextRing {
  private ring: Chunk[] = [];
  private queue: Chunk[] = [];

  constructor(private limits: RingLimits) {}

  setLimits(limits: RingLimits): void {
    this.limits = limits;
    this.ring = keepLast(this.ring, limits.maxChunks);
    this.queue = keepLast(this.queue, limits.maxChunks);
  }

  /**
   * Queues the chunk of `chunkLines` lines around `line`. Refused: blank or tiny chunks,
   * anything with NUL bytes.
   */
  offer(path: string, lineCount: number, lineAt: (line: number) => string, line: number): boolean {
    if (this.limits.maxChunks <= 0 || lineCount <= 0) return false;
    const n = this.limits.chunkLines;
    const start = Math.max(0, Math.min(line - Math.floor(n / 2), lineCount - n));
    const end = Math.min(lineCount, start + n);
    let text = '';
    for (let i = start; i < end && text.length < MAX_CHUNK_CHARS; i++) text += lineAt(i).slice(0, MAX_CHUNK_CHARS) + '\n';
    text = text.slice(0, MAX_CHUNK_CHARS);
    if (text.includes('\u0000') || text.trim().length < 16) return false;
    const chunk: Chunk = { path, text, lines: lineSet(text) };
    this.queue = this.queue.filter((q) => overlap(q.lines, chunk.lines) < DUPLICATE_SHARE);
    this.queue.push(chunk);
    if (this.queue.length > MAX_QUEUED) this.queue.shift();
    return true;
  }

  /** Moves queued chunks into the ring, newest last, near-duplicates replaced. Returns whether the ring changed. */
  commit(): boolean {
    if (this.queue.length === 0) return false;
    let changed = false;
    for (const chunk of this.queue) {
      const same = this.ring.findIndex((c) => overlap(c.lines, chunk.lines) >= DUPLICATE_SHARE);
      // The same text at the end of the ring already: nothing changes (the prompt stays put).
      if (same >= 0 && same === this.ring.length - 1 && this.ring[same].text === chunk.text && this.ring[same].path === chunk.path) continue;
      if (same >= 0) this.ring.splice(same, 1);
      this.ring.push(chunk);
      changed = true;
    }
    this.queue = [];
    this.ring = keepLast(this.ring, this.limits.maxChunks);
    return changed;
  }

  /** The ring's chunks for a prompt, oldest first, minus chunks of this file already in its window. */
  chunksFor(path: string, windowText: string): ContextChunk[] {
    let window: Set<string> | undefined;
    const out: ContextChunk[] = [];
    for (const c of this.ring) {
      if (c.path === path) {
        window ??= lineSet(windowText);
        if (shareIn(c.lines, window) >= IN_WINDOW_SHARE) continue;
      }
      out.push({ path: c.path, text: c.text });
    }
    return out;
  }

  clear(): void {
    this.ring = [];
    this.queue = [];
  }

  get size(): number {
    return this.ring.length;
  }
}
