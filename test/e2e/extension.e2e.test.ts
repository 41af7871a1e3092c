// End to end: the packaged .vsix in code-server, driven in headless Chromium. Ghost text must
// be exactly what the engine computes for the same text (not a constant), Tab must insert
// it, Explain Selection must write text, and a model-folder change must take effect live.
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { CompletionEngine } from '../../src/engine/completionEngine';
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

/** What the engine itself suggests for `prefix` at the end of the TypeScript file `name`, with the extension's default settings. */
async function engineSuggestion(modelFolder: string, prefix: string, name: string): Promise<string> {
  const engine = await CompletionEngine.load(modelFolder, 'cpu');
  try {
    const result = await engine.complete({ prefix, suffix: '', languageId: 'typescript', filePath: name, repoName: WORKSPACE_NAME, maxNewTokens: 48, contextTokens: 1024, maxLines: 8 });
    return result.text;
  } finally {
    await engine.dispose();
  }
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
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor();
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
  const file = path.join(session.workspace, name);
  const original = FILES[name as keyof typeof FILES];
  // The save truncates, then writes: wait for new content that holds still across two reads.
  const deadline = Date.now() + 20_000;
  let previous = '';
  let saved = fs.readFileSync(file, 'utf8');
  while ((saved === original || saved === '' || saved !== previous) && Date.now() < deadline) {
    previous = saved;
    await new Promise((r) => setTimeout(r, 200));
    saved = fs.readFileSync(file, 'utf8');
  }
  return { ghost: ghostText, saved };
}

describe('OverFill Code in VS Code (code-server)', { timeout: 600_000 }, () => {
  let session: Session;
  before(async () => {
    session = await startSession(FILES, SETTINGS);
  });
  after(() => session?.close());

  it('loads the embedded default pair and says so in the status bar', async () => {
    await statusBarShows(session.page, `OverFill: ${DEFAULT_NAME}`);
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
    await statusBarShows(session.page, `OverFill: ${DEFAULT_NAME}`);
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

  it('Explain Selection writes an explanation beside the editor', async () => {
    const { page } = session;
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('F1');
    await page.keyboard.type('OverFill: Explain Selection', { delay: 10 });
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Explain Selection' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.tab', { hasText: 'Explanation 1.md' }).waitFor({ timeout: 30_000 });
    const view = page.locator('.monaco-editor', { hasText: '# Explanation' }).locator('.view-lines');
    await view.filter({ hasText: `Written by ${DEFAULT_NAME}` }).waitFor({ timeout: 60_000 });
    const lines = norm(await view.innerText()).split('\n').map((l) => l.trim()).filter(Boolean);
    const body = lines.slice(lines.findIndex((l) => l.startsWith('_Written by')) + 1, lines.indexOf('---')).join(' ');
    // The engine's own explanation of the same selection (the whole saved file).
    const code = fs.readFileSync(path.join(session.workspace, 'geometry.ts'), 'utf8');
    const engine = await CompletionEngine.load(DEFAULT_MODEL, 'cpu');
    const expected = await engine.explain({ code, languageId: 'typescript', maxNewTokens: 160, contextTokens: 1024 }, undefined, () => undefined).finally(() => engine.dispose());
    const want = expected ? norm(expected).split('\n')[0].trim() : '(The model wrote no explanation.)';
    const squash = (t: string): string => t.replace(/\s+/g, ''); // the view wraps long lines
    assert.ok(body.length > 0 && squash(body).includes(squash(want.slice(0, 40))), `explanation "${body}" does not show the engine's "${want}"`);
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
    await statusBarShows(session.page, 'OverFill: fixture-b');
    const { saved } = await typeAcceptSave(session, 'names.ts');
    assert.equal(saved, prefix + expectedB);
  });

  it('a pair converted from a Hugging Face checkpoint shows its ghost text', async () => {
    const prefix = FILES['units.ts'] + TYPED;
    const expected = await engineSuggestion(CONVERTED_QWEN2, prefix, 'units.ts');
    assert.ok(expected.length > 0, 'the converted pair suggests nothing for this prompt: choose another one');
    fs.writeFileSync(session.machineSettings, JSON.stringify({ 'overfill.model.path': CONVERTED_QWEN2 }, null, 2));
    await statusBarShows(session.page, 'OverFill: qwen2-overfill');
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
    await statusBarShows(session.page, 'OverFill: qwen2-overfill');
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
    await statusBarShows(session.page, 'OverFill: qwen2-overfill');
    const shown = (await session.page.evaluate('window.overfillStatusTexts')) as string[];
    assert.ok(shown.some((t) => t.includes('OverFill: restarting')), `the status bar showed ${JSON.stringify(shown)}`);
    const { saved } = await typeAcceptSave(session, 'revived.ts');
    assert.equal(saved, prefix + expected);
  });
});
