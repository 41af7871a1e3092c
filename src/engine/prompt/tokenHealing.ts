// Token healing. A cursor inside a word ("ret|") leaves the prompt ending in a token the model
// almost never saw there: in training the same text was one token ("return"). So the prompt
// backs up over its last token, and generation first has to write that text again, choosing
// only among tokens that agree with it (the model picks "return", not "ret" + "urn"). The
// re-written text is then cut from the suggestion.
import { argmax } from '../generate/generate';

/** Text of each token id ('' for control tokens and ids the tokenizer does not know). */
export type TokenTexts = readonly string[];

/** The text a back-up removes; '' means nothing can be healed (keep the token). */
export function healableText(lastTokenText: string): string {
  // Partial UTF-8 (a byte token of a multi-byte character) cannot be matched as text.
  return lastTokenText.includes('\uFFFD') ? '' : lastTokenText;
}

/** Does token text `t` agree with `rest`, the part of the healed text not yet re-written? */
function agrees(t: string, rest: string): boolean {
  return t.length > 0 && (t.startsWith(rest) || rest.startsWith(t));
}

/**
 * The next-token choice while healing: greedy among the tokens that agree with the healed
 * text still to be re-written, plain greedy once it is covered.
 */
export function healingPicker(texts: TokenTexts, healed: string): (logits: Float32Array, ids: readonly number[]) => number {
  return (logits, ids) => {
    let covered = 0;
    for (const id of ids) {
      covered += (texts[id] ?? '').length;
      if (covered >= healed.length) return argmax(logits);
    }
    const rest = healed.slice(covered);
    let best = -1;
    let bestValue = -Infinity;
    const n = Math.min(logits.length, texts.length);
    for (let id = 0; id < n; id++) {
      if (logits[id] > bestValue && agrees(texts[id], rest)) {
        bestValue = logits[id];
        best = id;
      }
    }
    // No token agrees (cannot happen with a byte-level vocabulary): give up healing.
    return best >= 0 ? best : argmax(logits);
  };
}

/** The suggestion proper: generated text minus the healed text it starts with. */
export function stripHealed(text: string, healed: string): string | undefined {
  if (!healed) return text;
  return text.startsWith(healed) ? text.slice(healed.length) : undefined;
}
