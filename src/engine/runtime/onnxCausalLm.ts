// One ONNX causal LM graph (full model or pruned decoder) behind a small interface: `forward`
// runs new tokens on top of a KV cache (which it grows) and returns last-position logits.
// Only this folder touches onnxruntime-node.
import type * as ort from 'onnxruntime-node';
import { Tensor } from './ortBinding';
import { layerCacheNames, type IoNames, type KvLayout } from '../model/manifest';
import { createKvCache, type CacheLayout, type KvCache } from './kvCache';

export interface CausalLm {
  readonly layout: KvLayout;
  readonly cacheLayout: CacheLayout;
  /** Runs `tokens` after the cache's positions, appends their KV to it; logits of the last token, [vocab]. */
  forward(tokens: readonly number[], cache: KvCache): Promise<Float32Array>;
  newCache(): KvCache;
}

/** float16 bits (ORT's Uint16Array for float16) to a number. */
function halfToFloat(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The last `vocab` values of a logits output as float32 (float16 exports convert here). */
function lastRow(t: ort.Tensor): Float32Array {
  const vocab = t.dims[t.dims.length - 1];
  if (t.type === 'float16') {
    const bits = t.data as unknown as ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; length: number };
    const raw = new Uint16Array(bits.buffer, bits.byteOffset, bits.length);
    const out = new Float32Array(vocab);
    const from = raw.length - vocab;
    for (let i = 0; i < vocab; i++) out[i] = halfToFloat(raw[from + i]);
    return out;
  }
  const all = t.data as Float32Array;
  // Graphs exporting every position (standard exports) are accepted too: keep only the last row.
  return all.length === vocab ? all : all.subarray(all.length - vocab);
}

export class OnnxCausalLm implements CausalLm {
  private readonly pastNames: string[] = [];
  private readonly presentNames: string[] = [];
  /** Standard exports may lack position_ids (positions then follow the attention mask). */
  private readonly feedsPositions: boolean;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly io: IoNames,
    readonly layout: KvLayout,
    readonly cacheLayout: CacheLayout,
  ) {
    for (let i = 0; i < layout.numLayers; i++) {
      const names = layerCacheNames(io, layout.dtype, i);
      this.pastNames.push(...names.past);
      this.presentNames.push(...names.present);
    }
    this.feedsPositions = session.inputNames.includes(io.positionIds);
  }

  newCache(): KvCache {
    return createKvCache(this.layout, this.cacheLayout);
  }

  async forward(tokens: readonly number[], cache: KvCache): Promise<Float32Array> {
    const n = tokens.length;
    // A one-token run takes the decode form of attention; with an int8 cache its MatMulInteger
    // over an empty past returns uninitialized memory in onnxruntime 1.30 (not zeros), so such a
    // run (a one-token prompt) gets masked slots to read instead.
    if (n === 1 && cache.length === 0) cache.reserve(1);
    const past = cache.length;
    const ids = new BigInt64Array(n);
    const positions = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = BigInt(tokens[i]);
      positions[i] = BigInt(past + i);
    }
    const feeds: Record<string, ort.Tensor> = {
      [this.io.inputIds]: new Tensor('int64', ids, [1, n]),
      [this.io.attentionMask]: cache.attentionMask(n),
    };
    if (this.feedsPositions) feeds[this.io.positionIds] = new Tensor('int64', positions, [1, n]);
    const pasts = cache.pastTensors();
    this.pastNames.forEach((name, i) => (feeds[name] = pasts[i]));
    const out = await this.session.run(feeds);
    cache.absorb(this.presentNames.map((name) => out[name]), n);
    return lastRow(out[this.io.logits]);
  }
}
