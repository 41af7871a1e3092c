// FIM prompt layout and budget cutting, with a character-level stand-in tokenizer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFimPrompt, headAtLineEnd, tailAtLineStart, type PromptTokenizer } from '../../src/engine/prompt/buildFimPrompt';

const P = -1, S = -2, M = -3;
const tok: PromptTokenizer = {
  encode: (text) => [...text].map((c) => c.charCodeAt(0)),
  special: { fimPrefix: P, fimSuffix: S, fimMiddle: M, endOfText: -4, stop: new Set([-4]) },
};
const chars = (ids: number[]) => ids.map((i) => (i < 0 ? `<${i}>` : String.fromCharCode(i))).join('');

describe('buildFimPrompt', () => {
  it('psm: prefix, suffix, then middle', () => {
    assert.equal(chars(buildFimPrompt(tok, { prefix: 'ab', suffix: 'cd', budget: 100, order: 'psm' }).ids), '<-1>ab<-2>cd<-3>');
  });

  it('spm: suffix first, so the end of the prefix (what typing changes) sits last', () => {
    assert.equal(chars(buildFimPrompt(tok, { prefix: 'ab', suffix: 'cd', budget: 100, order: 'spm' }).ids), '<-2>cd<-1>ab<-3>');
  });

  it('cuts to the budget keeping the text nearest the cursor, suffix limited to a quarter', () => {
    const p = buildFimPrompt(tok, { prefix: 'x'.repeat(500) + 'NEAR', suffix: 'next' + 'y'.repeat(500), budget: 103, order: 'psm' });
    assert.equal(p.ids.length, 103);
    assert.equal(p.suffixTokens, 25);
    assert.equal(p.prefixTokens, 75);
    assert.ok(chars(p.ids).includes('NEAR<-2>next'));
  });

  it('gives the suffix the room a short prefix leaves', () => {
    const p = buildFimPrompt(tok, { prefix: 'ab', suffix: 'y'.repeat(500), budget: 53, order: 'psm' });
    assert.equal(p.prefixTokens, 2);
    assert.equal(p.suffixTokens, 48);
  });

  it('cuts long text at line boundaries before tokenizing', () => {
    assert.equal(tailAtLineStart('one\ntwo\nthree', 9), 'three');
    assert.equal(headAtLineEnd('one\ntwo\nthree', 9), 'one\ntwo\n');
    assert.equal(tailAtLineStart('short', 9), 'short');
  });
});
