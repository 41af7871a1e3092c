// Reads a graph's KV layout from its input/output metadata and checks the OverFill contract:
// the decoder must accept exactly the KV tensors the full model writes.
import type * as ort from 'onnxruntime-node';
import { OverfillError } from '../errors';
import { KV_DTYPES, layerName, type IoNames, type KvDtype, type KvLayout, type ModelManifest } from '../manifest';

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
  for (const name of [io.inputIds, io.attentionMask, io.positionIds]) {
    if (!session.inputNames.includes(name)) {
      throw new OverfillError('MODEL_INVALID', `${file} has no input "${name}": it does not follow the OverFill graph contract (HF/optimum names with KV cache). Re-export it with training/export.py.`);
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
  const dtype = tensorType(session.inputMetadata, layerName(io.pastKey, 0)) as KvDtype;
  if (!KV_DTYPES.includes(dtype)) {
    throw new OverfillError('MODEL_INVALID', `${file}: input "${layerName(io.pastKey, 0)}" holds ${dtype}; the engine reads KV caches of ${KV_DTYPES.join(' or ')}. Re-export it with training/export.py.`);
  }
  for (let i = 0; i < numLayers; i++) {
    for (const name of [layerName(io.pastKey, i), layerName(io.pastValue, i)]) {
      const s = tensorShape(session.inputMetadata, name);
      if (!s || s.length !== 4 || s[1] !== numKvHeads || s[3] !== headDim || tensorType(session.inputMetadata, name) !== dtype) {
        throw new OverfillError('MODEL_INVALID', `${file}: input "${name}" is ${tensorType(session.inputMetadata, name)} [${s?.join(', ')}], unlike layer 0 (${dtype}, ${numKvHeads} KV heads × head_dim ${headDim}).`);
      }
    }
    for (const name of [layerName(io.presentKey, i), layerName(io.presentValue, i)]) {
      if (!session.outputNames.includes(name)) {
        throw new OverfillError('MODEL_INVALID', `${file} has no output "${name}": the engine needs every layer's present KV.`);
      }
      const type = tensorType(session.outputMetadata, name);
      if (type !== undefined && type !== dtype) {
        throw new OverfillError('MODEL_INVALID', `${file}: output "${name}" is ${type} but the past inputs are ${dtype}; the cache stores what the graph returns. Re-export it with training/export.py.`);
      }
    }
  }
  const logits = tensorShape(session.outputMetadata, io.logits);
  if (!logits) throw new OverfillError('MODEL_INVALID', `${file} has no output "${io.logits}".`);
  const last = logits[logits.length - 1];
  return { numLayers, numKvHeads, headDim, dtype, vocabSize: typeof last === 'number' ? last : undefined };
}

function describe(l: KvLayout): string {
  return `${l.numLayers} layers × ${l.numKvHeads} KV heads × head_dim ${l.headDim}, ${l.dtype}`;
}

const LAYOUT_KEYS = ['numLayers', 'numKvHeads', 'headDim', 'dtype'] as const;

/** Throws KV_LAYOUT_MISMATCH naming what differs between the manifest, the full graph and the decoder graph. */
export function checkPairLayout(manifest: ModelManifest, full: GraphLayout, decoder: GraphLayout): void {
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
      throw new OverfillError('KV_LAYOUT_MISMATCH', `overfill.json declares kv.${key} = ${manifest.kv[key]} but the graphs have ${full[key]} (${describe(full)}). Re-export the model folder.`);
    }
  }
  for (const [file, layout] of [[fullFile, full], [decFile, decoder]] as const) {
    if (layout.vocabSize !== undefined && layout.vocabSize !== manifest.vocabSize) {
      throw new OverfillError('MODEL_INVALID', `${file} produces ${layout.vocabSize} logits but overfill.json declares vocabSize ${manifest.vocabSize}. Full model, decoder and tokenizer must share one vocabulary.`);
    }
  }
}
