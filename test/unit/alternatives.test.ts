// Alternative suggestions (CompletionRequest.alternatives): the main suggestion first, then the
// suggestions from the next most likely first tokens, each continued greedily and finalized by
// the completion rules, empty ones and repeats left out. Checked against a rebuild of each
// alternative from the first token forced by hand, on a fresh cache.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { isAbort } from '../../src/engine/errors';
import { alternativesWanted, topFirstTokens } from '../../src/engine/generate/alternatives';
import { argmax, generate } from '../../src/engine/generate/generate';
import { cursorContext, finalizeCompletion, findCut } from '../../src/engine/postprocess/completionRules';
import { stripHealed } from '../../src/engine/prompt/tokenHealing';
import type { CompletionRequest } from '../../src/engine/requests';
import type { KvCache } from '../../src/engine/runtime/kvCache';
import { loadModelPair, type ModelPair } from '../../src/engine/runtime/loadModelPair';
import { OnnxCausalLm } from '../../src/engine/runtime/onnxCausalLm';
import { PAIR_A } from './fixtures';

const base = { languageId: 'typescript', maxNewTokens: 16, contextTokens: 512, maxLines: 8 };
const REQUESTS: Record<string, CompletionRequest> = {
  'after a space': { ...base, prefix: 'export function area(width: number, height: number): number {\n  return ', suffix: ';\n}\n' },
  'inside a word (token healing)': { ...base, prefix: 'export function area(width: number, height: number): number {\n  ret', suffix: '\n}\n' },
  'an expression': { ...base, prefix: 'const total = values.reduce((sum, v) => ', suffix: ', 0);\n' },
};

describe('alternatives', () => {
  let engine: CompletionEngine;
  let pair: ModelPair;
  before(async () => {
    engine = await CompletionEngine.load(PAIR_A, 'cpu');
    pair = await loadModelPair(PAIR_A, 'cpu');
  });
  after(async () => {
    await engine.dispose();
    await pair.dispose();
  });

  /** What the alternatives must be, built by hand: rank the first tokens, force each, finalize, dedupe. */
  async function byHand(req: CompletionRequest, wanted: number): Promise<string[]> {
    const { tokenizer } = pair;
    const texts = tokenizer.tokenTexts();
    const stop = tokenizer.special.stop;
    const { ids: prompt, healed } = engine.buildPrompt(req);
    const ctx = cursorContext(req.prefix, req.suffix, req.maxLines!);
    const suggest = async (first?: number): Promise<{ text: string; ids: number[] }> => {
      const r = await generate(pair, prompt, {
        mode: 'overfill',
        maxNewTokens: req.maxNewTokens,
        stopIds: stop,
        pick: (logits, ids) => (ids.length > 0 ? argmax(logits, texts.length) : first ?? firstChoice(logits)),
        shouldStop: (ids) => {
          const text = stripHealed(tokenizer.decode(ids), healed);
          return text !== undefined && findCut(text, ctx) !== undefined;
        },
      });
      return { text: finalizeCompletion(stripHealed(tokenizer.decode(r.ids), healed) ?? '', ctx), ids: r.ids };
    };
    const healable = (id: number): boolean => texts[id] !== '' && (!healed || texts[id].startsWith(healed));
    const ranked = (logits: Float32Array): number[] =>
      Array.from({ length: texts.length }, (_, id) => id)
        .filter(healable)
        .sort((a, b) => logits[b] - logits[a]);
    const firstChoice = (logits: Float32Array): number => (healed ? ranked(logits)[0] : argmax(logits, texts.length));
    const main = await suggest();
    const logits = await pair.full.forward(prompt, pair.full.newCache());
    const candidates = ranked(logits)
      .filter((id) => id !== main.ids[0] && !stop.has(id))
      .slice(0, 2 * (wanted - 1));
    const found = [main.text];
    for (const id of candidates) {
      if (found.length === wanted) break;
      const { text } = await suggest(id);
      if (text !== '' && !found.includes(text)) found.push(text);
    }
    return found;
  }

  for (const [name, req] of Object.entries(REQUESTS)) {
    it(`${name}: distinct, the first is the main text, each what its forced first token gives`, async () => {
      const plain = await engine.complete(req);
      assert.equal(plain.alternatives, undefined, 'asked for one suggestion: no alternatives field');
      const r = await engine.complete({ ...req, alternatives: 3 });
      assert.ok(r.alternatives);
      assert.equal(r.alternatives.length, 3);
      assert.equal(r.alternatives[0], r.text);
      assert.equal(r.text, plain.text);
      assert.deepEqual(r.ids, plain.ids);
      assert.equal(new Set(r.alternatives).size, r.alternatives.length, 'repeated alternative');
      for (const alt of r.alternatives.slice(1)) assert.notEqual(alt, '');
      assert.deepEqual(r.alternatives, await byHand(req, 3));
    });
  }

  it('two alternatives are the first two of three', async () => {
    const req = REQUESTS['an expression'];
    const two = await engine.complete({ ...req, alternatives: 2 });
    const three = await engine.complete({ ...req, alternatives: 3 });
    assert.deepEqual(two.alternatives, three.alternatives!.slice(0, 2));
  });

  it('with token healing every alternative re-writes the healed text (none is cut to nothing)', async () => {
    const req = REQUESTS['inside a word (token healing)'];
    const { healed } = engine.buildPrompt(req);
    assert.notEqual(healed, '', 'the prompt should back up over a token');
    const r = await engine.complete({ ...req, alternatives: 3 });
    assert.ok(r.alternatives!.every((a) => a !== ''));
  });

  it('the count is clamped to 1-3', () => {
    assert.deepEqual([undefined, 0, 1, 2, 3, 7, NaN].map(alternativesWanted), [1, 1, 1, 2, 3, 3, 1]);
  });

  it('topFirstTokens: the largest allowed logits, largest first', () => {
    const logits = new Float32Array([0.5, 3, -1, 2, 9, 2.5]);
    assert.deepEqual(topFirstTokens(logits, 3, (id) => id !== 4), [1, 5, 3]);
    assert.deepEqual(topFirstTokens(logits, 2, () => true, 4), [1, 3]);
  });

  it('an abort during the alternatives stops them: ABORTED, and no model run after the one in flight', async () => {
    const original = OnnxCausalLm.prototype.forward;
    const controller = new AbortController();
    const req = REQUESTS['after a space'];
    const promptTokens = engine.buildPrompt(req).ids.length;
    await engine.complete(req); // the prompt is in the cache: each alternative re-runs its last token only
    let runsAfterAbort = 0;
    let seenPromptRun = 0;
    OnnxCausalLm.prototype.forward = function (this: OnnxCausalLm, tokens: readonly number[], cache: KvCache): Promise<Float32Array> {
      if (controller.signal.aborted) runsAfterAbort++;
      // The first alternative's run of the last prompt token (the main run's comes first, on the same positions).
      else if (cache.length === promptTokens - 1 && tokens.length === 1 && seenPromptRun++ === 1) controller.abort();
      return original.call(this, tokens, cache);
    };
    try {
      await assert.rejects(engine.complete({ ...req, alternatives: 3 }, controller.signal), isAbort);
    } finally {
      OnnxCausalLm.prototype.forward = original;
    }
    assert.equal(seenPromptRun, 2);
    assert.equal(runsAfterAbort, 0);
  });
});
