// The text sent for a cursor: a 5 MB single line (minified code) or a 50k-line file costs a
// window around the cursor, not the file; binary content sends nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readDocumentWindow, type DocumentLines } from '../../src/vscode/completion/documentWindow';

const lines = (text: string): DocumentLines => {
  const all = text.split('\n');
  return { lineCount: all.length, lineAt: (i: number) => ({ text: all[i] }) };
};
const MAX = 8192; // contextSize 1024 × 8 characters, the extension's default

describe('document window', () => {
  const minified = 'var a=' + Array.from({ length: 600_000 }, (_, i) => `f${i % 13}(${i})`).join(',') + ';';

  it('a 5 MB single line: only the part near the cursor is read, its start cut in 1 KB steps', () => {
    assert.ok(minified.length > 5_000_000, `${minified.length} characters`);
    const at = 3_000_123;
    const w = readDocumentWindow(lines(minified), { line: 0, character: at }, MAX)!;
    assert.ok(w.prefix.length >= MAX && w.prefix.length < MAX + 1024, `prefix of ${w.prefix.length} characters`);
    assert.equal(w.suffix.length, MAX);
    assert.ok(minified.slice(0, at).endsWith(w.prefix));
    assert.equal((at - w.prefix.length) % 1024, 0, 'the window does not start on a 1 KB step');
    // Typing on: the start stays put until the cursor crosses a step (the cached prompt stays usable).
    const next = readDocumentWindow(lines(minified), { line: 0, character: at + 10 }, MAX)!;
    assert.equal(at + 10 - next.prefix.length, at - w.prefix.length);
  });

  it('a 50k-line file: a window of lines around the cursor, anchored at a 64-line step', () => {
    const text = Array.from({ length: 50_000 }, (_, i) => `const value${i} = compute(${i});`).join('\n');
    const w = readDocumentWindow(lines(text), { line: 30_000, character: 5 }, MAX)!;
    assert.ok(w.prefix.length <= 2 * MAX + 64, `prefix of ${w.prefix.length} characters`);
    assert.ok(w.suffix.length <= MAX + 64, `suffix of ${w.suffix.length} characters`);
    const firstLine = Number(/^const value(\d+) /.exec(w.prefix)![1]);
    assert.equal(firstLine % 64, 0);
    assert.ok(w.prefix.endsWith('\nconst'));
  });

  it('binary content (NUL bytes) around the cursor: nothing is sent', () => {
    const binary = 'PK\u0003\u0004' + '\u0000\u0001\u0002garbage\u0000'.repeat(200);
    assert.equal(readDocumentWindow(lines(binary), { line: 0, character: 400 }, MAX), undefined);
  });
});
