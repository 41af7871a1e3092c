// Line rules for inline suggestions: when to stop generating, and how to clean the result so
// it fits between the text before and after the cursor.

export interface CursorContext {
  /** Text on the cursor's line before the cursor. */
  linePrefix: string;
  /** Text on the cursor's line after the cursor. */
  lineSuffix: string;
  /** The first non-blank line below the cursor's line, if any. */
  nextLine: string;
  /** Most lines in one suggestion. */
  maxLines: number;
}

export function cursorContext(prefix: string, suffix: string, maxLines: number): CursorContext {
  const linePrefix = prefix.slice(prefix.lastIndexOf('\n') + 1);
  const nl = suffix.indexOf('\n');
  const lineSuffix = nl < 0 ? suffix : suffix.slice(0, nl);
  let nextLine = '';
  if (nl >= 0) {
    for (const line of suffix.slice(nl + 1, nl + 1 + 4000).split('\n')) {
      if (line.trim()) {
        nextLine = line;
        break;
      }
    }
  }
  return { linePrefix, lineSuffix, nextLine, maxLines };
}

/** Text after the cursor on its line means the suggestion must stay on this line. */
export function isSingleLine(ctx: CursorContext): boolean {
  return /\S/.test(ctx.lineSuffix);
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/**
 * Where the generated text should end, or undefined to keep going. Only complete lines are
 * judged, so a line is never cut while the model is still writing it.
 */
export function findCut(text: string, ctx: CursorContext): number | undefined {
  if (isSingleLine(ctx)) {
    const nl = text.indexOf('\n');
    return nl < 0 ? undefined : nl;
  }
  const lines = text.split('\n');
  const baseIndent = indentOf(ctx.linePrefix);
  let offset = 0;
  let sawContent = false;
  for (let k = 0; k < lines.length - 1; k++) {
    const line = lines[k];
    const full = k === 0 ? ctx.linePrefix + line : line;
    const blank = full.trim() === '';
    const endsBlock = k > 0 && !blank && indentOf(line) < baseIndent;
    const repeatsNext = k > 0 && !blank && ctx.nextLine.trim() !== '' && line.trim() === ctx.nextLine.trim();
    if ((blank && sawContent) || endsBlock || repeatsNext) return Math.max(0, offset - 1);
    if (!blank) sawContent = true;
    offset += line.length + 1;
    if (k + 1 >= ctx.maxLines) return offset - 1;
  }
  return undefined;
}

/** Control characters (tab and newline excepted) and U+FFFD from bytes that do not form UTF-8. */
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f\ufffd]/g;

export function stripUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, '');
}

/** Final clean-up: cut, drop unprintable characters, trailing whitespace and any overlap with the rest of the line. */
export function finalizeCompletion(text: string, ctx: CursorContext): string {
  const cut = findCut(text, ctx);
  let out = stripUnprintable(cut === undefined ? text : text.slice(0, cut)).replace(/\s+$/, '');
  const rest = ctx.lineSuffix.trim();
  if (rest) {
    // The model often re-writes the closing text that is already there: `foo(a, b)` before `)`.
    for (let n = Math.min(rest.length, out.length); n > 0; n--) {
      if (out.endsWith(rest.slice(0, n))) {
        out = out.slice(0, out.length - n).replace(/\s+$/, '');
        break;
      }
    }
  }
  return /\S/.test(out) ? out : '';
}
