// Pairs converted from Hugging Face checkpoints (training.convert) run in the engine and match
// an independent numpy float64 forward pass of the checkpoint: the full model's logits and greedy
// ids, for Llama 3 (llama3 rope, no FIM), Llama MHA (linear rope, biases) and Qwen2 (q/k/v bias,
// tied and padded embeddings); int8 weights and ONNX external data load too.
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { argmax } from '../../src/engine/generate/generate';
import { loadModelPair, type ModelPair } from '../../src/engine/runtime/loadModelPair';
import { CONVERTED, CONVERTED_EXTERNAL, CONVERTED_INT8, CONVERTED_KINDS, numpyReference } from './byoFixtures';

for (const kind of CONVERTED_KINDS) {
  describe(`converted ${kind}: parity with the numpy reference`, () => {
    const folder = CONVERTED(kind);
    const ref = numpyReference(folder);
    let pair: ModelPair;
    let engine: CompletionEngine;
    before(async () => {
      [pair, engine] = await Promise.all([loadModelPair(folder, 'cpu'), CompletionEngine.load(folder, 'cpu')]);
    });
    after(async () => {
      await Promise.all([pair.dispose(), engine.dispose()]);
    });

    it('the full model\'s last logits match numpy within 1e-3', async () => {
      const logits = await pair.full.forward(ref.promptIds, pair.full.newCache());
      ref.top5.ids.forEach((id, k) => assert.ok(Math.abs(logits[id] - ref.top5.values[k]) < 1e-3, `logit ${id}: ${logits[id]} vs numpy ${ref.top5.values[k]}`));
    });

    it('full-mode greedy ids equal numpy\'s', async () => {
      const result = await engine.generateIds(ref.promptIds, 'full', ref.newTokens);
      assert.deepEqual(result.ids, ref.greedy);
    });

    it('OverFill mode runs the decoder on the full model\'s cache and picks only ids the tokenizer has', async () => {
      const result = await engine.generateIds(ref.promptIds, 'overfill', 24);
      assert.equal(result.ids.length, 24);
      assert.equal(result.ids[0], ref.greedy[0], 'the first token comes from the full model\'s prefill');
      assert.ok(result.ids.every((id) => id < ref.tokenizerSize));
    });
  });
}

describe('converted pairs: what the manifest says', () => {
  const manifest = (kind: string) => JSON.parse(fs.readFileSync(path.join(CONVERTED(kind), 'overfill.json'), 'utf8'));

  it('Qwen2: the Qwen2.5-Coder family, PSM, its file separator; logits padded past the tokenizer', () => {
    const m = manifest('qwen2');
    assert.equal(m.family, 'qwen2.5-coder');
    assert.equal(m.fimOrder, 'psm');
    assert.deepEqual([m.tokens.fimPrefix, m.tokens.fimSuffix, m.tokens.fimMiddle, m.tokens.fileSeparator], ['<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>', '<|file_sep|>']);
    assert.ok(m.vocabSize > numpyReference(CONVERTED('qwen2')).tokenizerSize);
  });

  it('Llama 3: no FIM tokens, so prefix-only prompts', async () => {
    const m = manifest('llama3');
    assert.equal(m.family, null);
    assert.equal(m.fimOrder, 'none');
    const engine = await CompletionEngine.load(CONVERTED('llama3'), 'cpu');
    try {
      assert.equal(engine.info.fim, false);
      const prompt = engine.buildPrompt({ prefix: 'def add(a, b):\n    return', suffix: '\n\nprint(add(1, 2))\n', maxNewTokens: 8, contextTokens: 256 });
      assert.deepEqual(engine.decode(prompt.ids) + prompt.healed, 'def add(a, b):\n    return');
    } finally {
      await engine.dispose();
    }
  });

  it('writes a model card with the source, its licence, the keep ratio and the handoff losses', () => {
    const card = fs.readFileSync(path.join(CONVERTED('qwen2'), 'README.md'), 'utf8');
    for (const want of ['apache-2.0', 'keep ratio 0.55', 'Loss after a handoff', 'OverFill (trained decoder)', 'full model alone']) assert.ok(card.includes(want), `model card lacks "${want}"`);
  });
});

describe('converted pairs: int8 weights and external data', () => {
  it('the int8 (sharded bf16) conversion tracks numpy: top logits within int8 rounding, the same winner when it is clear', async () => {
    const ref = numpyReference(CONVERTED_INT8);
    const pair = await loadModelPair(CONVERTED_INT8, 'cpu');
    try {
      const logits = await pair.full.forward(ref.promptIds, pair.full.newCache());
      // int8 blocks of 32 move these weights' logits (~10 in magnitude here) by a few percent.
      const tolerance = 0.05 * Math.abs(ref.top5.values[0]);
      ref.top5.ids.forEach((id, k) => assert.ok(Math.abs(logits[id] - ref.top5.values[k]) < tolerance, `logit ${id}: ${logits[id]} vs numpy ${ref.top5.values[k]}`));
      if (ref.top5.values[0] - ref.top5.values[1] > 2 * tolerance) assert.equal(argmax(logits), ref.top5.ids[0]);
    } finally {
      await pair.dispose();
    }
  });

  it('a pair whose graphs keep their weights in external data gives the same ids', async () => {
    const ref = numpyReference(CONVERTED('llama-mha'));
    const engine = await CompletionEngine.load(CONVERTED_EXTERNAL, 'cpu');
    try {
      assert.ok(fs.existsSync(path.join(CONVERTED_EXTERNAL, 'full.onnx.data')));
      assert.deepEqual((await engine.generateIds(ref.promptIds, 'full', ref.newTokens)).ids, ref.greedy);
    } finally {
      await engine.dispose();
    }
  });
});
