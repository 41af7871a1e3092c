// FIM prompt layout and budget cutting, with a character-level stand-in tokenizer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFimPrompt, headAtLineEnd, tailAtLineStart, type PromptTokenizer } from '../../src/engine/prompt/buildFimPrompt';

const P = -1, S = -2, M = -3;
const tok: PromptTokenizer = {
  encode: (text) => [...text].map((c) => c.charCodeAt(0)),
  tokenText: (id) => (id < 0 ? '' : String.fromCharCode(id)),
  special: { fim: { prefix: P, suffix: S, middle: M } },
};
const withBos: PromptTokenizer = { ...tok, special: { ...tok.special, bos: -5 } };
const noFim: PromptTokenizer = { ...tok, special: {} };
const chars = (ids: number[]) => ids.map((i) => (i < 0 ? `<${i}>` : String.fromCharCode(i))).join('');

describe('buildFimPrompt', () => {
  it('psm: prefix, suffix, then middle', () => {
    assert.equal(chars(buildFimPrompt(tok, { prefix: 'ab', suffix: 'cd', budget: 100, order: 'psm' }).ids), '<-1>ab<-2>cd<-3>');
  });

  it('spm: suffix first, so the end of the prefix (what typing changes) sits last', () => {
    assert.equal(chars(buildFimPrompt(tok, { prefix: 'ab', suffix: 'cd', budget: 100, order: 'spm' }).ids), '<-2>cd<-1>ab<-3>');
  });

  it('a BOS token, when the tokenizer adds one, goes first in either order', () => {
    assert.equal(chars(buildFimPrompt(withBos, { prefix: 'ab', suffix: 'cd', budget: 100, order: 'psm' }).ids), '<-5><-1>ab<-2>cd<-3>');
    assert.equal(chars(buildFimPrompt(withBos, { prefix: 'ab', suffix: 'cd', budget: 100, order: 'spm' }).ids), '<-5><-2>cd<-1>ab<-3>');
  });

  it('a model without FIM tokens gets the prefix alone, with the whole budget', () => {
    const p = buildFimPrompt(noFim, { prefix: 'x'.repeat(50) + 'ab', suffix: 'cd', budget: 20, order: 'psm' });
    assert.ok(chars(p.ids).endsWith('ab') && !chars(p.ids).includes('cd'));
    assert.equal(p.suffixTokens, 0);
    assert.ok(p.ids.length <= 20 && p.ids.length >= 12, `${p.ids.length} tokens`);
    assert.equal(chars(buildFimPrompt(noFim, { prefix: 'ab', suffix: 'cd', budget: 100, order: 'none' }).ids), 'ab');
  });

  it('cuts to the budget keeping the text nearest the cursor, suffix limited to about a quarter', () => {
    const p = buildFimPrompt(tok, { prefix: 'x'.repeat(500) + 'NEAR', suffix: 'next' + 'y'.repeat(500), budget: 103, order: 'psm' });
    // Both sides are cut in steps of 8 tokens (a sixteenth of the budget, at least 8), so the
    // prompt stays a little under budget rather than moving with every keystroke.
    assert.equal(p.prefixTokens, 72);
    assert.equal(p.suffixTokens, 24);
    assert.equal(p.ids.length, 99);
    assert.ok(chars(p.ids).includes('NEAR<-2>next'));
  });

  it('keeps the start of the prompt still while the user types (spm), so its cached KV stays valid', () => {
    const long = Array.from({ length: 400 }, (_, i) => `line ${i} of some code;`).join('\n');
    let previous = buildFimPrompt(tok, { prefix: long, suffix: '\n}', budget: 512, order: 'spm' }).ids;
    let moved = 0;
    for (let typed = 1; typed <= 40; typed++) {
      const ids = buildFimPrompt(tok, { prefix: long + 'x'.repeat(typed), suffix: '\n}', budget: 512, order: 'spm' }).ids;
      const shared = ids.findIndex((id, i) => id !== previous[i]);
      if (shared < ids.length - 4) moved++;
      previous = ids;
    }
    assert.ok(moved <= 2, `the prompt start moved on ${moved} of 40 keystrokes`);
  });

  it('gives the suffix the room a short prefix leaves', () => {
    const p = buildFimPrompt(tok, { prefix: 'ab', suffix: 'y'.repeat(500), budget: 53, order: 'psm' });
    assert.equal(p.prefixTokens, 2);
    assert.equal(p.suffixTokens, 48);
  });

  it('cuts long text at line boundaries, in 1024-character steps at the start', () => {
    const text = 'a'.repeat(1500) + '\nkeep\n' + 'b'.repeat(600);
    assert.equal(tailAtLineStart(text, 700), 'keep\n' + 'b'.repeat(600));
    assert.equal(tailAtLineStart(text + 'c', 700), 'keep\n' + 'b'.repeat(600) + 'c');
    assert.equal(headAtLineEnd('one\ntwo\nthree', 9), 'one\ntwo\n');
    assert.equal(tailAtLineStart('short', 9), 'short');
  });

  it('healing backs up over the last prefix token and reports its text', () => {
    const p = buildFimPrompt(tok, { prefix: 'x = ret', suffix: '\n', budget: 100, order: 'spm', heal: true });
    assert.equal(chars(p.ids), '<-2>\n<-1>x = re<-3>');
    assert.equal(p.healed, 't');
    assert.equal(p.prefixTokens, 6);
  });

  it('healing an empty prefix leaves nothing to heal', () => {
    const p = buildFimPrompt(tok, { prefix: '', suffix: 'cd', budget: 100, order: 'psm', heal: true });
    assert.equal(chars(p.ids), '<-1><-2>cd<-3>');
    assert.equal(p.healed, '');
  });
});
