// What the model sees, as text, when a request carries the file's path and chunks of other
// files: the default pair (a file separator, spm) and a converted Qwen2 pair (repository
// tokens, psm), with their real tokenizers.
import assert from 'node:assert/strict';
import * as path from 'path';
import { describe, it } from 'node:test';
import type { CompletionRequest } from '../../src/engine/requests';
import { buildRepoContext, commentFor } from '../../src/engine/prompt/repoContext';
import { CONVERTED, withEngine } from './byoFixtures';
import { REPO_ROOT } from './fixtures';

const DEFAULT_PAIR = path.join(REPO_ROOT, 'models', 'default');
const request: CompletionRequest = {
  prefix: 'import { area } from "./geometry";\nconst a = ',
  suffix: ';\n',
  languageId: 'typescript',
  filePath: 'src/main.ts',
  repoName: 'shapes',
  context: [
    { path: 'src/geometry.ts', text: 'export function area(w: number, h: number): number {\n  return w * h;\n}\n' },
    { path: 'src/units.ts', text: 'export const unit = "cm";\n' },
  ],
  contextChunkTokens: 512,
  maxNewTokens: 16,
  contextTokens: 1024,
  tokenHealing: false,
};

describe('prompt with context', () => {
  it('default pair: chunks with path comments, joined by its file separator, open the prefix section', async () => {
    await withEngine(DEFAULT_PAIR, (engine) => {
      const p = engine.buildPrompt(request);
      assert.equal(
        engine.promptText(p.ids),
        '<fim_suffix>;\n<fim_prefix>// Path: src/geometry.ts\nexport function area(w: number, h: number): number {\n  return w * h;\n}\n<file_sep>' +
          '// Path: src/units.ts\nexport const unit = "cm";\n<file_sep>// Path: src/main.ts\nimport { area } from "./geometry";\nconst a = <fim_middle>',
      );
      assert.deepEqual(p.contextChunks, ['src/geometry.ts', 'src/units.ts']);
    });
  });

  it('Qwen2.5-Coder format: repository name and files before the FIM block', async () => {
    await withEngine(CONVERTED('qwen2'), (engine) => {
      const text = engine.promptText(engine.buildPrompt(request).ids);
      assert.equal(
        text,
        '<|repo_name|>shapes\n<|file_sep|>src/geometry.ts\nexport function area(w: number, h: number): number {\n  return w * h;\n}\n' +
          '<|file_sep|>src/units.ts\nexport const unit = "cm";\n<|file_sep|>src/main.ts\n<|fim_prefix|>import { area } from "./geometry";\nconst a = <|fim_suffix|>;\n<|fim_middle|>',
      );
    });
  });

  it('the oldest chunks are left out when they do not fit, and the rest keep their order', async () => {
    await withEngine(DEFAULT_PAIR, (engine) => {
      const chunks = Array.from({ length: 6 }, (_, i) => ({ path: `f${i}.ts`, text: `export const value${i} = ${i};\n`.repeat(4) }));
      const all = engine.buildPrompt({ ...request, context: chunks });
      const perChunk = all.contextChunkTokens / 6;
      const some = engine.buildPrompt({ ...request, context: chunks, contextChunkTokens: Math.floor(perChunk * 3.5) });
      assert.deepEqual(some.contextChunks, ['f3.ts', 'f4.ts', 'f5.ts']);
      assert.ok(some.contextChunkTokens <= perChunk * 3.5);
      // Never more than half the prompt, whatever the setting.
      const capped = engine.buildPrompt({ ...request, context: chunks, contextChunkTokens: 100_000, contextTokens: 128 });
      assert.ok(capped.contextChunkTokens <= 64 && capped.ids.length <= 128, `${capped.contextChunkTokens} of ${capped.ids.length}`);
    });
  });

  it('the prompt start stays put while the user types after it, so the cached KV serves the next keystroke', async () => {
    await withEngine(DEFAULT_PAIR, (engine) => {
      const before = engine.buildPrompt(request).ids;
      const after = engine.buildPrompt({ ...request, prefix: request.prefix + 'are' }).ids;
      const shared = before.findIndex((id, i) => id !== after[i]);
      assert.ok(shared >= before.length - 3, `only ${shared} of ${before.length} tokens shared`);
    });
  });

  it('without a path the language is named; without any context the prompt is as before', async () => {
    await withEngine(DEFAULT_PAIR, (engine) => {
      const plain = { prefix: request.prefix, suffix: request.suffix, maxNewTokens: 16, contextTokens: 1024, tokenHealing: false };
      assert.equal(engine.promptText(engine.buildPrompt({ ...plain, languageId: 'python' }).ids), '<fim_suffix>;\n<fim_prefix># Language: python\nimport { area } from "./geometry";\nconst a = <fim_middle>');
      assert.equal(engine.promptText(engine.buildPrompt(plain).ids), '<fim_suffix>;\n<fim_prefix>import { area } from "./geometry";\nconst a = <fim_middle>');
    });
  });

  it('a model without a file separator sees other files commented out', () => {
    const tok = { encode: (t: string) => [...t].map((c) => c.charCodeAt(0)), special: {} };
    const ctx = buildRepoContext(tok, { filePath: 'a.py', languageId: 'python', chunks: [{ path: 'b.py', text: 'def b():\n    pass' }], maxChunkTokens: 1000 });
    assert.equal(String.fromCharCode(...ctx.lead), '# Path: b.py\n# def b():\n#     pass\n# Path: a.py\n');
    assert.deepEqual(commentFor('css'), { open: '/*', close: ' */' });
  });
});
