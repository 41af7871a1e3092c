// The llama.cpp comparison runs on the same weights: pair A's full model and decoder written as
// GGUF (training/gguf.py) give, in llama.cpp (node-llama-cpp, CPU), the greedy ids our engine
// gives for the same raw prompt ids, full-only and decoder-only. Also checks prefix reuse gives
// the same ids as a cold run.
import assert from 'node:assert/strict';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { LlamaCppModel } from '../../bench/llamaCpp';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { FIXTURES, PAIR_A, readReference } from './fixtures';

const GGUF = path.join(FIXTURES, 'gguf');

describe('llama.cpp on our weights', () => {
  let engine: CompletionEngine;
  const models: LlamaCppModel[] = [];
  before(async () => {
    engine = await CompletionEngine.load(PAIR_A, 'cpu');
  });
  after(async () => {
    await engine.dispose();
    for (const m of models) await m.dispose();
  });

  for (const [role, mode] of [['full', 'full'], ['decoder', 'decoder']] as const) {
    it(`pair A's ${role} model: llama.cpp's greedy ids equal the engine's ${mode}-only ids`, async () => {
      const { promptIds, newTokens } = readReference(PAIR_A);
      const ours = await engine.generateIds(promptIds, mode, newTokens);
      const model = await LlamaCppModel.load(path.join(GGUF, `pair-a-${role}.f32.gguf`), { threads: 2, contextSize: 256 });
      models.push(model);
      const theirs = await model.generate(promptIds, newTokens);
      assert.equal(ours.ids.length, newTokens);
      assert.deepEqual(theirs.ids, ours.ids);
    });
  }

  it('prefix reuse in llama.cpp: a prompt one token longer evaluates only that token and agrees with a cold run', async () => {
    const { promptIds } = readReference(PAIR_A);
    const model = models[0];
    await model.generate(promptIds, 4);
    const longer = [...promptIds, 100];
    const warm = await model.generate(longer, 6, true);
    assert.equal(warm.reused, promptIds.length);
    const cold = await model.generate(longer, 6);
    assert.equal(cold.reused, 0);
    assert.deepEqual(warm.ids, cold.ids);
  });
});
