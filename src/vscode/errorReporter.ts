// Completion never throws into VS Code: errors go to the log, and each distinct error is
// shown to the user once (with a way to act on it). Repeats (a model that did not load fails
// every keystroke) are counted, and logged only at 10, 100, 1000... Aborts are silent.
import * as vscode from 'vscode';
import { isAbort, OverfillError } from '../engine/errors';

/** Distinct errors remembered; the oldest is forgotten first. */
const MAX_DISTINCT = 200;

export class ErrorReporter {
  /** Times each distinct error was reported since the last model load. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** Counts `key`; true the first time. */
  private firstTime(key: string): { first: boolean; count: number } {
    const count = (this.seen.get(key) ?? 0) + 1;
    this.seen.delete(key);
    this.seen.set(key, count);
    if (this.seen.size > MAX_DISTINCT) this.seen.delete(this.seen.keys().next().value as string);
    return { first: count === 1, count };
  }

  report(err: unknown, context: string): void {
    if (isAbort(err)) return;
    const e = err instanceof OverfillError ? err : new OverfillError('ENGINE_CRASHED', err instanceof Error ? err.message : String(err));
    const { first, count } = this.firstTime(`${e.code}:${e.message}`);
    if (!first) {
      if (Number.isInteger(Math.log10(count))) this.log.warn(`${context}: the same error ${count} times so far: [${e.code}] ${e.message}`);
      return;
    }
    this.log.error(`${context}: [${e.code}] ${e.message}`);
    const actions = e.code.startsWith('MODEL') || e.code === 'KV_LAYOUT_MISMATCH' || e.code === 'TOKENIZER_INVALID' ? ['Open Settings', 'Show Log'] : ['Show Log'];
    void vscode.window.showErrorMessage(`OverFill: ${e.message}`, ...actions).then((choice) => {
      if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'overfill.model.path');
      if (choice === 'Show Log') this.log.show();
    });
  }

  warnOnce(key: string, message: string): void {
    if (!this.firstTime(`warn:${key}`).first) return;
    this.log.warn(message);
    void vscode.window.showWarningMessage(`OverFill: ${message}`);
  }

  /** A new model was loaded: its errors may be shown again. */
  reset(): void {
    this.seen.clear();
  }
}
