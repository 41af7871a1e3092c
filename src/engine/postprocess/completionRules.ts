// Line rules for inline suggestions: when to stop generating, and how to clean the result so
// it fits between the text before and after the cursor.

export interface CursorContext {
  /** Text on the cursor's line before the cursor. */
  linePrefix: string;
  /** Text on the cursor's line after the cursor. */
  lineSuffix: string;
  /** The first non-blank line below the cursor's line, if any. */
  nextLine: string;
  /** The last non-blank line above the cursor's line, if any. */
  prevLine: string;
  /** One level of indentation in this file: a tab, or the smallest step between lines above; '' when no indented line is in view. */
  indentUnit: string;
  /** Most lines in one suggestion. */
  maxLines: number;
}

/** Lines above the cursor read for the previous line and the indent unit. */
const LINES_ABOVE = 60;

export function cursorContext(prefix: string, suffix: string, maxLines: number): CursorContext {
  const lineStart = prefix.lastIndexOf('\n') + 1;
  const linePrefix = prefix.slice(lineStart);
  const above = prefix.slice(Math.max(0, lineStart - 6000), Math.max(0, lineStart - 1)).split('\n').slice(-LINES_ABOVE);
  const prevLine = lineStart > 0 ? ([...above].reverse().find((line) => line.trim() !== '') ?? '') : '';
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
  return { linePrefix, lineSuffix, nextLine, prevLine, indentUnit: indentUnitOf(above), maxLines };
}

function indentUnitOf(lines: readonly string[]): string {
  let step = 0;
  let previous = -1;
  for (const line of lines) {
    if (!line.trim()) continue;
    if (line.startsWith('\t')) return '\t';
    const indent = indentOf(line);
    if (previous >= 0 && indent > previous && (step === 0 || indent - previous < step)) step = indent - previous;
    previous = indent;
  }
  return ' '.repeat(step);
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

const OPENERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const CLOSERS = new Set([')', ']', '}']);
const QUOTES = new Set(['"', "'", '`']);

/**
 * How far a line is from balanced: closers without an opener, openers left open, a string left
 * open. Brackets inside strings do not count.
 */
export function imbalance(line: string): number {
  const open: string[] = [];
  let quote = '';
  let cost = 0;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
    } else if (QUOTES.has(ch) && !(ch === "'" && /[\p{L}\p{N}_&<]/u.test(line[i - 1] ?? ''))) quote = ch; // not `don't`, `&'a`, `<'a>`
    else if (OPENERS[ch]) open.push(OPENERS[ch]);
    else if (CLOSERS.has(ch)) {
      if (open.length && open[open.length - 1] === ch) open.pop();
      else cost++;
    }
  }
  return cost + open.length + (quote ? 1 : 0);
}

/**
 * Drops the end of a suggestion that re-writes the text after the cursor, only where keeping it
 * would duplicate that text: `a, b)` before `)` loses its `)`, but `len(items)` typed inside
 * `foo(█)` keeps it, since the line balances only with both.
 */
function dropSuffixOverlap(out: string, ctx: CursorContext): string {
  const rest = ctx.lineSuffix.trim();
  if (!rest || !out) return out;
  const lineWith = (text: string): string => ctx.linePrefix + text + ctx.lineSuffix;
  let best = out;
  let bestCost = imbalance(lineWith(out));
  for (let n = 1; n <= Math.min(rest.length, out.length); n++) {
    const overlap = rest.slice(0, n);
    if (!out.endsWith(overlap)) continue;
    const kept = out.slice(0, out.length - n).replace(/\s+$/, '');
    const cost = imbalance(lineWith(kept));
    // Plain punctuation or words (`;`, `value;`) repeated at the junction are dropped even when
    // the brackets do not tell; with brackets or quotes in it, only if the line balances better.
    const plain = !/[()[\]{}"'`]/.test(overlap);
    if (cost < bestCost || (cost === bestCost && plain && best === out)) {
      best = kept;
      bestCost = cost;
    }
  }
  return best;
}

/** Lines that close a block: nested blocks close with the same text on consecutive lines. */
const CLOSING = /^(<\/|\\end\b|end\b|fi\b|done\b|esac\b|endif\b|endfor\b|endwhile\b|[}\])])/;

/** The same statement (not a block's closing line, not just punctuation), compared without indentation. */
function sameContent(a: string, b: string): boolean {
  const t = a.trim();
  return /[\p{L}\p{N}]/u.test(t) && !CLOSING.test(t) && t === b.trim();
}

/** A line that continues the expression above (a method chain, an operator first). */
const CONTINUATION = /^[.?:&|+\-*/%<>=,]/;

/**
 * Where the editor has already indented the cursor's line, the first line goes no deeper than
 * one level below the line above; tabs become the file's spaces in a file seen to indent with
 * spaces.
 */
function fixIndentation(out: string, ctx: CursorContext): string {
  let lines = out.split('\n');
  const unit = ctx.indentUnit;
  if (unit !== '' && unit !== '\t') lines = lines.map((line, k) => (k === 0 && ctx.linePrefix.trim() ? line : line.replace(/^\t+/, (tabs) => unit.repeat(tabs.length))));
  const editorIndented = ctx.linePrefix.length > 0 && ctx.linePrefix.trim() === '' && ctx.linePrefix.length >= indentOf(ctx.prevLine);
  if (editorIndented && ctx.prevLine && !CONTINUATION.test(lines[0].trimStart())) {
    const lead = indentOf(lines[0]);
    const opens = /[{([:]\s*$/.test(ctx.prevLine) ? (unit || '    ').length : 0;
    const allowed = indentOf(ctx.prevLine) + opens;
    const total = ctx.linePrefix.length + lead;
    if (lead > 0 && total > allowed) lines[0] = lines[0].slice(Math.min(lead, total - Math.max(allowed, ctx.linePrefix.length)));
  }
  return lines.join('\n');
}

/**
 * Final clean-up: cut, drop unprintable characters, trailing whitespace and a re-written rest
 * of the line; no suggestion that only repeats the line above or below; indentation that fits.
 */
export function finalizeCompletion(text: string, ctx: CursorContext): string {
  const cut = findCut(text, ctx);
  let out = stripUnprintable(cut === undefined ? text : text.slice(0, cut)).replace(/\s+$/, '');
  out = dropSuffixOverlap(out, ctx);
  out = fixIndentation(out, ctx);
  const firstLine = ctx.linePrefix + out.split('\n')[0];
  if (sameContent(firstLine, ctx.nextLine) || (ctx.linePrefix.trim() === '' && sameContent(firstLine, ctx.prevLine))) return '';
  return /\S/.test(out) ? out : '';
}
