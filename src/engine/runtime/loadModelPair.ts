// Loads an OverFill model folder: manifest, tokenizer, both ONNX sessions, and the check that
// the decoder can read the full model's KV cache.
import * as path from 'path';
import { readManifest, type ModelManifest } from '../manifest';
import { TextTokenizer } from '../tokenizer/textTokenizer';
import { checkPairLayout, readGraphLayout } from './graphContract';
import { OnnxCausalLm } from './onnxCausalLm';
import { openSessions, type ProviderFallback, type ProviderName, type ProviderSetting } from './providers';

export interface ModelPair {
  manifest: ModelManifest;
  tokenizer: TextTokenizer;
  full: OnnxCausalLm;
  decoder: OnnxCausalLm;
  provider: ProviderName;
  fallbacks: ProviderFallback[];
  dispose(): Promise<void>;
}

/** cpuThreads: threads for CPU kernels, 0 = every core (see providers.ts cpuThreads). */
export async function loadModelPair(folder: string, provider: ProviderSetting, cpuThreads = 0): Promise<ModelPair> {
  const manifest = await readManifest(folder);
  const tokenizer = await TextTokenizer.load(manifest);
  const fullFile = path.join(folder, manifest.full.file);
  const decFile = path.join(folder, manifest.decoder.file);
  const opened = await openSessions([fullFile, decFile], provider, cpuThreads);
  const [fullSession, decSession] = opened.sessions;
  try {
    const fullLayout = readGraphLayout(fullSession, manifest.io, fullFile);
    const decLayout = readGraphLayout(decSession, manifest.io, decFile);
    checkPairLayout(manifest, fullLayout, decLayout);
  } catch (err) {
    await Promise.all([fullSession.release(), decSession.release()]);
    throw err;
  }
  const full = new OnnxCausalLm(fullSession, manifest.io, manifest.kv, manifest.kv.cacheLayout);
  const decoder = new OnnxCausalLm(decSession, manifest.io, manifest.kv, manifest.kv.cacheLayout);
  return {
    manifest,
    tokenizer,
    full,
    decoder,
    provider: opened.provider,
    fallbacks: opened.fallbacks,
    dispose: async () => {
      await Promise.all([full.release(), decoder.release()]);
    },
  };
}
