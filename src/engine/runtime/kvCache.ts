// The KV cache handed between forward passes, as onnxruntime tensors.
// Per layer: key and value, each [1, numKvHeads, length, headDim] float32.
import * as ort from 'onnxruntime-node';
import type { KvLayout } from '../manifest';

export interface KvCache {
  /** Number of token positions held. */
  readonly length: number;
  /** [layer0.key, layer0.value, layer1.key, ...] */
  readonly tensors: readonly ort.Tensor[];
}

export function emptyKvCache(layout: KvLayout): KvCache {
  const empty = new ort.Tensor('float32', new Float32Array(0), [1, layout.numKvHeads, 0, layout.headDim]);
  return { length: 0, tensors: Array.from({ length: layout.numLayers * 2 }, () => empty) };
}
