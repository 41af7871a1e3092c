// Cancellation: an aborted signal stops generation between steps; through the engine process, a new
// completion cancels the previous one and the engine process keeps serving.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { EngineClient } from '../../src/engine/engineClient';
import { OverfillError } from '../../src/engine/errors';
import { generate } from '../../src/engine/generate/generate';
import { loadModelPair, type ModelPair } from '../../src/engine/runtime/loadModelPair';
import { PAIR_A, readReference, ENGINE_SCRIPT } from './fixtures';

const isAborted = (err: unknown): boolean => err instanceof OverfillError && err.code === 'ABORTED';

describe('cancellation in the generation loop', () => {
  let pair: ModelPair;
  before(async () => {
    pair = await loadModelPair(PAIR_A, 'cpu');
  });
  after(() => pair.dispose());

  it('stops after the step during which the signal was aborted', async () => {
    const ref = readReference(PAIR_A);
    const controller = new AbortController();
    let seen = 0;
    await assert.rejects(
      generate(pair, ref.promptIds, {
        mode: 'overfill',
        maxNewTokens: 200,
        stopIds: new Set(),
        signal: controller.signal,
        shouldStop: (ids) => {
          seen = ids.length;
          if (ids.length === 3) controller.abort();
          return false;
        },
      }),
      isAborted,
    );
    assert.equal(seen, 3);
  });

  it('an already aborted signal runs nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(generate(pair, [1, 2, 3], { mode: 'full', maxNewTokens: 5, stopIds: new Set(), signal: controller.signal }), isAborted);
  });
});

describe('warm-up after load', () => {
  let engine: CompletionEngine;
  before(async () => {
    engine = await CompletionEngine.load(PAIR_A, 'cpu');
  });
  after(() => engine.dispose());

  it('runs its passes and leaves nothing behind: the next request matches PyTorch and reuses no prompt KV', async () => {
    assert.equal(await engine.warmUp(), 2);
    const ref = readReference(PAIR_A);
    const result = await engine.generateIds(ref.promptIds, 'overfill', ref.newTokens);
    assert.deepEqual(result.ids, ref.modes.overfill.ids);
    assert.equal(result.reusedTokens, 0);
  });

  it('an aborted signal stops it without an error', async () => {
    const controller = new AbortController();
    controller.abort();
    assert.equal(await engine.warmUp(controller.signal), 0);
    const late = new AbortController();
    const warming = engine.warmUp(late.signal);
    late.abort();
    assert.ok((await warming) < 2);
  });
});

describe('cancellation through the engine process', () => {
  const client = new EngineClient(ENGINE_SCRIPT);
  before(() => client.load(PAIR_A, 'cpu'));
  after(() => client.dispose());
  const request = { prefix: 'function main() {\n  const total = ', suffix: '\n}\n', maxNewTokens: 400, contextTokens: 512, maxLines: 1000 };

  it('a newer completion cancels the older one, which rejects with ABORTED', async () => {
    const first = client.complete(request);
    const second = client.complete({ ...request, maxNewTokens: 4 });
    await assert.rejects(first, isAborted);
    const result = await second;
    assert.ok(result.ids.length > 0 && result.ids.length <= 4);
  });

  it('an AbortSignal cancels a request in the engine process', async () => {
    const controller = new AbortController();
    const pending = client.complete(request, controller.signal);
    controller.abort();
    await assert.rejects(pending, isAborted);
  });

  it('the engine process keeps serving after cancellations', async () => {
    const result = await client.complete({ ...request, maxNewTokens: 6 });
    assert.equal(result.mode, 'overfill');
    assert.ok(result.ids.length > 0);
  });
});
