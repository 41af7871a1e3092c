// The one place `overfill.*` settings are read: a typed, frozen snapshot with bad values
// clamped (and logged), and a change event that says whether the model must be reloaded.
import * as vscode from 'vscode';
import type { ProviderSetting } from '../engine/runtime/providers';

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

type Warn = (message: string) => void;

function clampInt(config: vscode.WorkspaceConfiguration, key: string, min: number, max: number, warn: Warn): number {
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

export function readSettings(warn: Warn): OverfillSettings {
  const c = vscode.workspace.getConfiguration('overfill');
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

/** Holds the current settings and tells listeners what changed, live. */
export class SettingsStore implements vscode.Disposable {
  private current: OverfillSettings;
  private readonly emitter = new vscode.EventEmitter<{ settings: OverfillSettings; modelChanged: boolean; changed: string[] }>();
  readonly onDidChange = this.emitter.event;
  private readonly subscription: vscode.Disposable;

  /** Each distinct warning once: settings are read again on every change. */
  private readonly warned = new Set<string>();
  private readonly warn: Warn;

  constructor(warn: Warn) {
    this.warn = (message) => {
      if (this.warned.has(message) || this.warned.size > 100) return;
      this.warned.add(message);
      warn(message);
    };
    this.current = readSettings(this.warn);
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('overfill')) return;
      const previous = this.current;
      this.current = readSettings(this.warn);
      // Sessions are created with the provider and thread count: a change means a reload.
      const modelChanged = previous.modelPath !== this.current.modelPath || previous.executionProvider !== this.current.executionProvider || previous.cpuThreads !== this.current.cpuThreads;
      const changed = (Object.keys(this.current) as (keyof OverfillSettings)[]).filter((k) => JSON.stringify(previous[k]) !== JSON.stringify(this.current[k]));
      this.emitter.fire({ settings: this.current, modelChanged, changed });
    });
  }

  get settings(): OverfillSettings {
    return this.current;
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}
