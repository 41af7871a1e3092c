// The llama.cpp comparison runs on the same weights: full models and decoders written as GGUF
// (training/gguf.py) give, in llama.cpp (node-llama-cpp, CPU), the greedy ids our engine gives
// for the same raw prompt ids, full-only and decoder-only: pair A (our BPE), and pairs converted
// from tiny Llama 3 (llama3 RoPE scaling, real tokenizer), Llama with biases and linear RoPE
// scaling, and Qwen2 (q/k/v biases, tied embeddings, Qwen's tokenizer). Also checks that
// llama.cpp's prefix reuse gives the same ids as a cold run.
import * as fs from 'fs';
import assert from 'node:assert/strict';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { LlamaCppModel } from '../../bench/llamaCpp';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { CONVERTED, CONVERTED_KINDS } from './byoFixtures';
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

  for (const kind of CONVERTED_KINDS) {
    it(`converted ${kind}: llama.cpp's greedy ids equal the engine's, full-only and decoder-only`, async () => {
      const pair = CONVERTED(kind);
      const { promptIds } = JSON.parse(fs.readFileSync(path.join(pair, 'numpy-reference.json'), 'utf8')) as { promptIds: number[] };
      const converted = await CompletionEngine.load(pair, 'cpu');
      try {
        for (const [role, mode] of [['full', 'full'], ['decoder', 'decoder']] as const) {
          const ours = await converted.generateIds(promptIds, mode, 10);
          const model = await LlamaCppModel.load(path.join(pair, 'gguf', `${role}.f32.gguf`), { threads: 2, contextSize: 128 });
          try {
            assert.deepEqual((await model.generate(promptIds, 10)).ids, ours.ids, `${kind} ${role}`);
          } finally {
            await model.dispose();
          }
        }
      } finally {
        await converted.dispose();
      }
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
