// Token healing. A cursor inside a word ("ret|") leaves the prompt ending in a token the model
// almost never saw there: in training the same text was one token ("return"). So the prompt
// backs up over its last token, and the first generated token must start with that text
// (the model may pick "return" as in training). The re-written text is then cut from the
// suggestion.
import { argmax } from '../generate/generate';

/** Text of each token id ('' for control tokens and ids the tokenizer does not know). */
export type TokenTexts = readonly string[];

/** The text a back-up removes; '' means nothing can be healed (keep the token). */
export function healableText(lastTokenText: string): string {
  // Partial UTF-8 (a byte token of a multi-byte character) cannot be matched as text.
  return lastTokenText.includes('\uFFFD') ? '' : lastTokenText;
}

/**
 * The next-token choice: at the first step, greedy among the tokens whose text starts with the
 * healed text (the backed-up token itself always does, so there is no dead end, and "return"
 * can win over "ret"); plain greedy after that.
 */
export function healingPicker(texts: TokenTexts, healed: string): (logits: Float32Array, ids: readonly number[]) => number {
  return (logits, ids) => {
    if (ids.length > 0) return argmax(logits, texts.length); // never a padded id past the tokenizer
    let best = -1;
    let bestValue = -Infinity;
    const n = Math.min(logits.length, texts.length);
    for (let id = 0; id < n; id++) {
      if (logits[id] > bestValue && texts[id].length > 0 && texts[id].startsWith(healed)) {
        bestValue = logits[id];
        best = id;
      }
    }
    return best >= 0 ? best : argmax(logits, texts.length);
  };
}

/** The suggestion proper: generated text minus the healed text it starts with. */
export function stripHealed(text: string, healed: string): string | undefined {
  if (!healed) return text;
  return text.startsWith(healed) ? text.slice(healed.length) : undefined;
}
