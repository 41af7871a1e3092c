// What Select Model offers: the embedded pair first, model folders found in the search paths
// (a path may be a model itself), each once, and folders that look like a model but do not
// read as one listed with the reason. Real fixture folders.
import * as fs from 'fs';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as os from 'os';
import * as path from 'path';
import { describeShape, listModels } from '../../src/vscode/model/modelCatalog';
import { OPTIMUM_QWEN2 } from './byoFixtures';
import { PAIR_A, PAIR_B } from './fixtures';

describe('model catalog', () => {
  let root: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'overfill-catalog-'));
    fs.cpSync(PAIR_B, path.join(root, 'b'), { recursive: true });
    fs.mkdirSync(path.join(root, 'not-a-model'));
    fs.writeFileSync(path.join(root, 'not-a-model', 'notes.txt'), 'hello');
    fs.mkdirSync(path.join(root, 'bad-manifest'));
    fs.writeFileSync(path.join(root, 'bad-manifest', 'overfill.json'), '{ not json');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('lists the embedded pair first, then the search paths’ models, a model path itself included; problems apart', async () => {
    const { entries, problems } = await listModels(PAIR_A, [root, OPTIMUM_QWEN2, root], undefined);
    assert.deepEqual(
      entries.map((e) => [path.basename(e.folder), e.source, e.kind]),
      [
        [path.basename(PAIR_A), 'embedded', 'overfill'],
        ['b', 'search path', 'overfill'],
        [path.basename(OPTIMUM_QWEN2), 'search path', 'full-only'],
      ],
    );
    assert.equal(entries[1].name, 'fixture-b');
    assert.ok((entries[1].fullParams ?? 0) > 0 && (entries[1].decoderParams ?? 0) > 0);
    assert.deepEqual(problems.map((p) => path.basename(p.folder)), ['bad-manifest']);
    assert.ok(problems[0].message.length > 0);
  });

  it('models in the global storage’s models folder are offered; a missing folder is no error', async () => {
    const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'overfill-storage-'));
    try {
      assert.equal((await listModels(PAIR_A, ['/no/such/folder'], storage)).entries.length, 1);
      fs.mkdirSync(path.join(storage, 'models'));
      fs.cpSync(PAIR_B, path.join(storage, 'models', 'mine'), { recursive: true });
      const { entries } = await listModels(PAIR_A, [], storage);
      assert.deepEqual(entries.map((e) => e.source), ['embedded', 'global storage']);
    } finally {
      fs.rmSync(storage, { recursive: true, force: true });
    }
  });

  it('describes the shape as the picker shows it', () => {
    assert.equal(describeShape({ kind: 'overfill', fullParams: 150_000_000, decoderParams: 52_300_000 }), 'OverFill: full 150.0M → decoder 52.3M');
    assert.equal(describeShape({ kind: 'full-only', fullParams: 1_540_000_000 }), 'full-only 1.5B');
  });
});
