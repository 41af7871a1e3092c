// The engine reproduces PyTorch's greedy OverFill generation token for token, in all modes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { GENERATION_MODES } from '../../src/engine/generate/generate';
import { loadModelPair, type ModelPair } from '../../src/engine/runtime/loadModelPair';
import { PAIR_A, PAIR_A_F16, PAIR_A_HF, PAIR_A_I8KV, PAIR_B, readReference } from './fixtures';

// Pair A's weights four ways: static cache layout with float32 KV (what export.py writes), the
// same with float16 and with int8 KV, and the HF layout. Each reference.json was computed by
// PyTorch with the folder's own KV precision.
for (const folder of [PAIR_A, PAIR_A_F16, PAIR_A_I8KV, PAIR_A_HF, PAIR_B]) {
  describe(`parity with PyTorch: ${folder.split('/').pop()}`, () => {
    const ref = readReference(folder);
    let engine: CompletionEngine;
    before(async () => {
      engine = await CompletionEngine.load(folder, 'cpu');
    });
    after(() => engine.dispose());

    it('tokenizes the reference prompt to the same ids as the Python tokenizer', () => {
      assert.deepEqual(engine.encode(ref.promptText), ref.promptIds);
    });

    for (const mode of GENERATION_MODES) {
      it(`greedy ${mode} ids equal the PyTorch reference`, async () => {
        const result = await engine.generateIds(ref.promptIds, mode, ref.newTokens);
        assert.deepEqual(result.ids, ref.modes[mode].ids);
      });
    }
  });
}

for (const folder of [PAIR_A, PAIR_A_F16, PAIR_A_I8KV, PAIR_A_HF]) {
  describe(`prefill logits and KV hand-over: ${folder.split('/').pop()}`, () => {
    let pair: ModelPair;
    before(async () => {
      pair = await loadModelPair(folder, 'cpu');
    });
    after(() => pair.dispose());

    it('match PyTorch top-5 values within 1e-3, and the decoder continues on the full model\'s cache', async () => {
      const ref = readReference(folder);
      const cache = pair.full.newCache();
      const logits = await pair.full.forward(ref.promptIds, cache);
      const top = ref.modes.overfill.top5[0];
      top.ids.forEach((id, k) => assert.ok(Math.abs(logits[id] - top.values[k]) < 1e-3, `logit ${id}: ${logits[id]} vs ${top.values[k]}`));
      assert.equal(cache.length, ref.promptIds.length);
      const step = await pair.decoder.forward([ref.modes.overfill.ids[0]], cache);
      assert.equal(cache.length, ref.promptIds.length + 1);
      const second = ref.modes.overfill.top5[1];
      second.ids.forEach((id, k) => assert.ok(Math.abs(step[id] - second.values[k]) < 1e-3));
    });

    it('prefilling in chunks gives the same logits as one run', async () => {
      const ref = readReference(folder);
      const n = ref.promptIds.length;
      const whole = await pair.full.forward(ref.promptIds, pair.full.newCache());
      const cache = pair.full.newCache();
      let chunked: Float32Array = new Float32Array(0);
      // Chunks of 5, never a last chunk of one token (one-token runs take the decode form: generate.ts).
      for (let at = 0; at < n; ) {
        const end = n - Math.min(n, at + 5) === 1 ? n : Math.min(n, at + 5);
        chunked = await pair.full.forward(ref.promptIds.slice(at, end), cache);
        at = end;
      }
      assert.equal(cache.length, ref.promptIds.length);
      for (let i = 0; i < whole.length; i++) assert.ok(Math.abs(whole[i] - chunked[i]) < 1e-4);
    });
  });
}

describe('a one-token prompt on an empty int8 cache', () => {
  let int8: ModelPair;
  let float: ModelPair;
  before(async () => {
    [int8, float] = await Promise.all([loadModelPair(PAIR_A_I8KV, 'cpu'), loadModelPair(PAIR_A, 'cpu')]);
  });
  after(async () => {
    await Promise.all([int8.dispose(), float.dispose()]);
  });

  // The decode form's MatMulInteger over an empty past returned uninitialized memory (8 logits off).
  it('gives the float32 cache\'s logits to within int8 rounding, the same on every run', async () => {
    const first = await int8.full.forward([5], int8.full.newCache());
    const again = await int8.full.forward([5], int8.full.newCache());
    const reference = await float.full.forward([5], float.full.newCache());
    assert.deepEqual(Array.from(again), Array.from(first));
    const top = Array.from(reference.keys()).sort((a, b) => reference[b] - reference[a]).slice(0, 5);
    for (const id of top) assert.ok(Math.abs(first[id] - reference[id]) < 0.3, `logit ${id}: ${first[id]} vs ${reference[id]}`);
  });
});
