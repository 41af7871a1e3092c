// "OverFill: Explain Selection": streams the model's explanation of the selected code, rendered
// as Markdown, into a panel beside the editor. A second Explain cancels the first; the panel's
// Stop button or closing it cancels too. Ghost text never waits behind it: the engine lets a
// completion run between two of the explanation's decode steps.
import * as vscode from 'vscode';
import { isAbort } from '../../engine/errors';
import type { ErrorReporter } from '../errors/errorReporter';
import type { ModelController } from '../model/modelController';
import type { SettingsStore } from '../settings/settings';
import type { ExplainPanel } from './explainPanel';

const CHARS_PER_TOKEN = 8;
/** The panel is re-rendered at most this often while tokens stream in. */
const RENDER_MS = 50;

export class ExplainCommand {
  private running: AbortController | undefined;

  constructor(
    private readonly panel: ExplainPanel,
    private readonly settings: SettingsStore,
    private readonly model: ModelController,
    private readonly errors: ErrorReporter,
    /** Starts the model load if nothing was loaded yet (it loads lazily). */
    private readonly ensureModel: () => void,
    private readonly log: (message: string) => void,
  ) {}

  async run(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const code = editor?.document.getText(editor.selection) ?? '';
    if (!editor || !code.trim()) {
      void vscode.window.showInformationMessage('OverFill: select some code first, then run Explain Selection.');
      return;
    }
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    const s = this.settings.settings;
    const languageId = editor.document.languageId;
    const view = this.panel.open(clip(code, 4000), languageId, () => controller.abort());
    this.ensureModel();
    view.show('', `Generating with ${this.model.modelName}…`, true);
    const t0 = performance.now();
    let pending: string | undefined;
    let latest = '';
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      timer = undefined;
      if (pending !== undefined && !controller.signal.aborted) view.show(pending, `Generating with ${this.model.modelName}…`, true);
      pending = undefined;
    };
    try {
      const text = await this.model.explain(
        {
          code: clip(code, s.contextSize * CHARS_PER_TOKEN),
          languageId,
          maxNewTokens: s.explainMaxNewTokens,
          contextTokens: s.contextSize,
          refreshEvery: s.explainRefreshEvery,
        },
        controller.signal,
        (partial) => {
          pending = latest = partial;
          timer ??= setTimeout(flush, RENDER_MS);
        },
      );
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      this.log(`Explanation written in ${seconds} s: ${text.length} characters.`);
      view.show(text || '_(The model wrote no explanation.)_', `Written by ${this.model.modelName}, locally, in ${seconds} s.`, false);
    } catch (err) {
      if (controller.signal.aborted || isAbort(err)) {
        // Superseded by a newer explanation: that one owns the panel now.
        if (this.running === controller) view.show(latest, 'Stopped.', false);
        this.log(`Explanation stopped after ${((performance.now() - t0) / 1000).toFixed(1)} s${this.running === controller ? '' : ': a new one started'}.`);
      } else {
        view.show('', `Failed: ${err instanceof Error ? err.message : String(err)}`, false);
        this.errors.report(err, 'Explain Selection');
      }
    } finally {
      if (timer) clearTimeout(timer);
      if (this.running === controller) this.running = undefined;
    }
  }

  dispose(): void {
    this.running?.abort();
  }
}

function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : text.slice(text.length - maxChars);
}
