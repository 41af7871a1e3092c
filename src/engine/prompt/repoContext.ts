// What the prompt says beyond the cursor's window: the file's path (or language) and chunks of
// other files, in the model's own format.
//   repo tokens (Qwen2.5-Coder, StarCoder2), before the FIM block:
//     <repo_name>name\n <file_sep>other.ts\n chunk\n ... <file_sep>this.ts\n  <fim_prefix>...
//   a file separator only (the default pair, trained on files joined by <file_sep>), at the
//   start of the prefix section:   // Path: other.ts\n chunk\n <file_sep> ... // Path: this.ts\n prefix
//   neither: the same, each chunk line commented out, so the model does not take it as this file.
// Chunks keep their order (oldest first): the context sits at the start of the prompt, and its
// KV stays cached while the user types. When they do not all fit, the oldest are left out.
import type { SpecialIds } from '../tokenizer/textTokenizer';

export interface ContextChunk {
  /** Workspace-relative path of the file the chunk was taken from. */
  path: string;
  text: string;
}

export interface RepoContextInput {
  /** The current file's workspace-relative path, if it has one. */
  filePath?: string;
  languageId?: string;
  repoName?: string;
  chunks: readonly ContextChunk[];
  /** Most tokens the chunks may take (headers included). */
  maxChunkTokens: number;
}

export interface RepoContext {
  /** Goes right after BOS, before the FIM tokens. */
  head: number[];
  /** Goes at the start of the prefix section. */
  lead: number[];
  /** Paths of the chunks that made it in, in prompt order. */
  included: string[];
  /** Tokens the chunks took (headers included, the current file's header not). */
  chunkTokens: number;
}

export interface ContextTokenizer {
  encode(text: string): number[];
  readonly special: Pick<SpecialIds, 'fileSeparator' | 'repoName'>;
}

interface Comment {
  open: string;
  close: string;
}

const HASH = new Set(['python', 'ruby', 'shellscript', 'perl', 'r', 'yaml', 'toml', 'dockerfile', 'makefile', 'powershell', 'coffeescript', 'julia', 'elixir', 'nim', 'cmake', 'properties']);
const DASH = new Set(['sql', 'lua', 'haskell', 'elm', 'ada']);
const SEMI = new Set(['clojure', 'lisp', 'scheme', 'racket', 'ini']);
const PERCENT = new Set(['latex', 'tex', 'matlab', 'erlang', 'prolog']);
const BLOCK = new Set(['css', 'scss', 'less']);
const MARKUP = new Set(['html', 'xml', 'markdown', 'vue', 'svelte', 'xsl']);

/** The language's line comment, or a block comment closed on the same line. */
export function commentFor(languageId: string | undefined): Comment {
  const id = languageId ?? '';
  if (HASH.has(id)) return { open: '#', close: '' };
  if (DASH.has(id)) return { open: '--', close: '' };
  if (SEMI.has(id)) return { open: ';', close: '' };
  if (PERCENT.has(id)) return { open: '%', close: '' };
  if (BLOCK.has(id)) return { open: '/*', close: ' */' };
  if (MARKUP.has(id)) return { open: '<!--', close: ' -->' };
  return { open: '//', close: '' };
}

function commentLine(c: Comment, text: string): string {
  return `${c.open} ${text}${c.close}\n`;
}

function fileHeader(c: Comment, input: Pick<RepoContextInput, 'filePath' | 'languageId'>): string {
  if (input.filePath) return commentLine(c, `Path: ${input.filePath}`);
  return input.languageId ? commentLine(c, `Language: ${input.languageId}`) : '';
}

/** Remembers the ids of recent chunk texts: the same chunks go into every keystroke's prompt. */
export class ChunkIdMemo {
  private readonly ids = new Map<string, number[]>();

  constructor(private readonly maxEntries = 96) {}

  encode(tok: ContextTokenizer, text: string): number[] {
    const hit = this.ids.get(text);
    if (hit) {
      this.ids.delete(text);
      this.ids.set(text, hit);
      return hit;
    }
    const ids = tok.encode(text);
    this.ids.set(text, ids);
    if (this.ids.size > this.maxEntries) this.ids.delete(this.ids.keys().next().value as string);
    return ids;
  }
}

export function buildRepoContext(tok: ContextTokenizer, input: RepoContextInput, memo = new ChunkIdMemo()): RepoContext {
  const { fileSeparator: sep, repoName } = tok.special;
  const c = commentFor(input.languageId);
  const repoStyle = sep !== undefined && repoName !== undefined;
  // Each chunk as it appears in the prompt.
  const pieces = input.chunks.map((chunk) => {
    const body = chunk.text.endsWith('\n') ? chunk.text : chunk.text + '\n';
    if (repoStyle) return [sep, ...memo.encode(tok, `${chunk.path}\n${body}`)];
    if (sep !== undefined) return [...memo.encode(tok, commentLine(c, `Path: ${chunk.path}`) + body), sep];
    const commented = body.replace(/\n$/, '').split('\n').map((line) => commentLine(c, line).replace(/ \n$/, '\n')).join('');
    return memo.encode(tok, commentLine(c, `Path: ${chunk.path}`) + commented);
  });
  // Newest first until the budget is spent; they are then laid out oldest first.
  const keep: boolean[] = pieces.map(() => false);
  let used = 0;
  for (let i = pieces.length - 1; i >= 0; i--) {
    if (used + pieces[i].length > input.maxChunkTokens) continue;
    keep[i] = true;
    used += pieces[i].length;
  }
  const chunkIds = pieces.filter((_, i) => keep[i]).flat();
  const included = input.chunks.filter((_, i) => keep[i]).map((chunk) => chunk.path);
  if (repoStyle) {
    const repo = input.repoName ? [repoName, ...tok.encode(`${input.repoName}\n`)] : [];
    const own = input.filePath ? [sep, ...tok.encode(`${input.filePath}\n`)] : [];
    return { head: [...repo, ...chunkIds, ...own], lead: [], included, chunkTokens: used };
  }
  return { head: [], lead: [...chunkIds, ...tok.encode(fileHeader(c, input))], included, chunkTokens: used };
}
