// The benchmark's llama.cpp side: node-llama-cpp's prebuilt CPU binaries, driven with raw token
// ids so both engines see exactly the same prompt. A devDependency for the benchmark and its
// parity test only: never bundled, never in the .vsix.
import * as path from 'path';

/** The parts of node-llama-cpp's API used here (it ships as an ES module; see importEsm). */
interface Sequence {
  readonly nextTokenIndex: number;
  clearHistory(): Promise<void>;
  adaptStateToTokens(tokens: number[], allowShift?: boolean): Promise<void>;
  evaluate(tokens: number[], options?: { temperature?: number }): AsyncGenerator<number, void, void>;
  evaluateWithMetadata(
    tokens: number[],
    metadata: { probabilities: true },
    options: { temperature: number; topK: number; topP: number; minP: number },
  ): AsyncGenerator<{ token: number; probabilities: Map<number, number> }, void, void | number>;
}
interface Context {
  getSequence(): Sequence;
  dispose(): Promise<void>;
}
interface Model {
  createContext(options: {
    contextSize: number;
    threads: number;
    batchSize?: number;
    sequences?: number;
    flashAttention?: boolean;
    experimentalKvCacheKeyType?: 'F32';
    experimentalKvCacheValueType?: 'F32';
  }): Promise<Context>;
  dispose(): Promise<void>;
}
interface Llama {
  loadModel(options: { modelPath: string; gpuLayers?: number }): Promise<Model>;
  dispose(): Promise<void>;
}
interface NodeLlamaCpp {
  getLlama(options: { gpu: false | 'auto' | 'cuda' | 'vulkan'; build: 'never'; logLevel?: string; maxThreads?: number }): Promise<Llama>;
}

/**
 * node-llama-cpp is an ES module and this project compiles to CommonJS, where TypeScript would
 * turn `import()` into `require()`; a Function keeps the real dynamic import.
 */
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<NodeLlamaCpp>;

export interface LlamaRun {
  ids: number[];
  /** Prompt evaluated and first token sampled, ms. */
  ttftMs: number;
  totalMs: number;
  /** Prompt tokens whose evaluated state was kept from the run before (prefix reuse). */
  reused: number;
}

let llama: Promise<Llama> | undefined;

export interface LlamaCppOptions {
  threads: number;
  contextSize: number;
  /**
   * Float32 throughout: no flash attention (its CPU kernel rounds to float16) and a float32 KV
   * cache. For parity checks; the benchmark keeps llama.cpp's defaults, as its users run it.
   */
  exact?: boolean;
}

/** One llama.cpp model with one sequence, on the CPU with `threads` threads. */
export class LlamaCppModel {
  private constructor(
    private readonly model: Model,
    private readonly context: Context,
    private readonly sequence: Sequence,
  ) {}

  static async load(file: string, options: LlamaCppOptions): Promise<LlamaCppModel> {
    llama ??= importEsm('node-llama-cpp').then((m) => m.getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: options.threads }));
    const model = await (await llama).loadModel({ modelPath: path.resolve(file), gpuLayers: 0 });
    const exact = options.exact ? ({ flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' } as const) : {};
    const context = await model.createContext({ contextSize: options.contextSize, threads: options.threads, sequences: 1, ...exact });
    return new LlamaCppModel(model, context, context.getSequence());
  }

  /**
   * Greedy ids after `prompt`. Cold (`reusePrefix` false) clears the sequence first; with
   * `reusePrefix` the evaluated state shared with the previous prompt is kept and only the rest
   * is evaluated, as llama.vscode's `cache_prompt` asks of llama.cpp's server.
   */
  async generate(prompt: number[], newTokens: number, reusePrefix = false): Promise<LlamaRun> {
    const t0 = performance.now();
    let reused = 0;
    if (reusePrefix) {
      await this.sequence.adaptStateToTokens(prompt, false);
      reused = Math.min(this.sequence.nextTokenIndex, prompt.length - 1);
      // At least the last prompt token is evaluated again: its logits give the first new token.
      if (reused < this.sequence.nextTokenIndex) await this.sequence.adaptStateToTokens(prompt.slice(0, reused), false);
    } else {
      await this.sequence.clearHistory();
    }
    const ids: number[] = [];
    let ttftMs = 0;
    for await (const id of this.sequence.evaluate(prompt.slice(reused), { temperature: 0 })) {
      if (ids.length === 0) ttftMs = performance.now() - t0;
      ids.push(id);
      if (ids.length >= newTokens) break;
    }
    return { ids, ttftMs, totalMs: performance.now() - t0, reused };
  }

  /**
   * The next-token distribution after `prompt` and after each of `ids` fed in turn (teacher
   * forcing: llama.cpp follows our tokens, not its own): `ids.length` softmaxes over the whole
   * vocabulary, at temperature 1 with no top-k, top-p or min-p cut.
   */
  async distributions(prompt: number[], ids: readonly number[]): Promise<Map<number, number>[]> {
    await this.sequence.clearHistory();
    const out: Map<number, number>[] = [];
    const steps = this.sequence.evaluateWithMetadata(prompt, { probabilities: true }, { temperature: 1, topK: 0, topP: 1, minP: 0 });
    try {
      let step = await steps.next();
      while (!step.done && out.length < ids.length) {
        out.push(step.value.probabilities);
        step = await steps.next(ids[out.length - 1]);
      }
    } finally {
      await steps.return();
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }
}
