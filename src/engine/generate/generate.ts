// The OverFill generation loop: one model prefills the prompt (reusing cached prompt KV, in
// chunks so a stale request stops early) and picks the first token from its logits; another
// decodes the rest on top of that KV cache (optionally refreshed by the full model every N
// tokens). Greedy, streaming, abortable, and able to step aside between model runs.
import { abortError } from '../errors';
import type { PromptCache } from '../cache/promptCache';
import type { KvCache } from '../runtime/kvCache';
import type { CausalLm } from '../runtime/onnxCausalLm';

/**
 * overfill: full model prefills, pruned decoder generates (the product's default).
 * full:     full model does both stages (quality reference, slow decode).
 * decoder:  pruned decoder does both stages (speed reference, weaker).
 */
export type GenerationMode = 'overfill' | 'full' | 'decoder';
export const GENERATION_MODES: readonly GenerationMode[] = ['overfill', 'full', 'decoder'];

export interface ModelRoles {
  full: CausalLm;
  decoder: CausalLm;
}

export interface GenerateOptions {
  mode: GenerationMode;
  maxNewTokens: number;
  /** Ids that end generation; they are not part of the output. */
  stopIds: ReadonlySet<number>;
  signal?: AbortSignal;
  /** Called with all ids so far after each new token; return true to stop (line rules). */
  shouldStop?: (ids: readonly number[]) => boolean;
  /** Prompt KV reuse across requests; without it every request prefills from scratch. */
  cache?: PromptCache;
  /** Prompt tokens per prefill run; abort is checked between chunks. */
  prefillChunk?: number;
  /** Chooses the next token from the logits and the ids so far (default: greedy). */
  pick?: (logits: Float32Array, ids: readonly number[]) => number;
  /** Ids the tokenizer has (0..vocabLimit-1): padded logits beyond them are never chosen. */
  vocabLimit?: number;
  /**
   * Overfill mode only: every this many generated tokens (at least 2), the full model prefills
   * the tokens generated since the last refresh, its KV replacing the decoder's, and picks the
   * next token; the decoder never reads this many positions of its own KV. It was
   * trained on handoffs 8-64 tokens apart (training/train.py), a long explanation runs past that.
   * 0 or absent: never.
   */
  refreshEvery?: number;
  /** Called right after a refresh with the cache and the positions it now holds (tests). */
  onRefresh?: (cache: KvCache, positions: number) => void;
  /** Awaited before each model run (prefill chunk, decode step, refresh): where a request steps aside for a more urgent one (schedule/turns.ts). */
  between?: () => Promise<void>;
}

export type StopReason = 'stop-token' | 'rule' | 'max-tokens';

export interface GenerateResult {
  ids: number[];
  stopReason: StopReason;
  /** Prompt tokens whose KV came from the cache. */
  reusedTokens: number;
  /** Wall time of the prefill (prompt + first token), ms. */
  prefillMs: number;
  /** Wall time of the decode steps, ms. */
  decodeMs: number;
}

export const DEFAULT_PREFILL_CHUNK = 256;

export function rolesFor(mode: GenerationMode, models: ModelRoles): { prefill: CausalLm; step: CausalLm; prefillRole: 'full' | 'decoder' } {
  return {
    prefill: mode === 'decoder' ? models.decoder : models.full,
    step: mode === 'full' ? models.full : models.decoder,
    prefillRole: mode === 'decoder' ? 'decoder' : 'full',
  };
}

/** The index of the largest of the first `limit` logits. */
export function argmax(logits: Float32Array, limit = logits.length): number {
  let best = 0;
  let bestValue = logits[0];
  const n = Math.min(limit, logits.length);
  for (let i = 1; i < n; i++) {
    if (logits[i] > bestValue) {
      bestValue = logits[i];
      best = i;
    }
  }
  return best;
}

export async function generate(models: ModelRoles, promptIds: readonly number[], opts: GenerateOptions): Promise<GenerateResult> {
  if (promptIds.length === 0) throw new Error('generate() needs at least one prompt token');
  const { prefill, step, prefillRole } = rolesFor(opts.mode, models);
  const throwIfAborted = (): void => {
    if (opts.signal?.aborted) throw abortError();
  };
  throwIfAborted();
  const t0 = performance.now();
  const { cache, reused } = opts.cache ? opts.cache.checkout(prefillRole, promptIds, () => prefill.newCache()) : { cache: prefill.newCache(), reused: 0 };
  const ids: number[] = [];
  /** First prompt position this request runs (reused ones before it come from the cache). */
  let start = reused;
  let stopReason: StopReason = 'max-tokens';
  let t1 = t0;
  try {
    // The prompt's KV always comes from the prefill model. Each chunk attends to every slot of
    // the cache, free or not, so it runs on a cache sized to what it holds (a reused cache from
    // a longer prompt is shrunk; appending a chunk grows it by that chunk only).
    //
    // With an int8 KV cache every prompt run covers at least two positions. A graph picks its
    // attention form by the run's length (training/static_attention.py), and the int8 one-token
    // form also rounds queries and probabilities; prompt positions therefore always take the
    // prompt form, so a cached request gives exactly the tokens of an uncached one. (Float
    // caches need no such rule: their two forms differ by float rounding only, and a one-token
    // run there reads the cache without joining, that is copying, it.)
    const minRun = prefill.layout.dtype === 'int8' ? 2 : 1;
    const chunk = Math.max(minRun, opts.prefillChunk ?? DEFAULT_PREFILL_CHUNK);
    let logits: Float32Array = new Float32Array(0);
    cache.plan(promptIds.length + opts.maxNewTokens); // one allocation; chunks re-lay it out in place
    if (promptIds.length - reused < minRun && reused > 0) cache.truncate(--start);
    for (let at = start; at < promptIds.length; ) {
      await opts.between?.();
      throwIfAborted();
      let end = Math.min(promptIds.length, at + chunk);
      if (promptIds.length - end < minRun && end < promptIds.length) end = promptIds.length; // no one-token run at the end
      cache.reserve(at);
      logits = await prefill.forward(promptIds.slice(at, end), cache);
      at = end;
    }
    cache.reserve(promptIds.length + opts.maxNewTokens); // decode steps never grow (copy) the cache
    t1 = performance.now();
    // The KV of generated tokens is temporary (the decoder's, or the full model's after a
    // refresh): dropped below, never cached as prompt.
    const restore = cache.checkpoint();
    // With an int8 cache a refresh, like a prompt run, must cover two positions (see above).
    // A device-resident cache (WebGPU) cannot be cut back to re-run the decoder's tokens: no refresh there yet.
    const refreshEvery = opts.mode === 'overfill' && opts.refreshEvery && !cache.onDevice ? Math.max(2, Math.floor(opts.refreshEvery)) : 0;
    /** Generated tokens whose KV the full model wrote (by refreshes). */
    let refreshed = 0;
    try {
      while (ids.length < opts.maxNewTokens) {
        throwIfAborted();
        const next = opts.pick ? opts.pick(logits, ids) : argmax(logits, opts.vocabLimit);
        if (opts.stopIds.has(next)) {
          stopReason = 'stop-token';
          break;
        }
        ids.push(next);
        if (opts.shouldStop?.(ids)) {
          stopReason = 'rule';
          break;
        }
        if (ids.length >= opts.maxNewTokens) break;
        await opts.between?.();
        throwIfAborted();
        if (refreshEvery > 0 && ids.length - refreshed >= refreshEvery) {
          // In place of the decoder's step on the newest token: the decoder's KV since the last
          // refresh is dropped, the full model runs those tokens on top of the prompt (and earlier
          // refreshes) and picks the next token, as after the prompt. The decoder then goes on
          // reading the full model's KV only.
          cache.truncate(promptIds.length + refreshed);
          logits = await prefill.forward(ids.slice(refreshed), cache);
          refreshed = ids.length;
          opts.onRefresh?.(cache, cache.length);
        } else {
          logits = await step.forward([next], cache);
        }
      }
    } finally {
      restore();
    }
  } finally {
    // Also after an abort: the prompt positions prefilled so far serve the next request.
    if (opts.cache) opts.cache.checkin(prefillRole, promptIds, cache);
    else cache.release(); // nobody keeps it: device memory goes now, not at some GC
  }
  return { ids, stopReason, reusedTokens: start, prefillMs: t1 - t0, decodeMs: performance.now() - t1 };
}
