// KV caches as the graphs want them. Two layouts (manifest kv.cacheLayout):
//   seq-major: past [1, len, kvHeads, headDim]; a step returns only its new positions, which
//              are appended to a preallocated, growing buffer. A prefix of positions is a
//              prefix of the buffer, so past is passed as a view: no copy per step.
//   hf:        past/present [1, kvHeads, len, headDim] (HF/optimum); every step returns the
//              whole cache (onnxruntime-node copies it): supported for standard exports.
import * as ort from 'onnxruntime-node';
import type { KvLayout } from '../manifest';

export type CacheLayout = 'hf' | 'seq-major';

export interface KvCache {
  /** Valid positions held. */
  readonly length: number;
  /** Past tensors to feed: [layer0.key, layer0.value, layer1.key, ...]. */
  pastTensors(): ort.Tensor[];
  /** Takes the graph's present outputs after a forward pass over `n` new tokens. */
  absorb(presents: readonly ort.Tensor[], n: number): void;
  /** Keeps the first `n` positions. */
  truncate(n: number): void;
  /** Returns a function that puts the cache back as it is now (drops what came after). */
  checkpoint(): () => void;
  /** Memory held, for the prompt cache's bound. */
  readonly bytes: number;
}

export function createKvCache(layout: KvLayout, kind: CacheLayout): KvCache {
  return kind === 'seq-major' ? new SeqMajorKvCache(layout) : new HfKvCache(layout);
}

export class SeqMajorKvCache implements KvCache {
  length = 0;
  private capacity = 0;
  private buffers: Float32Array[];
  private readonly row: number;

  constructor(private readonly layout: KvLayout) {
    this.row = layout.numKvHeads * layout.headDim;
    this.buffers = Array.from({ length: layout.numLayers * 2 }, () => new Float32Array(0));
  }

  get bytes(): number {
    return this.capacity * this.row * 4 * this.buffers.length;
  }

  pastTensors(): ort.Tensor[] {
    const dims = [1, this.length, this.layout.numKvHeads, this.layout.headDim];
    return this.buffers.map((b) => new ort.Tensor('float32', b.subarray(0, this.length * this.row), dims));
  }

  absorb(presents: readonly ort.Tensor[], n: number): void {
    this.reserve(this.length + n);
    presents.forEach((t, i) => {
      const data = t.data as Float32Array;
      if (data.length !== n * this.row) throw new Error(`present tensor ${i} holds ${data.length} values, expected ${n}×${this.row}`);
      this.buffers[i].set(data, this.length * this.row);
    });
    this.length += n;
  }

  /** Grows by doubling, so appending costs amortized O(new positions). */
  private reserve(positions: number): void {
    if (positions <= this.capacity) return;
    const capacity = Math.max(positions, this.capacity * 2, 64);
    this.buffers = this.buffers.map((old) => {
      const grown = new Float32Array(capacity * this.row);
      grown.set(old.subarray(0, this.length * this.row));
      return grown;
    });
    this.capacity = capacity;
  }

  truncate(n: number): void {
    this.length = Math.min(this.length, Math.max(0, n));
  }

  checkpoint(): () => void {
    const length = this.length;
    return () => this.truncate(length);
  }
}

export class HfKvCache implements KvCache {
  length = 0;
  private tensors: ort.Tensor[];
  private readonly empty: ort.Tensor;

  constructor(private readonly layout: KvLayout) {
    this.empty = new ort.Tensor('float32', new Float32Array(0), [1, layout.numKvHeads, 0, layout.headDim]);
    this.tensors = Array.from({ length: layout.numLayers * 2 }, () => this.empty);
  }

  get bytes(): number {
    return this.length * this.layout.numKvHeads * this.layout.headDim * 4 * this.tensors.length;
  }

  pastTensors(): ort.Tensor[] {
    return this.tensors;
  }

  absorb(presents: readonly ort.Tensor[], n: number): void {
    this.tensors = [...presents];
    this.length += n;
  }

  /** Copies the first n positions of every head (once per request, never per step). */
  truncate(n: number): void {
    if (n >= this.length) return;
    const { numKvHeads: h, headDim: d } = this.layout;
    const keep = Math.max(0, n);
    this.tensors = this.tensors.map((t) => {
      if (keep === 0) return this.empty;
      const src = t.data as Float32Array;
      const out = new Float32Array(h * keep * d);
      for (let head = 0; head < h; head++) out.set(src.subarray(head * this.length * d, (head * this.length + keep) * d), head * keep * d);
      return new ort.Tensor('float32', out, [1, h, keep, d]);
    });
    this.length = keep;
  }

  checkpoint(): () => void {
    const tensors = this.tensors;
    const length = this.length;
    return () => {
      this.tensors = tensors;
      this.length = length;
    };
  }
}
