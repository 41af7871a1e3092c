// End to end: the packaged .vsix in code-server, driven in headless Chromium. Ghost text must
// be exactly what the engine computes for the same text (not a constant), Tab must insert
// it, Explain Selection must write text, and a model-folder change must take effect live.
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { CompletionEngine } from '../../src/engine/completionEngine';
import type { CompletionRequest, CompletionResult } from '../../src/engine/requests';
import { buildCudaStubs, writeNupkg } from '../support/cudaStubs';
import { REPO_ROOT, startSession, type Session } from './codeServer';

const DEFAULT_MODEL = path.join(REPO_ROOT, 'models', 'default');
const DEFAULT_NAME = (JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'overfill.json'), 'utf8')) as { name: string }).name;
const PAIR_B = path.join(REPO_ROOT, 'test', 'fixtures', 'generated', 'pair-b');
/** A tiny random Qwen2 checkpoint converted by training.convert (Qwen's real tokenizer). */
const CONVERTED_QWEN2 = path.join(REPO_ROOT, 'test', 'fixtures', 'generated', 'converted', 'qwen2');
const FILES = {
  'geometry.ts': 'export function area(width: number, height: number): number {\n  return width * height;\n}\n\nexport const unit',
  'names.ts': '// Names used across the sample.\nconst greeting = "hello";\n\nexport function greet(name: string): string {\n  return greeting',
  'units.ts': 'export function area(width: number, height: number): number {\n  return width * height;\n}\n\nexport const unit',
  'shapes.ts': 'const item = { width: 2, height: 3 };\nexport const total = item.',
  'along.ts': 'export function perimeter(width: number, height: number): number {\n  return ',
  'helpers.ts': 'export function clampToRange(value: number, low: number, high: number): number {\n  return Math.min(high, Math.max(low, value));\n}\n',
  'main.ts': 'import { clampToRange } from "./helpers";\n\nexport const level = ',
  'kept.ts': 'export function volume(width: number, height: number, depth: number): number {\n  const base',
  'revived.ts': 'export function square(side: number): number {\n  const result',
  'lines.ts': 'export function area(width: number, height: number): number {\n  return width * height;\n}\n\nexport const unit',
  'choices.ts': 'export function area(width: number, height: number): number {\n  return width * height;\n}\n\nexport const unit',
  'compared.ts': 'export function area(width: number, height: number): number {\n  return width * height;\n}\n\nexport const unit = ',
  'picked.ts': 'export function volume(side: number): number {\n  const cube',
  'toggled.ts': 'export function half(value: number): number {\n  return ',
  'slow.ts': 'export function double(value: number): number {\n  return ',
  'cuda.ts': 'export function triple(value: number): number {\n  return ',
};
/** code-server opens the scratch folder named so: repository-level prompts carry its name. */
const WORKSPACE_NAME = 'workspace';
const TYPED = ' = ';
const SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'editor.quickSuggestions': { other: false, comments: false, strings: false },
  'editor.suggestOnTriggerCharacters': false,
  'editor.autoClosingBrackets': 'never',
  'editor.autoClosingQuotes': 'never',
  'editor.inlineSuggest.enabled': true,
  'files.autoSave': 'off',
  'telemetry.telemetryLevel': 'off',
  'overfill.debounceMs': 50,
  // The exact-text checks compare with the engine on the same request: chunks of the files
  // opened by earlier tests would differ, so only the file's path goes in until a test asks.
  'overfill.context.maxTokens': 0,
};

/** What the engine itself answers for `prefix` at the end of the TypeScript file `name`, with the extension's default settings. */
async function engineResult(modelFolder: string, prefix: string, name: string, extra: Partial<CompletionRequest> = {}): Promise<CompletionResult> {
  const engine = await CompletionEngine.load(modelFolder, 'cpu');
  try {
    return await engine.complete({ prefix, suffix: '', languageId: 'typescript', filePath: name, repoName: WORKSPACE_NAME, maxNewTokens: 48, contextTokens: 1024, maxLines: 8, ...extra });
  } finally {
    await engine.dispose();
  }
}

async function engineSuggestion(modelFolder: string, prefix: string, name: string): Promise<string> {
  return (await engineResult(modelFolder, prefix, name)).text;
}

const norm = (s: string): string => s.replace(/\u00a0/g, ' ');
const GHOST = '.editor-group-container.active .monaco-editor [class*="ghost-text"]';

/** The OverFill log the extension writes (a LogOutputChannel's file under code-server's logs). */
function overfillLog(session: Session): string {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name === 'OverFill.log') found.push(p);
    }
  };
  walk(path.join(session.userData, 'logs'));
  return found.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
}

/** Model runs for requests (not those computed ahead), as the log counts them. */
const requestRuns = (session: Session): string[] => overfillLog(session).split('\n').filter((l) => l.includes('Suggestion: model run'));

/** The ghost text shown on the cursor's line, its pieces joined (the suggest widget's item and the model's part). */
async function ghostText(page: Page): Promise<string> {
  const parts = await page.locator('.editor-group-container.active .monaco-editor [class*="ghost-text-decoration"]').allInnerTexts();
  return norm(parts.join(''));
}

async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function statusBarShows(page: Page, text: string): Promise<void> {
  await page.locator('.statusbar-item', { hasText: text }).first().waitFor({ timeout: 90_000 });
}

/** The text of OverFill's status bar item while `model` is loaded. */
async function statusText(page: Page, model: string): Promise<string> {
  return norm(await page.locator('.statusbar-item', { hasText: `${model} · ` }).first().innerText()).trim();
}

/** Runs a command from the command palette by its title. */
async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').waitFor();
  await page.keyboard.type(title, { delay: 10 });
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title.replace(/^OverFill: /, '') }).first().waitFor();
  await page.keyboard.press('Enter');
}

/** Evaluates `expression` in the webview frame that has `selector` (webviews are nested iframes). */
async function inWebview<T>(page: Page, selector: string, expression: string): Promise<T | undefined> {
  for (const frame of page.frames()) {
    try {
      if (await frame.$(selector)) return (await frame.evaluate(expression)) as T;
    } catch {
      // a frame navigating or gone
    }
  }
  return undefined;
}

/** Screenshots for the README, kept under build/screenshots (media/screenshots holds the committed copies). */
async function screenshot(page: Page, name: string): Promise<void> {
  const dir = path.join(REPO_ROOT, 'build', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}

/** Waits for the file on disk to hold new content, still across two reads. */
async function savedContent(session: Session, name: string): Promise<string> {
  const file = path.join(session.workspace, name);
  const original = FILES[name as keyof typeof FILES];
  const deadline = Date.now() + 20_000;
  let previous = '';
  let saved = fs.readFileSync(file, 'utf8');
  while ((saved === original || saved === '' || saved !== previous) && Date.now() < deadline) {
    previous = saved;
    await new Promise((r) => setTimeout(r, 200));
    saved = fs.readFileSync(file, 'utf8');
  }
  return saved;
}

async function notificationShows(page: Page, text: string): Promise<void> {
  await page.locator('.notification-toast', { hasText: text }).first().waitFor({ timeout: 60_000 });
}

/** The engine process the extension runs now, from its log line "Engine process started (pid N)". */
function enginePid(session: Session): number {
  const pids = [...overfillLog(session).matchAll(/Engine process started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  const alive = pids.filter((pid) => fs.existsSync(`/proc/${pid}`));
  assert.equal(alive.length, 1, `engine processes alive: ${alive.join(', ')} (of ${pids.join(', ')})`);
  return alive[0];
}

/** Inodes of the sockets `pid` holds, and of those the IPv4/IPv6 TCP and UDP sockets in its network namespace. */
function socketsOf(pid: number): { all: string[]; inet: string[] } {
  const all: string[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) all.push(m[1]);
    } catch {
      // closed while listing
    }
  }
  const inetInodes = new Set<string>();
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6']) {
    const file = `/proc/${pid}/net/${table}`;
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode) inetInodes.add(inode);
    }
  }
  return { all, inet: all.filter((i) => inetInodes.has(i)) };
}

async function openFile(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').waitFor();
  await page.keyboard.type(name, { delay: 20 });
  // The list filters as it is typed: wait until the file is the row Enter opens.
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: name }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.tab.active', { hasText: name }).waitFor();
  await page.locator('.editor-group-container.active .monaco-editor .view-lines').click();
}

/** Types at the end of the open file, accepts the ghost text with Tab, saves; returns the file on disk. */
async function typeAcceptSave(session: Session, name: string): Promise<{ ghost: string; saved: string }> {
  const { page } = session;
  await openFile(page, name);
  await page.keyboard.press('Control+End');
  // One edit: typed key by key, the first keys' suggestions could be typed along (by design), and
  // the ghost text would then be the rest of an earlier suggestion, not the one for this text.
  await page.keyboard.insertText(TYPED);
  const ghost = page.locator(GHOST).first();
  await ghost.waitFor({ timeout: 60_000 });
  const ghostText = norm(await ghost.innerText());
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+S');
  // The save truncates, then writes: wait for new content that holds still across two reads.
  return { ghost: ghostText, saved: await savedContent(session, name) };
}

describe('OverFill Code in VS Code (code-server)', { timeout: 1_500_000 }, () => {
  let session: Session;
  before(async () => {
    session = await startSession(FILES, SETTINGS);
  });
  after(() => session?.close());

  it('loads no model until a file is open, then the embedded default pair, and says so in the status bar', async () => {
    await statusBarShows(session.page, 'OverFill');
    await new Promise((r) => setTimeout(r, 2000)); // activated on startup: time to load, were it to
    assert.ok(!overfillLog(session).includes('Loading model pair'), 'a model loaded with no editor open');
    await openFile(session.page, 'geometry.ts');
    await statusBarShows(session.page, `${DEFAULT_NAME} · CPU`);
  });

  it('a workspace that sets the model path or the provider is ignored (only user settings may name executable content)', async () => {
    const loadsBefore = overfillLog(session).split('\n').filter((l) => l.includes('Loading model pair')).length;
    fs.mkdirSync(path.join(session.workspace, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(session.workspace, '.vscode', 'settings.json'), JSON.stringify({ 'overfill.model.path': PAIR_B, 'overfill.executionProvider': 'dml', 'overfill.maxLines': 6 }));
    // The harmless setting beside them takes effect: the change was read.
    await waitFor(() => /Settings changed: maxLines/.test(overfillLog(session)), 'the workspace settings to be read');
    const log = overfillLog(session);
    assert.equal(log.split('\n').filter((l) => l.includes('Loading model pair')).length, loadsBefore, 'the model was reloaded');
    assert.ok(!log.includes(PAIR_B), 'the workspace model path reached the engine');
    await statusBarShows(session.page, `${DEFAULT_NAME} · CPU`);
    fs.rmSync(path.join(session.workspace, '.vscode'), { recursive: true, force: true });
    await waitFor(() => overfillLog(session).split('Settings changed: maxLines').length > 2, 'the workspace settings to be removed');
  });

  it('typing shows the engine’s ghost text and Tab inserts it', async () => {
    const prefix = FILES['geometry.ts'] + TYPED;
    const expected = await engineSuggestion(DEFAULT_MODEL, prefix, 'geometry.ts');
    assert.ok(expected.length > 0, 'the engine suggests nothing for this prompt: choose another one');
    const { ghost, saved } = await typeAcceptSave(session, 'geometry.ts');
    assert.ok(ghost.length > 0 && norm(expected).startsWith(ghost.split('\n')[0].trimEnd()), `ghost text "${ghost}" is not the engine's "${expected}"`);
    assert.equal(saved, prefix + expected);
  });

  it('Explain Selection streams a rendered explanation into a panel beside the editor', async () => {
    const { page } = session;
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').click();
    await page.keyboard.press('Control+A');
    await runCommand(page, 'OverFill: Explain Selection');
    await page.locator('.tab', { hasText: 'OverFill: Explanation' }).waitFor({ timeout: 30_000 });
    await waitFor(async () => ((await inWebview<string>(page, '#state', "document.getElementById('state').textContent")) ?? '').startsWith('Written by'), 'the explanation to finish', 60_000);
    const body = (await inWebview<string>(page, '#explanation', "document.getElementById('explanation').innerText")) ?? '';
    // The engine's own explanation of the same selection (the whole saved file), as the extension asks for it.
    const code = fs.readFileSync(path.join(session.workspace, 'geometry.ts'), 'utf8');
    const engine = await CompletionEngine.load(DEFAULT_MODEL, 'cpu');
    const expected = await engine.explain({ code, languageId: 'typescript', maxNewTokens: 160, contextTokens: 1024, refreshEvery: 32 }, undefined, () => undefined).finally(() => engine.dispose());
    // Rendered Markdown drops its marks (emphasis, code spans, headings) and wraps: compare the rest.
    const squash = (t: string): string => norm(t).replace(/[\s*_`#>]/g, '');
    const want = expected ? squash(expected).slice(0, 60) : squash('(The model wrote no explanation.)');
    assert.ok(want.length > 0 && squash(body).includes(want), `explanation "${body}" does not show the engine's "${expected}"`);
    await screenshot(page, 'explain');
  });

  it('ghost text shows beside the suggest widget, extending its selected item (TypeScript service running)', async () => {
    const { page } = session;
    await openFile(page, 'shapes.ts');
    await page.keyboard.press('Control+End');
    // The TypeScript service answers member completions once it has read the project.
    const focused = page.locator('.suggest-widget .monaco-list-row.focused');
    await waitFor(async () => {
      await page.keyboard.press('Control+Space');
      return focused.waitFor({ timeout: 5_000 }).then(() => true, () => page.keyboard.press('Escape').then(() => false));
    }, 'the suggest widget with the TypeScript service’s members', 90_000);
    const item = ((await focused.getAttribute('aria-label')) ?? '').split(',')[0].trim();
    assert.ok(['height', 'width'].includes(item), `selected item "${item}"`);
    const expected = await engineSuggestion(DEFAULT_MODEL, FILES['shapes.ts'] + item, 'shapes.ts');
    assert.ok(expected.length > 0, `the engine suggests nothing after "${item}": choose another prompt`);
    await waitFor(async () => (await ghostText(page)).length > item.length, 'ghost text beside the suggest widget');
    assert.ok(await page.locator('.suggest-widget').isVisible(), 'the suggest widget closed');
    assert.equal(await ghostText(page), item + expected.split('\n')[0]);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
  });

  it('typing the first characters of a shown suggestion keeps the rest, with no new model run', async () => {
    const { page } = session;
    await openFile(page, 'along.ts');
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText(' ');
    await page.locator(GHOST).first().waitFor({ timeout: 60_000 });
    const shown = (await ghostText(page)).split('\n')[0];
    assert.ok(shown.trimEnd().length >= 3, `the suggestion "${shown}" is too short to type along`);
    const runs = requestRuns(session).length;
    assert.ok(runs > 0, 'the model run is not in the log');
    await page.keyboard.type(shown.slice(0, 2), { delay: 150 });
    await waitFor(async () => (await ghostText(page)).split('\n')[0] === shown.slice(2), `the rest "${shown.slice(2)}" of the suggestion`, 10_000);
    await new Promise((r) => setTimeout(r, 500)); // any run the keystrokes started would have logged by now
    assert.equal(requestRuns(session).length, runs, 'typing along ran the model again');
    await page.keyboard.press('Escape');
  });

  it('the status bar shows the provider and the last suggestion’s latency; its tooltip the figures behind it', async () => {
    const { page } = session;
    const text = await statusText(page, DEFAULT_NAME);
    assert.match(text, new RegExp(`${DEFAULT_NAME} · CPU · \\d+(\\.\\d)? (ms|s)$`));
    await page.locator('.statusbar-item', { hasText: `${DEFAULT_NAME} · ` }).first().hover();
    const tooltip = page.locator('.monaco-hover', { hasText: 'Last suggestion' }).first();
    await tooltip.waitFor({ timeout: 10_000 });
    const shown = norm(await tooltip.innerText());
    assert.match(shown, /Prompt: \d+ tokens, \d+ from the cache/);
    assert.match(shown, /Generated: \d+ tokens/);
    await screenshot(page, 'status-tooltip');
    await page.mouse.move(10, 400);
  });

  it('a suggestion slower than overfill.slowSuggestionMs gets one hint saying what to do', async () => {
    const { page } = session;
    fs.writeFileSync(session.machineSettings, JSON.stringify({ 'overfill.slowSuggestionMs': 1 }, null, 2));
    await waitFor(() => /Settings changed: slowSuggestionMs/.test(overfillLog(session)), 'the setting to be read');
    await openFile(page, 'slow.ts');
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText(' ');
    await notificationShows(page, 'that suggestion took');
    const hint = norm(await page.locator('.notification-toast', { hasText: 'that suggestion took' }).first().innerText());
    assert.match(hint, /a smaller model, a GPU provider \(overfill\.executionProvider\), or a smaller overfill\.contextSize/);
    fs.writeFileSync(session.machineSettings, '{}');
    await page.keyboard.press('Escape');
  });

  it('Shift+Tab (Accept Line) takes one line of a suggestion, and outdents when none is shown', async () => {
    const { page } = session;
    const prefix = FILES['lines.ts'] + TYPED;
    const expected = await engineSuggestion(DEFAULT_MODEL, prefix, 'lines.ts');
    const [first, second] = expected.split('\n');
    assert.ok(second !== undefined && first.trim() && second.trim(), `the engine's suggestion "${expected}" has no two lines: choose another prompt`);
    await openFile(page, 'lines.ts');
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText(TYPED);
    await page.locator(GHOST).first().waitFor({ timeout: 60_000 });
    await screenshot(page, 'ghost-text');
    await new Promise((r) => setTimeout(r, 500)); // VS Code sets inlineSuggestionVisible a moment after the text shows
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+S');
    const file = path.join(session.workspace, 'lines.ts');
    await waitFor(() => fs.readFileSync(file, 'utf8').length > prefix.length, 'the accepted line on disk', 10_000).catch(() => undefined);
    const saved = await savedContent(session, 'lines.ts');
    assert.ok(saved.startsWith(prefix + first), `after Shift+Tab the file is ${JSON.stringify(saved)}`);
    assert.ok(!saved.includes(second.trim()), `Shift+Tab took more than one line: ${JSON.stringify(saved)}`);
    // With no suggestion shown, Shift+Tab is VS Code's own outdent.
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    await page.keyboard.insertText('    x');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+S');
    await waitFor(() => /\n {0,2}x$/.test(fs.readFileSync(path.join(session.workspace, 'lines.ts'), 'utf8')), 'Shift+Tab to outdent the new line');
  });

  it('an explicit trigger (VS Code’s Trigger Inline Suggestion, Alt+\\) asks for alternatives, and Alt+] shows the next one', async () => {
    const { page } = session;
    const prefix = FILES['choices.ts'] + TYPED;
    const { alternatives } = await engineResult(DEFAULT_MODEL, prefix, 'choices.ts', { alternatives: 3 });
    assert.ok(alternatives && alternatives.length >= 2, `the engine has ${alternatives?.length ?? 0} alternatives here: choose another prompt`);
    await openFile(page, 'choices.ts');
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText(TYPED);
    await page.locator(GHOST).first().waitFor({ timeout: 60_000 });
    await page.keyboard.press('Escape');
    // The command Alt+\\ runs: headless Chromium's Alt+\\ does not reach code-server's keybinding here.
    await runCommand(page, 'Trigger Inline Suggestion');
    const firstLine = (t: string): string => norm(t).split('\n')[0].trimEnd();
    await waitFor(async () => (await ghostText(page)).length > 0, 'ghost text after the explicit trigger');
    const seen = new Set<string>([firstLine(await ghostText(page))]);
    for (let i = 0; i < alternatives.length - 1; i++) {
      await page.keyboard.press('Alt+BracketRight');
      await new Promise((r) => setTimeout(r, 500));
      seen.add(firstLine(await ghostText(page)));
    }
    const wanted = new Set(alternatives.map(firstLine));
    assert.ok(seen.size >= 2, `Alt+] showed no other suggestion: ${JSON.stringify([...seen])}`);
    for (const shown of seen) assert.ok(wanted.has(shown), `"${shown}" is none of the engine's alternatives ${JSON.stringify([...wanted])}`);
    await page.keyboard.press('Escape');
  });

  it('Compare Modes at Cursor shows the three modes’ suggestions with their timings', async () => {
    const { page } = session;
    const prefix = FILES['compared.ts'];
    const expected = await engineSuggestion(DEFAULT_MODEL, prefix, 'compared.ts');
    await openFile(page, 'compared.ts');
    await page.keyboard.press('Control+End');
    await runCommand(page, 'OverFill: Compare Modes at Cursor');
    await page.locator('.tab', { hasText: 'OverFill: Compare Modes' }).waitFor({ timeout: 30_000 });
    const done = async (): Promise<number> => (await inWebview<number>(page, 'table', "document.querySelectorAll('td[data-state=done]').length")) ?? 0;
    await waitFor(async () => (await done()) === 3, 'three finished modes', 60_000);
    const cells = (await inWebview<string[]>(page, 'table', "[...document.querySelectorAll('td[data-mode]')].map((td) => td.dataset.mode + ': ' + td.innerText)")) ?? [];
    assert.deepEqual(cells.map((c) => c.split(':')[0]), ['overfill', 'full', 'decoder']);
    for (const c of cells) assert.match(c, /time to first token \d+(\.\d)? (ms|s)[\s\S]*decode (\d+ tokens\/s|n\/a)[\s\S]*total \d+(\.\d)? (ms|s)/);
    const suggestions = (await inWebview<string[]>(page, 'table', "[...document.querySelectorAll('[data-suggestion]')].map((e) => e.textContent)")) ?? [];
    assert.equal(suggestions.length, 3);
    assert.equal(suggestions[0], expected, 'the OverFill column is not the engine’s suggestion');
    await screenshot(page, 'compare-modes');
  });

  it('typing during a long explanation still gets ghost text while the explanation runs on', async () => {
    const { page } = session;
    // As long as the embedded pair's 2048-token context allows beside the code.
    fs.writeFileSync(session.machineSettings, JSON.stringify({ 'overfill.explain.maxNewTokens': 1700 }, null, 2));
    await waitFor(() => /Settings changed: explainMaxNewTokens/.test(overfillLog(session)), 'the longer explanation setting');
    // geometry.ts as the first test saved it: its explanation runs to the token limit (no closing
    // comment), and a suggestion follows " = " at its end. The same editor explains and
    // completes, so no file switch eats into the explanation's run (about 2 s here).
    await openFile(page, 'geometry.ts');
    await page.keyboard.press('Control+A');
    const written = (): string[] => overfillLog(session).split('\n').filter((l) => l.includes('Explanation written in'));
    const explainedBefore = written().length;
    await runCommand(page, 'OverFill: Explain Selection');
    await waitFor(async () => (await inWebview<string>(page, '#explanation', 'document.body.dataset.running')) === 'true', 'the explanation to start');
    const runs = requestRuns(session).length;
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText(TYPED);
    await page.locator(GHOST).first().waitFor({ timeout: 60_000 });
    assert.ok(requestRuns(session).length > runs, 'the ghost text came from no model run');
    // The log is in time order: the suggestion's model run must be answered before the
    // explanation is written out (not how long the page took to show the ghost text).
    const lines = overfillLog(session).split('\n');
    const answered = lines.indexOf(requestRuns(session)[runs]);
    const finished = written().length > explainedBefore ? lines.indexOf(written()[explainedBefore]) : Infinity;
    assert.ok(answered < finished, `the explanation finished before the suggestion was answered: the check needs a longer one\n${lines.slice(Math.min(answered, finished) - 2).join('\n')}`);
    await page.keyboard.press('Escape');
    await runCommand(page, 'File: Revert File');
    fs.writeFileSync(session.machineSettings, '{}');
  });

  it('the toggle flips the workspace setting when a workspace setting is what wins', async () => {
    const { page } = session;
    const settingsFile = path.join(session.workspace, '.vscode', 'settings.json');
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(settingsFile, JSON.stringify({ 'overfill.enable': false }));
    await statusBarShows(page, 'OverFill'); // disabled: "$(circle-slash) OverFill"
    await waitFor(async () => (await page.locator('.statusbar-item', { hasText: `${DEFAULT_NAME} · ` }).count()) === 0, 'the status bar to show completions off');
    await runCommand(page, 'OverFill: Toggle Inline Completions');
    await waitFor(() => (JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>)['overfill.enable'] === true, 'the workspace setting to be flipped');
    await statusBarShows(page, `${DEFAULT_NAME} · CPU`);
    assert.ok(!('overfill.enable' in (JSON.parse(fs.readFileSync(session.userSettings, 'utf8')) as Record<string, unknown>)), 'the toggle wrote the user settings, which the workspace shadows');
    const prefix = FILES['toggled.ts'] + TYPED;
    const expected = await engineSuggestion(DEFAULT_MODEL, prefix, 'toggled.ts');
    const { saved } = await typeAcceptSave(session, 'toggled.ts');
    assert.equal(saved, prefix + expected);
    fs.rmSync(path.join(session.workspace, '.vscode'), { recursive: true, force: true });
  });

  it('a chunk of a second open file reaches the prompt', async () => {
    const { page } = session;
    // Remote (machine) settings win over user settings, and code-server reads them back live.
    fs.writeFileSync(session.machineSettings, JSON.stringify({ 'overfill.context.maxTokens': 384 }, null, 2));
    await openFile(page, 'helpers.ts');
    await openFile(page, 'main.ts');
    await page.keyboard.press('Control+End');
    // The settings file is read back a moment after it is written: type until a run shows it.
    const fromHelpers = /context \d+ chunks \(\d+ tokens\) from [^\n]*helpers\.ts/;
    let runs: string[] = [];
    for (const typed of ['clamp', 'To', 'Range(']) {
      const before = requestRuns(session).length;
      await page.keyboard.insertText(typed);
      await waitFor(() => requestRuns(session).length > before, 'a model run for main.ts');
      runs = requestRuns(session).slice(before);
      if (runs.some((line) => fromHelpers.test(line))) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.match(runs.join('\n'), fromHelpers);
    fs.writeFileSync(session.machineSettings, '{}');
  });

  it('a new model folder in the settings takes effect without a reload', async () => {
    const prefix = FILES['names.ts'] + TYPED;
    const expectedB = await engineSuggestion(PAIR_B, prefix, 'names.ts');
    const expectedDefault = await engineSuggestion(DEFAULT_MODEL, prefix, 'names.ts');
    assert.ok(expectedB.length > 0, 'pair B suggests nothing for this prompt: choose another one');
    assert.notEqual(expectedB, expectedDefault, 'the two pairs must disagree for this check to mean anything');
    fs.writeFileSync(session.machineSettings, JSON.stringify({ 'overfill.model.path': PAIR_B }, null, 2));
    await statusBarShows(session.page, 'fixture-b · CPU');
    const { saved } = await typeAcceptSave(session, 'names.ts');
    assert.equal(saved, prefix + expectedB);
  });

  it('a pair converted from a Hugging Face checkpoint shows its ghost text', async () => {
    const prefix = FILES['units.ts'] + TYPED;
    const expected = await engineSuggestion(CONVERTED_QWEN2, prefix, 'units.ts');
    assert.ok(expected.length > 0, 'the converted pair suggests nothing for this prompt: choose another one');
    fs.writeFileSync(session.machineSettings, JSON.stringify({ 'overfill.model.path': CONVERTED_QWEN2 }, null, 2));
    await statusBarShows(session.page, 'qwen2-overfill · CPU');
    const { ghost, saved } = await typeAcceptSave(session, 'units.ts');
    assert.ok(ghost.length > 0, 'no ghost text');
    assert.equal(saved, prefix + expected);
  });

  it('the engine runs in its own process, which holds no internet socket after loading, completing and explaining', () => {
    const pid = enginePid(session);
    assert.match(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /engineProcess\.js/);
    const { all, inet } = socketsOf(pid);
    // Its IPC channel to the extension host is a Unix socket: seeing it shows the fds were read.
    assert.ok(all.length > 0, 'no socket at all: the IPC channel should be one');
    assert.deepEqual(inet, [], `the engine process holds TCP/UDP sockets: ${inet.join(', ')}`);
  });

  it('a model folder that fails to load keeps the working model, and says so', async () => {
    const prefix = FILES['kept.ts'] + TYPED;
    const expected = await engineSuggestion(CONVERTED_QWEN2, prefix, 'kept.ts');
    assert.ok(expected.length > 0, 'the converted pair suggests nothing for this prompt: choose another one');
    fs.writeFileSync(session.machineSettings, JSON.stringify({ 'overfill.model.path': path.join(session.workspace, 'no-such-model') }, null, 2));
    await notificationShows(session.page, 'Still using qwen2-overfill');
    await statusBarShows(session.page, 'qwen2-overfill · CPU');
    const { saved } = await typeAcceptSave(session, 'kept.ts');
    assert.equal(saved, prefix + expected);
  });

  it('the engine process killed: the extension host lives on, the user is told, the model is reloaded and suggests again', async () => {
    const prefix = FILES['revived.ts'] + TYPED;
    const expected = await engineSuggestion(CONVERTED_QWEN2, prefix, 'revived.ts');
    assert.ok(expected.length > 0, 'the converted pair suggests nothing for this prompt: choose another one');
    const pid = enginePid(session);
    // The restarting state lasts as long as the reload (a second or two): record every text the
    // status bar shows rather than poll for it.
    // (A string: this project's TypeScript has no DOM types; it runs in the page.)
    await session.page.evaluate(`(() => {
      window.overfillStatusTexts = [];
      const bar = document.querySelector('.part.statusbar');
      new MutationObserver(() => {
        for (const item of bar.querySelectorAll('.statusbar-item')) {
          const text = item.innerText;
          const seen = window.overfillStatusTexts;
          if (text.includes('OverFill') && seen[seen.length - 1] !== text) seen.push(text);
        }
      }).observe(bar, { subtree: true, childList: true, characterData: true });
    })()`);
    process.kill(pid, 'SIGKILL');
    await notificationShows(session.page, 'the engine process stopped (signal SIGKILL)');
    await waitFor(() => /The engine process restarted \(pid \d+\) with qwen2-overfill/.test(overfillLog(session)), 'the restart with the model reloaded');
    assert.notEqual(enginePid(session), pid);
    await statusBarShows(session.page, 'qwen2-overfill · CPU');
    const shown = (await session.page.evaluate('window.overfillStatusTexts')) as string[];
    assert.ok(shown.some((t) => t.includes('OverFill: restarting')), `the status bar showed ${JSON.stringify(shown)}`);
    const { saved } = await typeAcceptSave(session, 'revived.ts');
    assert.equal(saved, prefix + expected);
  });
  it('Select Model: a broken pair is refused and the working model kept; a good one is loaded, then written to the settings', async () => {
    const { page } = session;
    const models = fs.mkdtempSync(path.join(os.tmpdir(), 'overfill-models-'));
    fs.cpSync(PAIR_B, path.join(models, 'pair-b'), { recursive: true });
    const broken = path.join(models, 'broken');
    fs.cpSync(PAIR_B, broken, { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(broken, 'overfill.json'), 'utf8')) as { name: string };
    fs.writeFileSync(path.join(broken, 'overfill.json'), JSON.stringify({ ...manifest, name: 'fixture-broken' }));
    fs.truncateSync(path.join(broken, 'decoder.onnx'), 1000); // its sha256 no longer matches
    // Only the search path: the model path goes back to the embedded pair.
    fs.writeFileSync(session.machineSettings, JSON.stringify({ 'overfill.model.searchPaths': [models] }, null, 2));
    await statusBarShows(page, `${DEFAULT_NAME} · CPU`);
    const pick = async (name: string): Promise<void> => {
      await runCommand(page, 'OverFill: Select Model');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 20_000 });
      await page.keyboard.type(name, { delay: 10 });
      await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: name }).first().waitFor();
      await page.keyboard.press('Enter');
    };
    await pick('fixture-broken');
    await notificationShows(page, `Still using ${DEFAULT_NAME}`);
    await statusBarShows(page, `${DEFAULT_NAME} · CPU`);
    const written = (): string => [session.userSettings, session.machineSettings].map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    assert.ok(!written().includes(broken), 'the broken pair was written to the settings');
    await pick('fixture-b');
    await statusBarShows(page, 'fixture-b · CPU');
    await waitFor(() => written().includes(path.join(models, 'pair-b')), 'the picked folder in the settings');
    const prefix = FILES['picked.ts'] + TYPED;
    const expected = await engineSuggestion(PAIR_B, prefix, 'picked.ts');
    const { saved } = await typeAcceptSave(session, 'picked.ts');
    assert.equal(saved, prefix + expected);
    await screenshot(page, 'select-model');
  });

  it('Set Up CUDA: takes the libraries from a package, restarts the engine on its copy of onnxruntime, and says what CUDA still lacks', { skip: process.platform !== 'linux' && 'Linux x64 only' }, async () => {
    const { page } = session;
    // gcc-built stand-ins in the package's real layout (no CUDA build can be fetched here).
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'overfill-cuda-e2e-'));
    const stubs = buildCudaStubs(path.join(scratch, 'stubs'));
    const version = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as { version: string }).version;
    const nupkg = path.join(scratch, `Microsoft.ML.OnnxRuntime.Gpu.Linux.${version}.nupkg`);
    writeNupkg(nupkg, stubs, version);
    const started = enginePid(session);
    await runCommand(page, 'OverFill: Set Up CUDA');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'From an archive' }).first().waitFor();
    await page.keyboard.type('archive', { delay: 10 });
    await page.keyboard.press('Enter');
    // code-server's file dialog is a quick input holding a path: replace it with the package's.
    await page.locator('.quick-input-widget input').waitFor();
    await page.waitForTimeout(500);
    await page.keyboard.press('Control+A');
    await page.keyboard.type(nupkg, { delay: 5 });
    await page.keyboard.press('Enter');
    await notificationShows(page, 'CUDA cannot run yet');
    const toast = norm(await page.locator('.notification-toast', { hasText: 'CUDA cannot run yet' }).first().innerText());
    assert.match(toast, /CUDA cannot run yet: missing the NVIDIA driver \(libcuda\.so\.1\), CUDA 12 \(libcudart\.so\.12\), cuDNN 9 \(libcudnn\.so\.9\)/);
    await screenshot(page, 'set-up-cuda');
    const placed = /CUDA provider libraries placed in (\S+) /.exec(overfillLog(session))?.[1];
    assert.ok(placed && placed.startsWith(session.userData), `placed in the extension's global storage: ${placed}`);
    assert.ok(fs.existsSync(path.join(placed, 'libonnxruntime_providers_cuda.so')) && fs.existsSync(path.join(placed, 'libonnxruntime.so.1')));
    // The engine was restarted on the copy and the model reloaded there.
    await waitFor(() => overfillLog(session).includes(`onnxruntime from ${path.dirname(path.dirname(path.dirname(path.dirname(placed))))}`), 'the model loaded on the copy of onnxruntime');
    assert.notEqual(enginePid(session), started);
    // Asked for by name with the CUDA folders named: the engine restarts with them, onnxruntime
    // opens the placed provider (the stand-in has no GetProvider), and the model runs on the CPU.
    const machine = JSON.parse(fs.readFileSync(session.machineSettings, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(session.machineSettings, JSON.stringify({ ...machine, 'overfill.executionProvider': 'cuda', 'overfill.cuda.libraryPaths': [stubs.cudaLibs] }, null, 2));
    await notificationShows(page, 'onnxruntime could not start its CUDA provider');
    // One new process, one load: the restart for the library paths also takes the provider change.
    const log = overfillLog(session);
    const after = log.slice(log.indexOf('overfill.cuda.libraryPaths changed'));
    assert.equal([...after.matchAll(/Loading model pair from .*provider: cuda/g)].length, 1, after);
    await waitFor(() => /engine stderr: .*libonnxruntime_providers_cuda\.so: undefined symbol: GetProvider/.test(overfillLog(session)), "onnxruntime's own words in the log");
    await statusBarShows(page, 'fixture-b · CPU');
    await screenshot(page, 'cuda-fallback');
    const prefix = FILES['cuda.ts'] + TYPED;
    const expected = await engineSuggestion(PAIR_B, prefix, 'cuda.ts');
    const { saved } = await typeAcceptSave(session, 'cuda.ts');
    assert.equal(saved, prefix + expected);

    // Remove: the engine leaves the copy, then the copy is deleted.
    await runCommand(page, 'OverFill: Set Up CUDA');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Remove the CUDA setup' }).first().waitFor();
    await page.keyboard.type('remove', { delay: 10 });
    await page.keyboard.press('Enter');
    await notificationShows(page, 'removed the CUDA setup');
    assert.equal(fs.existsSync(placed.slice(0, placed.indexOf(`${path.sep}cuda${path.sep}`) + 5)), false, 'the cuda folder of global storage is gone');
    const last = overfillLog(session).split('\n').filter((l) => l.includes('Loaded fixture-b')).pop() ?? '';
    assert.doesNotMatch(last, /onnxruntime from/, `the model reloaded on the shipped onnxruntime: ${last}`);
    fs.writeFileSync(session.machineSettings, JSON.stringify(machine, null, 2));
  });
});
