// "OverFill: Explain Selection": streams the model's explanation of the selected code into a
// read-only Markdown document beside the editor. Cancellable from the progress notification.
import * as vscode from 'vscode';
import type { ErrorReporter } from '../errors/errorReporter';
import type { ModelController } from '../model/modelController';
import type { SettingsStore } from '../settings/settings';

export const EXPLAIN_SCHEME = 'overfill-explain';
const CHARS_PER_TOKEN = 8;

/** Explanations kept at most, open or not; the oldest is dropped first. */
const MAX_EXPLANATIONS = 20;

/**
 * Serves the explanation documents; each update re-renders the open view. An explanation's
 * text is released when VS Code closes its document (which it does some time after its tab).
 */
export class ExplainDocuments implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;
  private readonly closing = vscode.workspace.onDidCloseTextDocument((doc) => {
    if (doc.uri.scheme === EXPLAIN_SCHEME) this.texts.delete(doc.uri.toString());
  });

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  set(uri: vscode.Uri, text: string): void {
    const key = uri.toString();
    if (!this.texts.has(key) && this.texts.size >= MAX_EXPLANATIONS) this.texts.delete(this.texts.keys().next().value as string);
    this.texts.set(key, text);
    this.emitter.fire(uri);
  }

  dispose(): void {
    this.closing.dispose();
    this.emitter.dispose();
  }
}

export class ExplainCommand {
  private count = 0;

  constructor(
    private readonly documents: ExplainDocuments,
    private readonly settings: SettingsStore,
    private readonly model: ModelController,
    private readonly errors: ErrorReporter,
  ) {}

  async run(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const code = editor?.document.getText(editor.selection) ?? '';
    if (!editor || !code.trim()) {
      void vscode.window.showInformationMessage('OverFill: select some code first, then run Explain Selection.');
      return;
    }
    const s = this.settings.settings;
    const uri = vscode.Uri.from({ scheme: EXPLAIN_SCHEME, path: `/Explanation ${++this.count}.md` });
    const render = (body: string, state: string): string =>
      `# Explanation\n\n_${state}_\n\n${body}\n\n---\n\n\`\`\`${editor.document.languageId}\n${clip(code, 2000)}\n\`\`\`\n`;
    this.documents.set(uri, render('', 'Generating…'));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: false });
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'OverFill: explaining the selection', cancellable: true },
      async (_progress, token) => {
        const controller = new AbortController();
        const sub = token.onCancellationRequested(() => controller.abort());
        try {
          const text = await this.model.explain(
            { code: clip(code, s.contextSize * CHARS_PER_TOKEN), languageId: editor.document.languageId, maxNewTokens: s.explainMaxNewTokens, contextTokens: s.contextSize },
            controller.signal,
            (partial) => this.documents.set(uri, render(partial, `Generating with ${this.model.modelName}…`)),
          );
          this.documents.set(uri, render(text || '(The model wrote no explanation.)', `Written by ${this.model.modelName}, locally.`));
        } catch (err) {
          this.documents.set(uri, render('', controller.signal.aborted ? 'Cancelled.' : `Failed: ${err instanceof Error ? err.message : String(err)}`));
          this.errors.report(err, 'Explain Selection');
        } finally {
          sub.dispose();
        }
      },
    );
  }
}

function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : text.slice(text.length - maxChars);
}
