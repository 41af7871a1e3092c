// The one place `overfill.*` settings are read (through readSettings.ts) and reacted to: a
// change event that says what changed and whether the model must be reloaded.
import * as vscode from 'vscode';
import { readSettings, warnOnceEach, type OverfillSettings, type Warn } from './readSettings';

export type { OverfillSettings } from './readSettings';

function read(warn: Warn): OverfillSettings {
  return readSettings(vscode.workspace.getConfiguration('overfill'), warn);
}

/** Holds the current settings and tells listeners what changed, live. */
export class SettingsStore implements vscode.Disposable {
  private current: OverfillSettings;
  private readonly emitter = new vscode.EventEmitter<{ settings: OverfillSettings; modelChanged: boolean; changed: string[] }>();
  readonly onDidChange = this.emitter.event;
  private readonly subscription: vscode.Disposable;

  private readonly warn: Warn;

  constructor(warn: Warn) {
    this.warn = warnOnceEach(warn);
    this.current = read(this.warn);
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('overfill')) return;
      const previous = this.current;
      this.current = read(this.warn);
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
