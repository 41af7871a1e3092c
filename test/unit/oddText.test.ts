// Text no editor should choke on: NUL bytes and binary content are not sent at all; lone
// surrogates, CRLF line ends and control characters go through the engine without an error
// and never come back in a suggestion.
import assert from 'node:assert/strict';
import * as path from 'path';
import { describe, it } from 'node:test';
import { looksBinary } from '../../src/completion/textChecks';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { REPO_ROOT } from './fixtures';

const base = { suffix: '\n}\n', languageId: 'typescript', maxNewTokens: 24, contextTokens: 512 };
const UNPAIRED = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('odd text', () => {
  it('NUL bytes or mostly control characters: binary, no request is made', () => {
    assert.equal(looksBinary('const a = 1;\u0000'), true);
    assert.equal(looksBinary(String.fromCharCode(...Array.from({ length: 200 }, (_, i) => i % 8 + 1))), true);
    assert.equal(looksBinary('function f() {\n\treturn 1;\r\n}\f\n'), false);
  });

  it('lone surrogates, CRLF and control characters complete without an error, and none reaches the suggestion', async () => {
    const engine = await CompletionEngine.load(path.join(REPO_ROOT, 'models', 'default'), 'cpu');
    try {
      for (const prefix of [
        'const s = "\ud800 broken";\nexport function f(a: number) {\n  return ',
        'const t = "\udc00";\r\nexport function g(a: number) {\r\n  return ',
        'const u = "\u0007\u001b[0m";\nexport function h(a: number) {\n  return ',
      ]) {
        const r = await engine.complete({ ...base, prefix });
        assert.equal(typeof r.text, 'string');
        assert.ok(!UNPAIRED.test(r.text) && !/[\u0000-\u0008\u000b-\u001f\ufffd]/.test(r.text), JSON.stringify(r.text));
      }
    } finally {
      await engine.dispose();
    }
  });
});
