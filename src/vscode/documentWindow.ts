// The text around the cursor, read line by line up to a character budget, so a 50k-line file
// costs no more than a small one; binary-looking text is refused.
import * as vscode from 'vscode';

/**
 * The window's first line moves in steps of this many lines: while the user types, the text
 * sent stays anchored at the same line, so the engine's cached prompt KV stays usable.
 */
const START_LINE_STEP = 64;

export interface DocumentWindow {
  prefix: string;
  suffix: string;
}

export function readDocumentWindow(document: vscode.TextDocument, position: vscode.Position, maxChars: number): DocumentWindow | undefined {
  const current = document.lineAt(position.line).text;
  let used = position.character;
  let first = position.line;
  while (first > 0 && used < maxChars) {
    first--;
    used += document.lineAt(first).text.length + 1;
  }
  const anchored = Math.floor(first / START_LINE_STEP) * START_LINE_STEP;
  for (let line = first - 1; line >= anchored && used < 2 * maxChars; line--) used += document.lineAt(line).text.length + 1;
  if (used < 2 * maxChars) first = anchored; // unless the extra lines are huge (minified code)
  const before: string[] = [current.slice(0, position.character)];
  for (let line = position.line - 1; line >= first; line--) before.push(document.lineAt(line).text);
  const after: string[] = [current.slice(position.character)];
  used = after[0].length;
  for (let line = position.line + 1; line < document.lineCount && used < maxChars; line++) {
    const text = document.lineAt(line).text;
    after.push(text);
    used += text.length + 1;
  }
  const prefix = before.reverse().join('\n');
  const suffix = after.join('\n');
  if (looksBinary(prefix) || looksBinary(suffix)) return undefined;
  return { prefix, suffix };
}

/** NUL characters or a high share of control characters: not source code. */
export function looksBinary(text: string): boolean {
  if (text.includes('\u0000')) return true;
  const sample = text.slice(-4096);
  let control = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) control++;
  }
  return sample.length > 64 && control / sample.length > 0.1;
}
