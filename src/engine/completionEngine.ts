// The engine's front door: turns plain requests into prompts, runs OverFill generation on a
// loaded model pair, and applies the completion rules. Runs inside the engine process.
import { isAbort, OverfillError } from './errors';
import { explainPromptText, extractExplanation } from './explainPrompt';
import { PromptCache } from './cache/promptCache';
import { alternativeFirstTokens, alternativesWanted, collectAlternatives, forcingFirst } from './generate/alternatives';
import { argmax, generate, type GenerateOptions, type GenerateResult, type GenerationMode } from './generate/generate';
import { cursorContext, finalizeCompletion, findCut, stripUnprintable } from './postprocess/completionRules';
import { buildFimPrompt, buildPlainPrompt, type FimPrompt } from './prompt/buildFimPrompt';
import { buildRepoContext, ChunkIdMemo } from './prompt/repoContext';
import { explainChatText } from './prompt/chatPrompt';
import { healingPicker, stripHealed } from './prompt/tokenHealing';
import type { CompletionRequest, CompletionResult, ExplainRequest, ModelInfo } from './requests';
import { loadModelPair, type ModelPair } from './runtime/loadModelPair';
import { openWithFirstRunCheck } from './runtime/firstRunCheck';
import { ortPath } from './runtime/ortBinding';
import type { ProviderFallback, ProviderName, ProviderSetting } from './runtime/providers';
import { Turns, type Turn, type TurnPriority } from './schedule/turns';

const DEFAULT_MAX_LINES = 8;
/** Prompt caches kept (e.g. completions in two files, or a completion and an explanation). */
const CACHE_ENTRIES = 3;
const CACHE_BYTES = 512 * 1024 * 1024;
/** The bound when the KV lives in GPU memory (WebGPU, hf layout), which the model's weights share. */
const DEVICE_CACHE_BYTES = 256 * 1024 * 1024;
/** Warm-up prompt length: the size of a typical completion prompt (the default contextTokens). */
const WARM_UP_TOKENS = 1024;
/** Warm-up passes: the second real prompt after loading was still ~20% slower than steady. */
const WARM_UP_PASSES = 2;

export interface EngineOptions {
  /** Reuse prompt KV across requests (on by default; benchmarks turn it off for cold timings). */
  promptCache?: boolean;
  prefillChunk?: number;
  /** Threads for CPU kernels; 0 or absent = every core (overfill.cpuThreads). */
  cpuThreads?: number;
}

export class CompletionEngine {
  private readonly cache: PromptCache | undefined;
  private readonly chunkIds = new ChunkIdMemo();
  /**
   * Requests hold the models one at a time, completions first (schedule/turns.ts). A request
   * owns the prompt cache entry it checked out until it ends, also while it steps aside: the
   * request running meanwhile takes another entry or a new cache.
   */
  private readonly turns = new Turns();

  private constructor(
    private readonly pair: ModelPair,
    readonly info: ModelInfo,
    private readonly options: EngineOptions,
  ) {
    const onDevice = pair.provider === 'webgpu' && pair.manifest.kv.cacheLayout === 'hf';
    this.cache = options.promptCache === false ? undefined : new PromptCache(CACHE_ENTRIES, onDevice ? DEVICE_CACHE_BYTES : CACHE_BYTES);
  }

  /** One generation while holding `turn`, stepping aside between model runs when outranked. */
  private generateOn(turn: Turn, cache: PromptCache | undefined, promptIds: number[], opts: Omit<GenerateOptions, 'cache' | 'prefillChunk' | 'vocabLimit' | 'between'>): Promise<GenerateResult> {
    return generate(this.pair, promptIds, { ...opts, cache, prefillChunk: this.options.prefillChunk, vocabLimit: this.pair.tokenizer.size, between: () => turn.between() });
  }

  private run(priority: TurnPriority, promptIds: number[], opts: Omit<GenerateOptions, 'cache' | 'prefillChunk' | 'vocabLimit' | 'between'>): Promise<GenerateResult> {
    return this.turns.run(priority, (turn) => this.generateOn(turn, this.cache, promptIds, opts), opts.signal);
  }

  /** The mode a request runs in: a full-only folder has no decoder, so every request runs full. */
  private modeFor(requested: GenerationMode | undefined): GenerationMode {
    return this.pair.manifest.kind === 'full-only' ? 'full' : (requested ?? 'overfill');
  }

  /** Forgets cached prompts (benchmarks: cold timings). */
  clearCache(): void {
    this.cache?.clear();
  }

  /** Loads a pair; on a GPU provider it runs once first and falls back to the CPU if that fails. */
  static async load(folder: string, provider: ProviderSetting, options: EngineOptions = {}): Promise<CompletionEngine> {
    const t0 = performance.now();
    const engine = await openWithFirstRunCheck((setting) => CompletionEngine.open(folder, setting, options), provider);
    engine.info.loadMs = Math.round(performance.now() - t0);
    return engine;
  }

  private static async open(folder: string, provider: ProviderSetting, options: EngineOptions): Promise<CompletionEngine> {
    const pair = await loadModelPair(folder, provider, options.cpuThreads ?? 0);
    const m = pair.manifest;
    return new CompletionEngine(pair, {
      name: m.name,
      description: m.description,
      folder,
      kind: m.kind,
      family: m.family,
      fim: pair.tokenizer.special.fim !== undefined,
      provider: pair.provider,
      fullParams: m.full.params,
      decoderParams: m.kind === 'full-only' ? undefined : m.decoder.params,
      contextLength: m.contextLength,
      fallbacks: pair.fallbacks,
      loadMs: 0, // set by load(), which times the first-run check too
      runtime: ortPath,
    }, options);
  }

  /** One short run through the full model and (for a pair) the decoder: the first-run check. */
  async firstRun(): Promise<void> {
    const ids = Array.from({ length: 8 }, (_, i) => (i * 7919) % this.pair.manifest.vocabSize);
    await this.turns.run('completion', () => generate(this.pair, ids, { mode: this.modeFor('overfill'), maxNewTokens: 2, stopIds: new Set() }));
  }

  get provider(): ProviderName {
    return this.pair.provider;
  }

  get fallbacks(): ProviderFallback[] {
    return this.pair.fallbacks;
  }

  /** Prompt budget: the request's, within the model's context minus room to generate. */
  private budget(contextTokens: number, maxNewTokens: number, setting = 'overfill.maxNewTokens'): number {
    const limit = this.pair.manifest.contextLength - maxNewTokens;
    if (limit < 8) {
      throw new OverfillError('INPUT_REJECTED', `${setting} (${maxNewTokens}) leaves no room for a prompt in this model's ${this.pair.manifest.contextLength}-token context. Lower "${setting}".`);
    }
    return Math.min(contextTokens, limit);
  }

  /**
   * The FIM prompt a completion request becomes (its last prefix token backed up for healing),
   * with the file's path and the context chunks in front of the cursor's window.
   */
  buildPrompt(req: CompletionRequest): FimPrompt & { contextChunks: string[]; contextChunkTokens: number } {
    const budget = this.budget(req.contextTokens, req.maxNewTokens);
    const context = buildRepoContext(
      this.pair.tokenizer,
      { filePath: req.filePath, languageId: req.languageId, repoName: req.repoName, chunks: req.context ?? [], maxChunkTokens: Math.min(req.contextChunkTokens ?? 0, Math.floor(budget / 2)) },
      this.chunkIds,
    );
    const prompt = buildFimPrompt(this.pair.tokenizer, {
      prefix: req.prefix,
      suffix: req.suffix,
      budget,
      order: this.pair.manifest.fimOrder,
      heal: req.tokenHealing !== false,
      head: context.head,
      lead: context.lead,
    });
    return { ...prompt, contextChunks: context.included, contextChunkTokens: context.chunkTokens };
  }

  async complete(req: CompletionRequest, signal?: AbortSignal): Promise<CompletionResult> {
    const { tokenizer } = this.pair;
    const mode = this.modeFor(req.mode);
    const wanted = alternativesWanted(req.alternatives);
    const { ids: promptIds, healed, contextChunks, contextChunkTokens } = this.buildPrompt(req);
    // A prefix-only model (no FIM tokens, no BOS) at the very start of a file has nothing to go on.
    if (promptIds.length === 0) {
      return { text: '', ids: [], promptTokens: 0, reusedTokens: 0, contextChunks, contextChunkTokens, stopReason: 'max-tokens', mode, prefillMs: 0, decodeMs: 0, ...(wanted > 1 ? { alternatives: [''] } : {}) };
    }
    const ctx = cursorContext(req.prefix, req.suffix, req.maxLines ?? DEFAULT_MAX_LINES);
    // The text after the cursor; undefined before the first token, or if it did not re-write the healed text.
    const suggestion = (ids: readonly number[]): string | undefined => stripHealed(tokenizer.decode(ids), healed);
    const finalize = (ids: readonly number[]): string => finalizeCompletion(suggestion(ids) ?? '', ctx);
    // A cold request leaves the shared cache as it was; its alternatives still reuse its prompt's KV, in a cache of its own.
    const shared = req.promptCache === false ? undefined : this.cache;
    const cache = shared ?? (wanted > 1 ? new PromptCache(1, CACHE_BYTES) : undefined);
    const texts = tokenizer.tokenTexts();
    const healing = healed ? healingPicker(texts, healed) : undefined;
    let firstLogits: Float32Array | undefined;
    const pick =
      wanted === 1
        ? healing
        : (logits: Float32Array, ids: readonly number[]): number => {
            if (ids.length === 0) firstLogits = logits.slice(); // the ranking of first tokens for the alternatives
            return healing ? healing(logits, ids) : argmax(logits, texts.length);
          };
    const common = {
      mode,
      maxNewTokens: req.maxNewTokens, // re-writing the healed text counts, like any token
      stopIds: tokenizer.special.stop,
      signal,
      shouldStop: (ids: readonly number[]) => {
        const text = suggestion(ids);
        return text !== undefined && findCut(text, ctx) !== undefined;
      },
    };
    // Alternatives run in the same turn: the prompt's KV has just been checked in, so each re-runs its last token only.
    return this.turns.run(
      'completion',
      async (turn) => {
        const result = await this.generateOn(turn, cache, promptIds, { ...common, pick });
        const text = finalize(result.ids);
        const completion: CompletionResult = {
          text,
          ids: result.ids,
          promptTokens: promptIds.length,
          reusedTokens: result.reusedTokens,
          contextChunks,
          contextChunkTokens,
          stopReason: result.stopReason,
          mode,
          prefillMs: result.prefillMs,
          decodeMs: result.decodeMs,
        };
        if (wanted > 1) {
          const firsts = firstLogits ? alternativeFirstTokens(firstLogits, wanted, { texts, stopIds: common.stopIds, healed, taken: result.ids[0] }) : [];
          try {
            completion.alternatives = await collectAlternatives(text, wanted, firsts, async (first) =>
              finalize((await this.generateOn(turn, cache, promptIds, { ...common, pick: forcingFirst(first, texts.length) })).ids),
            );
          } finally {
            if (cache !== shared) cache?.clear(); // the cold request's own cache
          }
        }
        return completion;
      },
      signal,
    );
  }

  /**
   * Streams the explanation: `onText` gets the whole text so far after each token. A model with
   * a chat template is asked as its assistant and answers in Markdown; a plain code model
   * continues a comment opened after the code (explainPrompt.ts).
   */
  async explain(req: ExplainRequest, signal: AbortSignal | undefined, onText: (text: string) => void): Promise<string> {
    const { tokenizer } = this.pair;
    const chat = tokenizer.chatTemplate !== undefined;
    const read = (generated: readonly number[]): { text: string; done: boolean } =>
      chat ? { text: stripUnprintable(tokenizer.decode(generated)).trim(), done: false } : extractExplanation(tokenizer.decode(generated), req.languageId);
    const ids = this.buildExplainPrompt(req);
    let last = '';
    const result = await this.run('explanation', ids, {
      mode: this.modeFor(req.mode),
      maxNewTokens: req.maxNewTokens,
      stopIds: tokenizer.special.stop,
      signal,
      refreshEvery: req.refreshEvery,
      shouldStop: (generated) => {
        const { text, done } = read(generated);
        if (text !== last) {
          last = text;
          onText(text);
        }
        return done;
      },
    });
    const final = read(result.ids).text;
    if (final !== last) onText(final);
    return final;
  }

  /** The ids Explain sends: the chat-template turn, or the code and an opened comment. */
  buildExplainPrompt(req: ExplainRequest): number[] {
    const { tokenizer } = this.pair;
    const budget = this.budget(req.contextTokens, req.maxNewTokens, 'overfill.explain.maxNewTokens');
    const template = tokenizer.chatTemplate;
    if (template === undefined) return buildPlainPrompt(tokenizer, explainPromptText(req.code, req.languageId), budget);
    // The code loses its first quarter (from a line start) until the turn fits; the template
    // itself (BOS, role headers) is never cut.
    let code = req.code;
    for (;;) {
      const ids = tokenizer.encode(explainChatText(template, tokenizer.config, code, req.languageId));
      if (ids.length <= budget) return ids;
      if (code.length === 0) {
        throw new OverfillError('INPUT_REJECTED', `The model's chat template alone takes ${ids.length} tokens, more than the ${budget} the prompt may use. Raise "overfill.contextSize" or lower "overfill.explain.maxNewTokens".`);
      }
      const cut = Math.ceil(code.length / 4);
      const nl = code.indexOf('\n', cut);
      code = nl >= 0 && nl < code.length - 1 ? code.slice(nl + 1) : code.slice(cut);
    }
  }

  /**
   * Runs synthetic prompts through the pair right after loading, so the user's first
   * suggestions do not pay for onnxruntime's first runs at each new size (allocations, page
   * faults): the default pair's first 1k-token prefill took ~3x its steady time. Uses no prompt
   * cache. It runs at the lowest priority: a request that comes steps in at the next prefill
   * chunk, and it resumes after; a real request should still abort it (engineProcess.ts does).
   * Resolves with the passes finished.
   */
  async warmUp(signal?: AbortSignal): Promise<number> {
    const { contextLength, vocabSize } = this.pair.manifest;
    const length = Math.min(WARM_UP_TOKENS, Math.floor(contextLength / 2));
    let done = 0;
    for (let pass = 0; pass < WARM_UP_PASSES && !signal?.aborted; pass++) {
      // Any valid ids serve: run time depends on shapes, not values. Each pass differs.
      const ids = Array.from({ length }, (_, i) => (i * 7919 + pass * 104729) % vocabSize);
      try {
        await this.turns.run('background', (turn) => generate(this.pair, ids, { mode: 'overfill', maxNewTokens: 2, stopIds: new Set(), signal, prefillChunk: this.options.prefillChunk, between: () => turn.between() }), signal);
        done++;
      } catch (err) {
        if (!isAbort(err)) throw err;
      }
    }
    return done;
  }

  /** Raw greedy ids for a prompt given as ids (parity tests and benchmarks). */
  generateIds(promptIds: number[], mode: GenerationMode, maxNewTokens: number, signal?: AbortSignal, stopIds: ReadonlySet<number> = new Set()): Promise<GenerateResult> {
    return this.run('completion', promptIds, { mode: this.modeFor(mode), maxNewTokens, stopIds, signal });
  }

  /** The tokenizer's end-of-text id (raw generation stops there). */
  get endOfTextId(): number {
    return this.pair.tokenizer.special.endOfText;
  }

  encode(text: string): number[] {
    return this.pair.tokenizer.encode(text);
  }

  decode(ids: readonly number[]): string {
    return this.pair.tokenizer.decode(ids);
  }

  /** A prompt as the model reads it, control tokens written out. */
  promptText(ids: readonly number[]): string {
    return this.pair.tokenizer.decodeWithControl(ids);
  }

  /** Releases the sessions once the request running now (already aborted, typically) has left them. */
  async dispose(): Promise<void> {
    await this.turns.idle();
    this.cache?.clear(); // device KV is freed before the sessions that made it
    await this.pair.dispose();
  }
}
