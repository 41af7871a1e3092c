// Status bar item: what the engine is doing (not loaded / loading / ready / working /
// restarting / error / off), on which provider, and how fast the last suggestion came. The
// tooltip has the figures behind it and the last error; a click opens the OverFill menu.
import * as vscode from 'vscode';
import { describeFigures, formatLatency, type SuggestionFigures } from './suggestionFigures';

export type EngineState =
  | { kind: 'idle' }
  | { kind: 'loading'; model: string }
  | { kind: 'ready'; model: string; provider: string; detail: string; /** Why other providers did not run. */ notes?: string[] }
  | { kind: 'working'; model: string }
  | { kind: 'restarting'; model: string; reason: string }
  | { kind: 'error'; message: string }
  | { kind: 'disabled' };

type Ready = Extract<EngineState, { kind: 'ready' }>;

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('overfill.status', vscode.StatusBarAlignment.Right, 100);
  private lastReady: Ready | undefined;
  private state: EngineState = { kind: 'idle' };
  private last: SuggestionFigures | undefined;
  private lastError: string | undefined;

  constructor(command: string) {
    this.item.name = 'OverFill';
    this.item.command = command;
    this.render();
    this.item.show();
  }

  set(state: EngineState): void {
    if (state.kind === 'ready') {
      // Another model's figures say nothing about this one.
      if (this.lastReady?.model !== state.model || this.lastReady.provider !== state.provider) this.last = undefined;
      this.lastReady = state;
    }
    if (state.kind === 'error') this.lastError = state.message;
    this.state = state;
    this.render();
  }

  /** A model run answered a request: its latency shows until the next one. */
  suggestion(figures: SuggestionFigures): void {
    this.last = figures;
    this.render();
  }

  /** An error the user was told about: the tooltip keeps it until the next load. */
  error(message: string): void {
    this.lastError = message;
    this.render();
  }

  clearError(): void {
    this.lastError = undefined;
    this.render();
  }

  /** Working on a request: shown only over "ready" (loading, restarting and errors stay visible). */
  busy(model: string): void {
    if (this.state.kind === 'ready') this.set({ kind: 'working', model });
  }

  /** A request ended: back to ready, unless a load, an error or "off" came meanwhile. */
  idle(): void {
    if (this.lastReady && this.state.kind === 'working') this.set(this.lastReady);
  }

  /** Suggestions were turned back on. */
  enabled(): void {
    if (this.lastReady && this.state.kind === 'disabled') this.set(this.lastReady);
  }

  private render(): void {
    const item = this.item;
    const state = this.state;
    item.backgroundColor = undefined;
    const latency = this.last ? ` · ${formatLatency(this.last.ms)}` : '';
    let headline: string;
    switch (state.kind) {
      case 'idle':
        item.text = '$(circle-outline) OverFill';
        headline = 'OverFill: no model loaded yet. It loads when you open a file in a language it is enabled for.';
        break;
      case 'loading':
        item.text = `$(loading~spin) OverFill: ${state.model}`;
        headline = `Loading the model pair ${state.model}…`;
        break;
      case 'ready':
        item.text = `$(sparkle) ${state.model} · ${state.provider.toUpperCase()}${latency}`;
        headline = `OverFill ready: ${state.detail}`;
        break;
      case 'working':
        item.text = `$(sync~spin) ${state.model}${this.lastReady ? ` · ${this.lastReady.provider.toUpperCase()}` : ''}${latency}`;
        headline = 'Generating a suggestion…';
        break;
      case 'restarting':
        item.text = '$(loading~spin) OverFill: restarting';
        headline = `The engine process stopped (${state.reason}); a new one is loading ${state.model}…`;
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
        break;
      case 'error':
        item.text = '$(error) OverFill';
        headline = `OverFill error: ${state.message}`;
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
      case 'disabled':
        item.text = '$(circle-slash) OverFill';
        headline = 'Inline completions are off (overfill.enable).';
        break;
    }
    const lines = [escape(headline)];
    const notes = state.kind === 'ready' || state.kind === 'working' ? (this.lastReady?.notes ?? []) : [];
    if (notes.length) lines.push('', ...notes.map(escape));
    if (this.last && state.kind !== 'idle') lines.push('', ...describeFigures(this.last));
    if (this.lastError && state.kind !== 'error') lines.push('', `Last error: ${escape(this.lastError)}`);
    lines.push('', 'Click for the OverFill menu.');
    const tooltip = new vscode.MarkdownString(lines.join('  \n'));
    tooltip.supportThemeIcons = false;
    item.tooltip = tooltip;
  }

  dispose(): void {
    this.item.dispose();
  }
}

/** Model names and error messages are not Markdown. */
function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!<>|]/g, '\\$&');
}
