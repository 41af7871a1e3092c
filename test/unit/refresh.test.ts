// Refresh (GenerateOptions.refreshEvery): every N generated tokens the full model re-prefills
// them, so the cache then holds exactly the KV the full model alone writes for prompt + those
// tokens, the next token is the full model's pick, and nothing generated reaches the prompt cache.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PromptCache } from '../../src/engine/cache/promptCache';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { extractExplanation } from '../../src/engine/explainPrompt';
import { argmax, generate } from '../../src/engine/generate/generate';
import type { KvLayout } from '../../src/engine/model/manifest';
import { kvStreams, type KvCache } from '../../src/engine/runtime/kvCache';
import { loadModelPair, type ModelPair } from '../../src/engine/runtime/loadModelPair';
import { PAIR_A, PAIR_A_HF, PAIR_A_I8KV, readReference } from './fixtures';

/** A cache tensor's valid positions, copied: [head][position][value] flattened, whatever its capacity. */
interface Valid {
  values: number[];
  /** Largest magnitude, for a relative tolerance. */
  scale: number;
  /** int8 codes (not float values or scales). */
  integer: boolean;
}

function validPositions(cache: KvCache, layout: KvLayout): Valid[] {
  const n = cache.length;
  const streams = kvStreams(layout);
  return cache.pastTensors().map((t, i) => {
    // [1, h, slots, width], or [1, h, 1, slots] for a row stream (int8 scales); slots >= n (a static cache's capacity).
    const { row, width, type } = streams[i % streams.length];
    const slots = row ? t.dims[3] : t.dims[2];
    assert.ok(slots >= n);
    const data = t.data as ArrayLike<number>;
    const values: number[] = [];
    for (let h = 0; h < layout.numKvHeads; h++) for (let p = 0; p < n; p++) for (let k = 0; k < width; k++) values.push(Number(data[(h * slots + p) * width + k]));
    return { values, scale: Math.max(1e-6, ...values.map(Math.abs)), integer: type === 'uint8' || type === 'int8' };
  });
}

interface Snapshot {
  positions: number;
  kv: Valid[];
}

/** Relative to the tensor's largest value: chunked and one-run prefills differ by float rounding (seen: 2e-6 absolute). */
const TOLERANCE = 1e-4;

for (const folder of [PAIR_A, PAIR_A_HF, PAIR_A_I8KV]) {
  describe(`refresh: ${folder.split('/').pop()}`, () => {
    let pair: ModelPair;
    before(async () => {
      pair = await loadModelPair(folder, 'cpu');
    });
    after(() => pair.dispose());
    const ref = readReference(PAIR_A);
    const prompt = ref.promptIds;
    const N = 6;

    it('after each refresh the cache holds what the full model alone writes, and the next token is its pick', async () => {
      const snapshots: Snapshot[] = [];
      const plain = await generate(pair, prompt, { mode: 'overfill', maxNewTokens: 2 * N + 4, stopIds: new Set() });
      const refreshed = await generate(pair, prompt, {
        mode: 'overfill',
        maxNewTokens: 2 * N + 4,
        stopIds: new Set(),
        prefillChunk: 5, // the prompt in chunks, the reference below in one run
        refreshEvery: N,
        onRefresh: (cache, positions) => snapshots.push({ positions, kv: validPositions(cache, pair.full.layout) }),
      });
      assert.deepEqual(refreshed.ids.slice(0, N), plain.ids.slice(0, N), 'before the first refresh it is plain OverFill');
      assert.deepEqual(snapshots.map((s) => s.positions), [prompt.length + N, prompt.length + 2 * N]);
      for (const [k, snapshot] of snapshots.entries()) {
        const generated = refreshed.ids.slice(0, (k + 1) * N);
        const alone = pair.full.newCache();
        const logits = await pair.full.forward([...prompt, ...generated], alone);
        assert.equal(refreshed.ids[(k + 1) * N], argmax(logits, pair.tokenizer.size), `refresh ${k + 1}: the next token is the full model's`);
        const expected = validPositions(alone, pair.full.layout);
        assert.equal(snapshot.kv.length, expected.length);
        snapshot.kv.forEach((got, i) => {
          const want = expected[i];
          assert.equal(got.values.length, want.values.length, `tensor ${i}: positions held`);
          // int8 codes may differ by one step where a chunk boundary rounds differently (seen: none).
          const tol = got.integer ? 1 : TOLERANCE * want.scale;
          let worst = 0;
          for (let j = 0; j < want.values.length; j++) worst = Math.max(worst, Math.abs(got.values[j] - want.values[j]));
          assert.ok(worst <= tol, `refresh ${k + 1}, tensor ${i}: differs by ${worst} (tolerance ${tol})`);
        });
      }
      // The decoder's own next token differs from the full model's here: the refresh changed the text.
      assert.notEqual(plain.ids[N], refreshed.ids[N]);
    });

    it('the prompt cache gets the prompt positions only', async () => {
      const checkedIn: number[] = [];
      const cache = new (class extends PromptCache {
        override checkin(role: 'full' | 'decoder', ids: readonly number[], kv: KvCache): void {
          checkedIn.push(kv.length);
          super.checkin(role, ids, kv);
        }
      })(2, 1 << 30);
      const r = await generate(pair, prompt, { mode: 'overfill', maxNewTokens: 3 * N, stopIds: new Set(), cache, refreshEvery: N });
      assert.equal(r.ids.length, 3 * N);
      assert.deepEqual(checkedIn, [prompt.length]);
      const continued = await generate(pair, [...prompt, ...r.ids.slice(0, N)], { mode: 'overfill', maxNewTokens: 2, stopIds: new Set(), cache });
      assert.equal(continued.reusedTokens, prompt.length);
    });
  });
}

describe('refresh options', () => {
  let pair: ModelPair;
  before(async () => {
    pair = await loadModelPair(PAIR_A, 'cpu');
  });
  after(() => pair.dispose());
  const prompt = readReference(PAIR_A).promptIds;

  it('refreshes only in overfill mode', async () => {
    for (const mode of ['full', 'decoder'] as const) {
      let refreshes = 0;
      const plain = await generate(pair, prompt, { mode, maxNewTokens: 12, stopIds: new Set() });
      const r = await generate(pair, prompt, { mode, maxNewTokens: 12, stopIds: new Set(), refreshEvery: 4, onRefresh: () => refreshes++ });
      assert.equal(refreshes, 0);
      assert.deepEqual(r.ids, plain.ids);
    }
  });

  it('refreshEvery below 2 is 2 (a refresh covers two positions, as an int8 cache needs)', async () => {
    const at: number[] = [];
    const one = await generate(pair, prompt, { mode: 'overfill', maxNewTokens: 7, stopIds: new Set(), refreshEvery: 1, onRefresh: (_c, n) => at.push(n) });
    const two = await generate(pair, prompt, { mode: 'overfill', maxNewTokens: 7, stopIds: new Set(), refreshEvery: 2 });
    assert.deepEqual(at, [prompt.length + 2, prompt.length + 4, prompt.length + 6]);
    assert.deepEqual(one.ids, two.ids);
  });

  it('Explain passes refreshEvery on (overfill mode), and the explanation it gives is the refreshed one', async () => {
    const engine = await CompletionEngine.load(PAIR_A, 'cpu');
    try {
      const req = { code: 'const y = 2;', languageId: 'typescript', maxNewTokens: 200, contextTokens: 1024 };
      const plain = await engine.explain(req, undefined, () => undefined);
      const refreshed = await engine.explain({ ...req, refreshEvery: 8 }, undefined, () => undefined);
      const raw = await generate(pair, engine.buildExplainPrompt(req), { mode: 'overfill', maxNewTokens: 200, stopIds: pair.tokenizer.special.stop, vocabLimit: pair.tokenizer.size, refreshEvery: 8 });
      assert.notEqual(refreshed, plain);
      assert.equal(refreshed, extractExplanation(pair.tokenizer.decode(raw.ids), 'typescript').text);
      assert.equal(await engine.explain({ ...req, mode: 'full', refreshEvery: 8 }, undefined, () => undefined), await engine.explain({ ...req, mode: 'full' }, undefined, () => undefined));
    } finally {
      await engine.dispose();
    }
  });
});
