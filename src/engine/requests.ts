// Plain-data requests and results exchanged with the engine (no VS Code types).
import type { GenerationMode, StopReason } from './generate/generate';
import type { ContextChunk } from './prompt/repoContext';

export type { ContextChunk };

export interface CompletionRequest {
  /** Document text before the cursor (the caller may already have cut it). */
  prefix: string;
  /** Document text after the cursor. */
  suffix: string;
  languageId?: string;
  /** The document's workspace-relative path: the model sees it as the file's name. */
  filePath?: string;
  /** The workspace folder's name (repository-level prompts). */
  repoName?: string;
  /** Chunks of other files, oldest first (see prompt/repoContext.ts). */
  context?: ContextChunk[];
  /** Most prompt tokens the chunks may take; at most half the prompt. */
  contextChunkTokens?: number;
  maxNewTokens: number;
  /** Most prompt tokens; capped by the model's context length. */
  contextTokens: number;
  /** Most lines in one suggestion. */
  maxLines?: number;
  mode?: GenerationMode;
  /** Re-write the token the cursor sits in (default true; see prompt/tokenHealing.ts). */
  tokenHealing?: boolean;
  /** Suggestions wanted, 1-3 (default 1): more come from the next most likely first tokens. */
  alternatives?: number;
  /** false: neither read nor write the prompt cache (timings that compare modes on one cursor). */
  promptCache?: false;
}

export interface CompletionResult {
  text: string;
  /** Raw generated ids (tests and benchmarks compare them). */
  ids: number[];
  promptTokens: number;
  /** Prompt tokens whose KV came from the prompt cache (not prefilled again). */
  reusedTokens: number;
  /** Paths of the context chunks the prompt carried, and the tokens they took. */
  contextChunks: string[];
  contextChunkTokens: number;
  stopReason: StopReason;
  mode: GenerationMode;
  prefillMs: number;
  decodeMs: number;
  /**
   * Only when the request asked for alternatives > 1: distinct suggestions, the first being
   * `text`, the others non-empty and different from every one before them (possibly fewer than
   * asked). Timings and ids above are the first suggestion's.
   */
  alternatives?: string[];
}

export interface ExplainRequest {
  code: string;
  languageId?: string;
  maxNewTokens: number;
  contextTokens: number;
  mode?: GenerationMode;
  /** Overfill mode: the full model re-prefills the generated tokens every this many (GenerateOptions.refreshEvery). */
  refreshEvery?: number;
}

export interface ModelInfo {
  name: string;
  description: string;
  folder: string;
  /** overfill: full model + decoder; full-only: one graph does both stages (a standard export). */
  kind: 'overfill' | 'full-only';
  /** The code-model family its prompt format was detected from, if any. */
  family?: string;
  /** Whether prompts carry the text after the cursor (the model has FIM tokens). */
  fim: boolean;
  provider: string;
  fullParams?: number;
  decoderParams?: number;
  contextLength: number;
  /** GPU providers that failed to load before this one did. */
  fallbacks: { provider: string; reason: string; requested: boolean }[];
  loadMs: number;
  /** The onnxruntime-node the engine runs: "onnxruntime-node" (the shipped one) or a CUDA runtime's folder. */
  runtime: string;
}
