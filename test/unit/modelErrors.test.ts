// Bad model folders are refused with an error code and a message that names the problem.
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { describe, it } from 'node:test';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { OverfillError, type OverfillErrorCode } from '../../src/engine/errors';
import { copyFixture, reseal, MISMATCHED, MISMATCHED_DTYPE, PAIR_A, PAIR_A_I8KV, WRONG_IDS_DTYPE } from './fixtures';

async function loadError(folder: string): Promise<OverfillError> {
  try {
    const engine = await CompletionEngine.load(folder, 'cpu');
    await engine.dispose();
  } catch (err) {
    assert.ok(err instanceof OverfillError, `expected an OverfillError, got ${String(err)}`);
    return err;
  }
  assert.fail(`loading ${folder} should have failed`);
}

function expectCode(err: OverfillError, code: OverfillErrorCode, ...mentions: string[]): void {
  assert.equal(err.code, code, err.message);
  for (const m of mentions) assert.ok(err.message.includes(m), `"${err.message}" should mention "${m}"`);
}

describe('model folder errors', () => {
  it('a decoder whose KV layout differs from its full model: KV_LAYOUT_MISMATCH naming the dimension', async () => {
    expectCode(await loadError(MISMATCHED), 'KV_LAYOUT_MISMATCH', 'numKvHeads', 'full.onnx has 2', 'decoder.onnx has 4');
  });

  it('a decoder storing its KV as float16 beside a float32 full model: KV_LAYOUT_MISMATCH naming the dtype', async () => {
    expectCode(await loadError(MISMATCHED_DTYPE), 'KV_LAYOUT_MISMATCH', 'dtype', 'full.onnx has float32', 'decoder.onnx has float16');
  });

  it('a graph whose input_ids are int32, not int64: MODEL_INVALID at load, naming the input, rather than a failure on the first keystroke', async () => {
    expectCode(await loadError(WRONG_IDS_DTYPE), 'MODEL_INVALID', 'full.onnx', '"input_ids" is int32', 'int64');
  });

  it('a manifest whose kv.dtype is not the graphs\': KV_LAYOUT_MISMATCH; an unknown kv.dtype: MODEL_INVALID', async () => {
    const dir = copyFixture(PAIR_A);
    const file = path.join(dir, 'overfill.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...manifest, kv: { ...manifest.kv, dtype: 'float16' } }));
    expectCode(await loadError(dir), 'KV_LAYOUT_MISMATCH', 'kv.dtype', 'float32');
    fs.writeFileSync(file, JSON.stringify({ ...manifest, kv: { ...manifest.kv, dtype: 'bfloat16' } }));
    expectCode(await loadError(dir), 'MODEL_INVALID', 'kv.dtype', '"float16"');
  });

  it('int8 KV: a decoder with a float32 cache beside it, or an int8 manifest on the HF layout, is refused', async () => {
    const dir = copyFixture(PAIR_A_I8KV);
    fs.copyFileSync(path.join(PAIR_A, 'decoder.onnx'), path.join(dir, 'decoder.onnx'));
    expectCode(await loadError(dir), 'MODEL_INVALID', 'sha256', 'decoder');
    reseal(dir);
    expectCode(await loadError(dir), 'KV_LAYOUT_MISMATCH', 'dtype', 'full.onnx has int8', 'decoder.onnx has float32');
    const file = path.join(dir, 'overfill.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...manifest, kv: { ...manifest.kv, cacheLayout: 'hf' } }));
    expectCode(await loadError(dir), 'MODEL_INVALID', '"int8" needs "kv.cacheLayout" "static"');
  });

  it('a folder that does not exist: MODEL_NOT_FOUND', async () => {
    expectCode(await loadError(path.join(PAIR_A, 'no-such-folder')), 'MODEL_NOT_FOUND', 'does not exist', 'overfill.model.path');
  });

  it('a folder without overfill.json: MODEL_NOT_FOUND', async () => {
    const dir = copyFixture(PAIR_A);
    fs.rmSync(path.join(dir, 'overfill.json'));
    expectCode(await loadError(dir), 'MODEL_NOT_FOUND', 'overfill.json');
  });

  it('a missing decoder graph: MODEL_NOT_FOUND naming the file', async () => {
    const dir = copyFixture(PAIR_A);
    fs.rmSync(path.join(dir, 'decoder.onnx'));
    expectCode(await loadError(dir), 'MODEL_NOT_FOUND', 'decoder', path.join(dir, 'decoder.onnx'));
  });

  it('a truncated ONNX file: its sha256 does not match (MODEL_INVALID naming the file); without a sha256, MODEL_LOAD_FAILED', async () => {
    const dir = copyFixture(PAIR_A);
    const file = path.join(dir, 'full.onnx');
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 3))); // truncated download
    expectCode(await loadError(dir), 'MODEL_INVALID', file, 'sha256', 'Copy the model folder again');
    const manifestFile = path.join(dir, 'overfill.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    delete manifest.full.sha256;
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    expectCode(await loadError(dir), 'MODEL_LOAD_FAILED', file, 're-export');
  });

  it('a graph changed in place (same size) is caught by its hash once its mtime moves; a checked file with the same size and mtime is not read again', async () => {
    const dir = copyFixture(PAIR_A);
    await (await CompletionEngine.load(dir, 'cpu')).dispose(); // checked once
    const file = path.join(dir, 'decoder.onnx');
    const { atimeMs, mtimeMs } = fs.statSync(file);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01; // one flipped bit, inside the weights
    fs.writeFileSync(file, bytes);
    fs.utimesSync(file, atimeMs / 1000, mtimeMs / 1000);
    await (await CompletionEngine.load(dir, 'cpu')).dispose(); // same size and mtime: trusted, not hashed again
    fs.utimesSync(file, atimeMs / 1000, mtimeMs / 1000 + 5);
    expectCode(await loadError(dir), 'MODEL_INVALID', 'decoder', 'sha256');
  });

  it('a manifest of a newer format version: MODEL_INVALID saying to update', async () => {
    const dir = copyFixture(PAIR_A);
    const file = path.join(dir, 'overfill.json');
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), formatVersion: 2 }));
    expectCode(await loadError(dir), 'MODEL_INVALID', 'formatVersion 2', 'Update the extension');
  });

  it('a manifest that is not JSON: MODEL_INVALID', async () => {
    const dir = copyFixture(PAIR_A);
    fs.writeFileSync(path.join(dir, 'overfill.json'), '{ "format": ');
    expectCode(await loadError(dir), 'MODEL_INVALID', 'not valid JSON');
  });

  it('a manifest whose KV layout disagrees with the graphs: KV_LAYOUT_MISMATCH', async () => {
    const dir = copyFixture(PAIR_A);
    const file = path.join(dir, 'overfill.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    manifest.kv.headDim = 64;
    fs.writeFileSync(file, JSON.stringify(manifest));
    expectCode(await loadError(dir), 'KV_LAYOUT_MISMATCH', 'kv.headDim = 64');
  });

  it('a tokenizer without the FIM tokens: TOKENIZER_INVALID', async () => {
    const dir = copyFixture(PAIR_A);
    const file = path.join(dir, 'overfill.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    manifest.tokens.fimMiddle = '<|fim_middle_missing|>';
    fs.writeFileSync(file, JSON.stringify(manifest));
    expectCode(await loadError(dir), 'TOKENIZER_INVALID', '<|fim_middle_missing|>');
  });
});
