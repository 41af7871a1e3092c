// Fill-in-the-middle prompt from the text around the cursor, cut to a token budget.
// psm: <fim_prefix> prefix <fim_suffix> suffix <fim_middle>
// spm: <fim_suffix> suffix <fim_prefix> prefix <fim_middle>   (what changes while typing, the
//      end of the prefix, sits last: best for reusing a cached prompt)
import type { SpecialIds } from '../tokenizer/textTokenizer';

export interface PromptTokenizer {
  encode(text: string): number[];
  readonly special: SpecialIds;
}

export interface FimPromptInput {
  prefix: string;
  suffix: string;
  /** Most prompt tokens, control tokens included. */
  budget: number;
  order: 'psm' | 'spm';
}

export interface FimPrompt {
  ids: number[];
  prefixTokens: number;
  suffixTokens: number;
}

/** Characters per token we never expect to exceed; bounds tokenizer work on huge files. */
const MAX_CHARS_PER_TOKEN = 8;
/** Share of the budget the suffix gets when both sides want more than they can have. */
const SUFFIX_SHARE = 0.25;

export function buildFimPrompt(tok: PromptTokenizer, input: FimPromptInput): FimPrompt {
  const room = Math.max(0, input.budget - 3);
  const maxChars = room * MAX_CHARS_PER_TOKEN;
  const prefixIds = tok.encode(tailAtLineStart(input.prefix, maxChars));
  const suffixIds = tok.encode(headAtLineEnd(input.suffix, maxChars));
  let suffixTake = Math.min(suffixIds.length, Math.floor(room * SUFFIX_SHARE));
  const prefixTake = Math.min(prefixIds.length, room - suffixTake);
  suffixTake = Math.min(suffixIds.length, room - prefixTake);
  const prefix = prefixIds.slice(prefixIds.length - prefixTake);
  const suffix = suffixIds.slice(0, suffixTake);
  const s = tok.special;
  const ids =
    input.order === 'spm'
      ? [s.fimSuffix, ...suffix, s.fimPrefix, ...prefix, s.fimMiddle]
      : [s.fimPrefix, ...prefix, s.fimSuffix, ...suffix, s.fimMiddle];
  return { ids, prefixTokens: prefix.length, suffixTokens: suffix.length };
}

/** Plain left-to-right prompt (Explain): the last `budget` tokens of the text. */
export function buildPlainPrompt(tok: PromptTokenizer, text: string, budget: number): number[] {
  const ids = tok.encode(tailAtLineStart(text, budget * MAX_CHARS_PER_TOKEN));
  return ids.slice(Math.max(0, ids.length - budget));
}

/** The last `maxChars` characters, starting at a line start when the text had to be cut. */
export function tailAtLineStart(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(text.length - maxChars);
  const nl = cut.indexOf('\n');
  return nl >= 0 && nl < cut.length - 1 ? cut.slice(nl + 1) : cut;
}

/** The first `maxChars` characters, ending at a line end when the text had to be cut. */
export function headAtLineEnd(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars);
  const nl = cut.lastIndexOf('\n');
  return nl > 0 ? cut.slice(0, nl + 1) : cut;
}
