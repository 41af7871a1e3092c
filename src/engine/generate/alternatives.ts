// Alternative suggestions. The main suggestion is greedy; an alternative forces one of the next
// most likely FIRST tokens and continues greedily. The first token is where suggestions part
// ways most (what to write, not how to spell it), and forcing it costs one short run: the
// prompt's KV is back in the prompt cache, so only its last token runs again.
import { argmax } from './generate';

export const MAX_ALTERNATIVES = 3;

/** Suggestions a request asks for, 1 to MAX_ALTERNATIVES. */
export function alternativesWanted(requested: number | undefined): number {
  if (requested === undefined || !Number.isFinite(requested)) return 1;
  return Math.min(MAX_ALTERNATIVES, Math.max(1, Math.floor(requested)));
}

/** First tokens tried per alternative wanted: some lead to empty or repeated text. */
export const TRIES_PER_ALTERNATIVE = 2;

/** The ids of the `count` largest logits among those `allowed` accepts, largest first. */
export function topFirstTokens(logits: Float32Array, count: number, allowed: (id: number) => boolean, limit = logits.length): number[] {
  const best: number[] = [];
  const n = Math.min(limit, logits.length);
  for (let id = 0; id < n; id++) {
    if (best.length === count && logits[id] <= logits[best[count - 1]]) continue;
    if (!allowed(id)) continue;
    let at = best.length;
    while (at > 0 && logits[best[at - 1]] < logits[id]) at--;
    best.splice(at, 0, id);
    if (best.length > count) best.pop();
  }
  return best;
}

export interface FirstTokenRules {
  /** Text of each token id ('' for control tokens). */
  texts: readonly string[];
  stopIds: ReadonlySet<number>;
  /** The text token healing backed up over ('' for none): a first token must re-write it. */
  healed: string;
  /** The main suggestion's first token. */
  taken: number | undefined;
}

/**
 * First tokens to try for `wanted` suggestions in all, best first. One that cannot start a
 * suggestion is left out: the main one's, a stop or control token, or (healing) one that does
 * not re-write the healed text (its suggestion would be cut to nothing).
 */
export function alternativeFirstTokens(logits: Float32Array, wanted: number, rules: FirstTokenRules): number[] {
  const { texts, stopIds, healed, taken } = rules;
  const allowed = (id: number): boolean => id !== taken && !stopIds.has(id) && texts[id] !== '' && (!healed || texts[id].startsWith(healed));
  return topFirstTokens(logits, TRIES_PER_ALTERNATIVE * (wanted - 1), allowed, texts.length);
}

/** A `pick` that takes `first` as the first token and is greedy after it. */
export function forcingFirst(first: number, vocabLimit: number): (logits: Float32Array, ids: readonly number[]) => number {
  return (logits, ids) => (ids.length === 0 ? first : argmax(logits, vocabLimit));
}

/**
 * `main` followed by the suggestions that `suggest` makes from each first token in turn, empty
 * ones and repeats of an earlier one left out, until `wanted` are found or the tokens run out.
 */
export async function collectAlternatives(main: string, wanted: number, firstTokens: readonly number[], suggest: (first: number) => Promise<string>): Promise<string[]> {
  const found = [main];
  for (const first of firstTokens) {
    if (found.length >= wanted) break;
    const text = await suggest(first);
    if (text !== '' && !found.includes(text)) found.push(text);
  }
  return found;
}
