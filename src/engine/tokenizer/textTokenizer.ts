// Wraps @huggingface/tokenizers with the model folder's special tokens resolved to ids.
import { promises as fs } from 'fs';
import * as path from 'path';
import { Tokenizer } from '@huggingface/tokenizers';
import { OverfillError } from '../errors';
import type { ModelManifest } from '../manifest';

export interface SpecialIds {
  fimPrefix: number;
  fimSuffix: number;
  fimMiddle: number;
  endOfText: number;
  stop: ReadonlySet<number>;
}

export class TextTokenizer {
  /** Every token's text, built on load: token healing scans it on every request. */
  private readonly texts: readonly string[];

  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly special: SpecialIds,
  ) {
    let n = 0;
    for (const id of tokenizer.get_vocab(true).values()) n = Math.max(n, id + 1); // no spread: vocabularies reach 150k+
    this.texts = Array.from({ length: n }, (_, id) => this.decode([id]));
  }

  static async load(manifest: ModelManifest): Promise<TextTokenizer> {
    const file = path.join(manifest.folder, manifest.tokenizer.file);
    let tokenizer: Tokenizer;
    try {
      const json = JSON.parse(await fs.readFile(file, 'utf8')) as object;
      const config = manifest.tokenizer.config
        ? (JSON.parse(await fs.readFile(path.join(manifest.folder, manifest.tokenizer.config), 'utf8').catch(() => '{}')) as object)
        : {};
      tokenizer = new Tokenizer(json, config);
    } catch (err) {
      throw new OverfillError('TOKENIZER_INVALID', `Could not read the tokenizer ${file}: ${(err as Error).message}. Re-export the model folder.`);
    }
    const id = (token: string): number => {
      const found = tokenizer.token_to_id(token);
      if (found === undefined) {
        throw new OverfillError('TOKENIZER_INVALID', `The tokenizer ${file} has no token "${token}", which overfill.json names as a special token. Re-export the model folder.`);
      }
      return found;
    };
    const t = manifest.tokens;
    const special: SpecialIds = {
      fimPrefix: id(t.fimPrefix),
      fimSuffix: id(t.fimSuffix),
      fimMiddle: id(t.fimMiddle),
      endOfText: id(t.endOfText),
      stop: new Set(t.stop.map(id)),
    };
    return new TextTokenizer(tokenizer, special);
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

  /** Text of generated ids; control tokens are never shown to the user. */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return ''; // the library refuses an empty list
    return this.tokenizer.decode(ids as number[], { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }
}
