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
};
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
};

/** What the engine itself suggests for `prefix` at the end of a TypeScript file, with the extension's default settings. */
async function engineSuggestion(modelFolder: string, prefix: string): Promise<string> {
  const engine = await CompletionEngine.load(modelFolder, 'cpu');
  try {
    const result = await engine.complete({ prefix, suffix: '', languageId: 'typescript', maxNewTokens: 48, contextTokens: 1024 });
    return result.text;
  } finally {
    await engine.dispose();
  }
}

const norm = (s: string): string => s.replace(/\u00a0/g, ' ');

async function statusBarShows(page: Page, text: string): Promise<void> {
  await page.locator('.statusbar-item', { hasText: text }).first().waitFor({ timeout: 90_000 });
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
  await page.keyboard.type(TYPED, { delay: 40 });
  const ghost = page.locator('.editor-group-container.active .monaco-editor [class*="ghost-text"]').first();
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

  it('typing shows the engine’s ghost text and Tab inserts it', async () => {
    const prefix = FILES['geometry.ts'] + TYPED;
    const expected = await engineSuggestion(DEFAULT_MODEL, prefix);
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

  it('a new model folder in the settings takes effect without a reload', async () => {
    const prefix = FILES['names.ts'] + TYPED;
    const expectedB = await engineSuggestion(PAIR_B, prefix);
    const expectedDefault = await engineSuggestion(DEFAULT_MODEL, prefix);
    assert.ok(expectedB.length > 0, 'pair B suggests nothing for this prompt: choose another one');
    assert.notEqual(expectedB, expectedDefault, 'the two pairs must disagree for this check to mean anything');
    fs.writeFileSync(session.machineSettings, JSON.stringify({ 'overfill.model.path': PAIR_B }, null, 2));
    await statusBarShows(session.page, 'OverFill: fixture-b');
    const { saved } = await typeAcceptSave(session, 'names.ts');
    assert.equal(saved, prefix + expectedB);
  });

  it('a pair converted from a Hugging Face checkpoint shows its ghost text', async () => {
    const prefix = FILES['units.ts'] + TYPED;
    const expected = await engineSuggestion(CONVERTED_QWEN2, prefix);
    assert.ok(expected.length > 0, 'the converted pair suggests nothing for this prompt: choose another one');
    fs.writeFileSync(session.machineSettings, JSON.stringify({ 'overfill.model.path': CONVERTED_QWEN2 }, null, 2));
    await statusBarShows(session.page, 'OverFill: qwen2-overfill');
    const { ghost, saved } = await typeAcceptSave(session, 'units.ts');
    assert.ok(ghost.length > 0, 'no ghost text');
    assert.equal(saved, prefix + expected);
  });
});
