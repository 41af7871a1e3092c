// The WebGPU provider (Dawn over Vulkan; Mesa's lavapipe in CI, installed by scripts/setup.sh)
// runs the fixture pairs through the real engine: the CPU provider's greedy ids on the fp32 pair
// in every mode, high agreement on int8 pairs (their weights are computed differently there),
// and the prompt cache reusing a prefix exactly as on the CPU. Shapes are few and small: the
// first run of each shape takes seconds on lavapipe.
//
// CI sets OVERFILL_REQUIRE_WEBGPU=1 (scripts/test.sh): without a WebGPU adapter these tests
// fail there; elsewhere they are skipped, saying why.
import assert from 'node:assert/strict';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { argmax, generate, GENERATION_MODES } from '../../src/engine/generate/generate';
import { loadModelPair } from '../../src/engine/runtime/loadModelPair';
import { PAIR_A, PAIR_A_INT8, readReference, REPO_ROOT } from './fixtures';

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
});
