// KV caches as the graphs want them (manifest kv.cacheLayout); past is [1, kvHeads, n, headDim]:
//   static: a preallocated buffer per layer, passed whole on every step (no copy: ORT wraps
//           inputs), its free slots masked out by attention_mask. A step returns only its new
//           positions, written into the buffer here. Attention reads every slot, masked or not,
//           so capacity stays tight: a prefill chunk grows it to just what it holds (free slots
//           in every chunk of a 1k prompt made prefill ~2x slower), decode reserves its budget.
//   hf:     past/present as HF/optimum export them; every step returns the whole cache, which
//           onnxruntime-node copies: supported for standard exports, slower at long contexts.
// Elements (manifest kv.dtype): float32; float16, kept as its bit patterns in a Uint16Array (Node
// has no Float16Array before v24; ORT takes Uint16Array for float16); or int8, which adds two
// float32 scale tensors per layer, [1, kvHeads, 1, n] (static layout only).
import type * as ort from 'onnxruntime-node';
import { Tensor } from './ortBinding';
import type { KvDtype, KvLayout } from '../model/manifest';

type ElementType = 'float32' | 'float16' | 'uint8' | 'int8';
type KvArray = Float32Array | Uint16Array | Uint8Array | Int8Array;

/** One of a layer's cache tensors: its element type, values per position and head, and whether
 *  it is laid out as one row per head, [1, h, 1, n] (int8 scales), or [1, h, n, width]. */
export interface KvStream {
  readonly type: ElementType;
  readonly width: number;
  readonly row: boolean;
}

/** A layer's cache tensors in graph input order: key, value (int8: key_scale, value_scale too). */
export function kvStreams(layout: KvLayout): KvStream[] {
  const d = layout.headDim;
  if (layout.dtype === 'int8') {
    return [{ type: 'uint8', width: d, row: false }, { type: 'int8', width: d, row: false }, { type: 'float32', width: 1, row: true }, { type: 'float32', width: 1, row: true }];
  }
  const kv: KvStream = { type: layout.dtype, width: d, row: false };
  return [kv, kv];
}

function allocate(type: ElementType, length: number): KvArray {
  switch (type) {
    case 'float16':
      return new Uint16Array(length);
    case 'uint8':
      return new Uint8Array(length);
    case 'int8':
      return new Int8Array(length);
    default:
      return new Float32Array(length);
  }
}

const ELEMENT_BYTES: Record<ElementType, number> = { float32: 4, float16: 2, uint8: 1, int8: 1 };

/** An output's elements as stored: a float16 output may arrive as a Float16Array, whose values
 *  (not bits) `set` would convert, so it is viewed as raw Uint16 bits. */
function elements(t: ort.Tensor, type: ElementType): KvArray {
  const data = t.data as ArrayBufferView & { length: number };
  return type === 'float16' ? new Uint16Array(data.buffer, data.byteOffset, data.length) : (data as KvArray);
}

function tensor(type: ElementType, data: KvArray, dims: number[]): ort.Tensor {
  return new Tensor(type, data as Float32Array, dims);
}

function dims(stream: KvStream, heads: number, positions: number): number[] {
  return stream.row ? [1, heads, 1, positions] : [1, heads, positions, stream.width];
}

export type CacheLayout = 'hf' | 'static';

export interface KvCache {
  /** Valid positions held. */
  readonly length: number;
  /** Past tensors to feed: [layer0.key, layer0.value, layer1.key, ...]. */
  pastTensors(): ort.Tensor[];
  /** attention_mask for a run of `n` new tokens: [1, past slots + n]. */
  attentionMask(n: number): ort.Tensor;
  /** Takes the graph's present outputs after a forward pass over `n` new tokens. */
  absorb(presents: readonly ort.Tensor[], n: number): void;
  /** Sizes storage for `positions` in all (static layout: attention reads every slot, so not much more). */
  reserve(positions: number): void;
  /** Allocates room for `positions` without changing what attention reads (static layout:
   *  growing up to it later re-lays the cache out in place, allocating nothing). */
  plan(positions: number): void;
  /** Keeps the first `n` positions. */
  truncate(n: number): void;
  /** Returns a function that puts the cache back as it is now (drops what came after). */
  checkpoint(): () => void;
  /** Memory held, for the prompt cache's bound. */
  readonly bytes: number;
  /** Whether its tensors live on the GPU (WebGPU 'gpu-buffer' outputs): they cannot be read or cut here. */
  readonly onDevice: boolean;
  /** Frees device memory now (a cache dropped by the prompt cache); host caches leave it to GC. */
  release(): void;
}

export function createKvCache(layout: KvLayout, kind: CacheLayout): KvCache {
  return kind === 'static' ? new StaticKvCache(layout) : new HfKvCache(layout);
}

/** Capacity moves in steps of this many positions: growing copies the cache, so not every token. */
const CAPACITY_STEP = 64;
/** reserve() shrinks a buffer larger than twice what is needed plus this. */
const SHRINK_SLACK = 256;

function roundUp(positions: number): number {
  return Math.ceil(positions / CAPACITY_STEP) * CAPACITY_STEP;
}

export class StaticKvCache implements KvCache {
  length = 0;
  private capacity = 0;
  /** Per layer and stream: room for `room` positions per head; the tensors view the first `capacity`. */
  private storage: KvArray[] = [];
  private readonly streams: KvStream[];
  private room = 0;
  private tensors: ort.Tensor[] = [];
  /** [0, length) = 1, [length, capacity) = 0, [capacity, end) = 1 for the new tokens. */
  private mask = new BigInt64Array(0);

  constructor(private readonly layout: KvLayout) {
    const perLayer = kvStreams(layout);
    this.streams = Array.from({ length: layout.numLayers }, () => perLayer).flat();
    this.storage = this.streams.map((s) => allocate(s.type, 0));
    this.relayout(0, 0);
  }

  get bytes(): number {
    return this.streams.reduce((sum, s) => sum + this.room * this.layout.numKvHeads * s.width * ELEMENT_BYTES[s.type], 0);
  }

  pastTensors(): ort.Tensor[] {
    return this.tensors;
  }

  attentionMask(n: number): ort.Tensor {
    if (this.mask.length < this.capacity + n) this.rebuildMask(n);
    return new Tensor('int64', this.mask.subarray(0, this.capacity + n), [1, this.capacity + n]);
  }

  absorb(presents: readonly ort.Tensor[], n: number): void {
    const h = this.layout.numKvHeads;
    // Step-rounded, not doubled: the next chunk attends to at most CAPACITY_STEP free slots.
    if (this.length + n > this.capacity) this.relayout(roundUp(this.length + n), Math.max(this.room, roundUp(this.length + n)));
    presents.forEach((t, i) => {
      const { type, width: d } = this.streams[i];
      const data = elements(t, type);
      if (data.length !== h * n * d) throw new Error(`present tensor ${i} holds ${data.length} values, expected ${h}×${n}×${d}`);
      for (let head = 0; head < h; head++) {
        this.storage[i].set(data.subarray(head * n * d, (head + 1) * n * d), (head * this.capacity + this.length) * d);
      }
    });
    this.mask.fill(1n, this.length, this.length + n);
    this.length += n;
  }

  reserve(positions: number): void {
    const target = roundUp(Math.max(positions, this.length));
    // Too small, or so large that attention would mostly read masked-out slots.
    if (this.capacity < target || this.capacity > 2 * target + SHRINK_SLACK) this.relayout(target, Math.max(this.room, target));
  }

  plan(positions: number): void {
    if (positions > this.room) this.relayout(this.capacity, roundUp(positions));
  }

  /**
   * Lays the cache out with `capacity` positions per head. Within the room it moves each head's
   * valid positions in place (a tight cache changes capacity per prefill chunk; fresh buffers
   * each time left garbage that slowed later requests); beyond it, it allocates and copies.
   */
  private relayout(capacity: number, room: number): void {
    const h = this.layout.numKvHeads;
    const from = this.capacity;
    if (room !== this.room) {
      const old = this.storage;
      this.storage = this.streams.map(({ type, width: d }, i) => {
        const fresh = allocate(type, h * room * d);
        for (let head = 0; head < h; head++) fresh.set(old[i].subarray(head * from * d, (head * from + this.length) * d), head * capacity * d);
        return fresh;
      });
      this.room = room;
    } else if (capacity !== from) {
      // Head 0 stays put; growing moves the last head first, shrinking the second head first, so
      // no head is overwritten before it has moved.
      this.storage.forEach((buffer, i) => {
        const d = this.streams[i].width;
        const valid = this.length * d;
        if (capacity > from) for (let head = h - 1; head > 0; head--) buffer.copyWithin(head * capacity * d, head * from * d, head * from * d + valid);
        else for (let head = 1; head < h; head++) buffer.copyWithin(head * capacity * d, head * from * d, head * from * d + valid);
      });
    }
    this.capacity = capacity;
    this.tensors = this.storage.map((b, i) => {
      const stream = this.streams[i];
      return tensor(stream.type, b.subarray(0, h * capacity * stream.width), dims(stream, h, capacity));
    });
    this.rebuildMask(64);
  }

  private rebuildMask(extra: number): void {
    this.mask = new BigInt64Array(this.capacity + Math.max(extra, 64));
    this.mask.fill(1n, 0, this.length);
    this.mask.fill(1n, this.capacity);
  }

  truncate(n: number): void {
    const keep = Math.min(this.length, Math.max(0, n));
    this.mask.fill(0n, keep, this.length);
    this.length = keep;
  }

  checkpoint(): () => void {
    const length = this.length;
    return () => this.truncate(length);
  }

  readonly onDevice = false;

  release(): void {
    // Host memory: the garbage collector frees it.
  }
}

/**
 * The hf layout: every run returns the whole cache as `present`, fed back as `past`. On WebGPU
 * those outputs stay on the device ('gpu-buffer'), so a decode step moves no KV across the bus
 * and the full model's prompt KV reaches the decoder there too. Device tensors are freed here
 * as soon as nothing refers to them (a checkpoint keeps the prompt's); they cannot be read back
 * from Node (onnxruntime-node aborts the process), so a device cache is never cut: truncating
 * it below its length empties it, and the prompt is prefilled again.
 */
export class HfKvCache implements KvCache {
  length = 0;
  private tensors: ort.Tensor[];
  private readonly empty: ort.Tensor;
  /** Held by a checkpoint: not freed until it is restored. */
  private pinned: ort.Tensor[] | undefined;

  private readonly dtype: Exclude<KvDtype, 'int8'>;

  constructor(private readonly layout: KvLayout) {
    if (layout.dtype === 'int8') throw new Error('an int8 KV cache needs the static cache layout');
    this.dtype = layout.dtype;
    this.empty = tensor(this.dtype, allocate(this.dtype, 0), [1, layout.numKvHeads, 0, layout.headDim]);
    this.tensors = Array.from({ length: layout.numLayers * 2 }, () => this.empty);
  }

  get bytes(): number {
    return this.length * this.layout.numKvHeads * this.layout.headDim * ELEMENT_BYTES[this.dtype] * this.tensors.length;
  }

  pastTensors(): ort.Tensor[] {
    return this.tensors;
  }

  private ones = new BigInt64Array(0);

  attentionMask(n: number): ort.Tensor {
    const total = this.length + n;
    if (this.ones.length < total) this.ones = new BigInt64Array(Math.max(total, this.ones.length * 2, 256)).fill(1n);
    return new Tensor('int64', this.ones.subarray(0, total), [1, total]);
  }

  absorb(presents: readonly ort.Tensor[], n: number): void {
    const old = this.tensors;
    this.tensors = [...presents];
    this.length += n;
    this.free(old);
  }

  get onDevice(): boolean {
    return this.tensors[0]?.location === 'gpu-buffer';
  }

  /** Disposes device tensors of `tensors` that neither the cache nor a checkpoint still holds. */
  private free(tensors: ort.Tensor[]): void {
    if (tensors === this.pinned || tensors === this.tensors) return;
    for (const t of tensors) if (t.location === 'gpu-buffer' && !this.tensors.includes(t) && !this.pinned?.includes(t)) t.dispose();
  }

  release(): void {
    const old = this.tensors;
    this.pinned = undefined;
    this.tensors = this.tensors.map(() => this.empty);
    this.length = 0;
    this.free(old);
  }

  plan(): void {
    // The graph returns the whole cache each step: there is nothing to preallocate.
  }

  reserve(): void {
    // The graph allocates each step's present itself.
  }

  /** Copies the first n positions of every head (once per request, never per step). */
  truncate(n: number): void {
    if (n >= this.length) return;
    if (this.onDevice) {
      this.release(); // not readable from Node: prefill again
      return;
    }
    const { numKvHeads: h, headDim: d } = this.layout;
    const keep = Math.max(0, n);
    this.tensors = this.tensors.map((t) => {
      if (keep === 0) return this.empty;
      const src = elements(t, this.dtype);
      const out = allocate(this.dtype, h * keep * d);
      for (let head = 0; head < h; head++) out.set(src.subarray(head * this.length * d, (head * this.length + keep) * d), head * keep * d);
      return tensor(this.dtype, out, [1, h, keep, d]);
    });
    this.length = keep;
  }

  checkpoint(): () => void {
    const tensors = this.tensors;
    const length = this.length;
    this.pinned = tensors;
    return () => {
      const current = this.tensors;
      this.tensors = tensors;
      this.length = length;
      if (this.pinned === tensors) this.pinned = undefined;
      this.free(current);
    };
  }
}
