// The status bar's figures for the last suggestion, from the engine's result.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CompletionResult } from '../../src/engine/requests';
import { describeFigures, figuresOf, formatLatency } from '../../src/vscode/status/suggestionFigures';

const result = (ids: number, decodeMs: number): CompletionResult => ({
  text: 'x',
  ids: Array.from({ length: ids }, (_, i) => i),
  promptTokens: 200,
  reusedTokens: 150,
  contextChunks: [],
  contextChunkTokens: 0,
  stopReason: 'max-tokens',
  mode: 'overfill',
  prefillMs: 30,
  decodeMs,
});

describe('suggestion figures', () => {
  it('decode speed counts the steps after the first token (which comes from the prefill)', () => {
    const f = figuresOf(result(11, 50), 84.4);
    assert.equal(f.decodeTokensPerSecond, 200);
    assert.equal(f.generated, 11);
    assert.equal(f.cachedTokens, 150);
  });

  it('one token, or no decode time: no speed rather than a division by zero', () => {
    assert.equal(figuresOf(result(1, 0), 10).decodeTokensPerSecond, undefined);
    assert.equal(figuresOf(result(5, 0), 10).decodeTokensPerSecond, undefined);
  });

  it('an explicit trigger’s figures say they cover its alternatives', () => {
    assert.equal(figuresOf({ ...result(11, 50), alternatives: ['a', 'b', 'c'] }, 90).mode, 'overfill, with 2 alternatives');
    assert.equal(figuresOf({ ...result(11, 50), alternatives: ['a'] }, 90).mode, 'overfill');
  });

  it('latency reads in ms below a second, in seconds above', () => {
    assert.equal(formatLatency(84.4), '84 ms');
    assert.equal(formatLatency(1234), '1.2 s');
  });

  it('the tooltip lines carry the cache share and the speed', () => {
    const lines = describeFigures(figuresOf(result(11, 50), 84.4));
    assert.deepEqual(lines, ['Last suggestion: **84 ms** (overfill)', 'Prompt: 200 tokens, 150 from the cache (75%)', 'Generated: 11 tokens, decoding at 200 tokens/s']);
  });
});
