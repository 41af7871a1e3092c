// The panel beside the editor where explanations stream in, rendered as Markdown. One panel:
// a new explanation replaces the one shown (and the command cancels the one running). Closing
// the panel stops the explanation and releases its text.
import * as vscode from 'vscode';
import { renderMarkdown, webviewPage } from '../webview/webviewPage';

export interface ExplainView {
  /** The explanation so far (Markdown) and a line saying where it stands. */
  show(markdown: string, state: string, running: boolean): void;
}

const SCRIPT = `
  const vscode = acquireVsCodeApi();
  const body = document.getElementById('explanation');
  const state = document.getElementById('state');
  const stop = document.getElementById('stop');
  stop.addEventListener('click', () => vscode.postMessage({ type: 'stop' }));
  // The page may load after the first updates were sent (or reload when its tab comes back).
  vscode.postMessage({ type: 'ready' });
  window.addEventListener('message', (event) => {
    const m = event.data;
    if (m.type !== 'render') return;
    body.innerHTML = m.html; // rendered by markdown-it with raw HTML escaped
    state.textContent = m.state;
    stop.hidden = !m.running;
    document.body.dataset.running = String(m.running);
  });
`;

export class ExplainPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private onStop: (() => void) | undefined;
  /** The last render: sent again when the page (re)loads. */
  private latest: { type: 'render'; html: string; state: string; running: boolean } | undefined;

  /** Opens (or re-uses) the panel for a new explanation of `code`; `stop` ends it early. */
  open(code: string, languageId: string, stop: () => void): ExplainView {
    this.onStop = stop;
    this.latest = undefined;
    const panel = this.panel ?? this.create();
    const fence = '`'.repeat(Math.max(3, longestBacktickRun(code) + 1));
    panel.webview.html = webviewPage(
      'Explanation',
      `<h1>Explanation</h1>
<p class="state"><span id="state">Starting…</span> <button id="stop">Stop</button></p>
<div id="explanation"></div>
<hr>
<div id="code">${renderMarkdown(`${fence}${languageId}\n${code}\n${fence}`)}</div>`,
      SCRIPT,
    );
    panel.reveal(vscode.ViewColumn.Beside, true);
    return {
      show: (markdown, state, running) => {
        if (this.panel !== panel) return; // closed meanwhile
        this.latest = { type: 'render', html: renderMarkdown(markdown), state, running };
        void panel.webview.postMessage(this.latest);
      },
    };
  }

  private create(): vscode.WebviewPanel {
    const panel = vscode.window.createWebviewPanel('overfill.explanation', 'OverFill: Explanation', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      localResourceRoots: [],
    });
    panel.webview.onDidReceiveMessage((m: { type?: string }) => {
      if (m.type === 'stop') this.onStop?.();
      if (m.type === 'ready' && this.latest) void panel.webview.postMessage(this.latest);
    });
    panel.onDidDispose(() => {
      this.onStop?.();
      this.onStop = undefined;
      this.latest = undefined;
      this.panel = undefined;
    });
    this.panel = panel;
    return panel;
  }

  dispose(): void {
    this.panel?.dispose();
  }
}

function longestBacktickRun(text: string): number {
  return Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
}
