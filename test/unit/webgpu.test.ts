// The WebGPU provider (Dawn over Vulkan; Mesa's lavapipe in CI, installed by scripts/setup.sh)
// runs the fixture pairs through the real engine: the CPU provider's greedy ids on the fp32 pair
// in every mode, high agreement on int8 pairs (their weights are computed differently there),
// and the prompt cache reusing a prefix exactly as on the CPU. Shapes are few and small: the
// first run of each shape takes seconds on lavapipe.
//
// CI sets OVERFILL_REQUIRE_WEBGPU=1 (scripts/test.sh): without a WebGPU adapter these tests
// fail there; elsewhere they are skipped, saying why.
import * as fs from 'fs';
import assert from 'node:assert/strict';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { argmax, generate, GENERATION_MODES } from '../../src/engine/generate/generate';
import type * as ort from 'onnxruntime-node';
import type { KvCache } from '../../src/engine/runtime/kvCache';
import { loadModelPair } from '../../src/engine/runtime/loadModelPair';
import { PromptCache } from '../../src/engine/cache/promptCache';
import { copyFixture, PAIR_A, PAIR_A_HF, PAIR_A_INT8, PAIR_A_WEBGPU, readReference, REPO_ROOT } from './fixtures';

const REQUIRED = process.env.OVERFILL_REQUIRE_WEBGPU === '1';
/** Steps whose next token must match the CPU provider's on an int8 pair. */
const INT8_AGREEMENT = 0.75;
const DEFAULT_MODEL = path.join(REPO_ROOT, 'models', 'default');
const PROMPT = 'export function clamp(value: number, low: number, high: number): number {\n  return Math.min(high, Math.max(low, value));\n}\n\nexport function lerp(a: number, b: number, t: number): number {\n  return ';

describe('WebGPU provider', { timeout: 600_000 }, () => {
  let gpu: CompletionEngine | undefined;
  let cpu: CompletionEngine;
  let unavailable = '';
  before(async () => {
    cpu = await CompletionEngine.load(PAIR_A, 'cpu');
    const opened = await CompletionEngine.load(PAIR_A, 'webgpu');
    if (opened.info.provider === 'webgpu') gpu = opened;
    else {
      unavailable = opened.info.fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ');
      await opened.dispose();
    }
  });
  after(async () => {
    await gpu?.dispose();
    await cpu.dispose();
  });

  /** The WebGPU engine, or a skip (a failure where CI requires WebGPU). */
  function needGpu(t: { skip(message: string): void }): CompletionEngine | undefined {
    if (gpu) return gpu;
    assert.ok(!REQUIRED, `no WebGPU adapter, and CI requires one: ${unavailable}`);
    t.skip(`no WebGPU adapter here (${unavailable})`);
    return undefined;
  }

  it('loads on webgpu when asked by name, with no fallback', (t) => {
    const engine = needGpu(t);
    if (!engine) return;
    assert.equal(engine.info.provider, 'webgpu');
    assert.deepEqual(engine.info.fallbacks, []);
  });

  for (const mode of GENERATION_MODES) {
    it(`fp32 pair, ${mode}: the CPU provider's greedy ids`, async (t) => {
      const engine = needGpu(t);
      if (!engine) return;
      const { promptIds, newTokens } = readReference(PAIR_A);
      const ours = await engine.generateIds(promptIds, mode, newTokens);
      const theirs = await cpu.generateIds(promptIds, mode, newTokens);
      assert.deepEqual(ours.ids, theirs.ids);
    });
  }

  it('prompt cache on webgpu: a prompt one token longer reuses the rest and gives a cold run’s ids', async (t) => {
    const engine = needGpu(t);
    if (!engine) return;
    const { promptIds } = readReference(PAIR_A);
    const longer = [...promptIds, promptIds[3]];
    engine.clearCache();
    await engine.generateIds(promptIds, 'overfill', 4);
    const warm = await engine.generateIds(longer, 'overfill', 4);
    assert.equal(warm.reusedTokens, promptIds.length);
    engine.clearCache();
    const cold = await engine.generateIds(longer, 'overfill', 4);
    assert.equal(cold.reusedTokens, 0);
    assert.deepEqual(warm.ids, cold.ids);
  });

  for (const [label, folder] of [
    ['the embedded (trained, int8) pair', DEFAULT_MODEL],
    ['the random int8 pair', PAIR_A_INT8],
  ] as const) {
    it(`${label}: WebGPU's next token is the CPU's at ${INT8_AGREEMENT * 100}% or more of the steps along the CPU's ids`, async (t) => {
      if (!needGpu(t)) return;
      // Teacher forcing: one early near-tie would otherwise end a free-running comparison.
      const [onGpu, onCpu] = [await loadModelPair(folder, 'webgpu'), await loadModelPair(folder, 'cpu')];
      try {
        assert.equal(onGpu.provider, 'webgpu');
        const promptIds = onCpu.tokenizer.encode(PROMPT);
        const steps = 16;
        const options = { mode: 'overfill' as const, maxNewTokens: steps, stopIds: new Set<number>(), vocabLimit: onCpu.tokenizer.size };
        const cpuIds = (await generate(onCpu, promptIds, options)).ids;
        let agree = 0;
        await generate(onGpu, promptIds, {
          ...options,
          pick: (logits, ids) => {
            if (argmax(logits, options.vocabLimit) === cpuIds[ids.length]) agree++;
            return cpuIds[ids.length];
          },
        });
        t.diagnostic(`WebGPU agreed with the CPU on ${agree} of ${steps} next tokens`);
        assert.ok(agree / steps >= INT8_AGREEMENT, `WebGPU agreed with the CPU on ${agree} of ${steps} next tokens`);
      } finally {
        await onGpu.dispose();
        await onCpu.dispose();
      }
    });
  }

  describe('the hf layout: KV on the device', () => {
    it('the full model’s present KV stays on the GPU and the decoder steps on it there; a replaced cache is freed, a checkpoint’s kept', async (t) => {
      if (!needGpu(t)) return;
      const pair = await loadModelPair(PAIR_A_HF, 'webgpu');
      try {
        assert.equal(pair.provider, 'webgpu');
        const cache = pair.full.newCache();
        await pair.full.forward([5, 6, 7, 8], cache);
        assert.ok(cache.onDevice);
        assert.deepEqual([...new Set(cache.pastTensors().map((x) => x.location))], ['gpu-buffer']);
        const prompt = [...cache.pastTensors()];
        const restore = cache.checkpoint();
        await pair.decoder.forward([9], cache);
        const step1 = [...cache.pastTensors()];
        await pair.decoder.forward([10], cache);
        assert.equal(cache.length, 6);
        assert.deepEqual([...new Set(step1.map((x) => x.location))], ['none'], 'a step’s replaced KV was not freed');
        assert.deepEqual([...new Set(prompt.map((x) => x.location))], ['gpu-buffer'], 'the checkpoint’s KV was freed');
        const step2 = [...cache.pastTensors()];
        restore();
        assert.equal(cache.length, 4);
        assert.equal(cache.pastTensors()[0], prompt[0]);
        assert.deepEqual([...new Set(step2.map((x) => x.location))], ['none'], 'restoring kept the decode steps’ KV');
        cache.release();
        assert.deepEqual([...new Set(prompt.map((x) => x.location))], ['none']);
      } finally {
        await pair.dispose();
      }
    });

    for (const mode of GENERATION_MODES) {
      it(`${mode}: the CPU provider's greedy ids with the KV on the device`, async (t) => {
        if (!needGpu(t)) return;
        const [onGpu, onCpu] = [await CompletionEngine.load(PAIR_A_HF, 'webgpu'), await CompletionEngine.load(PAIR_A_HF, 'cpu')];
        try {
          const { promptIds, newTokens } = readReference(PAIR_A_HF);
          assert.deepEqual((await onGpu.generateIds(promptIds, mode, newTokens)).ids, (await onCpu.generateIds(promptIds, mode, newTokens)).ids);
        } finally {
          await onGpu.dispose();
          await onCpu.dispose();
        }
      });
    }

    it('the prompt cache reuses a device cache the new prompt extends, and prefills again (never cuts) when it does not', async (t) => {
      if (!needGpu(t)) return;
      const [onGpu, onCpu] = [await loadModelPair(PAIR_A_HF, 'webgpu'), await loadModelPair(PAIR_A_HF, 'cpu')];
      try {
        const { promptIds } = readReference(PAIR_A_HF);
        const cache = new PromptCache(3, 1 << 28);
        const options = { mode: 'overfill' as const, maxNewTokens: 6, stopIds: new Set<number>(), vocabLimit: onCpu.tokenizer.size };
        await generate(onGpu, promptIds, { ...options, cache });
        const longer = [...promptIds, promptIds[2]];
        const extended = await generate(onGpu, longer, { ...options, cache });
        assert.equal(extended.reusedTokens, promptIds.length);
        assert.deepEqual(extended.ids, (await generate(onCpu, longer, options)).ids);
        const shorter = promptIds.slice(0, promptIds.length - 3);
        const cut = await generate(onGpu, shorter, { ...options, cache });
        assert.equal(cut.reusedTokens, 0, 'a device cache was cut (it cannot be read back)');
        assert.deepEqual(cut.ids, (await generate(onCpu, shorter, options)).ids);
        cache.clear();
      } finally {
        await onGpu.dispose();
        await onCpu.dispose();
      }
    });

    it('a generation with no prompt cache frees its device KV when it returns', async (t) => {
      if (!needGpu(t)) return;
      const pair = await loadModelPair(PAIR_A_HF, 'webgpu');
      try {
        const made: KvCache[] = [];
        const newCache = pair.full.newCache.bind(pair.full);
        pair.full.newCache = () => {
          const c = newCache();
          made.push(c);
          return c;
        };
        let seen: ort.Tensor[] = [];
        const { promptIds } = readReference(PAIR_A_HF);
        await generate(pair, promptIds, {
          mode: 'overfill',
          maxNewTokens: 4,
          stopIds: new Set(),
          pick: (logits, ids) => {
            if (ids.length === 0) seen = [...made[0].pastTensors()]; // the prompt's KV, on the device
            return argmax(logits);
          },
        });
        assert.equal(made.length, 1);
        assert.deepEqual([...new Set(seen.map((x) => x.location))], ['none'], 'the prompt’s device KV outlived the generation');
        assert.equal(made[0].length, 0);
      } finally {
        await pair.dispose();
      }
    });

    it('a pair with WebGPU graphs of its own runs them under WebGPU, KV on the device, with the CPU’s ids from its static graphs', async (t) => {
      if (!needGpu(t)) return;
      const pair = await loadModelPair(PAIR_A_WEBGPU, 'webgpu');
      try {
        assert.equal(pair.manifest.full.file, 'webgpu/full.onnx');
        const cache = pair.full.newCache();
        await pair.full.forward([5, 6, 7], cache);
        assert.ok(cache.onDevice);
        cache.release();
      } finally {
        await pair.dispose();
      }
      const [onGpu, onCpu] = [await CompletionEngine.load(PAIR_A_WEBGPU, 'webgpu'), await CompletionEngine.load(PAIR_A_WEBGPU, 'cpu')];
      try {
        const { promptIds, newTokens } = readReference(PAIR_A_WEBGPU);
        for (const mode of GENERATION_MODES) assert.deepEqual((await onGpu.generateIds(promptIds, mode, newTokens)).ids, (await onCpu.generateIds(promptIds, mode, newTokens)).ids, mode);
      } finally {
        await onGpu.dispose();
        await onCpu.dispose();
      }
    });

    it('a damaged WebGPU graph is the model’s error, named, not a fall back to the CPU', async (t) => {
      if (!needGpu(t)) return;
      const dir = copyFixture(PAIR_A_WEBGPU);
      try {
        fs.appendFileSync(path.join(dir, 'webgpu', 'decoder.onnx'), 'x');
        await assert.rejects(loadModelPair(dir, 'webgpu'), /The decoder .*webgpu\/decoder\.onnx does not match the sha256/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('the static layout keeps its cache on the host under WebGPU', async (t) => {
      const engine = needGpu(t);
      if (!engine) return;
      const pair = await loadModelPair(PAIR_A, 'webgpu');
      try {
        const cache = pair.full.newCache();
        await pair.full.forward([5, 6, 7], cache);
        assert.equal(cache.onDevice, false);
      } finally {
        await pair.dispose();
      }
    });
  });
});
