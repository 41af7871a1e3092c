// Token healing: the prompt backs up over the token the cursor sits in, generation re-writes
// it with tokens that agree with its text, and the suggestion is what comes after it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { stripUnprintable } from '../../src/engine/postprocess/completionRules';
import { healableText, healingPicker, stripHealed } from '../../src/engine/prompt/tokenHealing';
import { PAIR_A } from './fixtures';

describe('healingPicker', () => {
  const texts = ['', 'r', 're', 'return', 'ret', 'x', 'urn', 't'];
  const logits = (favourite: number[]): Float32Array => {
    const l = new Float32Array(texts.length).fill(-10);
    favourite.forEach((id, rank) => (l[id] = 10 - rank));
    return l;
  };
  const pick = healingPicker(texts, 'ret');

  it('chooses the likeliest token that starts with the healed text', () => {
    assert.equal(pick(logits([5, 6, 1, 2, 3]), []), 3); // 'x', 'urn', 'r', 're' do not start "ret": 'return'
    assert.equal(pick(logits([5, 4, 3]), []), 4); // the backed-up token itself
  });

  it('is plain greedy after the first token, control tokens included', () => {
    assert.equal(pick(logits([5, 6, 7]), [3]), 5);
    assert.equal(pick(logits([0, 5]), [3]), 0); // a stop token can end the suggestion
  });

  it('control tokens never heal, and a partial character is not healed', () => {
    assert.equal(pick(logits([0, 4]), []), 4); // id 0 has no text
    assert.equal(healableText('\uFFFD'), '');
    assert.equal(healableText(' ret'), ' ret');
  });

  it('stripHealed cuts the re-written text, or says it is not there yet', () => {
    assert.equal(stripHealed('return x', 'ret'), 'urn x');
    assert.equal(stripHealed('re', 'ret'), undefined);
    assert.equal(stripHealed('abc', ''), 'abc');
  });
});

describe('token healing in the engine', () => {
  let engine: CompletionEngine;
  before(async () => {
    engine = await CompletionEngine.load(PAIR_A, 'cpu');
  });
  after(async () => engine.dispose());

  const req = { prefix: 'function area(width, height) {\n  const result = wid', suffix: '\n}\n', maxNewTokens: 8, contextTokens: 256, maxLines: 1 };

  it('the prompt leaves out the last prefix token, which the unhealed prompt has', () => {
    const healed = engine.buildPrompt(req);
    const plain = engine.buildPrompt({ ...req, tokenHealing: false });
    assert.ok(healed.healed.length > 0 && req.prefix.endsWith(healed.healed), `healed ${JSON.stringify(healed.healed)}`);
    assert.equal(plain.healed, '');
    // psm or spm: the prompts differ by exactly one token, the one whose text was healed
    let i = 0;
    while (i < healed.ids.length && healed.ids[i] === plain.ids[i]) i++;
    assert.deepEqual([...healed.ids.slice(0, i), plain.ids[i], ...healed.ids.slice(i)], plain.ids);
    assert.equal(engine.decode([plain.ids[i]]), healed.healed);
  });

  for (const mode of ['overfill', 'full', 'decoder'] as const) {
    it(`${mode}: generation re-writes the healed text first; the suggestion is what follows it`, async () => {
      const { healed } = engine.buildPrompt(req);
      const result = await engine.complete({ ...req, mode });
      const generated = engine.decode(result.ids);
      assert.ok(generated.startsWith(healed), `${JSON.stringify(generated)} does not start with ${JSON.stringify(healed)}`);
      const after = stripUnprintable(generated.slice(healed.length)); // as the line rules clean it
      assert.ok(result.text.length > 0 && after.startsWith(result.text), `${JSON.stringify(result.text)} vs ${JSON.stringify(after)}`);
    });
  }
});
