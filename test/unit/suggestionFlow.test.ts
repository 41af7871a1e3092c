// The logic between keystrokes and suggestions: the suggestion cache and typing along, the
// context ring, the adaptive debounce, and the flow that joins, debounces and computes ahead.
// A scripted backend counts model runs; one test runs the real default pair.
import assert from 'node:assert/strict';
import * as path from 'path';
import { describe, it } from 'node:test';
import { CompletionFlow, type CompletionBackend, type FlowOptions, type FlowRequest } from '../../src/completion/completionFlow';
import { ContextRing } from '../../src/completion/contextRing';
import { SuggestionCache } from '../../src/completion/suggestionCache';
import { ADAPTIVE_MAX_MS, ADAPTIVE_MIN_MS, TypingRhythm } from '../../src/completion/typingRhythm';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { abortError } from '../../src/engine/errors';
import type { CompletionRequest, CompletionResult } from '../../src/engine/requests';
import { REPO_ROOT } from './fixtures';

describe('suggestion cache', () => {
  it('answers the same cursor, and the rest of a suggestion typed along', () => {
    const c = new SuggestionCache();
    c.put('a.ts', 'const x = ', ';\n', 'compute(items)');
    assert.deepEqual(c.lookup('a.ts', 'const x = ', ';\n'), { text: 'compute(items)', typed: 0 });
    assert.deepEqual(c.lookup('a.ts', 'const x = com', ';\n'), { text: 'pute(items)', typed: 3 });
    assert.equal(c.lookup('a.ts', 'const x = cat', ';\n'), undefined, 'typed text that leaves the suggestion');
    assert.equal(c.lookup('a.ts', 'const x = compute(items)', ';\n'), undefined, 'typed it all: nothing left');
    assert.equal(c.lookup('b.ts', 'const x = ', ';\n'), undefined, 'another document');
    assert.equal(c.lookup('a.ts', 'const x = ', ');\n'), undefined, 'other text after the cursor');
  });

  it('typing along a long suggestion keeps hitting, key by key, past the match window', () => {
    const c = new SuggestionCache();
    const long = 'abcdefghijklmnopqrstuvwxyz'.repeat(4);
    c.put('a', 'p ', '', long);
    let prefix = 'p ';
    for (let k = 0; k < long.length - 1; k++) {
      prefix += long[k];
      assert.equal(c.lookup('a', prefix, '')?.text, long.slice(k + 1), `after ${k + 1} characters`);
    }
  });

  it('remembers that there was nothing to suggest, but types along only real text', () => {
    const c = new SuggestionCache();
    c.put('a', 'x', '', '');
    assert.deepEqual(c.lookup('a', 'x', ''), { text: '', typed: 0 });
    c.put('a', 'y', '', 'ab   ');
    assert.equal(c.lookup('a', 'yab', ''), undefined);
  });

  it('is bounded in entries and bytes, least recently used out first', () => {
    const c = new SuggestionCache(3, 1_000_000);
    for (const k of ['1', '2', '3']) c.put('s', k, '', `s${k}`);
    c.lookup('s', '1', '');
    c.put('s', '4', '', 's4');
    assert.equal(c.size, 3);
    assert.equal(c.lookup('s', '2', ''), undefined);
    assert.ok(c.lookup('s', '1', ''));
    const small = new SuggestionCache(250, 4096);
    for (let i = 0; i < 100; i++) small.put('s', `prefix ${i}`, '', 'x'.repeat(200));
    assert.ok(small.byteSize <= 4096 && small.size > 0 && small.size < 10, `${small.size} entries, ${small.byteSize} bytes`);
  });
});

describe('context ring', () => {
  const doc = (name: string, n = 200): string[] => Array.from({ length: n }, (_, i) => `const ${name}${i} = compute(${i});`);
  const offer = (ring: ContextRing, name: string, lines: string[], at: number): boolean => ring.offer(name, lines.length, (i) => lines[i], at);

  it('takes chunks around a line, into the ring only at a commit, oldest out first', () => {
    const ring = new ContextRing({ maxChunks: 3, chunkLines: 8 });
    const a = doc('a');
    assert.ok(offer(ring, 'a.ts', a, 100));
    assert.equal(ring.size, 0, 'queued, not yet in the prompt');
    assert.ok(ring.commit());
    const [chunk] = ring.chunksFor('main.ts', '');
    assert.equal(chunk.text, a.slice(96, 104).join('\n') + '\n');
    for (const name of ['b', 'c', 'd']) offer(ring, `${name}.ts`, doc(name), 10);
    ring.commit();
    assert.deepEqual(ring.chunksFor('main.ts', '').map((c) => c.path), ['b.ts', 'c.ts', 'd.ts']);
  });

  it('drops near-duplicates (the newer replaces the older) and a repeat of the newest changes nothing', () => {
    const ring = new ContextRing({ maxChunks: 8, chunkLines: 20 });
    const a = doc('a');
    offer(ring, 'a.ts', a, 50);
    offer(ring, 'b.ts', doc('b'), 50);
    ring.commit();
    offer(ring, 'a.ts', a, 51); // one line further: 19 of 20 lines shared
    ring.commit();
    assert.deepEqual(ring.chunksFor('x', '').map((c) => c.path), ['b.ts', 'a.ts']);
    offer(ring, 'a.ts', a, 51);
    assert.equal(ring.commit(), false);
  });

  it('maxChunks 0 empties the ring', () => {
    const ring = new ContextRing({ maxChunks: 4, chunkLines: 8 });
    offer(ring, 'a.ts', doc('a'), 10);
    ring.commit();
    ring.setLimits({ maxChunks: 0, chunkLines: 8 });
    assert.deepEqual(ring.chunksFor('x', ''), []);
  });

  it('leaves out chunks of the current file already in its window, and refuses blank or binary text', () => {
    const ring = new ContextRing({ maxChunks: 8, chunkLines: 10 });
    const a = doc('a');
    offer(ring, 'a.ts', a, 20);
    offer(ring, 'a.ts', a, 150);
    ring.commit();
    const windowText = a.slice(0, 60).join('\n');
    assert.deepEqual(ring.chunksFor('a.ts', windowText).map((c) => c.text.split('\n')[0]), [a[145]]);
    assert.equal(offer(ring, 'blank.ts', ['', '  ', ''], 1), false);
    assert.equal(offer(ring, 'bin', ['abc\u0000def'.repeat(10)], 0), false);
  });
});

describe('typing rhythm', () => {
  it('waits a little longer than the usual gap between keys, within bounds', () => {
    const fast = new TypingRhythm();
    const slow = new TypingRhythm();
    for (let i = 0; i < 10; i++) {
      fast.keystroke(i * 60);
      slow.keystroke(i * 250);
    }
    assert.equal(fast.delay(), ADAPTIVE_MIN_MS);
    assert.equal(slow.delay(), 325);
    const glacial = new TypingRhythm();
    for (let i = 0; i < 10; i++) glacial.keystroke(i * 1000);
    assert.equal(glacial.delay(), ADAPTIVE_MAX_MS);
    const paused = new TypingRhythm();
    for (const t of [0, 200, 400, 600, 5000, 5200]) paused.keystroke(t);
    assert.equal(paused.delay(), 260, 'a pause is not part of the rhythm');
    assert.equal(slow.delay('foo('), ADAPTIVE_MIN_MS, 'after a boundary people pause: the shortest wait');
    assert.equal(slow.delay('fo'), 325);
  });
});

/** A backend that answers after `ms` with a scripted suggestion, counting runs and honouring aborts. */
function scripted(suggest: (req: CompletionRequest) => string, ms = 30, abortReplyMs = 0): CompletionBackend & { runs: CompletionRequest[]; aborted: number } {
  const backend = {
    runs: [] as CompletionRequest[],
    aborted: 0,
    complete(req: CompletionRequest, signal: AbortSignal): Promise<CompletionResult> {
      backend.runs.push(req);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve({ text: suggest(req), ids: [], promptTokens: 1, reusedTokens: 0, contextChunks: [], contextChunkTokens: 0, stopReason: 'max-tokens', mode: 'overfill', prefillMs: 1, decodeMs: 1 }), ms);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          backend.aborted++;
          // The engine answers a cancel only when its current step ends.
          setTimeout(() => reject(abortError()), abortReplyMs);
        });
      });
    },
  };
  return backend;
}

const req = (prefix: string, suffix = '\n'): FlowRequest => ({ scope: 'file:///a.ts', prefix, suffix, maxNewTokens: 16, contextTokens: 256 });
const never = new AbortController().signal;
const FIXED: FlowOptions = { cache: true, joinRunning: true, prefetch: false, debounceMs: 5 };

describe('completion flow', () => {
  it('typing along a shown suggestion answers from the cache, identical, with no model run', async () => {
    const backend = scripted(() => 'items.length;');
    const flow = new CompletionFlow(backend, FIXED);
    assert.deepEqual(await flow.provide(req('const n = '), never).then((a) => a && [a.text, a.source]), ['items.length;', 'model']);
    for (let k = 1; k <= 6; k++) {
      const a = await flow.provide(req('const n = ' + 'items.length;'.slice(0, k)), never);
      assert.deepEqual([a?.text, a?.source], ['items.length;'.slice(k), 'cache']);
    }
    assert.equal(backend.runs.length, 1);
  });

  it('a keystroke for the same text joins the running model run instead of starting another', async () => {
    const backend = scripted(() => 'done', 80);
    const flow = new CompletionFlow(backend, FIXED);
    const first = new AbortController();
    const a = flow.provide(req('x = '), first.signal);
    await new Promise((r) => setTimeout(r, 30)); // the run has started
    first.abort(); // the editor cancels the first request as it asks again
    const b = await flow.provide(req('x = '), never);
    assert.equal(await a, undefined);
    assert.deepEqual([b?.text, b?.source], ['done', 'joined']);
    assert.equal(backend.runs.length, 1);
    assert.equal(backend.aborted, 0);
  });

  it('a keystroke that comes while an aborted run is still winding down asks again instead of joining it', async () => {
    const backend = scripted(() => 'late', 400, 150);
    const flow = new CompletionFlow(backend, FIXED);
    const first = new AbortController();
    void flow.provide(req('y = '), first.signal);
    await new Promise((r) => setTimeout(r, 20));
    first.abort(); // nobody takes the run over: it is aborted after the hand-over time
    await new Promise((r) => setTimeout(r, 260)); // aborted, its reply not in yet
    assert.equal(backend.aborted, 1);
    const again = await flow.provide(req('y = '), never);
    assert.deepEqual([again?.text, again?.source], ['late', 'model']);
    assert.equal(backend.runs.length, 2);
  });

  it('Tab while the accepted state is being computed ahead joins that run', async () => {
    const backend = scripted((r) => (r.prefix.endsWith('x1') ? ' + 1' : 'x1'), 300);
    const flow = new CompletionFlow(backend, { ...FIXED, prefetch: true });
    await flow.provide(req('v = '), never); // 'x1' shown
    await new Promise((r) => setTimeout(r, 350)); // the run ahead for 'v = x1' has started
    const accepted = await flow.provide(req('v = x1'), never);
    assert.deepEqual([accepted?.text, accepted?.source], [' + 1', 'joined']);
    assert.equal(backend.runs.length, 2);
    assert.equal(backend.aborted, 0);
  });

  it('typing past a running request waits for it and types along its answer', async () => {
    const backend = scripted(() => 'compute(items)', 80);
    const flow = new CompletionFlow(backend, FIXED);
    const first = new AbortController();
    void flow.provide(req('x = '), first.signal);
    await new Promise((r) => setTimeout(r, 30));
    first.abort();
    const b = await flow.provide(req('x = com'), never);
    assert.deepEqual([b?.text, b?.source], ['pute(items)', 'cache']);
    assert.equal(backend.runs.length, 1);
  });

  it('a keystroke elsewhere aborts the running request; the debounce keeps a burst to one run', async () => {
    const backend = scripted(() => 'z', 60);
    const flow = new CompletionFlow(backend, { ...FIXED, debounceMs: 40 });
    const calls: Promise<unknown>[] = [];
    let previous: AbortController | undefined;
    for (const text of ['a', 'ab', 'abc', 'abcd']) {
      previous?.abort();
      previous = new AbortController();
      calls.push(flow.provide(req(text, ' other\n'), previous.signal));
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(calls);
    assert.equal(backend.runs.length, 1, 'only the last keystroke of the burst reaches the model');
    assert.equal(backend.runs[0].prefix, 'abcd');
    const runningElsewhere = flow.provide(req('elsewhere'), never);
    await new Promise((r) => setTimeout(r, 50));
    await flow.provide(req('somewhere else', ''), never);
    assert.equal(await runningElsewhere, undefined);
    assert.equal(backend.aborted, 1);
  });

  it('in idle time computes the states after accepting the first line and all of a suggestion; a keystroke cancels it', async () => {
    const backend = scripted((r) => (r.prefix.endsWith('{\n') ? '  more();' : r.prefix.endsWith('}') ? '\nnext();' : 'if (a) {\n  b();\n}'), 20);
    const flow = new CompletionFlow(backend, { ...FIXED, prefetch: true });
    await flow.provide(req('x;\n'), never);
    await new Promise((r) => setTimeout(r, 400));
    // The first line's state is the shown suggestion typed along (the cache has it); all of it needs a run.
    assert.deepEqual(backend.runs.map((r) => r.prefix), ['x;\n', 'x;\nif (a) {\n  b();\n}']);
    const firstLine = await flow.provide(req('x;\nif (a) {\n'), never);
    assert.deepEqual([firstLine?.text, firstLine?.source], ['  b();\n}', 'cache']);
    const accepted = await flow.provide(req('x;\nif (a) {\n  b();\n}'), never);
    assert.deepEqual([accepted?.text, accepted?.source], ['\nnext();', 'cache']);
    // A keystroke during the idle computation aborts it.
    const slow = scripted(() => 'aaa\nbbb', 200);
    const flow2 = new CompletionFlow(slow, { ...FIXED, prefetch: true });
    await flow2.provide(req('q'), never);
    await new Promise((r) => setTimeout(r, 300)); // prefetch running
    await flow2.provide(req('q', 'other'), never);
    assert.equal(slow.aborted, 1);
  });

  it('with the cache off every keystroke runs the model (the behaviour before the cache)', async () => {
    const backend = scripted(() => 'abc');
    const flow = new CompletionFlow(backend, { cache: false, joinRunning: false, prefetch: false, debounceMs: 1 });
    await flow.provide(req('x'), never);
    await flow.provide(req('xa'), never);
    assert.equal(backend.runs.length, 2);
  });

  it('with the real default pair: typing the first characters of its suggestion brings back the rest', async () => {
    const engine = await CompletionEngine.load(path.join(REPO_ROOT, 'models', 'default'), 'cpu');
    try {
      let runs = 0;
      const flow = new CompletionFlow({ complete: (r, s) => (runs++, engine.complete(r, s)) }, FIXED);
      const prefix = 'export function area(width: number, height: number): number {\n  return ';
      const first = await flow.provide({ ...req(prefix, '\n}\n'), maxNewTokens: 24, languageId: 'typescript' }, never);
      assert.ok(first && first.text.length > 3, `the default pair suggests "${first?.text}"`);
      const typed = first.text.slice(0, 2);
      const along = await flow.provide({ ...req(prefix + typed, '\n}\n'), maxNewTokens: 24, languageId: 'typescript' }, never);
      assert.equal(along?.text, first.text.slice(2));
      assert.equal(runs, 1);
    } finally {
      await engine.dispose();
    }
  });
});
