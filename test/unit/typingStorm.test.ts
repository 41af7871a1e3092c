// A typing storm (30 keystrokes a second for 10 s) through the completion flow and the engine
// worker, as in the extension host: the host's event loop is never blocked for more than 50 ms,
// at most one model run is in flight, and the requests waiting on the engine do not pile up.
import assert from 'node:assert/strict';
import * as path from 'path';
import { monitorEventLoopDelay } from 'perf_hooks';
import { describe, it } from 'node:test';
import { CompletionFlow, DEFAULT_FLOW_OPTIONS, type CompletionBackend } from '../../src/completion/completionFlow';
import { EngineClient } from '../../src/engine/engineClient';
import { REPO_ROOT, ENGINE_SCRIPT } from './fixtures';

const KEYS_PER_SECOND = 30;
const SECONDS = 10;

describe('typing storm', () => {
  for (const [name, options] of [
    ['adaptive debounce', DEFAULT_FLOW_OPTIONS],
    ['no debounce: every keystroke starts a model run', { ...DEFAULT_FLOW_OPTIONS, debounceMs: 0 }],
  ] as const) {
    it(`${KEYS_PER_SECOND} keys/s for ${SECONDS} s, ${name}: event loop free, one model run at a time, no queue growth`, async (t) => {
      const client = new EngineClient(ENGINE_SCRIPT);
      await client.load(path.join(REPO_ROOT, 'models', 'default'), 'cpu');
      let live = 0;
      let maxLive = 0;
      let runs = 0;
      const backend: CompletionBackend = {
        complete: (request, signal) => {
          runs++;
          // A run stops being "in flight" once it is aborted or answered.
          let done = false;
          const finish = (): void => {
            if (done) return;
            done = true;
            live--;
          };
          live++;
          maxLive = Math.max(maxLive, live);
          signal.addEventListener('abort', finish, { once: true });
          return client.complete(request, signal).finally(finish);
        },
      };
      const flow = new CompletionFlow(backend, options);
      const delay = monitorEventLoopDelay({ resolution: 10 });
      const text = 'export function scale(values: number[], factor: number): number[] {\n  return values.map((v) => v * factor);\n}\n'.repeat(40);
      let prefix = 'import { clamp } from "./clamp";\n';
      let maxPending = 0;
      let previous: AbortController | undefined;
      const answers: Promise<unknown>[] = [];
      delay.enable();
      for (let i = 0; i < KEYS_PER_SECOND * SECONDS; i++) {
        previous?.abort();
        previous = new AbortController();
        prefix += text[i % text.length];
        answers.push(flow.provide({ scope: 'storm.ts', prefix, suffix: '\n', languageId: 'typescript', maxNewTokens: 48, contextTokens: 1024 }, previous.signal).catch(() => undefined));
        maxPending = Math.max(maxPending, client.pendingCount);
        await new Promise((r) => setTimeout(r, 1000 / KEYS_PER_SECOND));
      }
      delay.disable();
      await Promise.all(answers);
      flow.dispose();
      await client.dispose();
      const maxBlockMs = delay.max / 1e6 - 10; // the histogram counts from the 10 ms resolution timer
      t.diagnostic(`longest event-loop block ${maxBlockMs.toFixed(1)} ms, ${runs} model runs, at most ${maxLive} in flight, ${maxPending} waiting`);
      assert.ok(maxBlockMs < 50, `the event loop was blocked for ${maxBlockMs.toFixed(1)} ms`);
      assert.equal(maxLive, 1, `${maxLive} model runs were in flight at once`);
      assert.ok(maxPending <= 2, `${maxPending} requests waited on the engine at once`);
      assert.ok(runs >= 1 && runs <= KEYS_PER_SECOND * SECONDS, `${runs} model runs for ${KEYS_PER_SECOND * SECONDS} keystrokes`);
    });
  }
});
