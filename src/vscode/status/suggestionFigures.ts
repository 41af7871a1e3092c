// What the status bar says about the last suggestion the model wrote: how long the user waited,
// how much of the prompt the cache saved, how fast the decoder ran. No VS Code import (tested).
import type { CompletionResult } from '../../engine/requests';

export interface SuggestionFigures {
  /** From the request to the answer, as the user waited for it. */
  ms: number;
  promptTokens: number;
  /** Prompt tokens whose KV came from the prompt cache. */
  cachedTokens: number;
  generated: number;
  /** Decode steps per second (the first token comes from the prefill, so it is not one). */
  decodeTokensPerSecond: number | undefined;
  mode: string;
}

export function figuresOf(result: CompletionResult, ms: number): SuggestionFigures {
  const steps = result.ids.length - 1;
  return {
    ms,
    promptTokens: result.promptTokens,
    cachedTokens: result.reusedTokens,
    generated: result.ids.length,
    decodeTokensPerSecond: steps > 0 && result.decodeMs > 0 ? (steps * 1000) / result.decodeMs : undefined,
    // An explicit trigger's time covers its alternatives' runs too: say so beside it.
    mode: result.alternatives && result.alternatives.length > 1 ? `${result.mode}, with ${result.alternatives.length - 1} alternatives` : result.mode,
  };
}

/** "84 ms", "1.2 s": short enough for the status bar. */
export function formatLatency(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The tooltip's lines about the last suggestion (Markdown). */
export function describeFigures(f: SuggestionFigures): string[] {
  const cached = f.promptTokens ? Math.round((100 * f.cachedTokens) / f.promptTokens) : 0;
  return [
    `Last suggestion: **${formatLatency(f.ms)}** (${f.mode})`,
    `Prompt: ${f.promptTokens} tokens, ${f.cachedTokens} from the cache (${cached}%)`,
    `Generated: ${f.generated} tokens${f.decodeTokensPerSecond ? `, decoding at ${f.decodeTokensPerSecond.toFixed(0)} tokens/s` : ''}`,
  ];
}
