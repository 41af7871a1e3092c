// Line rules as a table: text around the cursor (█ marks it), raw model output, expected suggestion.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cursorContext, finalizeCompletion, imbalance, isSingleLine } from '../../src/engine/postprocess/completionRules';

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
  // The rest of the line is dropped from the suggestion only where keeping it would duplicate it.
  { name: 'a balanced call typed before `)` keeps its own `)`', doc: 'total = sum(█)\n', raw: 'len(items)', want: 'len(items)' },
  { name: 'a nested call before `)` keeps its `)`', doc: 'foo(█)\n', raw: 'bar(x)', want: 'bar(x)' },
  { name: 'a list element before `]` keeps its brackets', doc: 'items = [█]\n', raw: '[1], [2]', want: '[1], [2]' },
  { name: 'a re-written `]` is dropped', doc: 'items = [█]\n', raw: '1, 2, 3]', want: '1, 2, 3' },
  { name: 'a re-written `})` is dropped', doc: 'call({█})\n', raw: 'a: 1})', want: 'a: 1' },
  { name: 'a re-written closing quote is dropped', doc: 'name = "█"\n', raw: 'hello"', want: 'hello' },
  { name: 'a string without its quote is kept', doc: 'name = "█"\n', raw: 'hello', want: 'hello' },
  { name: 'a quote inside the suggestion is not a bracket', doc: 'log(█)\n', raw: '"(")', want: '"("' },
  { name: 'a doubled `;` is dropped', doc: 'let x = █;\n', raw: 'foo();', want: 'foo()' },
  { name: 'a balanced suggestion before `);` keeps its brackets and drops the `;`', doc: 'x = max(█);\n', raw: 'f(a), b);', want: 'f(a), b' },
  // Repeats of the neighbouring lines are no suggestion.
  { name: 'repeating the line above is no suggestion', doc: 'import os\n█\n', raw: 'import os', want: '' },
  { name: 'repeating the next line is no suggestion', doc: 'def f():\n    █\n    return x\n', raw: 'return x', want: '' },
  { name: 'a closing brace may follow a closing brace', doc: '    }\n█\n', raw: '}', want: '}' },
  { name: 'a closing tag may follow the inner one', doc: '    </div>\n█\n', raw: '  </div>', want: '  </div>' },
  { name: '`end` may follow `end`', doc: 'def f\n  if a\n    b\n  end\n█\n', raw: 'end', want: 'end' },
  { name: 'an apostrophe in a comment is not a quote', doc: "call(█) // don't\n", raw: 'x)', want: 'x' },
  { name: 'a Rust lifetime is not a quote', doc: "let r: Vec<&'static str> = vec![█];\n", raw: '"a"];', want: '"a"' },
  // Indentation fits the file.
  { name: 'no second indent after the editor indented', doc: 'function f() {\n    █\n', raw: '    return 1;', want: 'return 1;' },
  { name: 'no second indent in two-space code', doc: 'if (a) {\n  b();\n  █\n', raw: '  c();', want: 'c();' },
  { name: 'one level under an opening line is kept', doc: 'if (a) {\n█\n', raw: '    go();', want: '    go();' },
  { name: 'where the editor did not indent, the model’s indentation stays (Haskell layout)', doc: 'main = do\n█\n', raw: '  putStrLn "x"', want: '  putStrLn "x"' },
  { name: 'a method chain may go deeper', doc: '    return items\n    █\n', raw: '    .filter(ok)', want: '    .filter(ok)' },
  { name: 'with no indented line in view, a tab stays a tab (Makefile)', doc: 'build:\n█\n', raw: '\tgo build', want: '\tgo build' },
  { name: 'tabs become the file’s spaces', doc: 'def f():\n    x = 1\n    █\n', raw: 'y = 2\n\tz = 3', want: 'y = 2\n    z = 3' },
  { name: 'tabs stay in a file indented with tabs', doc: 'def f():\n\tx = 1\n\t█\n', raw: 'y = 2\n\tz = 3', want: 'y = 2\n\tz = 3' },
];

describe('completion rules', () => {
  for (const c of cases) {
    it(c.name, () => {
      const [prefix, suffix] = c.doc.split('█');
      assert.equal(finalizeCompletion(c.raw, cursorContext(prefix, suffix, c.maxLines ?? 8)), c.want);
    });
  }

  it('counts what keeps a line from balancing', () => {
    assert.equal(imbalance('foo(len(items))'), 0);
    assert.equal(imbalance('foo(len(items)'), 1);
    assert.equal(imbalance('foo(a))'), 1);
    assert.equal(imbalance('x = ")" + f('), 1);
    assert.equal(imbalance('s = "open'), 1);
  });

  it('single-line mode only when non-blank text follows the cursor on its line', () => {
    assert.equal(isSingleLine(cursorContext('foo(', ')\n', 8)), true);
    assert.equal(isSingleLine(cursorContext('foo', '   \nbar', 8)), false);
  });
});
