// Ghost-text suggestions: debounce, read the text around the cursor, ask the engine (in its
// worker), and hand VS Code the cleaned suggestion. Honours the cancellation token throughout.
import * as vscode from 'vscode';
import { readDocumentWindow } from './documentWindow';
import type { ErrorReporter } from './errorReporter';
import type { ModelController } from './modelController';
import type { SettingsStore } from './settings';

/** Schemes whose documents are not the user's code. */
const IGNORED_SCHEMES = new Set(['output', 'overfill-explain', 'vscode-scm', 'git', 'debug']);
const CHARS_PER_TOKEN = 8;

export class InlineCompletionProvider implements vscode.InlineCompletionItemProvider {
  constructor(
    private readonly settings: SettingsStore,
    private readonly model: ModelController,
    private readonly errors: ErrorReporter,
  ) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    _context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const s = this.settings.settings;
    if (!s.enable || IGNORED_SCHEMES.has(document.uri.scheme)) return undefined;
    if (!(await delay(s.debounceMs, token))) return undefined;
    const window = readDocumentWindow(document, position, s.contextSize * CHARS_PER_TOKEN);
    if (!window || token.isCancellationRequested) return undefined;
    const controller = new AbortController();
    const onCancel = token.onCancellationRequested(() => controller.abort());
    try {
      const result = await this.model.complete(
        { prefix: window.prefix, suffix: window.suffix, languageId: document.languageId, maxNewTokens: s.maxNewTokens, contextTokens: s.contextSize },
        controller.signal,
      );
      if (!result.text || token.isCancellationRequested) return undefined;
      return [new vscode.InlineCompletionItem(result.text, new vscode.Range(position, position))];
    } catch (err) {
      this.errors.report(err, 'Inline completion');
      return undefined;
    } finally {
      onCancel.dispose();
    }
  }
}

/** Waits `ms`, resolving false if the token is cancelled first. */
function delay(ms: number, token: vscode.CancellationToken): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!token.isCancellationRequested);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sub.dispose();
      resolve(!token.isCancellationRequested);
    }, ms);
    const sub = token.onCancellationRequested(() => {
      clearTimeout(timer);
      sub.dispose();
      resolve(false);
    });
  });
}
