// Status bar item: what the engine is doing (loading / ready / working / restarting / error / off).
import * as vscode from 'vscode';

export type EngineState =
  | { kind: 'loading'; model: string }
  | { kind: 'ready'; model: string; detail: string }
  | { kind: 'working'; model: string }
  | { kind: 'restarting'; model: string; reason: string }
  | { kind: 'error'; message: string }
  | { kind: 'disabled' };

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('overfill.status', vscode.StatusBarAlignment.Right, 100);
  private lastReady: Extract<EngineState, { kind: 'ready' }> | undefined;
  private kind: EngineState['kind'] = 'loading';

  constructor(command: string) {
    this.item.name = 'OverFill';
    this.item.command = command;
    this.item.show();
  }

  set(state: EngineState): void {
    const item = this.item;
    item.backgroundColor = undefined;
    this.kind = state.kind;
    switch (state.kind) {
      case 'loading':
        item.text = `$(loading~spin) OverFill: ${state.model}`;
        item.tooltip = `Loading the model pair ${state.model}…`;
        break;
      case 'ready':
        this.lastReady = state;
        item.text = `$(sparkle) OverFill: ${state.model}`;
        item.tooltip = `OverFill ready: ${state.detail}`;
        break;
      case 'working':
        item.text = `$(sync~spin) OverFill: ${state.model}`;
        item.tooltip = 'Generating a suggestion…';
        break;
      case 'restarting':
        item.text = `$(loading~spin) OverFill: restarting`;
        item.tooltip = `The engine process stopped (${state.reason}); a new one is loading ${state.model}…`;
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
        break;
      case 'error':
        item.text = '$(error) OverFill';
        item.tooltip = `OverFill error: ${state.message}\nClick to open the log.`;
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
      case 'disabled':
        item.text = '$(circle-slash) OverFill';
        item.tooltip = 'Inline completions are off (overfill.enable).';
        break;
    }
  }

  /** Working on a request: shown only over "ready" (loading, restarting and errors stay visible). */
  busy(model: string): void {
    if (this.kind === 'ready') this.set({ kind: 'working', model });
  }

  /** Back to ready after a request or re-enabling, unless a load or an error came meanwhile. */
  idle(): void {
    if (this.lastReady && (this.kind === 'working' || this.kind === 'disabled')) this.set(this.lastReady);
  }

  dispose(): void {
    this.item.dispose();
  }
}
