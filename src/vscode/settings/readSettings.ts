// Reads `overfill.*` into a typed, frozen snapshot, with bad values clamped and each distinct
// warning passed on once. No VS Code import: the source is an interface, so this is unit-tested.
import type { ProviderSetting } from '../../engine/runtime/providers';

export interface OverfillSettings {
  readonly enable: boolean;
  /** Absolute model folder, or '' for the embedded default pair. */
  readonly modelPath: string;
  readonly executionProvider: ProviderSetting;
  /** Threads for CPU inference; 0 = every core (up to 8). */
  readonly cpuThreads: number;
  readonly maxNewTokens: number;
  readonly explainMaxNewTokens: number;
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

const PROVIDERS: readonly ProviderSetting[] = ['auto', 'cuda', 'dml', 'cpu'];

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
  return Object.freeze({
    enable: c.get<boolean>('enable', true),
    modelPath,
    executionProvider: provider as ProviderSetting,
    cpuThreads: clampInt(c, 'cpuThreads', 0, 64, warn),
    maxNewTokens: clampInt(c, 'maxNewTokens', 1, 512, warn),
    explainMaxNewTokens: clampInt(c, 'explain.maxNewTokens', 1, 2048, warn),
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
