// Which code-model family a tokenizer belongs to, from the table in modelFamilies.json (shared
// with training/convert/families.py): its FIM, file-separator, BOS and stop tokens and the prompt
// order it was trained on. Known strings, not `special` flags: Qwen's FIM tokens are not special.
import type { FimOrder, SpecialTokens } from '../model/manifest';
import table from './modelFamilies.json';

interface Family {
  name: string;
  fimPrefix: string;
  fimSuffix: string;
  fimMiddle: string;
  endOfText: string;
  fimPad?: string;
  fileSeparator?: string;
  repoName?: string;
  order: string;
  stop: string[];
}

export interface DetectedTokens {
  family?: string;
  fimOrder: FimOrder;
  tokens: SpecialTokens;
}

/** The parts of tokenizer.json and tokenizer_config.json detection reads. */
export interface TokenizerFiles {
  tokenizer: { model: { vocab: Record<string, number> | [string, number][] }; added_tokens?: { id: number; content: string }[]; post_processor?: unknown };
  config: Record<string, unknown>;
}


/** tokenizer_config.json writes special tokens as strings or as { content }. */
export function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return undefined;
}

export function vocabularyOf(tokenizer: TokenizerFiles['tokenizer']): Set<string> {
  const v = tokenizer.model.vocab;
  const names = new Set<string>(Array.isArray(v) ? v.map(([t]) => t) : Object.keys(v));
  for (const t of tokenizer.added_tokens ?? []) names.add(t.content);
  return names;
}

/** The BOS token when the tokenizer adds one: add_bos_token, or a template post-processor starting with it. */
function wantsBos({ tokenizer, config }: TokenizerFiles): string | undefined {
  const bos = tokenText(config.bos_token);
  if (config.add_bos_token === true) return bos;
  if (config.add_bos_token !== undefined && config.add_bos_token !== null) return undefined;
  type Step = { type?: string; processors?: Step[]; single?: { SpecialToken?: { id: string } }[] };
  const post = (tokenizer.post_processor ?? {}) as Step;
  const steps = post.type === 'Sequence' ? (post.processors ?? []) : [post];
  for (const step of steps) {
    const first = step.type === 'TemplateProcessing' ? step.single?.[0] : undefined;
    if (first?.SpecialToken) return first.SpecialToken.id;
  }
  return undefined;
}

export function detectFamily(files: TokenizerFiles): DetectedTokens {
  const vocab = vocabularyOf(files.tokenizer);
  const eos = tokenText(files.config.eos_token);
  const bos = wantsBos(files);
  for (const fam of table.families as Family[]) {
    if (![fam.fimPrefix, fam.fimSuffix, fam.fimMiddle, fam.endOfText].every((t) => vocab.has(t))) continue;
    const present = (t: string | undefined): string | undefined => (t && vocab.has(t) ? t : undefined);
    const stop = fam.stop.filter((t) => vocab.has(t));
    if (eos && vocab.has(eos) && !stop.includes(eos)) stop.push(eos);
    return {
      family: fam.name,
      fimOrder: fam.order as FimOrder,
      tokens: { fimPrefix: fam.fimPrefix, fimSuffix: fam.fimSuffix, fimMiddle: fam.fimMiddle, endOfText: fam.endOfText, fimPad: present(fam.fimPad), fileSeparator: present(fam.fileSeparator), repoName: present(fam.repoName), bos, stop },
    };
  }
  const end = eos && vocab.has(eos) ? eos : table.fallbackEndOfText.find((t) => vocab.has(t));
  if (!end) throw new Error('the tokenizer names no end-of-text token (eos_token in tokenizer_config.json) and has none of the usual ones');
  return { fimOrder: 'none', tokens: { endOfText: end, bos, stop: [end, ...table.chatEnds.filter((t) => vocab.has(t) && t !== end)] } };
}
