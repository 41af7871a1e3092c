// Settings as the extension reads them: out-of-range values are clamped, and each distinct
// warning reaches the log once however often the settings are read again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { languageEnabled, readSettings, warnOnceEach, type SettingsSource } from '../../src/vscode/settings/readSettings';

/** A configuration with package.json's defaults for the keys used here, user values on top. */
function source(user: Record<string, unknown>, workspace: Record<string, unknown> = {}): SettingsSource {
  const defaults: Record<string, unknown> = { enable: true, maxNewTokens: 64, contextSize: 2048, cpuThreads: 0, maxLines: 8, debounceMs: null };
  return {
    get: <T>(key: string, fallback: T): T => (key in workspace ? workspace[key] : key in user ? user[key] : key in defaults ? defaults[key] : fallback) as T,
    inspect: <T>(key: string) => ({ defaultValue: defaults[key] as T | undefined, globalValue: user[key] as T | undefined }),
  };
}

describe('readSettings', () => {
  it('huge contextSize and maxNewTokens are clamped, with one warning each across many reads', () => {
    const warnings: string[] = [];
    const warn = warnOnceEach((m) => warnings.push(m));
    const config = source({ contextSize: 10_000_000, maxNewTokens: 1e9, cpuThreads: -3 });
    for (let i = 0; i < 5; i++) {
      const s = readSettings(config, warn);
      assert.equal(s.contextSize, 32768);
      assert.equal(s.maxNewTokens, 512);
      assert.equal(s.cpuThreads, 0);
    }
    assert.deepEqual(warnings, [
      'overfill.cpuThreads = -3 is outside 0..64; using 0.',
      'overfill.maxNewTokens = 1000000000 is outside 1..512; using 512.',
      'overfill.contextSize = 10000000 is outside 64..32768; using 32768.',
    ]);
  });

  it('a value that is not a number falls back to the default and says so', () => {
    const warnings: string[] = [];
    const s = readSettings(source({ maxLines: 'many' }), (m) => warnings.push(m));
    assert.equal(s.maxLines, 8);
    assert.deepEqual(warnings, ['overfill.maxLines must be a number; using 8.']);
  });

  it('the model path and provider come from user settings only, never a workspace', () => {
    const s = readSettings(source({ 'model.path': ' /models/mine ' }, { 'model.path': '/tmp/evil', executionProvider: 'cuda' }), () => undefined);
    assert.equal(s.modelPath, '/models/mine');
    assert.equal(s.executionProvider, 'auto');
  });

  it('an unknown provider is replaced by auto, with a warning', () => {
    const warnings: string[] = [];
    assert.equal(readSettings(source({ executionProvider: 'tpu' }), (m) => warnings.push(m)).executionProvider, 'auto');
    assert.equal(warnings.length, 1);
  });

  it('warnOnceEach remembers a bounded number of warnings', () => {
    const seen: string[] = [];
    const warn = warnOnceEach((m) => seen.push(m), 3);
    for (const m of ['a', 'b', 'a', 'c', 'd', 'b']) warn(m);
    assert.deepEqual(seen, ['a', 'b', 'c']);
  });

  it('overfill.languages: a language’s own entry wins over "*", and the default turns plain text and Markdown off', () => {
    const defaults = readSettings(source({}), () => undefined);
    assert.equal(languageEnabled(defaults, 'typescript'), true);
    assert.equal(languageEnabled(defaults, 'markdown'), false);
    assert.equal(languageEnabled(defaults, 'plaintext'), false);
    const onlyPython = readSettings(source({ languages: { '*': false, python: true } }), () => undefined);
    assert.equal(languageEnabled(onlyPython, 'python'), true);
    assert.equal(languageEnabled(onlyPython, 'typescript'), false);
    const off = readSettings(source({ enable: false, languages: { python: true } }), () => undefined);
    assert.equal(languageEnabled(off, 'python'), false, 'overfill.enable false turns every language off');
  });

  it('bad overfill.languages entries are dropped with a warning; a non-object falls back to the default', () => {
    const warnings: string[] = [];
    const s = readSettings(source({ languages: { go: 'yes', rust: false } }), (m) => warnings.push(m));
    assert.deepEqual({ ...s.languages }, { rust: false });
    assert.deepEqual(warnings, ['overfill.languages["go"] must be true or false; ignoring it.']);
    const list = readSettings(source({ languages: ['go'] }), () => undefined);
    assert.equal(list.languages.markdown, false);
  });

  it('overfill.model.searchPaths: only user settings, strings only, trimmed, bounded', () => {
    const warnings: string[] = [];
    const s = readSettings(source({ 'model.searchPaths': [' /models ', 3, '', '/more'] }), (m) => warnings.push(m));
    assert.deepEqual([...s.modelSearchPaths], ['/models', '/more']);
    const many = readSettings(source({ 'model.searchPaths': Array.from({ length: 40 }, (_, i) => `/m${i}`) }), (m) => warnings.push(m));
    assert.equal(many.modelSearchPaths.length, 32);
    assert.match(warnings.join('\n'), /lists 40 folders; searching the first 32/);
    const fromWorkspace = readSettings(source({}, { 'model.searchPaths': ['/evil'] }), () => undefined);
    assert.deepEqual([...fromWorkspace.modelSearchPaths], []);
  });

  it('overfill.cuda.libraryPaths: only user settings, absolute folders only', () => {
    const warnings: string[] = [];
    const s = readSettings(source({ 'cuda.libraryPaths': [' /usr/local/cuda-12/lib64 ', 'lib', 7, '/opt/cudnn/lib'] }), (m) => warnings.push(m));
    assert.deepEqual([...s.cudaLibraryPaths], ['/usr/local/cuda-12/lib64', '/opt/cudnn/lib']);
    assert.deepEqual(warnings, ['overfill.cuda.libraryPaths: "lib" is not an absolute path; ignoring it.']);
    // A workspace could otherwise make the engine load libraries from the repository it opened.
    const fromWorkspace = readSettings(source({}, { 'cuda.libraryPaths': ['/tmp/evil'] }), () => undefined);
    assert.deepEqual([...fromWorkspace.cudaLibraryPaths], []);
  });
});
