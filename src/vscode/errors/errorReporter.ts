// Completion never throws into VS Code: errors go to the log, and each distinct error is
// shown to the user once (with a way to act on it). Repeats (a model that did not load fails
// every keystroke) are counted, and logged only at 10, 100, 1000... Aborts are silent.
import * as vscode from 'vscode';
import { isAbort, OverfillError } from '../../engine/errors';
import { ErrorTally } from './errorTally';

export class ErrorReporter {
  /** Times each distinct error was reported since the last model load. */
  private readonly tally = new ErrorTally();

  constructor(
    private readonly log: vscode.LogOutputChannel,
    /** Each distinct error, once (the status bar's tooltip keeps the last one). */
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  /** `note` follows the message where the user sees it (what is still working, say). */
  report(err: unknown, context: string, note = ''): void {
    if (isAbort(err)) return;
    const e = err instanceof OverfillError ? err : new OverfillError('ENGINE_CRASHED', err instanceof Error ? err.message : String(err));
    const { first, count, logRepeat } = this.tally.count(`${e.code}:${e.message}`);
    if (!first) {
      if (logRepeat) this.log.warn(`${context}: the same error ${count} times so far: [${e.code}] ${e.message}`);
      return;
    }
    this.log.error(`${context}: [${e.code}] ${e.message}${note ? ` ${note}` : ''}`);
    this.onError(e.message);
    // The model controller tells the user about an engine restart, once for all the requests it cut.
    if (e.code === 'ENGINE_STOPPED') return;
    const actions = e.code.startsWith('MODEL') || e.code === 'KV_LAYOUT_MISMATCH' || e.code === 'TOKENIZER_INVALID' ? ['Open Settings', 'Show Log'] : ['Show Log'];
    void vscode.window.showErrorMessage(`OverFill: ${e.message}${note ? ` ${note}` : ''}`, ...actions).then((choice) => {
      if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'overfill.model.path');
      if (choice === 'Show Log') this.log.show();
    });
  }

  warnOnce(key: string, message: string): void {
    if (!this.tally.count(`warn:${key}`).first) return;
    this.log.warn(message);
    void vscode.window.showWarningMessage(`OverFill: ${message}`);
  }

  /** A new model was loaded: its errors may be shown again. */
  reset(): void {
    this.tally.reset();
  }
}
