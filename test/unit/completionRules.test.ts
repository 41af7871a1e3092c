// Line rules as a table: text around the cursor (█ marks it), raw model output, expected suggestion.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cursorContext, finalizeCompletion, isSingleLine } from '../../src/engine/postprocess/completionRules';

const cases: { name: string; doc: string; raw: string; want: string; maxLines?: number }[] = [
  { name: 'mid-line stays on the line', doc: 'foo(█)\n', raw: 'a, b)\nbar()', want: 'a, b' },
  { name: 'drops text that repeats what follows the cursor', doc: 'x = max(█);\n', raw: 'a, b);', want: 'a, b' },
  { name: 'end of line may continue on new lines', doc: 'function f() {█\n', raw: '\n  return 1;\n}\n\nfunction g() {}', want: '\n  return 1;\n}' },
  { name: 'stops before a line indented less than the cursor line', doc: '  if (a) {\n    █\n  }\n', raw: 'go();\n    stop();\n  }\nmore();', want: 'go();\n    stop();' },
  { name: 'stops at a blank line after content', doc: '█\n', raw: 'let a = 1;\nlet b = 2;\n\nlet c = 3;\n', want: 'let a = 1;\nlet b = 2;' },
  { name: 'stops before repeating the next existing line', doc: 'def f():\n    █\n    return x\n', raw: 'x = 1\n    return x\n', want: 'x = 1' },
  { name: 'honours maxLines', doc: '█\n', raw: 'a();\nb();\nc();\nd();\n', want: 'a();\nb();', maxLines: 2 },
  { name: 'whitespace only is no suggestion', doc: 'x█\n', raw: '   \n\n', want: '' },
  { name: 'control characters and broken UTF-8 never reach the editor', doc: 'x = █\n', raw: 'a\u0019b\ufffd\u000bc', want: 'abc' },
  { name: 'trailing whitespace is trimmed', doc: 'const a = █\n', raw: '1;   ', want: '1;' },
];

describe('completion rules', () => {
  for (const c of cases) {
    it(c.name, () => {
      const [prefix, suffix] = c.doc.split('█');
      assert.equal(finalizeCompletion(c.raw, cursorContext(prefix, suffix, c.maxLines ?? 8)), c.want);
    });
  }

  it('single-line mode only when non-blank text follows the cursor on its line', () => {
    assert.equal(isSingleLine(cursorContext('foo(', ')\n', 8)), true);
    assert.equal(isSingleLine(cursorContext('foo', '   \nbar', 8)), false);
  });
});
