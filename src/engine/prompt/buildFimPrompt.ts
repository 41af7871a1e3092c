// Fill-in-the-middle prompt from the text around the cursor, cut to a token budget.
// psm:  <fim_prefix> prefix <fim_suffix> suffix <fim_middle>
// spm:  <fim_suffix> suffix <fim_prefix> prefix <fim_middle>   (what changes while typing, the
//       end of the prefix, sits last: best for reusing a cached prompt)
// none: prefix   (a model without FIM tokens sees only the text before the cursor)
// A BOS token goes first when the model's tokenizer adds one.
import type { FimOrder } from '../model/manifest';
import type { SpecialIds } from '../tokenizer/textTokenizer';
import { healableText } from './tokenHealing';

export interface PromptTokenizer {
  encode(text: string): number[];
  /** Text of one token (token healing). */
  tokenText(id: number): string;
  readonly special: Pick<SpecialIds, 'fim' | 'bos'>;
}

export interface FimPromptInput {
  prefix: string;
  suffix: string;
  /** Most prompt tokens, control tokens included. */
  budget: number;
  order: FimOrder;
  /** Back up over the prefix's last token; generation re-writes it (see tokenHealing.ts). */
  heal?: boolean;
  /** Ids placed after BOS, before the FIM tokens (repository context, see repoContext.ts). */
  head?: readonly number[];
  /** Ids placed at the start of the prefix section, before the file's own text. */
  lead?: readonly number[];
}

export interface FimPrompt {
  ids: number[];
  prefixTokens: number;
  suffixTokens: number;
  /** Text of the prefix token left out for healing ('' when none). */
  healed: string;
}

/** Characters per token we never expect to exceed; bounds tokenizer work on huge files. */
const MAX_CHARS_PER_TOKEN = 8;
/** Share of the budget the suffix gets when both sides want more than they can have. */
const SUFFIX_SHARE = 0.25;
/**
 * Cuts move in steps, not with every keystroke: a prompt whose start stays put keeps its
 * cached KV (see cache/promptCache.ts). Characters are cut in steps of CHAR_STEP, tokens in
 * steps of a sixteenth of the budget.
 */
const CHAR_STEP = 1024;
const MIN_TOKEN_STEP = 8;

export function buildFimPrompt(tok: PromptTokenizer, input: FimPromptInput): FimPrompt {
  const { fim, bos } = tok.special;
  const order = fim ? input.order : 'none';
  const head = [...(bos === undefined ? [] : [bos]), ...(input.head ?? [])];
  const lead = input.lead ?? [];
  const room = Math.max(0, input.budget - (order === 'none' ? 0 : 3) - head.length - lead.length);
  const maxChars = room * MAX_CHARS_PER_TOKEN;
  const prefixIds = tok.encode(tailAtLineStart(input.prefix, maxChars));
  const suffixIds = order === 'none' ? [] : tok.encode(headAtLineEnd(input.suffix, maxChars));
  let suffixTake = Math.min(suffixIds.length, Math.floor(room * SUFFIX_SHARE));
  const prefixRoom = room - suffixTake;
  const over = prefixIds.length - prefixRoom;
  const step = Math.max(MIN_TOKEN_STEP, Math.floor(room / 16));
  const drop = over > 0 ? Math.min(prefixIds.length, Math.ceil(over / step) * step) : 0;
  const prefix = prefixIds.slice(drop);
  // A prompt of that one token alone (prefix-only, no BOS) would be empty: keep it then.
  const alone = order === 'none' && head.length === 0 && lead.length === 0 && prefix.length === 1;
  const healed = input.heal && prefix.length > 0 && !alone ? healableText(tok.tokenText(prefix[prefix.length - 1])) : '';
  if (healed) prefix.pop();
  // The suffix gets the room left, also in steps: with spm it comes first, and its length
  // must not change with every token the prefix gains.
  const left = room - prefix.length;
  suffixTake = Math.min(suffixIds.length, suffixIds.length <= left ? left : Math.floor(left / step) * step);
  const suffix = suffixIds.slice(0, suffixTake);
  let ids: number[];
  if (!fim || order === 'none') ids = [...head, ...lead, ...prefix];
  else if (order === 'spm') ids = [...head, fim.suffix, ...suffix, fim.prefix, ...lead, ...prefix, fim.middle];
  else ids = [...head, fim.prefix, ...lead, ...prefix, fim.suffix, ...suffix, fim.middle];
  return { ids, prefixTokens: prefix.length, suffixTokens: suffix.length, healed };
}

/** Plain left-to-right prompt (Explain): the last `budget` tokens of the text, after BOS when the model wants one. */
export function buildPlainPrompt(tok: PromptTokenizer, text: string, budget: number): number[] {
  const head = tok.special.bos === undefined ? [] : [tok.special.bos];
  const ids = tok.encode(tailAtLineStart(text, budget * MAX_CHARS_PER_TOKEN));
  return [...head, ...ids.slice(Math.max(0, ids.length - budget + head.length))];
}

/**
 * About the last `maxChars` characters (up to CHAR_STEP more), starting at a line start when
 * the text had to be cut. The cut point moves in CHAR_STEP steps as the text grows.
 */
export function tailAtLineStart(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const start = Math.floor((text.length - maxChars) / CHAR_STEP) * CHAR_STEP;
  const cut = text.slice(start);
  if (start === 0) return cut;
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
