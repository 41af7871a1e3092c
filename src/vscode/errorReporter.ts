// Completion never throws into VS Code: errors go to the log, and each distinct error is
// shown to the user once (with a way to act on it). Aborts are silent.
import * as vscode from 'vscode';
import { isAbort, OverfillError } from '../engine/errors';

export class ErrorReporter {
  private readonly shown = new Set<string>();

  constructor(private readonly log: vscode.LogOutputChannel) {}

  report(err: unknown, context: string): void {
    if (isAbort(err)) return;
    const e = err instanceof OverfillError ? err : new OverfillError('ENGINE_CRASHED', err instanceof Error ? err.message : String(err));
    this.log.error(`${context}: [${e.code}] ${e.message}`);
    const key = `${e.code}:${e.message}`;
    if (this.shown.has(key)) return;
    this.shown.add(key);
    const actions = e.code.startsWith('MODEL') || e.code === 'KV_LAYOUT_MISMATCH' || e.code === 'TOKENIZER_INVALID' ? ['Open Settings', 'Show Log'] : ['Show Log'];
    void vscode.window.showErrorMessage(`OverFill: ${e.message}`, ...actions).then((choice) => {
      if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'overfill.model.path');
      if (choice === 'Show Log') this.log.show();
    });
  }

  warnOnce(key: string, message: string): void {
    this.log.warn(message);
    if (this.shown.has(key)) return;
    this.shown.add(key);
    void vscode.window.showWarningMessage(`OverFill: ${message}`);
  }

  /** A new model was loaded: its errors may be shown again. */
  reset(): void {
    this.shown.clear();
  }
}
