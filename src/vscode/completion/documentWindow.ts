// The text around the cursor, read line by line up to a character budget, so a 50k-line file
// costs no more than a small one; binary-looking text is refused.
import { looksBinary } from '../../completion/textChecks';

/** What is read of a document (vscode.TextDocument fits; the tests pass plain lines). */
export interface DocumentLines {
  readonly lineCount: number;
  lineAt(line: number): { readonly text: string };
}

/**
 * The window's first line moves in steps of this many lines: while the user types, the text
 * sent stays anchored at the same line, so the engine's cached prompt KV stays usable.
 */
const START_LINE_STEP = 64;
/** Characters a huge line is cut by, at once. */
const LINE_CUT_STEP = 1024;

export interface DocumentWindow {
  prefix: string;
  suffix: string;
}

export function readDocumentWindow(document: DocumentLines, position: { readonly line: number; readonly character: number }, maxChars: number): DocumentWindow | undefined {
  const current = document.lineAt(position.line).text;
  // A minified file is one huge line: only its part near the cursor is read.
  // Its start moves in steps, as the engine's cuts do, so the cached prompt KV stays usable.
  const lineStart = Math.floor(Math.max(0, position.character - maxChars) / LINE_CUT_STEP) * LINE_CUT_STEP;
  let used = position.character - lineStart;
  let first = position.line;
  while (first > 0 && used < maxChars) {
    first--;
    used += document.lineAt(first).text.length + 1;
  }
  const anchored = Math.floor(first / START_LINE_STEP) * START_LINE_STEP;
  for (let line = first - 1; line >= anchored && used < 2 * maxChars; line--) used += document.lineAt(line).text.length + 1;
  if (used < 2 * maxChars) first = anchored; // unless the extra lines are huge (minified code)
  const before: string[] = [current.slice(lineStart, position.character)];
  if (lineStart > 0) first = position.line; // the lines above are past the budget already
  for (let line = position.line - 1; line >= first; line--) before.push(document.lineAt(line).text.slice(-2 * maxChars));
  const after: string[] = [current.slice(position.character, position.character + maxChars)];
  used = after[0].length;
  for (let line = position.line + 1; line < document.lineCount && used < maxChars; line++) {
    const text = document.lineAt(line).text.slice(0, maxChars);
    after.push(text);
    used += text.length + 1;
  }
  const prefix = before.reverse().join('\n');
  const suffix = after.join('\n');
  if (looksBinary(prefix) || looksBinary(suffix)) return undefined;
  return { prefix, suffix };
}
