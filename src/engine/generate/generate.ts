// The OverFill generation loop: one model prefills the prompt and picks the first token from
// its logits, another decodes the rest on top of that KV cache. Greedy, streaming, abortable.
import { abortError } from '../errors';
import { emptyKvCache } from '../runtime/kvCache';
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
}

export type StopReason = 'stop-token' | 'rule' | 'max-tokens';

export interface GenerateResult {
  ids: number[];
  stopReason: StopReason;
  /** Wall time of the prefill (prompt + first token), ms. */
  prefillMs: number;
  /** Wall time of the decode steps, ms. */
  decodeMs: number;
}

export function rolesFor(mode: GenerationMode, models: ModelRoles): { prefill: CausalLm; step: CausalLm } {
  return {
    prefill: mode === 'decoder' ? models.decoder : models.full,
    step: mode === 'full' ? models.full : models.decoder,
  };
}

export function argmax(logits: Float32Array): number {
  let best = 0;
  let bestValue = logits[0];
  for (let i = 1; i < logits.length; i++) {
    if (logits[i] > bestValue) {
      bestValue = logits[i];
      best = i;
    }
  }
  return best;
}

export async function generate(models: ModelRoles, promptIds: readonly number[], opts: GenerateOptions): Promise<GenerateResult> {
  const { prefill, step } = rolesFor(opts.mode, models);
  const throwIfAborted = (): void => {
    if (opts.signal?.aborted) throw abortError();
  };
  throwIfAborted();
  const t0 = performance.now();
  // The prompt's KV always comes from the prefill model; the step model's own KV for the
  // generated tokens lives only in this call and is dropped with it.
  let { logits, cache } = await prefill.forward(promptIds, emptyKvCache(prefill.layout));
  const t1 = performance.now();
  const ids: number[] = [];
  let stopReason: StopReason = 'max-tokens';
  while (ids.length < opts.maxNewTokens) {
    throwIfAborted();
    const next = argmax(logits);
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
    ({ logits, cache } = await step.forward([next], cache));
  }
  return { ids, stopReason, prefillMs: t1 - t0, decodeMs: performance.now() - t1 };
}
