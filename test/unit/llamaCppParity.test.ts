// The llama.cpp comparison runs on the same weights: full models and decoders written as GGUF
// (training/gguf.py) give, in llama.cpp (node-llama-cpp, CPU, float32 throughout), the
// next-token distributions our engine gives along its greedy ids for the same raw prompt ids,
// full-only and decoder-only: pair A (our BPE), and pairs converted from tiny Llama 3 (llama3
// RoPE scaling, real tokenizer), Llama with biases and linear RoPE scaling, and Qwen2 (q/k/v
// biases, tied embeddings, Qwen's tokenizer). Also checks that llama.cpp's prefix reuse gives
// the same ids as a cold run.
//
// Why distributions and not free-running ids: some fixture decoders are trained for a fixed
// time, so their weights differ from machine to machine, and a near-tie between the top two
// tokens then flips greedy ids on float32 rounding alone (seen in CI). Teacher forcing compares
// every step on our ids, and a real conversion error moves probabilities by 1e-2 and more.
import * as fs from 'fs';
import assert from 'node:assert/strict';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { LlamaCppModel } from '../../bench/llamaCpp';
import { argmax, generate, type GenerationMode } from '../../src/engine/generate/generate';
import { loadModelPair, type ModelPair } from '../../src/engine/runtime/loadModelPair';
import { CONVERTED, CONVERTED_KINDS } from './byoFixtures';
import { FIXTURES, PAIR_A, readReference } from './fixtures';

const GGUF = path.join(FIXTURES, 'gguf');
/** Largest |p_ours - p_llama.cpp| over the vocabulary at any step; seen here: at most 7e-5. */
const PROBABILITY_TOLERANCE = 3e-4;
/** Top-two probabilities closer than this are a tie at float32 precision: either may win. */
const TIE = 1e-5;

function softmax(logits: Float32Array, n: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i]);
  const p = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += p[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < n; i++) p[i] /= sum;
  return p;
}

/** Our greedy ids and, at each step, the distribution the id was picked from. */
async function ourSteps(pair: ModelPair, promptIds: number[], mode: GenerationMode, newTokens: number) {
  const n = pair.tokenizer.size;
  const distributions: Float64Array[] = [];
  const { ids } = await generate(pair, promptIds, {
    mode,
    maxNewTokens: newTokens,
    stopIds: new Set(),
    vocabLimit: n,
    pick: (logits) => {
      distributions.push(softmax(logits, n));
      return argmax(logits, n);
    },
  });
  return { ids, distributions };
}

/** llama.cpp, fed our ids, agrees with our distribution and our greedy pick at every step. */
async function assertSameSteps(label: string, gguf: string, pair: ModelPair, promptIds: number[], mode: GenerationMode, newTokens: number) {
  const ours = await ourSteps(pair, promptIds, mode, newTokens);
  assert.equal(ours.ids.length, newTokens, label);
  const model = await LlamaCppModel.load(gguf, { threads: 2, contextSize: 256, exact: true });
  try {
    const theirs = await model.distributions(promptIds, ours.ids);
    assert.equal(theirs.length, newTokens, label);
    theirs.forEach((probabilities, step) => {
      const p = ours.distributions[step];
      let worst = 0;
      let theirTop = -1;
      let theirTopP = -1;
      for (const [id, q] of probabilities) {
        if (id >= p.length) continue; // padded rows past the tokenizer are never picked
        worst = Math.max(worst, Math.abs(q - p[id]));
        if (q > theirTopP) [theirTop, theirTopP] = [id, q];
      }
      assert.ok(worst < PROBABILITY_TOLERANCE, `${label} step ${step}: probabilities differ by ${worst.toExponential(2)}`);
      const ourId = ours.ids[step];
      if (theirTop !== ourId) {
        assert.ok(Math.abs(p[ourId] - p[theirTop]) < TIE, `${label} step ${step}: llama.cpp picks ${theirTop}, we pick ${ourId}, and it is no tie`);
      }
    });
  } finally {
    await model.dispose();
  }
}

describe('llama.cpp on our weights', () => {
  let pairA: ModelPair;
  before(async () => {
    pairA = await loadModelPair(PAIR_A, 'cpu');
  });
  after(() => pairA.dispose());

  for (const mode of ['full', 'decoder'] as const) {
    it(`pair A's ${mode} model: llama.cpp's next-token distributions and greedy picks equal the engine's ${mode}-only ones`, async () => {
      const { promptIds, newTokens } = readReference(PAIR_A);
      await assertSameSteps(`pair A ${mode}`, path.join(GGUF, `pair-a-${mode}.f32.gguf`), pairA, promptIds, mode, newTokens);
    });
  }

  it("the check can fail: pair A's decoder steps against the full model's GGUF are told apart", async () => {
    const { promptIds, newTokens } = readReference(PAIR_A);
    await assert.rejects(
      assertSameSteps('pair A decoder vs full GGUF', path.join(GGUF, 'pair-a-full.f32.gguf'), pairA, promptIds, 'decoder', newTokens),
      /probabilities differ by/,
    );
  });

  for (const kind of CONVERTED_KINDS) {
    it(`converted ${kind}: llama.cpp's next-token distributions and greedy picks equal the engine's, full-only and decoder-only`, async () => {
      const folder = CONVERTED(kind);
      const { promptIds } = JSON.parse(fs.readFileSync(path.join(folder, 'numpy-reference.json'), 'utf8')) as { promptIds: number[] };
      const pair = await loadModelPair(folder, 'cpu');
      try {
        for (const mode of ['full', 'decoder'] as const) {
          await assertSameSteps(`${kind} ${mode}`, path.join(folder, 'gguf', `${mode}.f32.gguf`), pair, promptIds, mode, 10);
        }
      } finally {
        await pair.dispose();
      }
    });
  }

  it('prefix reuse in llama.cpp: a prompt one token longer evaluates only that token and agrees with a cold run', async () => {
    const { promptIds } = readReference(PAIR_A);
    const model = await LlamaCppModel.load(path.join(GGUF, 'pair-a-full.f32.gguf'), { threads: 2, contextSize: 256 });
    try {
      await model.generate(promptIds, 4);
      const longer = [...promptIds, 100];
      const warm = await model.generate(longer, 6, true);
      assert.equal(warm.reused, promptIds.length);
      const cold = await model.generate(longer, 6);
      assert.equal(cold.reused, 0);
      assert.deepEqual(warm.ids, cold.ids);
    } finally {
      await model.dispose();
    }
  });
});
