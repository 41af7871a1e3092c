// "OverFill: Compare Modes at Cursor": the same cursor, three ways: OverFill (full model
// prefills, pruned decoder writes), full-only and decoder-only, one after the other with the
// prompt cache off so each pays its own prefill. Shows the suggestions side by side with time
// to first token, decode speed and total time: the paper's claim, on the user's own code.
import * as vscode from 'vscode';
import type { GenerationMode } from '../../engine/generate/generate';
import type { CompletionRequest, CompletionResult } from '../../engine/requests';
import { completionRequest, maxCursorChars, readCursor } from '../completion/completionRequest';
import type { ContextCollector } from '../completion/contextCollector';
import type { ErrorReporter } from '../errors/errorReporter';
import type { ModelController } from '../model/modelController';
import type { SettingsStore } from '../settings/settings';
import { formatLatency } from '../status/suggestionFigures';
import { escapeHtml, webviewPage } from '../webview/webviewPage';

const MODES: { mode: GenerationMode; title: string; what: string }[] = [
  { mode: 'overfill', title: 'OverFill', what: 'full model prefills, pruned decoder writes' },
  { mode: 'full', title: 'Full only', what: 'full model prefills and writes' },
  { mode: 'decoder', title: 'Decoder only', what: 'pruned decoder prefills and writes' },
];

type Cell = { state: 'waiting' } | { state: 'running' } | { state: 'done'; result: CompletionResult; wallMs: number } | { state: 'failed'; message: string };

export class CompareModes implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private running: AbortController | undefined;

  constructor(
    private readonly settings: SettingsStore,
    private readonly model: ModelController,
    private readonly context: ContextCollector,
    private readonly errors: ErrorReporter,
    private readonly ensureModel: () => void,
    /** One model run with its own request (the engine's queue, the status bar's figures). */
    private readonly runOnce: (request: CompletionRequest, signal: AbortSignal) => Promise<CompletionResult>,
  ) {}

  async run(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('OverFill: open a file and put the cursor where a suggestion should go, then run Compare Modes at Cursor.');
      return;
    }
    const s = this.settings.settings;
    const cursor = readCursor(editor.document, editor.selection.active, undefined, maxCursorChars(s));
    if (!cursor) {
      void vscode.window.showInformationMessage('OverFill: this file cannot be read as text here (binary, or a line too long).');
      return;
    }
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    this.ensureModel();
    const request = completionRequest(editor.document, cursor, s, this.context);
    const where = `${vscode.workspace.asRelativePath(editor.document.uri)}:${editor.selection.active.line + 1}:${editor.selection.active.character + 1}`;
    const cells: Cell[] = MODES.map(() => ({ state: 'waiting' }));
    const panel = this.show();
    const render = (note: string): void => {
      // A newer comparison owns the panel: this one stops drawing on it.
      if (this.panel === panel && this.running === controller) panel.webview.html = page(where, this.model.modelName, cells, note);
    };
    render('Running…');
    try {
      for (let i = 0; i < MODES.length; i++) {
        if (controller.signal.aborted) break;
        cells[i] = { state: 'running' };
        render('Running…');
        const t0 = performance.now();
        try {
          const result = await this.runOnce({ ...request, mode: MODES[i].mode, promptCache: false }, controller.signal);
          cells[i] = { state: 'done', result, wallMs: performance.now() - t0 };
        } catch (err) {
          if (controller.signal.aborted) break;
          cells[i] = { state: 'failed', message: err instanceof Error ? err.message : String(err) };
          this.errors.report(err, 'Compare Modes');
        }
      }
      const info = this.model.current;
      const fullOnly = info?.kind === 'full-only' ? ' This model is a standard export with no decoder: every mode runs the full model.' : '';
      render(controller.signal.aborted ? 'Stopped.' : `Each mode ran with the prompt cache off, on ${info?.provider.toUpperCase() ?? '?'}.${fullOnly}`);
    } finally {
      if (this.running === controller) this.running = undefined;
    }
  }

  private show(): vscode.WebviewPanel {
    if (this.panel) {
      this.panel.reveal(vscode.ViewColumn.Beside, true);
      return this.panel;
    }
    const panel = vscode.window.createWebviewPanel('overfill.compareModes', 'OverFill: Compare Modes', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: false, localResourceRoots: [] });
    panel.onDidDispose(() => {
      this.running?.abort();
      this.panel = undefined;
    });
    this.panel = panel;
    return panel;
  }

  dispose(): void {
    this.running?.abort();
    this.panel?.dispose();
  }
}

function figures(cell: Cell): string {
  switch (cell.state) {
    case 'waiting':
      return 'waiting';
    case 'running':
      return 'running…';
    case 'failed':
      return `failed: ${escapeHtml(cell.message)}`;
    case 'done': {
      const r = cell.result;
      const steps = r.ids.length - 1;
      const tps = steps > 0 && r.decodeMs > 0 ? `${((steps * 1000) / r.decodeMs).toFixed(0)} tokens/s` : 'n/a';
      return [
        `time to first token <b class="figure" data-figure="ttft">${formatLatency(r.prefillMs)}</b>`,
        `decode <b class="figure" data-figure="tps">${tps}</b>`,
        `total <b class="figure" data-figure="total">${formatLatency(cell.wallMs)}</b>`,
        `${r.ids.length} tokens, prompt ${r.promptTokens} tokens`,
      ].join('<br>');
    }
  }
}

function suggestion(cell: Cell): string {
  if (cell.state !== 'done') return '';
  return cell.result.text ? `<pre data-suggestion>${escapeHtml(cell.result.text)}</pre>` : '<p data-suggestion><i>(no suggestion: the rules cut it to nothing)</i></p>';
}

function page(where: string, model: string, cells: Cell[], note: string): string {
  const head = MODES.map((m) => `<th>${m.title}<br><small>${m.what}</small></th>`).join('');
  const row1 = cells.map((c, i) => `<td data-mode="${MODES[i].mode}" data-state="${c.state}">${figures(c)}</td>`).join('');
  const row2 = cells.map((c) => `<td>${suggestion(c)}</td>`).join('');
  return webviewPage(
    'Compare Modes',
    `<h1>Compare modes at ${escapeHtml(where)}</h1>
<p class="state">${escapeHtml(model)}: ${escapeHtml(note)}</p>
<table><tr>${head}</tr><tr>${row1}</tr><tr>${row2}</tr></table>`,
    '',
  );
}
