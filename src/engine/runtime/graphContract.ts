// Reads a graph's KV layout from its input/output metadata and checks the OverFill contract:
// the decoder must accept exactly the KV tensors the full model writes.
import type * as ort from 'onnxruntime-node';
import { OverfillError } from '../errors';
import { KV_DTYPES, layerCacheNames, layerName, type IoNames, type KvDtype, type KvLayout, type ModelManifest } from '../model/manifest';
import { kvStreams } from './kvCache';

export interface GraphLayout extends KvLayout {
  /** Vocabulary size of the logits output, or undefined when the graph leaves it symbolic. */
  vocabSize?: number;
}

type Meta = ort.InferenceSession.ValueMetadata;

function tensorShape(meta: readonly Meta[], name: string): ReadonlyArray<number | string> | undefined {
  const m = meta.find((v) => v.name === name);
  return m && m.isTensor ? m.shape : undefined;
}

function tensorType(meta: readonly Meta[], name: string): string | undefined {
  const m = meta.find((v) => v.name === name);
  return m && m.isTensor ? m.type : undefined;
}

/** Counts layers by their past-key inputs and reads [batch, kvHeads, past, headDim] from them. */
export function readGraphLayout(session: ort.InferenceSession, io: IoNames, file: string): GraphLayout {
  // position_ids is optional: some standard exports derive positions from the attention mask.
  for (const name of [io.inputIds, io.attentionMask]) {
    if (!session.inputNames.includes(name)) {
      throw new OverfillError('MODEL_INVALID', `${file} has no input "${name}": it does not follow the OverFill graph contract (HF/optimum names with KV cache). Re-export it with training/export.py.`);
    }
  }
  // The engine feeds int64 ids, mask and positions; any other type would load and then fail on
  // the first keystroke with onnxruntime's "Unexpected input data type".
  for (const name of [io.inputIds, io.attentionMask, io.positionIds]) {
    const type = tensorType(session.inputMetadata, name);
    if (type !== undefined && type !== 'int64') {
      throw new OverfillError('MODEL_INVALID', `${file}: input "${name}" is ${type}; the engine feeds int64 (the HF/optimum export convention). Re-export it with training/export.py, or with optimum's defaults.`);
    }
  }
  let numLayers = 0;
  while (session.inputNames.includes(layerName(io.pastKey, numLayers))) numLayers++;
  if (numLayers === 0) {
    throw new OverfillError('MODEL_INVALID', `${file} has no KV-cache inputs ("${layerName(io.pastKey, 0)}"): export it with past key/values.`);
  }
  const shape = tensorShape(session.inputMetadata, layerName(io.pastKey, 0));
  const numKvHeads = shape?.[1];
  const headDim = shape?.[3];
  if (!shape || shape.length !== 4 || typeof numKvHeads !== 'number' || typeof headDim !== 'number') {
    throw new OverfillError('MODEL_INVALID', `${file}: input "${layerName(io.pastKey, 0)}" has shape [${shape?.join(', ')}], not [batch, kvHeads, past, headDim] with fixed kvHeads and headDim. Re-export it with training/export.py.`);
  }
  // An int8 cache keeps its keys as uint8 (int8 + 128); the layer's value and scale tensors say the rest.
  const keyType = tensorType(session.inputMetadata, layerName(io.pastKey, 0));
  const dtype = (keyType === 'uint8' ? 'int8' : keyType) as KvDtype;
  if (!KV_DTYPES.includes(dtype) || keyType === 'int8') {
    throw new OverfillError('MODEL_INVALID', `${file}: input "${layerName(io.pastKey, 0)}" holds ${keyType}; the engine reads keys of float32, float16, or uint8 (an int8 KV cache stores its keys offset by 128). Re-export it with training/export.py.`);
  }
  // Each cache tensor's type and shape, in layerCacheNames order: what the engine's cache holds.
  const expected = kvStreams({ numLayers, numKvHeads, headDim, dtype });
  for (let i = 0; i < numLayers; i++) {
    const names = layerCacheNames(io, dtype, i);
    names.past.forEach((name, j) => {
      const s = tensorShape(session.inputMetadata, name);
      const type = tensorType(session.inputMetadata, name);
      const { type: want, row: scale } = expected[j];
      const shapeOk = s && s.length === 4 && s[1] === numKvHeads && (scale ? s[2] === 1 : s[3] === headDim);
      if (!shapeOk || type !== want) {
        const wantShape = scale ? `[batch, ${numKvHeads}, 1, past]` : `[batch, ${numKvHeads}, past, ${headDim}]`;
        throw new OverfillError('MODEL_INVALID', `${file}: input "${name}" is ${type ?? 'missing'} [${s?.join(', ') ?? ''}], not ${want} ${wantShape}, which the ${dtype} KV cache of layer 0 ( ${numKvHeads} KV heads × head_dim ${headDim}) needs. Re-export it with training/export.py.`);
      }
    });
    names.present.forEach((name, j) => {
      if (!session.outputNames.includes(name)) {
        throw new OverfillError('MODEL_INVALID', `${file} has no output "${name}": the engine needs every layer's present KV.`);
      }
      const type = tensorType(session.outputMetadata, name);
      if (type !== undefined && type !== expected[j].type) {
        throw new OverfillError('MODEL_INVALID', `${file}: output "${name}" is ${type} but its past input is ${expected[j].type}; the cache stores what the graph returns. Re-export it with training/export.py.`);
      }
    });
  }
  const logits = tensorShape(session.outputMetadata, io.logits);
  if (!logits) throw new OverfillError('MODEL_INVALID', `${file} has no output "${io.logits}".`);
  const logitsType = tensorType(session.outputMetadata, io.logits);
  if (logitsType !== undefined && logitsType !== 'float32' && logitsType !== 'float16') {
    throw new OverfillError('MODEL_INVALID', `${file}: output "${io.logits}" is ${logitsType}; the engine reads float32 or float16 logits.`);
  }
  const last = logits[logits.length - 1];
  return { numLayers, numKvHeads, headDim, dtype, vocabSize: typeof last === 'number' ? last : undefined };
}

function describe(l: KvLayout): string {
  return `${l.numLayers} layers × ${l.numKvHeads} KV heads × head_dim ${l.headDim}, ${l.dtype}`;
}

const LAYOUT_KEYS = ['numLayers', 'numKvHeads', 'headDim', 'dtype'] as const;

/** Throws KV_LAYOUT_MISMATCH naming what differs between the manifest, the full graph and the decoder graph. */
export function checkPairLayout(manifest: ModelManifest, full: GraphLayout, decoder: GraphLayout, source = 'overfill.json'): void {
  const fullFile = manifest.full.file;
  const decFile = manifest.decoder.file;
  const diffs: string[] = [];
  for (const key of LAYOUT_KEYS) {
    if (full[key] !== decoder[key]) diffs.push(`${key}: ${fullFile} has ${full[key]}, ${decFile} has ${decoder[key]}`);
  }
  if (diffs.length > 0) {
    throw new OverfillError(
      'KV_LAYOUT_MISMATCH',
      `The decoder cannot read the full model's KV cache in ${manifest.folder} (${diffs.join('; ')}). An OverFill decoder must keep the full model's layers, KV heads, head_dim and KV dtype; prune only hidden and MLP widths, then export both graphs together.`,
    );
  }
  for (const key of LAYOUT_KEYS) {
    if (full[key] !== manifest.kv[key]) {
      throw new OverfillError('KV_LAYOUT_MISMATCH', `${source} declares kv.${key} = ${manifest.kv[key]} but the graphs have ${full[key]} (${describe(full)}). Re-export the model folder.`);
    }
  }
  for (const [file, layout] of [[fullFile, full], [decFile, decoder]] as const) {
    if (layout.vocabSize !== undefined && layout.vocabSize !== manifest.vocabSize) {
      throw new OverfillError('MODEL_INVALID', `${file} produces ${layout.vocabSize} logits but ${source} declares vocabSize ${manifest.vocabSize}. Full model, decoder and tokenizer must share one vocabulary.`);
    }
  }
}
