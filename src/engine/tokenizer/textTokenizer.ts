// Wraps @huggingface/tokenizers with the model folder's special tokens resolved to ids.
import { promises as fs } from 'fs';
import * as path from 'path';
import { Tokenizer } from '@huggingface/tokenizers';
import { OverfillError } from '../errors';
import type { ModelManifest } from '../model/manifest';

export interface SpecialIds {
  /** The FIM tokens: all three, or none (prefix-only prompts). */
  fim?: { prefix: number; suffix: number; middle: number };
  endOfText: number;
  bos?: number;
  /** Separates files in a multi-file prompt (repository-level training), when the model has one. */
  fileSeparator?: number;
  /** Opens a repository-level prompt with the repository's name (Qwen2.5-Coder, StarCoder2). */
  repoName?: number;
  stop: ReadonlySet<number>;
  /** Every named control token: never shown to the user, never chosen by token healing. */
  control: ReadonlySet<number>;
}

/** A chat template from tokenizer_config.json: one string, or named ones (the "default" is used). */
function chatTemplateOf(config: Record<string, unknown>): string | undefined {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t as { name?: string; template?: string }[];
    return (named.find((x) => x.name === 'default') ?? named[0])?.template;
  }
  return undefined;
}

export class TextTokenizer {
  /** Every token's text, built on load: token healing scans it on every request. */
  private readonly texts: readonly string[];

  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly special: SpecialIds,
    /** tokenizer_config.json (chat template, token names for it). */
    readonly config: Readonly<Record<string, unknown>>,
  ) {
    let n = 0;
    for (const id of tokenizer.get_vocab(true).values()) n = Math.max(n, id + 1); // no spread: vocabularies reach 150k+
    this.texts = Array.from({ length: n }, (_, id) => this.decode([id]));
  }

  static async load(manifest: ModelManifest): Promise<TextTokenizer> {
    const file = path.join(manifest.folder, manifest.tokenizer.file);
    let tokenizer: Tokenizer;
    let config: Record<string, unknown> = {};
    try {
      const json = JSON.parse(await fs.readFile(file, 'utf8')) as object;
      if (manifest.tokenizer.config) {
        config = JSON.parse(await fs.readFile(path.join(manifest.folder, manifest.tokenizer.config), 'utf8').catch(() => '{}')) as Record<string, unknown>;
      }
      tokenizer = new Tokenizer(json, config);
    } catch (err) {
      throw new OverfillError('TOKENIZER_INVALID', `Could not read the tokenizer ${file}: ${(err as Error).message}. Re-export the model folder.`);
    }
    const id = (token: string): number => {
      const found = tokenizer.token_to_id(token);
      if (found === undefined) {
        throw new OverfillError('TOKENIZER_INVALID', `The tokenizer ${file} has no token "${token}", which the model folder names as a special token. Re-export the model folder.`);
      }
      return found;
    };
    const t = manifest.tokens;
    const optional = (token: string | undefined): number | undefined => (token === undefined ? undefined : id(token));
    const fim = t.fimPrefix && t.fimSuffix && t.fimMiddle ? { prefix: id(t.fimPrefix), suffix: id(t.fimSuffix), middle: id(t.fimMiddle) } : undefined;
    const stop = new Set(t.stop.map(id));
    const bos = optional(t.bos);
    const fileSeparator = optional(t.fileSeparator);
    const repoName = optional(t.repoName);
    const named = [id(t.endOfText), bos, fileSeparator, repoName, optional(t.fimPad)];
    const control = new Set<number>([...stop, ...(fim ? [fim.prefix, fim.suffix, fim.middle] : []), ...named.filter((x): x is number => x !== undefined)]);
    const special: SpecialIds = { fim, endOfText: id(t.endOfText), bos, fileSeparator, repoName, stop, control };
    return new TextTokenizer(tokenizer, special, config);
  }

  /** Ids the tokenizer knows: 0..size-1. A model's logits may be wider (padded vocabularies). */
  get size(): number {
    return this.texts.length;
  }

  get chatTemplate(): string | undefined {
    return chatTemplateOf(this.config);
  }

  encode(text: string): number[] {
    if (text.length === 0) return [];
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text of one token; '' for control tokens. */
  tokenText(id: number): string {
    return this.texts[id] ?? '';
  }

  tokenTexts(): readonly string[] {
    return this.texts;
  }

  /** Text of a prompt as the model reads it, control tokens written out (tests, diagnostics). */
  decodeWithControl(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** Text of generated ids; control tokens are never shown to the user. */
  decode(ids: readonly number[]): string {
    const shown = ids.filter((id) => !this.special.control.has(id));
    if (shown.length === 0) return ''; // the library refuses an empty list
    return this.tokenizer.decode(shown, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }
}
