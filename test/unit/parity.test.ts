// The engine reproduces PyTorch's greedy OverFill generation token for token, in all modes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { GENERATION_MODES } from '../../src/engine/generate/generate';
import { emptyKvCache } from '../../src/engine/runtime/kvCache';
import { loadModelPair, type ModelPair } from '../../src/engine/runtime/loadModelPair';
import { PAIR_A, PAIR_B, readReference } from './fixtures';

for (const folder of [PAIR_A, PAIR_B]) {
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

describe('prefill logits', () => {
  let pair: ModelPair;
  before(async () => {
    pair = await loadModelPair(PAIR_A, 'cpu');
  });
  after(() => pair.dispose());

  it('match PyTorch top-5 values within 1e-3 and hand over a KV cache the decoder accepts', async () => {
    const ref = readReference(PAIR_A);
    const { logits, cache } = await pair.full.forward(ref.promptIds, emptyKvCache(pair.full.layout));
    const top = ref.modes.overfill.top5[0];
    top.ids.forEach((id, k) => assert.ok(Math.abs(logits[id] - top.values[k]) < 1e-3, `logit ${id}: ${logits[id]} vs ${top.values[k]}`));
    assert.equal(cache.length, ref.promptIds.length);
    const step = await pair.decoder.forward([ref.modes.overfill.ids[0]], cache);
    assert.equal(step.cache.length, ref.promptIds.length + 1);
    const second = ref.modes.overfill.top5[1];
    second.ids.forEach((id, k) => assert.ok(Math.abs(step.logits[id] - second.values[k]) < 1e-3));
  });
});
