// One hint, per model and session, when suggestions come slower than `overfill.slowSuggestionMs`:
// what made it slow and what to do about it (as Tabby warns on high latency, and says why).
import * as vscode from 'vscode';
import type { ModelInfo } from '../../engine/requests';
import { formatLatency, type SuggestionFigures } from './suggestionFigures';

export class SlowHint {
  private readonly hinted = new Set<string>();

  maybeShow(figures: SuggestionFigures, boundMs: number, info: ModelInfo | undefined): void {
    if (boundMs <= 0 || figures.ms <= boundMs || !info) return;
    const key = `${info.folder}|${info.provider}`;
    if (this.hinted.has(key)) return;
    this.hinted.add(key);
    const gpu = info.provider === 'cpu' ? ' a GPU provider (overfill.executionProvider),' : '';
    const message =
      `OverFill: that suggestion took ${formatLatency(figures.ms)} (${info.name} on ${info.provider.toUpperCase()}, ${figures.promptTokens}-token prompt, ${figures.cachedTokens} from the cache). ` +
      `For faster ones: a smaller model,${gpu} or a smaller overfill.contextSize.`;
    void vscode.window.showInformationMessage(message, 'Select Model', 'Open Settings').then((choice) => {
      if (choice === 'Select Model') void vscode.commands.executeCommand('overfill.selectModel');
      if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'overfill.contextSize');
    });
  }
}
