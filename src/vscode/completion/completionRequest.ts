// The request for a suggestion at a cursor: the text around it (as if the suggest widget's
// selected item were inserted, when the widget is open), the file's path and the context
// chunks, within the settings' budgets. Inline completions and Compare Modes both ask so.
import * as vscode from 'vscode';
import type { FlowRequest } from '../../completion/completionFlow';
import { languageEnabled } from '../settings/readSettings';
import type { OverfillSettings } from '../settings/settings';
import type { ContextCollector } from './contextCollector';
import { relativePath } from './contextCollector';
import { readDocumentWindow } from './documentWindow';

const CHARS_PER_TOKEN = 8;

/** Schemes whose documents are not the user's code. */
const IGNORED_SCHEMES = new Set(['output', 'vscode-scm', 'git', 'debug', 'vscode-settings', 'vscode-userdata']);

/** Whether `document` gets suggestions: enabled, its language on, a scheme that is the user's code. */
export function wantsSuggestions(document: vscode.TextDocument, s: OverfillSettings): boolean {
  return !IGNORED_SCHEMES.has(document.uri.scheme) && languageEnabled(s, document.languageId);
}

export interface Cursor {
  prefix: string;
  suffix: string;
  /** The suggest widget's item, which the suggestion must extend. */
  selected?: vscode.SelectedCompletionInfo;
}

/**
 * The text around the cursor. With the suggest widget open, the text as if its selected item
 * were inserted: VS Code shows ghost text beside the widget only if the item extends it.
 */
export function readCursor(document: vscode.TextDocument, position: vscode.Position, selected: vscode.SelectedCompletionInfo | undefined, maxChars: number): Cursor | undefined {
  // The item's range may reach past the cursor (insert mode "replace" inside a word).
  if (selected && selected.range.isSingleLine && selected.range.contains(position)) {
    const window = readDocumentWindow(document, selected.range.start, maxChars);
    if (!window) return undefined;
    const replaced = selected.range.end.character - selected.range.start.character;
    return { prefix: window.prefix + selected.text, suffix: window.suffix.slice(replaced), selected };
  }
  return readDocumentWindow(document, position, maxChars);
}

/** The engine request for `cursor` in `document`, within the settings' budgets (the caller checks wantsSuggestions first). */
export function completionRequest(document: vscode.TextDocument, cursor: Cursor, s: OverfillSettings, context: ContextCollector): FlowRequest {
  const folder = vscode.workspace.getWorkspaceFolder(document.uri);
  return {
    scope: document.uri.toString(),
    prefix: cursor.prefix,
    suffix: cursor.suffix,
    languageId: document.languageId,
    filePath: s.context.enable ? relativePath(document) : undefined,
    repoName: s.context.enable ? folder?.name : undefined,
    context: context.chunksFor(document, cursor.prefix.slice(-4 * 1024) + cursor.suffix.slice(0, 2 * 1024)),
    contextChunkTokens: s.context.maxTokens,
    maxNewTokens: s.maxNewTokens,
    contextTokens: s.contextSize,
    maxLines: s.maxLines,
  };
}

export function maxCursorChars(s: OverfillSettings): number {
  return s.contextSize * CHARS_PER_TOKEN;
}
