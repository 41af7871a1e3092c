// Feeds the context ring from what the user does in the editor: the files they switch to, the
// places they edit, save, and select text in (VS Code reports no copy event; a selection is
// where a copy starts). Chunks join the prompt at pauses only (see completion/contextRing.ts).
import * as vscode from 'vscode';
import { ContextRing } from '../../completion/contextRing';
import type { ContextChunk } from '../../engine/requests';
import type { OverfillSettings, SettingsStore } from '../settings/settings';

/** Documents whose text may become context: the user's files, saved or not. */
const SCHEMES = new Set(['file', 'untitled', 'vscode-remote', 'vscode-userdata']);
/** A selection held this long is taken as a chunk. */
const SELECTION_MS = 400;

function limitsOf(s: OverfillSettings): { maxChunks: number; chunkLines: number } {
  return { maxChunks: s.context.enable ? s.context.maxChunks : 0, chunkLines: s.context.chunkLines };
}

export function relativePath(document: vscode.TextDocument): string | undefined {
  if (document.isUntitled) return undefined;
  return vscode.workspace.asRelativePath(document.uri, false);
}

export class ContextCollector implements vscode.Disposable {
  private readonly ring: ContextRing;
  /** The line last edited in each open document (bounded by the open documents: closed ones are dropped). */
  private readonly lastEdit = new Map<string, number>();
  private selectionTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly settings: SettingsStore) {
    this.ring = new ContextRing(limitsOf(settings.settings));
    let active = vscode.window.activeTextEditor;
    this.subscriptions.push(
      settings.onDidChange(({ settings: next }) => {
        this.ring.setLimits(limitsOf(next));
        if (!next.context.enable) this.ring.clear();
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        // Leaving a file: where it was edited last is worth remembering.
        if (active) this.offerAround(active.document, this.lastEdit.get(active.document.uri.toString()));
        if (editor) this.offerAround(editor.document, editor.selection.active.line);
        active = editor;
        this.commit();
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length && SCHEMES.has(e.document.uri.scheme)) this.lastEdit.set(e.document.uri.toString(), e.contentChanges[0].range.start.line);
      }),
      vscode.workspace.onDidSaveTextDocument((document) => {
        this.offerAround(document, this.lastEdit.get(document.uri.toString()) ?? vscode.window.activeTextEditor?.selection.active.line);
      }),
      vscode.workspace.onDidCloseTextDocument((document) => this.lastEdit.delete(document.uri.toString())),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        clearTimeout(this.selectionTimer);
        const selection = e.selections[0];
        if (!selection || selection.isEmpty) return;
        this.selectionTimer = setTimeout(() => this.offerAround(e.textEditor.document, Math.floor((selection.start.line + selection.end.line) / 2)), SELECTION_MS);
      }),
    );
    if (active) this.offerAround(active.document, active.selection.active.line);
  }

  private offerAround(document: vscode.TextDocument, line: number | undefined): void {
    if (line === undefined || !this.settings.settings.context.enable || !SCHEMES.has(document.uri.scheme)) return;
    this.ring.offer(relativePath(document) ?? document.uri.path, document.lineCount, (i) => document.lineAt(i).text, line);
  }

  /** Queued chunks join the prompt: at a pause in typing, or on switching files. */
  commit(): void {
    this.ring.commit();
  }

  /** Chunks for a prompt in `document`, minus what its window already holds. */
  chunksFor(document: vscode.TextDocument, windowText: string): ContextChunk[] {
    if (!this.settings.settings.context.enable) return [];
    return this.ring.chunksFor(relativePath(document) ?? document.uri.path, windowText);
  }

  dispose(): void {
    clearTimeout(this.selectionTimer);
    for (const s of this.subscriptions) s.dispose();
  }
}
