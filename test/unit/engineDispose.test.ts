// Disposing the engine client while a request runs (the extension deactivating mid-suggestion):
// the request is answered as cancelled, the engine process is given time to leave its
// onnxruntime step, then it ends, and the extension host (here, the test process) lives on.
// (With the engine in a worker thread, ending it mid-step aborted the whole process.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineClient } from '../../src/engine/engineClient';
import { isAbort } from '../../src/engine/errors';
import { PAIR_B, ENGINE_SCRIPT } from './fixtures';

describe('engine client dispose', () => {
  it('with a request running: the request is cancelled and the process lives on', async () => {
    const client = new EngineClient(ENGINE_SCRIPT);
    await client.load(PAIR_B, 'cpu');
    const pid = client.pid!;
    const running = client.explain({ code: 'const x = 1;\n'.repeat(40), languageId: 'typescript', maxNewTokens: 400, contextTokens: 512 }, undefined, () => undefined);
    const outcome = running.then(() => 'finished', (e: unknown) => e);
    await new Promise((r) => setTimeout(r, 5));
    await client.dispose();
    const result = await outcome;
    assert.ok(isAbort(result), `the running request ended with ${String(result)}`);
    assert.equal(client.pid, undefined);
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the engine process is still running after dispose');
    // Reaching this line means this process was not aborted.
  });
});
