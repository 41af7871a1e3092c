// Standard ONNX exports (Hugging Face / optimum text-generation-with-past) load as they are: a
// folder with config.json, the tokenizer files and onnx/model*.onnx (or model*.onnx) gets a
// manifest built here from config.json and the tokenizer; its KV layout is read from the graph
// itself on load (runtime/loadModelPair.ts). The model runs full-only: there is no decoder.
import { promises as fs } from 'fs';
import * as path from 'path';
import { OverfillError } from '../errors';
import { detectFamily, type TokenizerFiles } from '../tokenizer/detectFamily';
import { checkFilesExist, DEFAULT_IO, type ModelManifest } from './manifest';

/** Variants by file name, best first for onnxruntime's CPU provider: int8 runs ~2-3x faster than
 *  float32 there, 4-bit blocks run too, and full-float16 graphs ran ~3x slower (cast storms). */
export const VARIANT_PREFERENCE = ['model_quantized', 'model_int8', 'model_uint8', 'model', 'model_q4', 'model_bnb4', 'model_q4f16', 'model_fp16'];

async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isFile(), () => false);
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new OverfillError('MODEL_INVALID', `${file} is not valid JSON (${(err as Error).message}). Download the export again.`);
  }
}

/** The graph to run in `folder` (relative path), by VARIANT_PREFERENCE, or undefined. */
export async function pickVariant(folder: string): Promise<string | undefined> {
  for (const dir of ['onnx', '.']) {
    const names = await fs.readdir(path.join(folder, dir)).catch(() => [] as string[]);
    for (const variant of VARIANT_PREFERENCE) {
      if (names.includes(`${variant}.onnx`)) return path.normalize(path.join(dir, `${variant}.onnx`));
    }
  }
  return undefined;
}

/** Where a standard export's files are when the setting names the folder or one of its .onnx files. */
export async function locateStandardExport(location: string): Promise<{ folder: string; graph: string } | undefined> {
  if (location.endsWith('.onnx') && (await isFile(location))) {
    const dir = path.dirname(location);
    const folder = !(await isFile(path.join(dir, 'config.json'))) && (await isFile(path.join(dir, '..', 'config.json'))) ? path.dirname(dir) : dir;
    return { folder, graph: path.relative(folder, location) };
  }
  if (!(await isFile(path.join(location, 'config.json')))) return undefined;
  const graph = await pickVariant(location);
  return graph ? { folder: location, graph } : undefined;
}

function positiveInt(v: unknown): number | undefined {
  return Number.isInteger(v) && (v as number) > 0 ? (v as number) : undefined;
}

/** The in-memory manifest of a standard export; kv.dtype is a placeholder the graph replaces on load. */
export async function standardExportManifest(folder: string, graph: string): Promise<ModelManifest> {
  const config = await readJson(path.join(folder, 'config.json'));
  if (!(await isFile(path.join(folder, 'tokenizer.json')))) {
    throw new OverfillError('MODEL_NOT_FOUND', `${folder} has an ONNX model but no tokenizer.json. Download the export's tokenizer files (tokenizer.json, tokenizer_config.json) into the folder.`);
  }
  const hasConfig = await isFile(path.join(folder, 'tokenizer_config.json'));
  const files: TokenizerFiles = {
    tokenizer: (await readJson(path.join(folder, 'tokenizer.json'))) as unknown as TokenizerFiles['tokenizer'],
    config: hasConfig ? await readJson(path.join(folder, 'tokenizer_config.json')) : {},
  };
  let detected;
  try {
    detected = detectFamily(files);
  } catch (err) {
    throw new OverfillError('TOKENIZER_INVALID', `${path.join(folder, 'tokenizer.json')}: ${(err as Error).message}.`);
  }
  const heads = positiveInt(config.num_attention_heads);
  const hidden = positiveInt(config.hidden_size);
  const numLayers = positiveInt(config.num_hidden_layers);
  const numKvHeads = positiveInt(config.num_key_value_heads) ?? heads;
  const headDim = positiveInt(config.head_dim) ?? (hidden && heads ? hidden / heads : undefined);
  const vocabSize = positiveInt(config.vocab_size);
  if (!numLayers || !numKvHeads || !headDim || !vocabSize) {
    throw new OverfillError('MODEL_INVALID', `${path.join(folder, 'config.json')} lacks num_hidden_layers, num_attention_heads/num_key_value_heads, hidden_size or vocab_size: it is not a causal LM's config.`);
  }
  const name = typeof config._name_or_path === 'string' && config._name_or_path ? path.basename(config._name_or_path) : path.basename(folder);
  const graphInfo = { file: graph, hiddenSize: hidden, intermediateSize: positiveInt(config.intermediate_size), externalData: (await isFile(path.join(folder, `${graph}_data`))) ? `${path.basename(graph)}_data` : undefined };
  const manifest: ModelManifest = Object.freeze<ModelManifest>({
    folder,
    name,
    description: `${path.basename(graph)} loaded as it is (full-only: no OverFill decoder)`,
    vocabSize,
    contextLength: positiveInt(config.max_position_embeddings) ?? 2048,
    kv: { numLayers, numKvHeads, headDim, dtype: 'float32', cacheLayout: 'hf' },
    full: graphInfo,
    decoder: graphInfo,
    tokenizer: { file: 'tokenizer.json', config: hasConfig ? 'tokenizer_config.json' : undefined },
    tokens: detected.tokens,
    fimOrder: detected.fimOrder,
    family: detected.family,
    kind: 'full-only',
    io: DEFAULT_IO,
  });
  await checkFilesExist(manifest, 'the export');
  return manifest;
}
