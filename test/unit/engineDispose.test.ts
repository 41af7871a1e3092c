// Disposing the engine client while a request runs (the extension deactivating mid-suggestion)
// must not end the worker's thread inside an onnxruntime step: that aborts the whole process.
// The request is cancelled, the worker leaves its step, then the thread ends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineClient } from '../../src/engine/engineClient';
import { isAbort } from '../../src/engine/errors';
import { PAIR_B, WORKER_SCRIPT } from './fixtures';

describe('engine client dispose', () => {
  it('with a request running: the request is cancelled and the process lives on', async () => {
    const client = new EngineClient(WORKER_SCRIPT);
    await client.load(PAIR_B, 'cpu');
    const running = client.explain({ code: 'const x = 1;\n'.repeat(40), languageId: 'typescript', maxNewTokens: 400, contextTokens: 512 }, undefined, () => undefined);
    const outcome = running.then(() => 'finished', (e: unknown) => e);
    await new Promise((r) => setTimeout(r, 5));
    await client.dispose();
    const result = await outcome;
    assert.ok(isAbort(result), `the running request ended with ${String(result)}`);
    // Reaching this line means the process was not aborted.
  });
});
