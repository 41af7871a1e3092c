// Preemption on real pair A: a completion sent while an explanation runs gets the models at the
// explanation's next step (or prefill chunk), resolves while the explanation is still running,
// and the explanation then finishes exactly as it would have alone. One model run at a time.
// Every forward pass is watched (OnnxCausalLm.prototype.forward) to see whose it is.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { PromptCache } from '../../src/engine/cache/promptCache';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { EngineClient } from '../../src/engine/engineClient';
import { isAbort } from '../../src/engine/errors';
import { generate, type GenerateResult } from '../../src/engine/generate/generate';
import type { CompletionRequest, CompletionResult, ExplainRequest } from '../../src/engine/requests';
import type { KvCache } from '../../src/engine/runtime/kvCache';
import { loadModelPair } from '../../src/engine/runtime/loadModelPair';
import { OnnxCausalLm } from '../../src/engine/runtime/onnxCausalLm';
import { Turns } from '../../src/engine/schedule/turns';
import { ENGINE_SCRIPT, PAIR_A, readReference } from './fixtures';

// On pair A this explanation runs 152 tokens before its comment ends (more than enough steps to interrupt).
const EXPLAIN: ExplainRequest = { code: 'const y = 2;', languageId: 'typescript', maxNewTokens: 400, contextTokens: 1024 };
const COMPLETE: CompletionRequest = { prefix: 'export function area(width: number, height: number): number {\n  return ', suffix: ';\n}\n', languageId: 'typescript', maxNewTokens: 12, contextTokens: 512 };

interface Run {
  cache: KvCache;
  tokens: number;
}

/** Calls each forward pass with its cache and length before it runs; counts passes in flight. */
const watch = {
  onForward: undefined as ((run: Run) => void) | undefined,
  inFlight: 0,
  maxInFlight: 0,
};
const original = OnnxCausalLm.prototype.forward;

describe('preemption in the engine', () => {
  let engine: CompletionEngine;
  before(async () => {
    OnnxCausalLm.prototype.forward = async function (this: OnnxCausalLm, tokens: readonly number[], cache: KvCache): Promise<Float32Array> {
      watch.onForward?.({ cache, tokens: tokens.length });
      watch.maxInFlight = Math.max(watch.maxInFlight, ++watch.inFlight);
      try {
        return await original.call(this, tokens, cache);
      } finally {
        watch.inFlight--;
      }
    };
    // Small prefill chunks: the explanation's prompt runs in several, so a completion can arrive between them.
    engine = await CompletionEngine.load(PAIR_A, 'cpu', { prefillChunk: 8 });
  });
  after(async () => {
    OnnxCausalLm.prototype.forward = original;
    await engine.dispose();
  });
  beforeEach(() => {
    watch.onForward = undefined;
    watch.maxInFlight = 0;
    engine.clearCache(); // every run below prefills from scratch: runs compare exactly
  });
  afterEach(() => assert.equal(watch.maxInFlight, 1, 'two model runs were in flight at once'));

  async function explainAlone(refreshEvery?: number): Promise<{ text: string; updates: string[] }> {
    const updates: string[] = [];
    const text = await engine.explain({ ...EXPLAIN, refreshEvery }, undefined, (t) => updates.push(t));
    return { text, updates };
  }

  const cases = [
    { at: 'a decode step', refreshEvery: undefined, trigger: (r: Run, steps: number) => r.tokens === 1 && steps === 10 },
    { at: 'a decode step (refreshing every 8)', refreshEvery: 8, trigger: (r: Run, steps: number) => r.tokens === 1 && steps === 20 },
    { at: 'a prefill chunk', refreshEvery: undefined, trigger: (r: Run, steps: number) => r.tokens > 1 && steps === 0 },
  ];
  for (const { at, refreshEvery, trigger } of cases) {
    it(`a completion sent during ${at} of an explanation runs right after that run, then the explanation goes on as if alone`, async () => {
      const alone = await explainAlone(refreshEvery);
      assert.ok(alone.updates.length > 20, 'the explanation should run long');
      const completionAlone = await engine.complete(COMPLETE);
      engine.clearCache();

      const events: string[] = [];
      let explanationCache: KvCache | undefined;
      let decodeSteps = 0;
      let completion: Promise<CompletionResult> | undefined;
      /** Explanation runs that started after the completion was sent and before its first run. */
      let startedWhileWaiting: number | undefined;
      watch.onForward = (run) => {
        explanationCache ??= run.cache; // the explanation runs first
        if (run.cache !== explanationCache) {
          if (!events.includes('completion started')) events.push('completion started');
          return;
        }
        if (startedWhileWaiting !== undefined && !events.includes('completion started')) startedWhileWaiting++;
        if (run.tokens === 1) decodeSteps++;
        if (!completion && trigger(run, decodeSteps)) {
          events.push('completion sent');
          startedWhileWaiting = 0;
          completion = engine.complete(COMPLETE).then((r) => (events.push('completion resolved'), r));
        }
      };
      const updates: string[] = [];
      const text = await engine.explain({ ...EXPLAIN, refreshEvery }, undefined, (t) => updates.push(t)).then((t) => (events.push('explanation resolved'), t));
      assert.ok(completion, 'the completion was never sent');
      const result = await completion;
      assert.deepEqual(events, ['completion sent', 'completion started', 'completion resolved', 'explanation resolved']);
      assert.equal(startedWhileWaiting, 0, 'the completion waited for more than the run in flight');
      assert.equal(text, alone.text);
      assert.deepEqual(updates, alone.updates);
      assert.deepEqual(result.ids, completionAlone.ids);
      assert.equal(result.text, completionAlone.text);
    });
  }

  it('two completions sent during an explanation both run before it goes on, one model run at a time', async () => {
    const alone = await explainAlone();
    const other = { ...COMPLETE, prefix: 'const total = values.reduce((sum, v) => ', suffix: ', 0);\n' };
    const soloA = await engine.complete(COMPLETE);
    const soloB = await engine.complete(other);
    engine.clearCache();
    const events: string[] = [];
    let steps = 0;
    let sent: Promise<CompletionResult[]> | undefined;
    watch.onForward = (run) => {
      if (run.tokens === 1 && ++steps === 5 && !sent) {
        sent = Promise.all([engine.complete(COMPLETE), engine.complete(other)]).then((r) => (events.push('completions resolved'), r));
      }
    };
    const text = await engine.explain(EXPLAIN, undefined, () => undefined).then((t) => (events.push('explanation resolved'), t));
    const [a, b] = await sent!;
    assert.deepEqual(events, ['completions resolved', 'explanation resolved']);
    assert.deepEqual(a.ids, soloA.ids);
    assert.deepEqual(b.ids, soloB.ids);
    assert.equal(text, alone.text);
  });
});

describe('preemption and the prompt cache', () => {
  it('a completion with the same prompt, run while an explanation has stepped aside, does not get its cache', async () => {
    const pair = await loadModelPair(PAIR_A, 'cpu');
    try {
      const prompt = readReference(PAIR_A).promptIds;
      const opts = { mode: 'overfill' as const, maxNewTokens: 30, stopIds: new Set<number>() };
      const alone = await generate(pair, prompt, opts);
      const turns = new Turns();
      const cache = new PromptCache(3, 1 << 30);
      let completion: Promise<GenerateResult> | undefined;
      const explanation = await turns.run('explanation', (turn) =>
        generate(pair, prompt, {
          ...opts,
          cache,
          between: () => turn.between(),
          shouldStop: (ids) => {
            if (ids.length === 10) completion = turns.run('completion', () => generate(pair, prompt, { ...opts, maxNewTokens: 5, cache }));
            return false;
          },
        }),
      );
      const done = await completion!;
      assert.equal(done.reusedTokens, 0, 'the completion reused KV from the checked-out cache');
      assert.deepEqual(done.ids, alone.ids.slice(0, 5));
      assert.deepEqual(explanation.ids, alone.ids);
      assert.equal(cache.size, 2); // both checked in their prompt KV
    } finally {
      await pair.dispose();
    }
  });
});

describe('preemption through the engine process', () => {
  const client = new EngineClient(ENGINE_SCRIPT);
  before(() => client.load(PAIR_A, 'cpu'));
  after(() => client.dispose());

  it('a new completion aborts the previous completion only, never a running explanation', async () => {
    const alone = await client.explain(EXPLAIN, undefined, () => undefined);
    const explanation = client.explain(EXPLAIN, undefined, () => undefined);
    const first = client.complete({ ...COMPLETE, maxNewTokens: 400, maxLines: 1000 });
    const second = client.complete(COMPLETE);
    await assert.rejects(first, isAbort);
    assert.ok((await second).ids.length > 0);
    assert.equal(await explanation, alone);
  });
});
