// Loads a model folder: manifest (or a standard export's, built in memory), tokenizer, the ONNX
// sessions, and the checks that the decoder can read the full model's KV cache and that the
// tokenizer fits the logits. A full-only folder opens its one graph once, for both roles.
import * as path from 'path';
import { OverfillError } from '../errors';
import { layerCacheNames, manifestFor, type ModelManifest } from '../model/manifest';
import { verifyGraphFiles } from '../model/verifyFiles';
import { readModelFolder } from '../model/readModelFolder';
import { TextTokenizer } from '../tokenizer/textTokenizer';
import { checkPairLayout, readGraphLayout, type GraphLayout } from './graphContract';
import { OnnxCausalLm } from './onnxCausalLm';
import { openSessions, type ProviderFallback, type ProviderName, type ProviderSetting, type SessionPlan } from './providers';

export interface ModelPair {
  manifest: ModelManifest;
  tokenizer: TextTokenizer;
  full: OnnxCausalLm;
  /** The same object as `full` when the folder is full-only. */
  decoder: OnnxCausalLm;
  provider: ProviderName;
  fallbacks: ProviderFallback[];
  dispose(): Promise<void>;
}

/** A standard export's manifest takes the KV dtype (and the logits width, when fixed) from its graph. */
function fromGraph(manifest: ModelManifest, layout: GraphLayout): ModelManifest {
  return Object.freeze({ ...manifest, vocabSize: layout.vocabSize ?? manifest.vocabSize, kv: { ...manifest.kv, dtype: layout.dtype } });
}

function checkVocabulary(manifest: ModelManifest, tokenizer: TextTokenizer): void {
  if (tokenizer.size > manifest.vocabSize) {
    throw new OverfillError('TOKENIZER_INVALID', `The tokenizer has ${tokenizer.size} ids but the model produces ${manifest.vocabSize} logits: the tokenizer does not belong to this model. Copy the model's own tokenizer.json into ${manifest.folder}.`);
  }
}

/** location: a model folder, or a standard export's .onnx file. cpuThreads: 0 = every core (providers.ts). */
export async function loadModelPair(location: string, provider: ProviderSetting, cpuThreads = 0): Promise<ModelPair> {
  const folder = await readModelFolder(location);
  const tokenizer = await TextTokenizer.load(folder.manifest);
  const fullOnly = folder.manifest.kind === 'full-only';
  // Each provider opens the graphs the manifest names for it (runtime/providers.ts, SessionPlan).
  const planFor = (p: ProviderName): SessionPlan => {
    const m = manifestFor(folder.manifest, p);
    const files = [path.join(m.folder, m.full.file), ...(fullOnly ? [] : [path.join(m.folder, m.decoder.file)])];
    // The hf layout's present KV stays on the device under WebGPU (runtime/kvCache.ts, HfKvCache).
    const deviceOutputs = m.kv.cacheLayout === 'hf' ? Array.from({ length: m.kv.numLayers }, (_, i) => layerCacheNames(m.io, m.kv.dtype, i).present).flat() : [];
    return { files, deviceOutputs, prepare: () => verifyGraphFiles(m) };
  };
  const opened = await openSessions(planFor, provider, cpuThreads);
  let manifest = manifestFor(folder.manifest, opened.provider);
  const fullFile = path.join(manifest.folder, manifest.full.file);
  const decFile = path.join(manifest.folder, manifest.decoder.file);
  const [fullSession, decSession = fullSession] = opened.sessions;
  const release = () => Promise.all(opened.sessions.map((s) => s.release()));
  try {
    const fullLayout = readGraphLayout(fullSession, manifest.io, fullFile);
    const decLayout = fullOnly ? fullLayout : readGraphLayout(decSession, manifest.io, decFile);
    if (folder.standard) manifest = fromGraph(manifest, fullLayout);
    checkPairLayout(manifest, fullLayout, decLayout, folder.standard ? 'config.json' : 'overfill.json');
    checkVocabulary(manifest, tokenizer);
  } catch (err) {
    await release();
    throw err;
  }
  const full = new OnnxCausalLm(fullSession, manifest.io, manifest.kv, manifest.kv.cacheLayout);
  const decoder = fullOnly ? full : new OnnxCausalLm(decSession, manifest.io, manifest.kv, manifest.kv.cacheLayout);
  return {
    manifest,
    tokenizer,
    full,
    decoder,
    provider: opened.provider,
    fallbacks: opened.fallbacks,
    dispose: async () => {
      await release();
    },
  };
}
