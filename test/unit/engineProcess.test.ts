// The engine in its own process gives the same answers as the in-process engine, streams Explain,
// swaps models on load, and reports load errors as typed errors.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { EngineClient } from '../../src/engine/engineClient';
import { OverfillError } from '../../src/engine/errors';
import { GENERATION_MODES } from '../../src/engine/generate/generate';
import { ORT_PATH_ENV } from '../../src/engine/runtime/runtimeEnv';
import { MISMATCHED, PAIR_A, PAIR_B, ENGINE_SCRIPT, REPO_ROOT } from './fixtures';

const request = {
  prefix: 'export function area(width: number, height: number): number {\n  return ',
  suffix: ';\n}\n',
  languageId: 'typescript',
  maxNewTokens: 16,
  contextTokens: 512,
};

describe('engine process', () => {
  const client = new EngineClient(ENGINE_SCRIPT);
  let local: CompletionEngine;
  before(async () => {
    local = await CompletionEngine.load(PAIR_A, 'cpu');
  });
  after(async () => {
    await client.dispose();
    await local.dispose();
  });

  it('loads a pair and reports what it loaded', async () => {
    const info = await client.load(PAIR_A, 'cpu');
    assert.equal(info.name, 'fixture-a');
    assert.equal(info.provider, 'cpu');
    assert.ok(info.decoderParams! < info.fullParams!);
  });

  for (const mode of GENERATION_MODES) {
    it(`complete() in ${mode} mode equals the in-process engine`, async () => {
      const remote = await client.complete({ ...request, mode });
      const here = await local.complete({ ...request, mode });
      assert.deepEqual(remote.ids, here.ids);
      assert.equal(remote.text, here.text);
      assert.equal(remote.mode, mode);
      assert.ok(remote.promptTokens > 10);
    });
  }

  it('explain() streams growing text and resolves with the final text', async () => {
    const updates: string[] = [];
    const text = await client.explain({ code: 'const x = [1, 2, 3].map((n) => n * 2);', languageId: 'typescript', maxNewTokens: 24, contextTokens: 256 }, undefined, (t) => updates.push(t));
    assert.ok(updates.length > 0, 'no streamed update');
    assert.equal(updates[updates.length - 1], text);
  });

  it('a new load swaps the model: pair B answers differently', async () => {
    const before = await client.complete({ ...request, maxNewTokens: 8, maxLines: 100 });
    const info = await client.load(PAIR_B, 'cpu');
    assert.equal(info.name, 'fixture-b');
    const after = await client.complete({ ...request, maxNewTokens: 8, maxLines: 100 });
    assert.notDeepEqual(after.ids, before.ids);
  });

  it('a failed load rejects with the typed error, and the model loaded before keeps serving', async () => {
    const before = await client.complete(request);
    await assert.rejects(client.load(MISMATCHED, 'cpu'), (e: unknown) => e instanceof OverfillError && e.code === 'KV_LAYOUT_MISMATCH');
    assert.deepEqual((await client.complete(request)).ids, before.ids);
    await client.load(PAIR_A, 'cpu');
    assert.ok((await client.complete(request)).ids.length > 0);
  });

  it('restartWith: a new process with the new environment; a load sent at once is answered there, the request in flight ends ABORTED', async () => {
    await client.load(PAIR_A, 'cpu');
    const first = client.pid;
    const running = client.explain({ code: 'const x = 1;\n'.repeat(40), languageId: 'typescript', maxNewTokens: 1500, contextTokens: 2048 }, undefined, () => undefined).then(() => 'finished', (e: unknown) => e);
    await new Promise((resolve) => setImmediate(resolve));
    const ortPackage = path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node');
    const restarted = client.restartWith({ [ORT_PATH_ENV]: ortPackage });
    const info = await client.load(PAIR_A, 'cpu'); // sent before the old process has gone
    await restarted;
    assert.notEqual(client.pid, first);
    assert.equal(info.runtime, ortPackage, 'the new process has the new environment');
    const ended = await running;
    assert.ok(ended instanceof OverfillError && ended.code === 'ABORTED', `the explanation ended with ${String(ended)}`);
    assert.ok((await client.complete(request)).ids.length > 0);
    await client.restartWith({});
    assert.equal((await client.load(PAIR_A, 'cpu')).runtime, 'onnxruntime-node');
  });

  it('a suggestion of zero tokens (the model stops at once) is an empty text, not an error', async () => {
    const result = await local.complete({ ...request, maxNewTokens: 0 });
    assert.deepEqual(result.ids, []);
    assert.equal(result.text, '');
  });

  it('a 50k-line file is cut to the context budget and still completes', async () => {
    const line = 'const value_0000 = compute(value_0000, 42); // filler\n';
    const huge = line.repeat(50_000);
    const result = await client.complete({ ...request, prefix: huge + request.prefix, suffix: request.suffix + huge, contextTokens: 256 });
    assert.ok(result.promptTokens <= 256, `prompt of ${result.promptTokens} tokens`);
  });
});
