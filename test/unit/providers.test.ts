// Provider choice per setting and platform, and the real fallback when a GPU provider cannot load.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { cpuThreads, providerCandidates, sessionOptions } from '../../src/engine/runtime/providers';
import { PAIR_A } from './fixtures';

describe('execution providers', () => {
  const table: [Parameters<typeof providerCandidates>[0], NodeJS.Platform, string[]][] = [
    ['auto', 'linux', ['cuda', 'cpu']],
    ['auto', 'win32', ['cuda', 'dml', 'cpu']],
    ['auto', 'darwin', ['cpu']],
    ['cuda', 'linux', ['cuda', 'cpu']],
    ['dml', 'win32', ['dml', 'cpu']],
    ['cpu', 'win32', ['cpu']],
  ];
  for (const [setting, platform, expected] of table) {
    it(`${setting} on ${platform} tries ${expected.join(' → ')}`, () => {
      assert.deepEqual(providerCandidates(setting, platform), expected);
    });
  }

  it('CPU kernels get every core (up to 8, at least 1) unless overfill.cpuThreads says otherwise', () => {
    assert.deepEqual([1, 2, 6, 64].map((cores) => cpuThreads(0, cores)), [1, 2, 6, 8]);
    assert.equal(cpuThreads(0, 0), 1);
    assert.equal(cpuThreads(3, 64), 3);
    assert.equal(cpuThreads(12, 2), 12);
    assert.equal(sessionOptions('cpu').intraOpNumThreads, cpuThreads());
    assert.equal(sessionOptions('cpu', 1).intraOpNumThreads, 1);
    assert.deepEqual(sessionOptions('cpu').extra, { session: { force_spinning_stop: '1' } }, 'a finished session must not spin beside the other');
    assert.equal(sessionOptions('cpu').enableMemPattern, false, 'shapes change per request');
  });

  it('falls back to the CPU once when the CUDA provider will not load, and records why', async (t) => {
    const engine = await CompletionEngine.load(PAIR_A, 'cuda');
    try {
      if (engine.info.provider === 'cuda') {
        t.skip('this machine has a working CUDA provider: no fallback to observe');
        return;
      }
      assert.equal(engine.info.provider, 'cpu');
      assert.equal(engine.info.fallbacks.length, 1);
      assert.equal(engine.info.fallbacks[0].provider, 'cuda');
      assert.equal(engine.info.fallbacks[0].requested, true);
      assert.match(engine.info.fallbacks[0].reason, /CUDA/);
    } finally {
      await engine.dispose();
    }
  });
});
