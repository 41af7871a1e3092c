// Paths to the generated fixture pairs (training/make_fixtures.py) and their references.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'generated');
export const PAIR_A = path.join(FIXTURES, 'pair-a');
export const PAIR_A_HF = path.join(FIXTURES, 'pair-a-hf');
/** Pair A with hf-layout graphs for WebGPU (webgpu/, manifest "providers") beside its static ones. */
export const PAIR_A_WEBGPU = path.join(FIXTURES, 'pair-a-webgpu');
export const PAIR_A_F16 = path.join(FIXTURES, 'pair-a-f16');
export const PAIR_A_INT8 = path.join(FIXTURES, 'pair-a-int8');
/** Pair A with an int8 KV cache (its weights stay float32). */
export const PAIR_A_I8KV = path.join(FIXTURES, 'pair-a-i8kv');
export const PAIR_B = path.join(FIXTURES, 'pair-b');
export const MISMATCHED = path.join(FIXTURES, 'mismatched');
export const MISMATCHED_DTYPE = path.join(FIXTURES, 'mismatched-dtype');
/** Pair A whose full model declares int32 input_ids. */
export const WRONG_IDS_DTYPE = path.join(FIXTURES, 'wrong-ids-dtype');
export const ENGINE_SCRIPT = path.join(REPO_ROOT, 'out', 'src', 'engine', 'engineProcess.js');

export interface Reference {
  promptIds: number[];
  promptText: string;
  newTokens: number;
  modes: Record<'overfill' | 'full' | 'decoder', { ids: number[]; top5: { ids: number[]; values: number[] }[] }>;
}

export function readReference(folder: string): Reference {
  if (!fs.existsSync(path.join(folder, 'reference.json'))) {
    throw new Error(`Missing fixture ${folder}: run "npm run fixtures" (training/make_fixtures.py) first.`);
  }
  return JSON.parse(fs.readFileSync(path.join(folder, 'reference.json'), 'utf8')) as Reference;
}

/** Writes the graphs' current sha256 into a copied pair's manifest (a test that swaps a graph on purpose). */
export function reseal(dir: string): void {
  const file = path.join(dir, 'overfill.json');
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { file: string; sha256?: string }>;
  for (const role of ['full', 'decoder']) manifest[role].sha256 = createHash('sha256').update(fs.readFileSync(path.join(dir, manifest[role].file))).digest('hex');
  fs.writeFileSync(file, JSON.stringify(manifest, null, 2));
}

/** A scratch copy of a fixture folder that a test may damage. */
export function copyFixture(folder: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overfill-test-'));
  fs.cpSync(folder, dir, { recursive: true });
  return dir;
}
