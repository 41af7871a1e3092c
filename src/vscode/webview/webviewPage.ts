// The HTML shell of OverFill's webviews (Explain, Compare Modes): a strict Content-Security-
// Policy (no network, no inline code but our own nonce'd script and style), VS Code's theme
// colours, and Markdown rendered here, in the extension host, with raw HTML escaped.
import { randomBytes } from 'crypto';
import MarkdownIt from 'markdown-it';

// html: false escapes any HTML a model writes; the CSP would block its requests anyway.
const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false });

export function renderMarkdown(text: string): string {
  return markdown.render(text);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 16px 16px; line-height: 1.5; }
  h1 { font-size: 1.3em; margin: 12px 0 4px; }
  .state { color: var(--vscode-descriptionForeground); margin: 0 0 12px; }
  pre, code { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
  pre { background: var(--vscode-textCodeBlock-background); padding: 8px; overflow-x: auto; white-space: pre-wrap; }
  button { background: var(--vscode-button-background); color: var(--vscode-button-foreground); border: none; padding: 4px 10px; cursor: pointer; }
  button:hover { background: var(--vscode-button-hoverBackground); }
  button[hidden] { display: none; }
  table { border-collapse: collapse; width: 100%; table-layout: fixed; }
  th, td { border: 1px solid var(--vscode-panel-border, #8884); padding: 6px 8px; vertical-align: top; text-align: left; }
  th { font-weight: 600; }
  td pre { margin: 0; }
  .figure { font-variant-numeric: tabular-nums; }
`;

/**
 * A whole page: `body` is trusted HTML built by us; `script` runs with the page's nonce and
 * may use `acquireVsCodeApi()`.
 */
export function webviewPage(title: string, body: string, script: string): string {
  const nonce = randomBytes(16).toString('base64');
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
${body}
<script nonce="${nonce}">${script}</script>
</body>
</html>`;
}
