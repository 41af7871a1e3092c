// A GPU provider that creates its sessions and then fails when they first run is caught at load:
// the model is reopened on the CPU once, and the fallback says why. No provider on this machine
// loads and then fails, so the GPU side is a stand-in; the CPU side is the real engine.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { abortError } from '../../src/engine/errors';
import { openWithFirstRunCheck, type OpenedOnProvider } from '../../src/engine/runtime/firstRunCheck';
import type { ProviderFallback, ProviderName, ProviderSetting } from '../../src/engine/runtime/providers';
import { PAIR_A } from './fixtures';

class StandIn implements OpenedOnProvider {
  readonly fallbacks: ProviderFallback[] = [];
  runs = 0;
  disposed = false;
  constructor(
    readonly provider: ProviderName,
    private readonly failWith?: Error,
  ) {}
  async firstRun(): Promise<void> {
    this.runs++;
    if (this.failWith) throw this.failWith;
  }
  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

describe('first-run check', () => {
  const engines: CompletionEngine[] = [];
  after(async () => Promise.all(engines.map((e) => e.dispose())));

  it('a GPU provider failing at its first run: the CPU engine is used, with the reason, and completes', async () => {
    const gpu = new StandIn('cuda', new Error('CUDA failure 700: an illegal memory access was encountered\n(more)'));
    const opened: ProviderSetting[] = [];
    const engine = await openWithFirstRunCheck(async (setting): Promise<StandIn | CompletionEngine> => {
      opened.push(setting);
      if (setting !== 'cpu') return gpu;
      const e = await CompletionEngine.load(PAIR_A, 'cpu');
      engines.push(e);
      return e;
    }, 'cuda');
    assert.deepEqual(opened, ['cuda', 'cpu']);
    assert.equal(gpu.runs, 1);
    assert.ok(gpu.disposed, 'the failed GPU sessions were not released');
    assert.ok(engine instanceof CompletionEngine);
    assert.equal(engine.info.provider, 'cpu');
    assert.deepEqual(engine.info.fallbacks, [{ provider: 'cuda', reason: 'it loaded the model but failed at its first run (CUDA failure 700: an illegal memory access was encountered)', requested: true }]);
    const result = await engine.complete({ prefix: 'def add(a, b):\n    return ', suffix: '\n', languageId: 'python', maxNewTokens: 4, contextTokens: 128 });
    assert.ok(result.ids.length > 0);
  });

  it('earlier fallbacks are kept, and "auto" marks the failure as not requested', async () => {
    const gpu = new StandIn('dml', new Error('DXGI_ERROR_DEVICE_REMOVED'));
    gpu.fallbacks.push({ provider: 'cuda', reason: 'no CUDA provider libraries', requested: false });
    const cpu = new StandIn('cpu');
    const chosen = await openWithFirstRunCheck(async (s) => (s === 'cpu' ? cpu : gpu), 'auto');
    assert.equal(chosen, cpu);
    assert.deepEqual(chosen.fallbacks.map((f) => [f.provider, f.requested]), [['cuda', false], ['dml', false]]);
  });

  it('a GPU provider whose first run works is kept; the CPU is never probed', async () => {
    const gpu = new StandIn('cuda');
    assert.equal(await openWithFirstRunCheck(async () => gpu, 'auto'), gpu);
    assert.equal(gpu.runs, 1);
    const cpu = new StandIn('cpu', new Error('never run'));
    assert.equal(await openWithFirstRunCheck(async () => cpu, 'cpu'), cpu);
    assert.equal(cpu.runs, 0, 'a CPU model pays no first run at load');
  });

  it('a cancelled first run is not a provider failure', async () => {
    const gpu = new StandIn('cuda', abortError());
    await assert.rejects(openWithFirstRunCheck(async () => gpu, 'cuda'), /cancelled/);
  });
});
