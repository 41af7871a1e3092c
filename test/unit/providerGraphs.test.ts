// A pair may name graphs of its own for one provider (manifest "providers": WebGPU's hf-layout
// graphs beside the static ones the CPU runs). The manifest is checked for them like for its
// own graphs; the CPU never opens them. WebGPU's side is in webgpu.test.ts.
import * as fs from 'fs';
import assert from 'node:assert/strict';
import * as path from 'path';
import { describe, it } from 'node:test';
import { OverfillError } from '../../src/engine/errors';
import { manifestFor, readManifest } from '../../src/engine/model/manifest';
import { loadModelPair } from '../../src/engine/runtime/loadModelPair';
import { copyFixture, PAIR_A_WEBGPU } from './fixtures';

interface Graphs {
  full: { file: string; sha256?: string };
  decoder: { file: string };
  kv: { dtype: string };
}
type Manifest = { providers: Record<string, Graphs> };

function edit(dir: string, change: (m: Manifest) => void): void {
  const file = path.join(dir, 'overfill.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  change(m);
  fs.writeFileSync(file, JSON.stringify(m));
}

describe('graphs for a provider (manifest "providers")', () => {
  it('the manifest names WebGPU’s hf graphs; manifestFor swaps them in for webgpu only', async () => {
    const m = await readManifest(PAIR_A_WEBGPU);
    assert.equal(m.kv.cacheLayout, 'static');
    const gpu = manifestFor(m, 'webgpu');
    assert.equal(gpu.full.file, 'webgpu/full.onnx');
    assert.equal(gpu.decoder.file, 'webgpu/decoder.onnx');
    assert.deepEqual([gpu.kv.cacheLayout, gpu.kv.dtype, gpu.kv.numLayers], ['hf', 'float32', m.kv.numLayers]);
    assert.equal(manifestFor(m, 'cpu'), m);
  });

  it('the CPU opens the static graphs and never reads the WebGPU ones', async () => {
    const dir = copyFixture(PAIR_A_WEBGPU);
    try {
      fs.rmSync(path.join(dir, 'webgpu', 'full.onnx'));
      fs.writeFileSync(path.join(dir, 'webgpu', 'full.onnx'), 'not a graph');
      edit(dir, (m) => (m.providers.webgpu.full.sha256 = undefined));
      const pair = await loadModelPair(dir, 'cpu');
      try {
        assert.equal(pair.manifest.full.file, 'full.onnx');
        assert.equal(pair.full.cacheLayout, 'static');
      } finally {
        await pair.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing provider graph, an unknown provider and an int8 hf KV are refused with what to do', async () => {
    const cases: [string, (m: Manifest) => void, RegExp][] = [
      ['missing', (m) => (m.providers.webgpu.decoder.file = 'webgpu/nope.onnx'), /webgpu decoder file .*nope\.onnx named in overfill\.json is missing/],
      ['unknown', (m) => (m.providers.cuda = m.providers.webgpu), /"providers" names "cuda"; only "webgpu" may have graphs of their own/],
      ['int8 hf', (m) => (m.providers.webgpu.kv.dtype = 'int8'), /"providers\.webgpu\.kv\.dtype" "int8" needs "cacheLayout" "static"/],
    ];
    for (const [what, change, message] of cases) {
      const dir = copyFixture(PAIR_A_WEBGPU);
      try {
        edit(dir, change);
        await assert.rejects(readManifest(dir), (err: unknown) => err instanceof OverfillError && message.test(err.message), what);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
