// int8 weights (training/quantize.py: MatMulNBits, 8 bits, + int8 embedding) load and track
// the fp32 model: same first token in every mode, logits close to PyTorch's fp32 values.
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { GENERATION_MODES } from '../../src/engine/generate/generate';
import { loadModelPair, type ModelPair } from '../../src/engine/runtime/loadModelPair';
import { PAIR_A, PAIR_A_INT8, readReference } from './fixtures';

describe('int8 pair', () => {
  const ref = readReference(PAIR_A);
  let engine: CompletionEngine;
  let pair: ModelPair;
  before(async () => {
    engine = await CompletionEngine.load(PAIR_A_INT8, 'cpu');
    pair = await loadModelPair(PAIR_A_INT8, 'cpu');
  });
  after(async () => {
    await engine.dispose();
    await pair.dispose();
  });

  it('is at most a third of the fp32 files', () => {
    const size = (dir: string) => ['full.onnx', 'decoder.onnx'].reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    assert.ok(size(PAIR_A_INT8) < size(PAIR_A) / 3 + 50_000, `${size(PAIR_A_INT8)} vs ${size(PAIR_A)}`);
  });

  for (const mode of GENERATION_MODES) {
    it(`${mode}: the first tokens match the fp32 reference`, async () => {
      const r = await engine.generateIds(ref.promptIds, mode, 3);
      assert.deepEqual(r.ids.slice(0, 2), ref.modes[mode].ids.slice(0, 2));
    });
  }

  it('prefilling in chunks gives the logits of one run (activations are quantized per row)', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => 7 + ((i * 37) % 900));
    const whole = await pair.full.forward(ids, pair.full.newCache());
    const cache = pair.full.newCache();
    let chunked: Float32Array = new Float32Array(0);
    for (let at = 0; at < ids.length; at += 30) chunked = await pair.full.forward(ids.slice(at, at + 30), cache);
    for (let i = 0; i < whole.length; i++) assert.ok(Math.abs(whole[i] - chunked[i]) < 1e-4, `logit ${i}: ${whole[i]} vs ${chunked[i]}`);
  });

  it('prefill logits stay within 5% of the fp32 logit range', async () => {
    const logits = await pair.full.forward(ref.promptIds, pair.full.newCache());
    const top = ref.modes.full.top5[0];
    let min = Infinity;
    let max = -Infinity;
    for (const v of logits) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    top.ids.forEach((id, k) => assert.ok(Math.abs(logits[id] - top.values[k]) < 0.05 * (max - min), `logit ${id}: ${logits[id]} vs ${top.values[k]}`));
  });
});
