// Prompt KV reuse across requests: cached and uncached runs give identical tokens, only new
// tokens are prefilled, aborted prefills keep what they did, and the cache stays bounded.
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { after, before, describe, it } from 'node:test';
import { commonPrefixLength, PromptCache } from '../../src/engine/cache/promptCache';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { OverfillError } from '../../src/engine/errors';
import { generate, GENERATION_MODES } from '../../src/engine/generate/generate';
import { StaticKvCache, type KvCache } from '../../src/engine/runtime/kvCache';
import type { CausalLm } from '../../src/engine/runtime/onnxCausalLm';
import { loadModelPair, type ModelPair } from '../../src/engine/runtime/loadModelPair';
import { PAIR_A, PAIR_A_HF, PAIR_A_I8KV, PAIR_A_INT8, readReference } from './fixtures';

const FILE = 'export function area(width: number, height: number): number {\n  return width * height;\n}\n\nexport function perimeter(w: number, h: number) {\n  return ';
const base = { suffix: '\n}\n', languageId: 'typescript', maxNewTokens: 10, contextTokens: 512, maxLines: 100 };

// int8 weights too: their activations are quantized per row, so cached and one-run prefills agree.
// int8 KV too: its one-token runs round queries and probabilities, so prompt positions never run
// alone (generate.ts); the runs below exercise that rule.
for (const folder of [PAIR_A, PAIR_A_HF, PAIR_A_INT8, PAIR_A_I8KV]) {
  describe(`prompt cache in the engine: ${folder.split('/').pop()}`, () => {
    let cached: CompletionEngine;
    let cold: CompletionEngine;
    before(async () => {
      cached = await CompletionEngine.load(folder, 'cpu', { prefillChunk: 7 });
      cold = await CompletionEngine.load(folder, 'cpu', { promptCache: false });
    });
    after(async () => {
      await cached.dispose();
      await cold.dispose();
    });

    for (const mode of GENERATION_MODES) {
      it(`${mode}: typing one more character reuses the prompt and gives the uncached tokens`, async () => {
        cached.clearCache();
        const first = await cached.complete({ ...base, prefix: FILE, mode });
        assert.equal(first.reusedTokens, 0);
        const again = await cached.complete({ ...base, prefix: FILE + '2', mode });
        const reference = await cold.complete({ ...base, prefix: FILE + '2', mode });
        assert.ok(again.reusedTokens > 0.8 * again.promptTokens - 20, `reused ${again.reusedTokens} of ${again.promptTokens}`);
        assert.deepEqual(again.ids, reference.ids);
        assert.equal(again.text, reference.text);
      });
    }

    // An int8 KV cache never runs a prompt position alone (generate.ts): it re-runs two.
    const rerun = folder === PAIR_A_I8KV ? 2 : 1;
    it(`the same prompt twice re-runs only its last ${rerun} token(s) and repeats itself exactly`, async () => {
      cached.clearCache();
      const a = await cached.complete({ ...base, prefix: FILE });
      const b = await cached.complete({ ...base, prefix: FILE });
      assert.equal(b.reusedTokens, b.promptTokens - rerun);
      assert.deepEqual(b.ids, a.ids);
    });
  });
}

describe('prompt cache and aborts', () => {
  let pair: ModelPair;
  before(async () => {
    pair = await loadModelPair(PAIR_A, 'cpu');
  });
  after(() => pair.dispose());

  it('an abort between prefill chunks keeps the chunks done for the next request', async () => {
    const ref = readReference(PAIR_A);
    const cache = new PromptCache(2, 1 << 30);
    const controller = new AbortController();
    const prompt = ref.promptIds;
    let calls = 0;
    const counting = { ...pair.full, layout: pair.full.layout, cacheLayout: pair.full.cacheLayout, newCache: () => pair.full.newCache(), forward: (t: readonly number[], c: KvCache) => (++calls === 2 && controller.abort(), pair.full.forward(t, c)) };
    await assert.rejects(
      generate({ full: counting, decoder: pair.decoder }, prompt, { mode: 'overfill', maxNewTokens: 5, stopIds: new Set(), cache, prefillChunk: 4, signal: controller.signal }),
      (e: unknown) => e instanceof OverfillError && e.code === 'ABORTED',
    );
    const next = await generate(pair, prompt, { mode: 'overfill', maxNewTokens: ref.newTokens, stopIds: new Set(), cache, prefillChunk: 4 });
    assert.equal(next.reusedTokens, 8);
    assert.deepEqual(next.ids, ref.modes.overfill.ids);
  });

  it('prefill chunks run on a cache sized to what it holds; decode steps never regrow it', async () => {
    // Attention reads every slot of a static cache, free or not: spare capacity is wasted work.
    const ref = readReference(PAIR_A);
    const seen: { role: string; slots: number; held: number }[] = [];
    const watch = (role: string, lm: CausalLm): CausalLm => ({
      layout: lm.layout,
      cacheLayout: lm.cacheLayout,
      newCache: () => lm.newCache(),
      forward: (t: readonly number[], c: KvCache) => (seen.push({ role, slots: c.pastTensors()[0].dims[2], held: c.length }), lm.forward(t, c)),
    });
    const prompt = Array.from({ length: 150 }, (_, i) => ref.promptIds[i % ref.promptIds.length]);
    const r = await generate({ full: watch('full', pair.full), decoder: watch('decoder', pair.decoder) }, prompt, { mode: 'overfill', maxNewTokens: 8, stopIds: new Set(), prefillChunk: 40 });
    assert.equal(r.ids.length, 8);
    const prefills = seen.filter((s) => s.role === 'full');
    assert.deepEqual(prefills.map((s) => s.held), [0, 40, 80, 120]);
    for (const s of prefills) assert.ok(s.slots - s.held < 64, `a chunk after ${s.held} positions attended to ${s.slots} slots`);
    const steps = seen.filter((s) => s.role === 'decoder');
    assert.equal(steps.length, 7);
    assert.ok(steps.every((s) => s.slots === steps[0].slots && s.slots >= prompt.length + 8));
  });

  it('generated tokens never enter the cache: the next request sees prompt positions only', async () => {
    const ref = readReference(PAIR_A);
    const cache = new PromptCache(2, 1 << 30);
    await generate(pair, ref.promptIds, { mode: 'overfill', maxNewTokens: 6, stopIds: new Set(), cache });
    const continued = [...ref.promptIds, ...ref.modes.overfill.ids.slice(0, 3)];
    const r = await generate(pair, continued, { mode: 'overfill', maxNewTokens: 3, stopIds: new Set(), cache });
    assert.equal(r.reusedTokens, ref.promptIds.length);
  });
});

describe('PromptCache bookkeeping', () => {
  const layout = { numLayers: 1, numKvHeads: 1, headDim: 2, dtype: 'float32' } as const;
  const filled = (n: number): KvCache => {
    const c = new StaticKvCache(layout);
    for (let i = 0; i < n; i++) c.absorb([{ data: new Float32Array([i, i]) }, { data: new Float32Array([-i, -i]) }] as never, 1);
    return c;
  };

  it('longest common prefix', () => {
    assert.equal(commonPrefixLength([1, 2, 3], [1, 2, 4]), 2);
    assert.equal(commonPrefixLength([], [1]), 0);
  });

  it('picks the entry with the longest shared prefix, per prefill model', () => {
    const cache = new PromptCache(3, 1 << 30);
    cache.checkin('full', [1, 2, 3, 4], filled(4));
    cache.checkin('full', [1, 9, 9], filled(3));
    cache.checkin('decoder', [1, 2, 3, 4, 5], filled(5));
    const got = cache.checkout('full', [1, 2, 3, 7, 8], () => filled(0));
    assert.equal(got.reused, 3);
    assert.equal(got.cache.length, 3);
    assert.equal(cache.size, 2);
  });

  it('an entry checked out is not handed out again until it is checked in (a preempted request keeps its cache)', () => {
    const cache = new PromptCache(3, 1 << 30);
    const held = filled(4);
    cache.checkin('full', [1, 2, 3, 4], held);
    const first = cache.checkout('full', [1, 2, 3, 4, 5], () => filled(0));
    assert.equal(first.cache, held);
    const second = cache.checkout('full', [1, 2, 3, 4, 5], () => filled(0));
    assert.notEqual(second.cache, held);
    assert.equal(second.reused, 0);
    assert.equal(held.length, 4, 'the second checkout touched the held cache');
  });

  it('evicts the least recently used entry beyond its count and byte bounds', () => {
    const byCount = new PromptCache(2, 1 << 30);
    for (let i = 0; i < 3; i++) byCount.checkin('full', [i], filled(1));
    assert.equal(byCount.size, 2);
    assert.equal(byCount.checkout('full', [0, 5], () => filled(0)).reused, 0);
    const bytes = filled(100).bytes;
    const byBytes = new PromptCache(5, bytes * 1.5);
    byBytes.checkin('full', [1], filled(100));
    byBytes.checkin('full', [2], filled(100));
    assert.equal(byBytes.size, 1);
  });

  it('re-laying the cache out in place (grow, shrink) keeps every head\'s positions', () => {
    const two = { numLayers: 1, numKvHeads: 2, headDim: 2, dtype: 'float32' } as const;
    const c = new StaticKvCache(two);
    c.plan(1100);
    const bytes = c.bytes;
    // per step: head 0 holds (i, i), head 1 holds (-i, -i)
    for (let i = 0; i < 130; i++) c.absorb([{ data: new Float32Array([i, i, -i, -i]) }, { data: new Float32Array([i, i, -i, -i]) }] as never, 1);
    const check = (): void => {
      const keys = c.pastTensors()[0];
      const cap = keys.dims[2];
      const data = keys.data as Float32Array;
      for (const i of [0, 64, 129]) assert.deepEqual([data[2 * i], data[(cap + i) * 2]], [i, -i], `position ${i} at capacity ${cap}`);
    };
    check();
    c.reserve(1000); // grow in place
    assert.equal(c.pastTensors()[0].dims[2], 1024);
    check();
    c.reserve(0); // 1024 slots for 130 positions: shrink in place
    assert.equal(c.pastTensors()[0].dims[2], 192);
    check();
    assert.equal(c.bytes, bytes, 'no new allocation within the planned room');
  });

  it('a float16 cache stores the graph\'s float16 bits as they are, in half the bytes', () => {
    const half = { numLayers: 1, numKvHeads: 2, headDim: 2, dtype: 'float16' } as const;
    const c16 = new StaticKvCache(half);
    const c32 = new StaticKvCache({ ...half, dtype: 'float32' });
    // 0x3c00 = 1.0, 0xc000 = -2.0, 0x7bff = 65504 (largest finite float16), 0x0001 = smallest subnormal
    const bits = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]);
    for (let i = 0; i < 70; i++) c16.absorb([new ort.Tensor('float16', bits, [1, 2, 1, 2]), new ort.Tensor('float16', bits, [1, 2, 1, 2])], 1);
    c32.absorb([new ort.Tensor('float32', new Float32Array(4), [1, 2, 1, 2]), new ort.Tensor('float32', new Float32Array(4), [1, 2, 1, 2])], 1);
    const keys = c16.pastTensors()[0];
    assert.equal(keys.type, 'float16');
    const cap = keys.dims[2];
    const stored = keys.data as Uint16Array;
    const raw = new Uint16Array(stored.buffer, stored.byteOffset, stored.length);
    for (const i of [0, 69]) assert.deepEqual([raw[2 * i], raw[2 * i + 1], raw[(cap + i) * 2], raw[(cap + i) * 2 + 1]], [...bits]);
    c32.reserve(70);
    c16.reserve(70);
    assert.equal(c16.bytes * 2, c32.bytes);
  });

  it('an int8 cache keeps keys, values and their per-row scales per head through re-layouts, at one byte per value plus two float scales per row', () => {
    const layout = { numLayers: 1, numKvHeads: 2, headDim: 4, dtype: 'int8' } as const;
    const c8 = new StaticKvCache(layout);
    const c32 = new StaticKvCache({ ...layout, dtype: 'float32' });
    // position i: head 0 keys (i % 256) and values (i % 100), head 1 their complements; scales i and -i
    for (let i = 0; i < 130; i++) {
      const k = new Uint8Array([...Array(4).fill(i % 256), ...Array(4).fill(255 - (i % 256))]);
      const v = new Int8Array([...Array(4).fill(i % 100), ...Array(4).fill(-(i % 100))]);
      c8.absorb([new ort.Tensor('uint8', k, [1, 2, 1, 4]), new ort.Tensor('int8', v, [1, 2, 1, 4]), new ort.Tensor('float32', new Float32Array([i, -i]), [1, 2, 1, 1]), new ort.Tensor('float32', new Float32Array([i, -i]), [1, 2, 1, 1])], 1);
    }
    c32.absorb([new ort.Tensor('float32', new Float32Array(8), [1, 2, 1, 4]), new ort.Tensor('float32', new Float32Array(8), [1, 2, 1, 4])], 1);
    const check = (): void => {
      const [keys, values, keyScales, valueScales] = c8.pastTensors();
      const cap = keys.dims[2];
      assert.deepEqual([keys.type, values.type, keyScales.type], ['uint8', 'int8', 'float32']);
      assert.deepEqual(keyScales.dims, [1, 2, 1, cap], 'scales are one row per head');
      for (const i of [0, 64, 129]) {
        assert.deepEqual([(keys.data as Uint8Array)[4 * i], (keys.data as Uint8Array)[4 * (cap + i)]], [i, 255 - i]);
        assert.deepEqual([(values.data as Int8Array)[4 * i + 3], (values.data as Int8Array)[4 * (cap + i)]], [i % 100, -(i % 100) || 0]);
        assert.deepEqual([(keyScales.data as Float32Array)[i], (valueScales.data as Float32Array)[cap + i]], [i, -i]);
      }
    };
    check();
    c8.reserve(1000);
    check();
    c8.reserve(0);
    check();
    // per position and head: 4 + 4 bytes of K/V and 8 of scales, against 32
    const fresh8 = new StaticKvCache(layout);
    fresh8.reserve(130);
    c32.reserve(130);
    assert.equal(fresh8.bytes * 2, c32.bytes);
  });

  it('a growing buffer keeps its content and masks its free slots', () => {
    const c = filled(300); // grows step by step from empty
    const keys = c.pastTensors()[0];
    const capacity = keys.dims[2];
    assert.ok(capacity >= 300);
    for (const i of [0, 150, 299]) assert.equal((keys.data as Float32Array)[2 * i], i);
    const mask = c.attentionMask(2).data as BigInt64Array;
    assert.equal(mask.length, capacity + 2);
    assert.deepEqual([mask[299], mask[300], mask[capacity - 1], mask[capacity], mask[capacity + 1]], [1n, 0n, 0n, 1n, 1n]);
    c.truncate(200);
    assert.equal((c.attentionMask(1).data as BigInt64Array)[250], 0n);
    assert.equal(c.length, 200);
    const restore = c.checkpoint();
    c.absorb([{ data: new Float32Array([7, 7]) }, { data: new Float32Array([7, 7]) }] as never, 1);
    restore();
    assert.equal(c.length, 200);
  });
});
