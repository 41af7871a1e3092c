// Reads `overfill.*` into a typed, frozen snapshot, with bad values clamped and each distinct
// warning passed on once. No VS Code import: the source is an interface, so this is unit-tested.
import * as path from 'path';
import { PROVIDER_SETTINGS, type ProviderSetting } from '../../engine/runtime/providerNames';

export interface OverfillSettings {
  readonly enable: boolean;
  /** Language id → on/off; "*" is every language not named (see languageEnabled). */
  readonly languages: Readonly<Record<string, boolean>>;
  /** Absolute model folder, or '' for the embedded default pair. */
  readonly modelPath: string;
  /** Folders whose model folders Select Model offers. */
  readonly modelSearchPaths: readonly string[];
  readonly executionProvider: ProviderSetting;
  /** Folders with CUDA and cuDNN libraries, put ahead of the engine process's LD_LIBRARY_PATH. */
  readonly cudaLibraryPaths: readonly string[];
  /** Threads for CPU inference; 0 = every core (up to 8). */
  readonly cpuThreads: number;
  readonly maxNewTokens: number;
  readonly explainMaxNewTokens: number;
  /** Explanations: the full model re-reads the decoder's tokens every this many (0: never). */
  readonly explainRefreshEvery: number;
  /** A suggestion slower than this (ms) gets one hint; 0: never. */
  readonly slowSuggestionMs: number;
  readonly contextSize: number;
  /** A fixed debounce, or undefined: adapt to the typing rhythm. */
  readonly debounceMs: number | undefined;
  readonly maxLines: number;
  readonly context: {
    readonly enable: boolean;
    readonly maxChunks: number;
    readonly chunkLines: number;
    readonly maxTokens: number;
  };
}

/** Folders Select Model searches at most (each is listed on every open of the picker). */
const MAX_SEARCH_PATHS = 32;

const PROVIDERS: readonly ProviderSetting[] = PROVIDER_SETTINGS;

export type Warn = (message: string) => void;

/** What readSettings needs of VS Code's configuration (a WorkspaceConfiguration fits). */
export interface SettingsSource {
  get<T>(key: string, defaultValue: T): T;
  inspect<T>(key: string): { defaultValue?: T; globalValue?: T } | undefined;
}

function clampInt(config: SettingsSource, key: string, min: number, max: number, warn: Warn): number {
  const fallback = config.inspect<number>(key)?.defaultValue ?? min;
  const value = config.get<number>(key, fallback);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    warn(`overfill.${key} must be a number; using ${fallback}.`);
    return fallback;
  }
  const clamped = Math.min(max, Math.max(min, Math.round(value)));
  if (clamped !== value) warn(`overfill.${key} = ${value} is outside ${min}..${max}; using ${clamped}.`);
  return clamped;
}

/** A snapshot of `overfill.*` from `c` (VS Code's configuration for the "overfill" section). */
export function readSettings(c: SettingsSource, warn: Warn): OverfillSettings {
  // Machine-scoped: only user settings can name executable content, never a workspace.
  const modelPath = (c.inspect<string>('model.path')?.globalValue ?? '').trim();
  let provider = c.inspect<string>('executionProvider')?.globalValue ?? 'auto';
  if (!PROVIDERS.includes(provider as ProviderSetting)) {
    warn(`overfill.executionProvider "${provider}" is not one of ${PROVIDERS.join(', ')}; using auto.`);
    provider = 'auto';
  }
  const modelSearchPaths = readFolderList(c, 'model.searchPaths', warn);
  const cudaLibraryPaths = readFolderList(c, 'cuda.libraryPaths', warn);
  if (modelSearchPaths.length > MAX_SEARCH_PATHS) warn(`overfill.model.searchPaths lists ${modelSearchPaths.length} folders; searching the first ${MAX_SEARCH_PATHS}.`);
  return Object.freeze({
    enable: c.get<boolean>('enable', true),
    languages: readLanguages(c, warn),
    modelPath,
    modelSearchPaths: Object.freeze(modelSearchPaths.slice(0, MAX_SEARCH_PATHS)),
    executionProvider: provider as ProviderSetting,
    cudaLibraryPaths: Object.freeze(cudaLibraryPaths),
    cpuThreads: clampInt(c, 'cpuThreads', 0, 64, warn),
    maxNewTokens: clampInt(c, 'maxNewTokens', 1, 512, warn),
    explainMaxNewTokens: clampInt(c, 'explain.maxNewTokens', 1, 2048, warn),
    explainRefreshEvery: clampInt(c, 'explain.refreshEvery', 0, 512, warn),
    slowSuggestionMs: clampInt(c, 'slowSuggestionMs', 0, 60_000, warn),
    contextSize: clampInt(c, 'contextSize', 64, 32768, warn),
    debounceMs: c.get<number | null>('debounceMs', null) === null ? undefined : clampInt(c, 'debounceMs', 0, 2000, warn),
    maxLines: clampInt(c, 'maxLines', 1, 64, warn),
    context: Object.freeze({
      enable: c.get<boolean>('context.enable', true),
      maxChunks: clampInt(c, 'context.maxChunks', 0, 64, warn),
      chunkLines: clampInt(c, 'context.chunkLines', 4, 256, warn),
      maxTokens: clampInt(c, 'context.maxTokens', 0, 16384, warn),
    }),
  });
}

/** A machine-scoped list of folders: only user settings can point the engine at code to load. */
function readFolderList(c: SettingsSource, key: string, warn: Warn): string[] {
  const value = c.inspect<unknown>(key)?.globalValue ?? [];
  if (!Array.isArray(value)) warn(`overfill.${key} must be a list of folder paths; ignoring it.`);
  const folders = (Array.isArray(value) ? value : []).filter((p): p is string => typeof p === 'string' && p.trim() !== '').map((p) => p.trim());
  // A relative path would be read against whatever folder the process happens to run in.
  for (const p of folders) if (!path.isAbsolute(p)) warn(`overfill.${key}: "${p}" is not an absolute path; ignoring it.`);
  return folders.filter((p) => path.isAbsolute(p));
}

const DEFAULT_LANGUAGES: Readonly<Record<string, boolean>> = { '*': true, plaintext: false, markdown: false, scminput: false };

function readLanguages(c: SettingsSource, warn: Warn): Readonly<Record<string, boolean>> {
  const value = c.get<unknown>('languages', DEFAULT_LANGUAGES);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    warn('overfill.languages must map language ids to true or false; using the default.');
    return DEFAULT_LANGUAGES;
  }
  const out: Record<string, boolean> = {};
  for (const [id, on] of Object.entries(value)) {
    if (typeof on === 'boolean') out[id] = on;
    else warn(`overfill.languages["${id}"] must be true or false; ignoring it.`);
  }
  return Object.freeze(out);
}

/** Whether suggestions are on for `languageId`: its own entry, else "*", else on. */
export function languageEnabled(settings: Pick<OverfillSettings, 'enable' | 'languages'>, languageId: string): boolean {
  return settings.enable && (settings.languages[languageId] ?? settings.languages['*'] ?? true);
}

/**
 * Passes each distinct warning on once: settings are read again on every change, and a value
 * clamped once should not warn again each time another setting changes. Bounded.
 */
export function warnOnceEach(warn: Warn, max = 100): Warn {
  const warned = new Set<string>();
  return (message) => {
    if (warned.has(message) || warned.size >= max) return;
    warned.add(message);
    warn(message);
  };
}
