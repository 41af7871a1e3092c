// One ONNX causal LM graph (full model or pruned decoder) behind a two-method interface:
// `forward` runs new tokens on top of a KV cache and returns last-position logits and the
// grown cache. Only this folder touches onnxruntime-node.
import * as ort from 'onnxruntime-node';
import { layerName, type IoNames, type KvLayout } from '../manifest';
import { type KvCache } from './kvCache';

export interface StepResult {
  /** Logits of the last input position, [vocab]. */
  logits: Float32Array;
  cache: KvCache;
}

export interface CausalLm {
  readonly layout: KvLayout;
  forward(tokens: readonly number[], past: KvCache): Promise<StepResult>;
}

export class OnnxCausalLm implements CausalLm {
  private readonly pastNames: string[] = [];
  private readonly presentNames: string[] = [];
  /** Shared all-ones mask; each run views a prefix of it (no per-step allocation). */
  private ones = new BigInt64Array(0);

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly io: IoNames,
    readonly layout: KvLayout,
  ) {
    for (let i = 0; i < layout.numLayers; i++) {
      this.pastNames.push(layerName(io.pastKey, i), layerName(io.pastValue, i));
      this.presentNames.push(layerName(io.presentKey, i), layerName(io.presentValue, i));
    }
  }

  async forward(tokens: readonly number[], past: KvCache): Promise<StepResult> {
    const n = tokens.length;
    const total = past.length + n;
    if (this.ones.length < total) this.ones = new BigInt64Array(Math.max(total, this.ones.length * 2, 256)).fill(1n);
    const ids = new BigInt64Array(n);
    const positions = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = BigInt(tokens[i]);
      positions[i] = BigInt(past.length + i);
    }
    const feeds: Record<string, ort.Tensor> = {
      [this.io.inputIds]: new ort.Tensor('int64', ids, [1, n]),
      [this.io.attentionMask]: new ort.Tensor('int64', this.ones.subarray(0, total), [1, total]),
      [this.io.positionIds]: new ort.Tensor('int64', positions, [1, n]),
    };
    this.pastNames.forEach((name, i) => (feeds[name] = past.tensors[i] as ort.Tensor));
    const out = await this.session.run(feeds);
    const logitsTensor = out[this.io.logits];
    const vocab = logitsTensor.dims[logitsTensor.dims.length - 1];
    const all = logitsTensor.data as Float32Array;
    // Graphs exporting every position are accepted too: keep only the last row.
    const logits = all.length === vocab ? all : all.subarray(all.length - vocab);
    return { logits, cache: { length: total, tensors: this.presentNames.map((name) => out[name]) } };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
