// Ghost-text suggestions: read the text around the cursor, hand it to the completion flow
// (cache, typing along, debounce, the engine in its process) and give VS Code an item it will
// show. An explicit trigger (Alt+\) skips the flow and asks for alternatives, which VS Code
// cycles with its own keys (Alt+] and Alt+[).
import * as vscode from 'vscode';
import type { CompletionFlow } from '../../completion/completionFlow';
import type { CompletionRequest, CompletionResult } from '../../engine/requests';
import type { ErrorReporter } from '../errors/errorReporter';
import type { SettingsStore } from '../settings/settings';
import { completionRequest, maxCursorChars, readCursor, wantsSuggestions } from './completionRequest';
import type { ContextCollector } from './contextCollector';

/** Alternatives asked for on an explicit trigger. */
const ALTERNATIVES = 3;

function abortSignalOf(token: vscode.CancellationToken): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  const sub = token.onCancellationRequested(() => controller.abort());
  return { signal: controller.signal, dispose: () => sub.dispose() };
}

export class InlineCompletionProvider implements vscode.InlineCompletionItemProvider {
  constructor(
    private readonly settings: SettingsStore,
    private readonly flow: CompletionFlow,
    /** One model run outside the flow (explicit triggers): the status bar hears of it too. */
    private readonly runOnce: (request: CompletionRequest, signal: AbortSignal) => Promise<CompletionResult>,
    private readonly context: ContextCollector,
    private readonly errors: ErrorReporter,
  ) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const s = this.settings.settings;
    if (!wantsSuggestions(document, s)) return undefined;
    const cursor = readCursor(document, position, context.selectedCompletionInfo, maxCursorChars(s));
    if (!cursor || token.isCancellationRequested) return undefined;
    const request = completionRequest(document, cursor, s, this.context);
    const abort = abortSignalOf(token);
    try {
      let texts: string[];
      if (context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke) {
        const result = await this.runOnce({ ...request, alternatives: ALTERNATIVES }, abort.signal);
        texts = result.alternatives?.length ? result.alternatives : [result.text];
      } else {
        const answer = await this.flow.provide(request, abort.signal);
        texts = answer?.text ? [answer.text] : [];
      }
      texts = texts.filter(Boolean);
      if (!texts.length || token.isCancellationRequested) return undefined;
      if (cursor.selected) {
        const { text, range } = cursor.selected;
        return texts.map((t) => new vscode.InlineCompletionItem(text + t, range));
      }
      return texts.map((t) => new vscode.InlineCompletionItem(t, new vscode.Range(position, position)));
    } catch (err) {
      this.errors.report(err, 'Inline completion');
      return undefined;
    } finally {
      abort.dispose();
    }
  }
}
