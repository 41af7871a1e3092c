// The engine's front door: turns plain requests into prompts, runs OverFill generation on a
// loaded model pair, and applies the completion rules. Runs inside the worker thread.
import { OverfillError } from './errors';
import { explainPromptText, extractExplanation } from './explainPrompt';
import { generate, type GenerationMode } from './generate/generate';
import { cursorContext, finalizeCompletion, findCut } from './postprocess/completionRules';
import { buildFimPrompt, buildPlainPrompt } from './prompt/buildFimPrompt';
import type { CompletionRequest, CompletionResult, ExplainRequest, ModelInfo } from './requests';
import { loadModelPair, type ModelPair } from './runtime/loadModelPair';
import type { ProviderSetting } from './runtime/providers';

const DEFAULT_MAX_LINES = 8;

export class CompletionEngine {
  private constructor(
    private readonly pair: ModelPair,
    readonly info: ModelInfo,
  ) {}

  static async load(folder: string, provider: ProviderSetting): Promise<CompletionEngine> {
    const t0 = performance.now();
    const pair = await loadModelPair(folder, provider);
    const m = pair.manifest;
    return new CompletionEngine(pair, {
      name: m.name,
      description: m.description,
      folder,
      provider: pair.provider,
      fullParams: m.full.params,
      decoderParams: m.decoder.params,
      contextLength: m.contextLength,
      fallbacks: pair.fallbacks,
      loadMs: Math.round(performance.now() - t0),
    });
  }

  /** Prompt budget: the request's, within the model's context minus room to generate. */
  private budget(contextTokens: number, maxNewTokens: number): number {
    const limit = this.pair.manifest.contextLength - maxNewTokens;
    if (limit < 8) {
      throw new OverfillError('INPUT_REJECTED', `maxNewTokens (${maxNewTokens}) leaves no room for a prompt in this model's ${this.pair.manifest.contextLength}-token context. Lower "overfill.maxNewTokens".`);
    }
    return Math.min(contextTokens, limit);
  }

  async complete(req: CompletionRequest, signal?: AbortSignal): Promise<CompletionResult> {
    const { tokenizer, manifest } = this.pair;
    const mode: GenerationMode = req.mode ?? 'overfill';
    const prompt = buildFimPrompt(tokenizer, {
      prefix: req.prefix,
      suffix: req.suffix,
      budget: this.budget(req.contextTokens, req.maxNewTokens),
      order: manifest.fimOrder,
    });
    const ctx = cursorContext(req.prefix, req.suffix, req.maxLines ?? DEFAULT_MAX_LINES);
    const result = await generate(this.pair, prompt.ids, {
      mode,
      maxNewTokens: req.maxNewTokens,
      stopIds: tokenizer.special.stop,
      signal,
      shouldStop: (ids) => findCut(tokenizer.decode(ids), ctx) !== undefined,
    });
    return {
      text: finalizeCompletion(tokenizer.decode(result.ids), ctx),
      ids: result.ids,
      promptTokens: prompt.ids.length,
      stopReason: result.stopReason,
      mode,
      prefillMs: result.prefillMs,
      decodeMs: result.decodeMs,
    };
  }

  /** Streams the explanation: `onText` gets the whole text so far after each token. */
  async explain(req: ExplainRequest, signal: AbortSignal | undefined, onText: (text: string) => void): Promise<string> {
    const { tokenizer } = this.pair;
    const ids = buildPlainPrompt(tokenizer, explainPromptText(req.code, req.languageId), this.budget(req.contextTokens, req.maxNewTokens));
    let last = '';
    const result = await generate(this.pair, ids, {
      mode: req.mode ?? 'overfill',
      maxNewTokens: req.maxNewTokens,
      stopIds: tokenizer.special.stop,
      signal,
      shouldStop: (generated) => {
        const { text, done } = extractExplanation(tokenizer.decode(generated), req.languageId);
        if (text !== last) {
          last = text;
          onText(text);
        }
        return done;
      },
    });
    const final = extractExplanation(tokenizer.decode(result.ids), req.languageId).text;
    if (final !== last) onText(final);
    return final;
  }

  /** Raw greedy ids for a prompt given as ids (parity tests and benchmarks). */
  generateIds(promptIds: number[], mode: GenerationMode, maxNewTokens: number, signal?: AbortSignal) {
    return generate(this.pair, promptIds, { mode, maxNewTokens, stopIds: new Set(), signal });
  }

  encode(text: string): number[] {
    return this.pair.tokenizer.encode(text);
  }

  dispose(): Promise<void> {
    return this.pair.dispose();
  }
}
