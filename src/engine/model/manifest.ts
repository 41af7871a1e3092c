// The model folder's manifest (overfill.json): what the engine needs to know about a pair.
// Format documented in docs/model-format.md; written by training/export.py and
// training/convert. Folders without one (standard ONNX exports) get theirs from
// standardExport.ts.
import { promises as fs } from 'fs';
import * as path from 'path';
import { OverfillError } from '../errors';

export interface GraphInfo {
  file: string;
  params?: number;
  hiddenSize?: number;
  intermediateSize?: number;
  /** Of the .onnx file; checked on its first load (verifyFiles.ts). */
  sha256?: string;
  /** ONNX external data beside the graph (graphs over 2 GB keep their weights there). */
  externalData?: string;
}

/**
 * What past/present tensors hold (docs/model-format.md): float32; float16 (half the memory); or
 * int8, a quarter of float32's bytes: keys as uint8 (int8 + 128), values as int8, and a float32
 * scale per key and value row in extra key_scale/value_scale tensors. int8 needs the static layout.
 */
export type KvDtype = 'float32' | 'float16' | 'int8';
export const KV_DTYPES: readonly KvDtype[] = ['float32', 'float16', 'int8'];

export interface KvLayout {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  dtype: KvDtype;
}

/** How past/present tensors are laid out; see runtime/kvCache.ts. */
export type CacheLayoutName = 'hf' | 'static';

/** Control tokens by their text. The three FIM tokens come together or not at all: a model
 *  without them completes from the text before the cursor (fimOrder "none"). */
export interface SpecialTokens {
  fimPrefix?: string;
  fimSuffix?: string;
  fimMiddle?: string;
  endOfText: string;
  fileSeparator?: string;
  repoName?: string;
  fimPad?: string;
  /** Put first in every prompt (the tokenizer config asks for a BOS token). */
  bos?: string;
  /** Generation ends when one of these is produced. */
  stop: string[];
}

/** psm: prefix, suffix, middle; spm: suffix, prefix, middle; none: the prefix alone. */
export type FimOrder = 'psm' | 'spm' | 'none';

/** overfill: a full model and a decoder; full-only: one graph does both stages. */
export type PairKind = 'overfill' | 'full-only';

export interface IoNames {
  inputIds: string;
  attentionMask: string;
  positionIds: string;
  /** Patterns with `{i}` for the layer index. */
  pastKey: string;
  pastValue: string;
  presentKey: string;
  presentValue: string;
  /** int8 caches only: the per-row scales, [batch, kvHeads, 1, positions]. */
  pastKeyScale: string;
  pastValueScale: string;
  presentKeyScale: string;
  presentValueScale: string;
  logits: string;
}

/** Graphs a pair names for one provider in place of its own (manifest "providers"). */
export interface ProviderGraphs {
  full: GraphInfo;
  decoder: GraphInfo;
  kv: { dtype: KvDtype; cacheLayout: CacheLayoutName };
}

/** Providers a pair may carry graphs of their own for: WebGPU keeps hf-layout KV on the GPU. */
export const GRAPH_PROVIDERS = ['webgpu'] as const;
export type GraphProvider = (typeof GRAPH_PROVIDERS)[number];

export interface ModelManifest {
  folder: string;
  name: string;
  description: string;
  vocabSize: number;
  contextLength: number;
  kv: KvLayout & { cacheLayout: CacheLayoutName };
  full: GraphInfo;
  decoder: GraphInfo;
  tokenizer: { file: string; config?: string };
  tokens: SpecialTokens;
  /** Prompt layout the model was trained with. */
  fimOrder: FimOrder;
  /** Code-model family the tokens were detected from (tokenizer/modelFamilies.json), if any. */
  family?: string;
  kind: PairKind;
  io: IoNames;
  /** Graphs for particular providers (the top-level ones serve every other provider). */
  providers?: Partial<Record<GraphProvider, ProviderGraphs>>;
}

/**
 * The manifest as `provider` runs it: that provider's own graphs and KV form when the pair has
 * them, else the manifest itself. Layout checks and hashes then apply to what is loaded.
 */
export function manifestFor(manifest: ModelManifest, provider: string): ModelManifest {
  const own = manifest.providers?.[provider as GraphProvider];
  if (!own) return manifest;
  return { ...manifest, full: own.full, decoder: own.decoder, kv: { ...manifest.kv, ...own.kv }, providers: undefined };
}

export const MANIFEST_FILE = 'overfill.json';

export const DEFAULT_IO: IoNames = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  pastKey: 'past_key_values.{i}.key',
  pastValue: 'past_key_values.{i}.value',
  presentKey: 'present.{i}.key',
  presentValue: 'present.{i}.value',
  pastKeyScale: 'past_key_values.{i}.key_scale',
  pastValueScale: 'past_key_values.{i}.value_scale',
  presentKeyScale: 'present.{i}.key_scale',
  presentValueScale: 'present.{i}.value_scale',
  logits: 'logits',
};

export function layerName(pattern: string, layer: number): string {
  return pattern.replace('{i}', String(layer));
}

/** One layer's cache inputs and outputs, in the order runtime/kvCache.ts keeps them. */
export function layerCacheNames(io: IoNames, dtype: KvDtype, layer: number): { past: string[]; present: string[] } {
  const past = dtype === 'int8' ? [io.pastKey, io.pastValue, io.pastKeyScale, io.pastValueScale] : [io.pastKey, io.pastValue];
  const present = dtype === 'int8' ? [io.presentKey, io.presentValue, io.presentKeyScale, io.presentValueScale] : [io.presentKey, io.presentValue];
  return { past: past.map((p) => layerName(p, layer)), present: present.map((p) => layerName(p, layer)) };
}

/** The manifest version this engine reads (training/export.py writes it). */
export const FORMAT_VERSION = 1;

export async function readManifest(folder: string): Promise<ModelManifest> {
  const file = path.join(folder, MANIFEST_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    const folderExists = await fs.stat(folder).then((s) => s.isDirectory(), () => false);
    throw new OverfillError(
      'MODEL_NOT_FOUND',
      folderExists
        ? `The model folder ${folder} holds neither an OverFill pair (${MANIFEST_FILE}) nor a standard ONNX export (config.json with onnx/model*.onnx). Point "overfill.model.path" at a pair made by training.convert or training/export.py, or at an ONNX export's folder; or clear it to use the embedded model.`
        : `The model folder ${folder} does not exist. Fix "overfill.model.path", or clear it to use the embedded model.`,
    );
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new OverfillError('MODEL_INVALID', `${file} is not valid JSON (${(err as Error).message}). Re-export the model pair.`);
  }
  const manifest = validate(raw, file, folder);
  await checkFilesExist(manifest, MANIFEST_FILE);
  return manifest;
}

/** Every file the manifest names must be there before a session tries to open it. */
export async function checkFilesExist(manifest: ModelManifest, source: string): Promise<void> {
  const { folder } = manifest;
  const graphFiles = (full: GraphInfo, decoder: GraphInfo, label: string): [string, string | undefined][] => [
    [`${label}full model`, full.file],
    [`${label}full model's external data`, full.externalData && path.join(path.dirname(full.file), full.externalData)],
    [`${label}decoder`, decoder.file],
    [`${label}decoder's external data`, decoder.externalData && path.join(path.dirname(decoder.file), decoder.externalData)],
  ];
  const files: [string, string | undefined][] = [
    ...graphFiles(manifest.full, manifest.decoder, ''),
    ...Object.entries(manifest.providers ?? {}).flatMap(([provider, g]) => graphFiles(g.full, g.decoder, `${provider} `)),
    ['tokenizer', manifest.tokenizer.file],
  ];
  for (const [role, rel] of files) {
    if (!rel) continue;
    const exists = await fs.stat(path.join(folder, rel)).then((s) => s.isFile(), () => false);
    if (!exists) {
      throw new OverfillError('MODEL_NOT_FOUND', `The ${role} file ${path.join(folder, rel)} named in ${source} is missing. Copy the complete model folder again or re-export it.`);
    }
  }
}

function validate(raw: Record<string, unknown>, file: string, folder: string): ModelManifest {
  const fail = (what: string): never => {
    throw new OverfillError('MODEL_INVALID', `${file}: ${what}. Re-export the model pair with training/export.py.`);
  };
  if (raw.format !== 'overfill-pair') fail('"format" must be "overfill-pair"');
  if (raw.formatVersion !== undefined && raw.formatVersion !== FORMAT_VERSION) {
    throw new OverfillError('MODEL_INVALID', `${file} has formatVersion ${JSON.stringify(raw.formatVersion)}; this version of OverFill Code reads formatVersion ${FORMAT_VERSION}. Update the extension, or re-export the pair with this version's training tools.`);
  }
  const int = (v: unknown, name: string): number => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : fail(`"${name}" must be a positive integer`));
  const obj = (v: unknown, name: string): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : fail(`"${name}" is missing`));
  const str = (v: unknown, name: string): string => (typeof v === 'string' && v.length > 0 ? v : fail(`"${name}" must be a non-empty string`));
  const kv = obj(raw.kv, 'kv');
  const full = obj(raw.full, 'full');
  const decoder = obj(raw.decoder, 'decoder');
  const tokenizer = obj(raw.tokenizer, 'tokenizer');
  const tokens = obj(raw.tokens, 'tokens');
  const stop = Array.isArray(tokens.stop) ? tokens.stop.map((s, i) => str(s, `tokens.stop[${i}]`)) : fail('"tokens.stop" must be a list');
  const kvDtype = (v: unknown): KvDtype => (KV_DTYPES.includes(v as KvDtype) ? (v as KvDtype) : fail(`"kv.dtype" must be one of ${KV_DTYPES.map((d) => `"${d}"`).join(', ')}`));
  const cacheLayout = (v: unknown): CacheLayoutName => (v === 'hf' || v === 'static' ? v : fail('"kv.cacheLayout" must be "hf" or "static"'));
  if (kv.dtype === 'int8' && (kv.cacheLayout ?? 'hf') !== 'static') fail('"kv.dtype" "int8" needs "kv.cacheLayout" "static"');
  const optional = (v: unknown, name: string): string | undefined => (v === undefined || v === null ? undefined : str(v, name));
  const fim = { fimPrefix: optional(tokens.fimPrefix, 'tokens.fimPrefix'), fimSuffix: optional(tokens.fimSuffix, 'tokens.fimSuffix'), fimMiddle: optional(tokens.fimMiddle, 'tokens.fimMiddle') };
  const fimCount = Object.values(fim).filter(Boolean).length;
  if (fimCount !== 0 && fimCount !== 3) fail('"tokens.fimPrefix", "tokens.fimSuffix" and "tokens.fimMiddle" must be given together (or none, for prefix-only prompts)');
  const fimOrder = raw.fimOrder ?? (fimCount ? 'psm' : 'none');
  if (fimOrder !== 'psm' && fimOrder !== 'spm' && fimOrder !== 'none') fail('"fimOrder" must be "psm", "spm" or "none"');
  if (fimOrder !== 'none' && !fimCount) fail(`"fimOrder" "${fimOrder}" needs the FIM tokens in "tokens"`);
  const graph = (g: Record<string, unknown>, name: string): GraphInfo => ({ ...g, file: str(g.file, `${name}.file`), externalData: optional(g.externalData, `${name}.externalData`) });
  const providers = raw.providers === undefined ? undefined : obj(raw.providers, 'providers');
  const providerGraphs: Partial<Record<GraphProvider, ProviderGraphs>> = {};
  for (const [name, value] of Object.entries(providers ?? {})) {
    if (!GRAPH_PROVIDERS.includes(name as GraphProvider)) fail(`"providers" names "${name}"; only ${GRAPH_PROVIDERS.map((p) => `"${p}"`).join(', ')} may have graphs of their own`);
    const entry = obj(value, `providers.${name}`);
    const pkv = obj(entry.kv, `providers.${name}.kv`);
    const layout = cacheLayout(pkv.cacheLayout);
    const dtype = kvDtype(pkv.dtype ?? 'float32');
    if (dtype === 'int8' && layout !== 'static') fail(`"providers.${name}.kv.dtype" "int8" needs "cacheLayout" "static"`);
    providerGraphs[name as GraphProvider] = {
      full: graph(obj(entry.full, `providers.${name}.full`), `providers.${name}.full`),
      decoder: graph(obj(entry.decoder, `providers.${name}.decoder`), `providers.${name}.decoder`),
      kv: { dtype, cacheLayout: layout },
    };
  }
  return Object.freeze({
    folder,
    name: typeof raw.name === 'string' ? raw.name : path.basename(folder),
    description: typeof raw.description === 'string' ? raw.description : '',
    vocabSize: int(raw.vocabSize, 'vocabSize'),
    contextLength: int(raw.contextLength, 'contextLength'),
    kv: {
      numLayers: int(kv.numLayers, 'kv.numLayers'),
      numKvHeads: int(kv.numKvHeads, 'kv.numKvHeads'),
      headDim: int(kv.headDim, 'kv.headDim'),
      dtype: kvDtype(kv.dtype ?? 'float32'),
      cacheLayout: cacheLayout(kv.cacheLayout ?? 'hf'),
    },
    full: graph(full, 'full'),
    decoder: graph(decoder, 'decoder'),
    tokenizer: { file: str(tokenizer.file, 'tokenizer.file'), config: typeof tokenizer.config === 'string' ? tokenizer.config : undefined },
    tokens: {
      ...fim,
      endOfText: str(tokens.endOfText, 'tokens.endOfText'),
      fileSeparator: optional(tokens.fileSeparator, 'tokens.fileSeparator'),
      repoName: optional(tokens.repoName, 'tokens.repoName'),
      fimPad: optional(tokens.fimPad, 'tokens.fimPad'),
      bos: optional(tokens.bos, 'tokens.bos'),
      stop,
    },
    fimOrder: fimOrder as FimOrder,
    family: typeof raw.family === 'string' ? raw.family : undefined,
    // A manifest naming one graph for both roles runs it alone.
    kind: str(full.file, 'full.file') === str(decoder.file, 'decoder.file') ? 'full-only' : 'overfill',
    io: { ...DEFAULT_IO, ...(raw.io && typeof raw.io === 'object' ? (raw.io as Partial<IoNames>) : {}) },
    providers: providers ? providerGraphs : undefined,
  });
}
