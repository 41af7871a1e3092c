// Explain Selection with a code model: the selection followed by an opened comment, so the
// model writes a comment about the code above it. The comment lines become the explanation.
import { stripUnprintable } from './postprocess/completionRules';

const HASH_COMMENT = new Set(['python', 'shellscript', 'ruby', 'perl', 'r', 'yaml', 'toml', 'makefile', 'dockerfile', 'powershell', 'julia', 'elixir', 'coffeescript']);
const DASH_COMMENT = new Set(['sql', 'lua', 'haskell']);

export function lineCommentFor(languageId: string | undefined): string {
  if (languageId && HASH_COMMENT.has(languageId)) return '#';
  if (languageId && DASH_COMMENT.has(languageId)) return '--';
  return '//';
}

export function explainPromptText(code: string, languageId: string | undefined): string {
  const c = lineCommentFor(languageId);
  return `${code.replace(/\s+$/, '')}\n\n${c} Explanation of the code above:\n${c} `;
}

/**
 * The explanation so far: comment lines with their markers removed. `done` is true once the
 * model has left the comment (a line that is not a comment), which ends the explanation.
 */
export function extractExplanation(generated: string, languageId: string | undefined): { text: string; done: boolean } {
  const c = lineCommentFor(languageId);
  const lines = stripUnprintable(generated.replace(/\r/g, '')).split('\n');
  const out: string[] = [];
  for (let k = 0; k < lines.length; k++) {
    const complete = k < lines.length - 1;
    if (k === 0) {
      out.push(lines[0].trim());
      continue;
    }
    const trimmed = lines[k].trimStart();
    if (trimmed.startsWith(c)) {
      out.push(trimmed.slice(c.length).trim());
    } else if (complete || (trimmed.length >= c.length && !c.startsWith(trimmed))) {
      return { text: out.join('\n').trim(), done: true };
    }
  }
  return { text: out.join('\n').trim(), done: false };
}
