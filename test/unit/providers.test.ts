// Provider choice per setting and platform, and the real fallback when a GPU provider cannot load.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { softwareAdapterReason } from '../../src/engine/runtime/gpuAdapter';
import { cpuThreads, providerCandidates, sessionOptions } from '../../src/engine/runtime/providers';
import { PAIR_A } from './fixtures';

describe('execution providers', () => {
  const table: [Parameters<typeof providerCandidates>[0], NodeJS.Platform, string[]][] = [
    ['auto', 'linux', ['webgpu', 'cuda', 'cpu']],
    ['auto', 'win32', ['webgpu', 'dml', 'cpu']],
    ['auto', 'darwin', ['webgpu', 'cpu']],
    ['auto', 'freebsd', ['cpu']],
    ['webgpu', 'linux', ['webgpu', 'cpu']],
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
      // The shipped onnxruntime-node has no provider libraries beside it: the reason says what to run.
      assert.match(engine.info.fallbacks[0].reason, /provider libraries are not set up: run "OverFill: Set Up CUDA"/);
    } finally {
      await engine.dispose();
    }
  });

  it('a Linux machine with no GPU device file has only software WebGPU adapters; a render node or an NVIDIA device is a GPU', () => {
    const none = (): { dri: string[]; dev: string[] } => ({ dri: [], dev: ['null', 'tty', 'nvidiactl'] });
    assert.match(softwareAdapterReason('linux', none) ?? '', /software Vulkan driver/);
    assert.equal(softwareAdapterReason('linux', () => ({ dri: ['card0', 'renderD128'], dev: [] })), undefined);
    assert.equal(softwareAdapterReason('linux', () => ({ dri: [], dev: ['nvidia0', 'nvidiactl'] })), undefined);
    assert.match(softwareAdapterReason('linux', () => ({ dri: ['card0'], dev: [] })) ?? '', /software/, 'a display card without a render node renders nothing');
    assert.equal(softwareAdapterReason('win32', none), undefined);
    assert.equal(softwareAdapterReason('darwin', none), undefined);
  });

  it('auto on a machine with no GPU device skips WebGPU (a software adapter) and says why, then ends on the CPU', async (t) => {
    if (process.platform !== 'linux' || softwareAdapterReason() === undefined) {
      t.skip('this machine has a GPU device: auto may take WebGPU');
      return;
    }
    const engine = await CompletionEngine.load(PAIR_A, 'auto');
    try {
      assert.equal(engine.info.provider, 'cpu');
      assert.deepEqual(engine.info.fallbacks.map((f) => [f.provider, f.requested]), [['webgpu', false], ['cuda', false]]);
      assert.match(engine.info.fallbacks[0].reason, /software Vulkan driver/);
    } finally {
      await engine.dispose();
    }
  });
});
