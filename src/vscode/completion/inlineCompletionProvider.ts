// Ghost-text suggestions: read the text around the cursor (as if the suggest widget's selected
// item were inserted, when the widget is open), hand it to the completion flow (cache, typing
// along, debounce, the engine in its process) and give VS Code an item it will show.
import * as vscode from 'vscode';
import type { CompletionFlow, FlowRequest } from '../../completion/completionFlow';
import type { ContextCollector } from './contextCollector';
import { relativePath } from './contextCollector';
import { readDocumentWindow } from './documentWindow';
import type { ErrorReporter } from '../errors/errorReporter';
import type { SettingsStore } from '../settings/settings';

/** Schemes whose documents are not the user's code. */
const IGNORED_SCHEMES = new Set(['output', 'overfill-explain', 'vscode-scm', 'git', 'debug']);
const CHARS_PER_TOKEN = 8;

interface Cursor {
  prefix: string;
  suffix: string;
  /** The suggest widget's item, which the suggestion must extend. */
  selected?: vscode.SelectedCompletionInfo;
}

/**
 * The text around the cursor. With the suggest widget open, the text as if its selected item
 * were inserted: VS Code shows ghost text beside the widget only if the item extends it.
 */
function readCursor(document: vscode.TextDocument, position: vscode.Position, selected: vscode.SelectedCompletionInfo | undefined, maxChars: number): Cursor | undefined {
  // The item's range may reach past the cursor (insert mode "replace" inside a word).
  if (selected && selected.range.isSingleLine && selected.range.contains(position)) {
    const window = readDocumentWindow(document, selected.range.start, maxChars);
    if (!window) return undefined;
    const replaced = selected.range.end.character - selected.range.start.character;
    return { prefix: window.prefix + selected.text, suffix: window.suffix.slice(replaced), selected };
  }
  return readDocumentWindow(document, position, maxChars);
}

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
    if (!s.enable || IGNORED_SCHEMES.has(document.uri.scheme)) return undefined;
    const cursor = readCursor(document, position, context.selectedCompletionInfo, s.contextSize * CHARS_PER_TOKEN);
    if (!cursor || token.isCancellationRequested) return undefined;
    const folder = vscode.workspace.getWorkspaceFolder(document.uri);
    const request: FlowRequest = {
      scope: document.uri.toString(),
      prefix: cursor.prefix,
      suffix: cursor.suffix,
      languageId: document.languageId,
      filePath: s.context.enable ? relativePath(document) : undefined,
      repoName: s.context.enable ? folder?.name : undefined,
      context: this.context.chunksFor(document, cursor.prefix.slice(-4 * 1024) + cursor.suffix.slice(0, 2 * 1024)),
      contextChunkTokens: s.context.maxTokens,
      maxNewTokens: s.maxNewTokens,
      contextTokens: s.contextSize,
      maxLines: s.maxLines,
    };
    const abort = abortSignalOf(token);
    try {
      const answer = await this.flow.provide(request, abort.signal);
      if (!answer?.text || token.isCancellationRequested) return undefined;
      if (cursor.selected) return [new vscode.InlineCompletionItem(cursor.selected.text + answer.text, cursor.selected.range)];
      return [new vscode.InlineCompletionItem(answer.text, new vscode.Range(position, position))];
    } catch (err) {
      this.errors.report(err, 'Inline completion');
      return undefined;
    } finally {
      abort.dispose();
    }
  }
}
