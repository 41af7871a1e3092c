// Standard ONNX exports (HF/optimum text-generation-with-past, made by a test script with
// torch.onnx) load with no overfill.json, run full-only and match the numpy forward pass; a
// manifest may pair two such exports (HF cache layout) and then runs OverFill.
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { OverfillError } from '../../src/engine/errors';
import { GENERATION_MODES } from '../../src/engine/generate/generate';
import { VARIANT_PREFERENCE } from '../../src/engine/model/standardExport';
import { copyFixture } from './fixtures';
import { numpyReference, OPTIMUM_PAIR, OPTIMUM_QWEN2, readJson, withEngine } from './byoFixtures';

describe('a standard ONNX export, loaded as it is', () => {
  const ref = numpyReference(OPTIMUM_QWEN2);

  it('has no manifest, runs full-only whatever mode is asked, and gives numpy\'s greedy ids', async () => {
    assert.ok(!fs.existsSync(path.join(OPTIMUM_QWEN2, 'overfill.json')));
    await withEngine(OPTIMUM_QWEN2, async (engine) => {
      assert.equal(engine.info.kind, 'full-only');
      assert.equal(engine.info.family, 'qwen2.5-coder');
      assert.equal(engine.info.decoderParams, undefined);
      for (const mode of GENERATION_MODES) assert.deepEqual((await engine.generateIds(ref.promptIds, mode, ref.newTokens)).ids, ref.greedy, mode);
      // A completion request (FIM prompt, healing, line rules) runs too, in full mode.
      const result = await engine.complete({ prefix: 'def add(a, b):\n    return ', suffix: '\n', maxNewTokens: 8, contextTokens: 256 });
      assert.equal(result.mode, 'full');
    });
  });

  it('picks the variant by name (fp32 before fp16 on the CPU); pointing at a file picks that one (float16 KV and logits)', async () => {
    assert.ok(VARIANT_PREFERENCE.indexOf('model') < VARIANT_PREFERENCE.indexOf('model_fp16'));
    await withEngine(path.join(OPTIMUM_QWEN2, 'onnx', 'model_fp16.onnx'), async (engine) => {
      assert.match(engine.info.description, /model_fp16\.onnx/);
      const ids = (await engine.generateIds(ref.promptIds, 'full', ref.newTokens)).ids;
      const same = ids.filter((id, i) => id === ref.greedy[i]).length;
      assert.ok(ids[0] === ref.greedy[0] && same >= ref.newTokens - 2, `float16 ids ${ids} vs numpy ${ref.greedy}`);
    });
  });

  it('an export without its tokenizer is refused, naming the file to add', async () => {
    const dir = copyFixture(OPTIMUM_QWEN2);
    fs.rmSync(path.join(dir, 'tokenizer.json'));
    await assert.rejects(CompletionEngine.load(dir, 'cpu'), (err: unknown) => err instanceof OverfillError && err.code === 'MODEL_NOT_FOUND' && err.message.includes('tokenizer.json'));
  });

  it('a config.json whose layer count is not the graph\'s is refused with KV_LAYOUT_MISMATCH', async () => {
    const dir = copyFixture(OPTIMUM_QWEN2);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 3 }));
    await assert.rejects(CompletionEngine.load(dir, 'cpu'), (err: unknown) => err instanceof OverfillError && err.code === 'KV_LAYOUT_MISMATCH' && err.message.includes('numLayers'));
  });
});

describe('a manifest pairing two standard exports (a full model and a decoder made elsewhere)', () => {
  it('runs OverFill on the HF cache layout and matches PyTorch in every mode', async () => {
    const ref = readJson<{ promptIds: number[]; newTokens: number; modes: Record<string, { ids: number[] }> }>(path.join(OPTIMUM_PAIR, 'reference.json'));
    await withEngine(OPTIMUM_PAIR, async (engine) => {
      assert.equal(engine.info.kind, 'overfill');
      for (const mode of GENERATION_MODES) assert.deepEqual((await engine.generateIds(ref.promptIds, mode, ref.newTokens)).ids, ref.modes[mode].ids, mode);
    });
  });
});
