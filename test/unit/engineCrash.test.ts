// The engine process dying mid-request (a native abort in onnxruntime or a GPU driver, the OOM
// killer, a user's kill): the request in flight is answered with ENGINE_STOPPED, the client is
// told once, a new process starts with the last working model, and the next request works.
// The extension host (here, the test process) is never touched.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EngineClient, type EngineCrash } from '../../src/engine/engineClient';
import { OverfillError } from '../../src/engine/errors';
import type { ModelInfo } from '../../src/engine/requests';
import { ENGINE_SCRIPT, PAIR_A, PAIR_B } from './fixtures';

const request = {
  prefix: 'def mean(values):\n    total = 0\n    for v in values:\n        total += ',
  suffix: '\n    return total / len(values)\n',
  languageId: 'python',
  maxNewTokens: 12,
  contextTokens: 256,
  maxLines: 100,
};
const longExplain = { code: 'const x = 1;\n'.repeat(40), languageId: 'typescript', maxNewTokens: 1500, contextTokens: 2048 };

interface Watched {
  client: EngineClient;
  crashes: EngineCrash[];
  restarts: ModelInfo[];
  nextRestart(): Promise<ModelInfo>;
}

function watchedClient(): Watched {
  const crashes: EngineCrash[] = [];
  const restarts: ModelInfo[] = [];
  let waiters: ((info: ModelInfo) => void)[] = [];
  const client = new EngineClient(ENGINE_SCRIPT, {
    crashed: (c) => crashes.push(c),
    restarted: (info) => {
      restarts.push(info);
      for (const w of waiters) w(info);
      waiters = [];
    },
  });
  return { client, crashes, restarts, nextRestart: () => new Promise((resolve) => waiters.push(resolve)) };
}

/**
 * Starts a long explanation and kills the engine while it runs. Not on the first streamed text:
 * on a busy machine that message could be read together with the finished answer (seen in CI).
 * The request goes out a microtask after explain() is called; 1,500 tokens take far longer than
 * the signal does to land.
 */
async function killMidRequest(client: EngineClient, signal: NodeJS.Signals): Promise<unknown> {
  const running = client.explain(longExplain, undefined, () => undefined);
  await new Promise((resolve) => setImmediate(resolve));
  process.kill(client.pid!, signal);
  return running.then(() => 'finished', (e: unknown) => e);
}

describe('engine process crash', () => {
  // An idle engine process does not keep its parent alive (the extension host's loop always
  // runs; a test's does not): this timer stands in for the host while a test waits on events.
  let hostLoop: NodeJS.Timeout;
  before(() => (hostLoop = setInterval(() => undefined, 1000)));
  after(() => clearInterval(hostLoop));

  for (const signal of ['SIGKILL', 'SIGABRT'] as const) {
    it(`${signal} mid-request: ENGINE_CRASHED for it, one crash event, restarted with the model, next request works`, async () => {
      const { client, crashes, restarts, nextRestart } = watchedClient();
      try {
        await client.load(PAIR_B, 'cpu');
        const before = await client.complete(request);
        const firstPid = client.pid;
        const restarted = nextRestart();
        const outcome = await killMidRequest(client, signal);
        assert.ok(outcome instanceof OverfillError && outcome.code === 'ENGINE_STOPPED', `the request ended with ${String(outcome)}`);
        assert.match(outcome.message, new RegExp(`signal ${signal}`));
        assert.match(outcome.message, /try again/);
        assert.equal(crashes.length, 1);
        // Nothing was written to stderr since the load: the reason is the signal alone.
        assert.deepEqual(crashes[0], { reason: `signal ${signal}`, lostRequests: 1, restarting: true });
        const info = await restarted;
        assert.equal(info.name, 'fixture-b');
        assert.notEqual(client.pid, firstPid);
        assert.deepEqual((await client.complete(request)).ids, before.ids);
        assert.equal(restarts.length, 1);
      } finally {
        await client.dispose();
      }
    });
  }

  it('requests sent while the new process loads wait for it and are answered by the same model', async () => {
    const { client, nextRestart } = watchedClient();
    try {
      await client.load(PAIR_A, 'cpu');
      const before = await client.complete(request);
      const restarted = nextRestart();
      process.kill(client.pid!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100)); // the exit is seen, the reload under way
      const during = await client.complete(request);
      assert.deepEqual(during.ids, before.ids);
      assert.equal((await restarted).name, 'fixture-a');
    } finally {
      await client.dispose();
    }
  });

  it('a crash loop stops the automatic restarts; the next request starts the engine again', async () => {
    const { client, crashes, nextRestart } = watchedClient();
    try {
      await client.load(PAIR_B, 'cpu');
      for (let i = 0; i < 3; i++) {
        const restarted = nextRestart();
        process.kill(client.pid!, 'SIGKILL');
        await restarted;
      }
      const exited = new Promise((r) => setTimeout(r, 300));
      process.kill(client.pid!, 'SIGKILL');
      await exited;
      assert.deepEqual(crashes.map((c) => c.restarting), [true, true, true, false]);
      assert.equal(client.pid, undefined, 'a fourth restart within a minute was started');
      const result = await client.complete(request);
      assert.ok(result.ids.length > 0);
      assert.ok(client.pid);
    } finally {
      await client.dispose();
    }
  });

  it('a restart reloads the last model that loaded, not a later one that failed', async () => {
    const { client, nextRestart } = watchedClient();
    try {
      await client.load(PAIR_A, 'cpu');
      await assert.rejects(client.load('/nonexistent/model', 'cpu'), (e: unknown) => e instanceof OverfillError && e.code === 'MODEL_NOT_FOUND');
      const restarted = nextRestart();
      process.kill(client.pid!, 'SIGKILL');
      assert.equal((await restarted).name, 'fixture-a');
    } finally {
      await client.dispose();
    }
  });

  it('a first load that fails leaves no model: requests say why, and the engine logs none of it (the caller reports it once)', async () => {
    const errorLines: string[] = [];
    const client = new EngineClient(ENGINE_SCRIPT, { log: (level, message) => level === 'error' && errorLines.push(message) });
    try {
      await assert.rejects(client.load('/nonexistent/model', 'cpu'), (e: unknown) => e instanceof OverfillError && e.code === 'MODEL_NOT_FOUND');
      for (let i = 0; i < 20; i++) {
        await assert.rejects(client.complete(request), (e: unknown) => e instanceof OverfillError && e.code === 'MODEL_NOT_FOUND');
      }
      assert.deepEqual(errorLines, []);
    } finally {
      await client.dispose();
    }
  });
});
