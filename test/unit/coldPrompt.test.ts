// CompletionRequest.promptCache === false: a request that neither reads nor writes the prompt
// cache (a "compare modes" view times each mode cold on one cursor), and leaves it as it was.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { commonPrefixLength } from '../../src/engine/cache/promptCache';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { GENERATION_MODES } from '../../src/engine/generate/generate';
import type { CompletionRequest } from '../../src/engine/requests';
import { PAIR_A } from './fixtures';

const FILE = 'export function area(width: number, height: number): number {\n  return width * height;\n}\n\n';
const at = (prefix: string): CompletionRequest => ({ prefix: FILE + prefix, suffix: '\n}\n', languageId: 'typescript', maxNewTokens: 8, contextTokens: 512, maxLines: 100 });

describe('cold prompts (promptCache: false)', () => {
  let engine: CompletionEngine;
  before(async () => {
    engine = await CompletionEngine.load(PAIR_A, 'cpu');
  });
  after(() => engine.dispose());

  for (const mode of GENERATION_MODES) {
    it(`${mode}: reuses nothing right after the same request, and gives the same suggestion`, async () => {
      engine.clearCache();
      const warm = await engine.complete({ ...at('export function perimeter(w: number, h: number) {\n  return '), mode });
      const cold = await engine.complete({ ...at('export function perimeter(w: number, h: number) {\n  return '), mode, promptCache: false });
      assert.equal(cold.reusedTokens, 0);
      assert.deepEqual(cold.ids, warm.ids);
      assert.equal(cold.text, warm.text);
    });
  }

  it('leaves the cache as it was: what a normal request left is still reused, and cold prompts are not', async () => {
    engine.clearCache();
    const a = at('export function perimeter(w: number, h: number) {\n  return ');
    await engine.complete(a);
    // More distinct cold prompts than the cache holds entries: written, they would evict `a`.
    const others = ['const sides = [1, 2, 3];\n', 'function volume(d: number) {\n  return ', 'let count = 0;\nfor (const x of xs) count += ', 'class Box {\n  constructor('].map(at);
    for (const other of others) assert.equal((await engine.complete({ ...other, promptCache: false, alternatives: 2 })).reusedTokens, 0);
    const again = await engine.complete(a);
    assert.equal(again.reusedTokens, again.promptTokens - 1, 'the entry the normal request left was evicted or changed');
    const b = await engine.complete(others[0]);
    const shared = commonPrefixLength(engine.buildPrompt(a).ids, engine.buildPrompt(others[0]).ids);
    assert.ok(shared < b.promptTokens - 1);
    assert.equal(b.reusedTokens, shared, 'a cold request left its prompt in the cache');
  });
});
