// The text around the cursor, read line by line up to a character budget, so a 50k-line file
// costs no more than a small one; binary-looking text is refused.
import * as vscode from 'vscode';

export interface DocumentWindow {
  prefix: string;
  suffix: string;
}

export function readDocumentWindow(document: vscode.TextDocument, position: vscode.Position, maxChars: number): DocumentWindow | undefined {
  const current = document.lineAt(position.line).text;
  const before: string[] = [current.slice(0, position.character)];
  let used = before[0].length;
  for (let line = position.line - 1; line >= 0 && used < maxChars; line--) {
    const text = document.lineAt(line).text;
    before.push(text);
    used += text.length + 1;
  }
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
