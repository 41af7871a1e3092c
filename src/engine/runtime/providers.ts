// Execution providers: which to try for a setting on this platform, and session creation that
// falls back to the CPU when a GPU provider will not load (ORT throws rather than falling back).
import type * as ort from 'onnxruntime-node';
import * as os from 'os';
import { OverfillError } from '../errors';
import { checkCuda, splitLibraryPath } from './cuda/cudaReadiness';
import { softwareAdapterReason } from './gpuAdapter';
import { InferenceSession, ortNativeDir, ortVersion } from './ortBinding';
import type { ProviderName, ProviderSetting } from './providerNames';

export type { ProviderName, ProviderSetting } from './providerNames';

export interface ProviderFallback {
  provider: ProviderName;
  reason: string;
  /** True when the user asked for this provider explicitly (worth a visible warning). */
  requested: boolean;
}

/**
 * The providers to try, in order. `auto`: WebGPU first (built into the linux-x64, win32 and
 * darwin-arm64 binaries, and the only provider whose tensors can stay on the device between
 * runs from Node), then DirectML on Windows or CUDA on Linux (onnxruntime-node has no CUDA
 * build for Windows), then the CPU.
 */
export function providerCandidates(setting: ProviderSetting, platform: NodeJS.Platform = process.platform): ProviderName[] {
  switch (setting) {
    case 'cpu':
      return ['cpu'];
    case 'webgpu':
    case 'cuda':
    case 'dml':
      return [setting, 'cpu'];
    case 'auto':
      if (platform === 'win32') return ['webgpu', 'dml', 'cpu'];
      if (platform === 'linux') return ['webgpu', 'cuda', 'cpu'];
      if (platform === 'darwin') return ['webgpu', 'cpu'];
      return ['cpu'];
  }
}

const PROVIDER_HINTS: Record<ProviderName, string> = {
  webgpu: 'WebGPU needs a GPU driver: on Linux the Vulkan loader (libvulkan.so.1) and the GPU\'s Vulkan driver, on Windows DirectX 12, on macOS Metal; or set "overfill.executionProvider" to "cpu"',
  cuda: 'onnxruntime could not start its CUDA provider; the log\'s "engine stderr" lines say why. It needs an NVIDIA GPU and driver, the CUDA runtime and cuDNN its provider libraries link, and those libraries from this onnxruntime version ("OverFill: Set Up CUDA"); or set "overfill.executionProvider" to "cpu"',
  dml: 'DirectML needs Windows 10 1903+ with a DirectX 12 GPU; or set "overfill.executionProvider" to "cpu"',
  cpu: '',
};

/** More threads than this mostly add synchronisation to the small matmuls of a decode step. */
const MAX_CPU_THREADS = 8;

/**
 * Threads per session for CPU kernels: the setting (overfill.cpuThreads) when it is not 0 (auto),
 * else every core up to MAX_CPU_THREADS. Always set explicitly: onnxruntime-node's own default
 * ran one thread here (2-core VM: a 1k-token prefill of the 150M int8 model took 1.70 s by
 * default or with 1 thread, 1.00 s with 2).
 */
export function cpuThreads(setting = 0, cores: number = os.availableParallelism()): number {
  if (setting > 0) return setting;
  return Math.max(1, Math.min(cores, MAX_CPU_THREADS));
}

/**
 * `deviceOutputs`: outputs to leave on the device (WebGPU only: the hf layout's present KV, fed
 * back as the next run's past); the others, logits among them, come back to the host.
 */
export function sessionOptions(provider: ProviderName, threads = 0, deviceOutputs: readonly string[] = []): ort.InferenceSession.SessionOptions {
  const onDevice = provider === 'webgpu' && deviceOutputs.length > 0;
  return {
    ...(onDevice ? { preferredOutputLocation: Object.fromEntries(deviceOutputs.map((name) => [name, 'gpu-buffer' as const])) } : {}),
    // A GPU provider still lists the CPU so ops it lacks run there.
    executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: cpuThreads(threads),
    // Shapes change with every request (prompt length, cache capacity), and a memory pattern is
    // recorded per shape: the second run of a new shape was the slow one (default pair, 1k
    // prompt in 256-token chunks: chunk at 512 past 51-59 ms on its 2nd run with patterns,
    // 19 ms without; steady state the same).
    enableMemPattern: false,
    // Two sessions share the cores: after the full model's prefill its pool kept spinning and
    // slowed the decoder's first steps (150M int8, 1k context: first step 14 ms against 8 ms
    // in steady state). Threads now stop spinning when a run returns.
    extra: { session: { force_spinning_stop: '1' } },
    logSeverityLevel: 3,
  };
}

export interface OpenedSessions {
  provider: ProviderName;
  sessions: ort.InferenceSession[];
  fallbacks: ProviderFallback[];
}

/**
 * Opens every file with the first provider that loads them all. A GPU provider's failure is
 * recorded and the next is tried; failing on the CPU means the model itself is unreadable.
 */
/** What to open on a provider: a pair may name graphs of its own for one (manifest "providers"). */
export interface SessionPlan {
  files: readonly string[];
  /** Outputs to leave on the device (see sessionOptions). */
  deviceOutputs: readonly string[];
  /** Checks run before the files are opened on this provider (their sha256). */
  prepare?: () => Promise<void>;
}

export async function openSessions(planFor: (provider: ProviderName) => SessionPlan, setting: ProviderSetting, threads = 0): Promise<OpenedSessions> {
  const fallbacks: ProviderFallback[] = [];
  for (const provider of providerCandidates(setting)) {
    // A software Vulkan driver (lavapipe) is a WebGPU adapter but no GPU: slower than the CPU
    // provider. Asked for by name (tests on lavapipe), it is used anyway.
    const software = provider === 'webgpu' && setting === 'auto' ? softwareAdapterReason() : undefined;
    if (software) {
      fallbacks.push({ provider, reason: software, requested: false });
      continue;
    }
    if (provider === 'dml' && process.platform !== 'win32') {
      // ORT silently drops an unknown provider here; say so instead of pretending it ran.
      fallbacks.push({ provider, reason: 'DirectML exists only on Windows', requested: setting === provider });
      continue;
    }
    if (provider === 'cuda') {
      // ORT's own error is "Failed to load shared library": say which library, and what provides it.
      const cuda = await checkCuda({ runtimeDir: ortNativeDir(), ortVersion: ortVersion(), ldLibraryPath: splitLibraryPath(process.env.LD_LIBRARY_PATH) });
      if (!cuda.ready) {
        fallbacks.push({ provider, reason: `${sentence(cuda.problems.join('; '))}.`, requested: setting === provider });
        continue;
      }
    }
    const { files, deviceOutputs, prepare } = planFor(provider);
    // A damaged file is the model's fault on any provider: its error is not a provider's fallback.
    await prepare?.();
    const opened: ort.InferenceSession[] = [];
    let current = files[0];
    try {
      for (const file of files) {
        current = file;
        opened.push(await InferenceSession.create(file, sessionOptions(provider, threads, deviceOutputs)));
      }
      return { provider, sessions: opened, fallbacks };
    } catch (err) {
      await Promise.all(opened.map((s) => s.release().catch(() => undefined)));
      const reason = err instanceof Error ? err.message : String(err);
      if (provider === 'cpu') {
        throw new OverfillError('MODEL_LOAD_FAILED', `Could not load ${current}: ${firstLine(reason)}. The file is damaged, incomplete or not an ONNX graph: copy or re-export the model folder.`);
      }
      // CUDA's own words ("…_Cuda: Failed to load shared library") say nothing a user can act on: ours go first.
      const said = provider === 'cuda' ? `${PROVIDER_HINTS.cuda} (onnxruntime: ${firstLine(reason)})` : `${firstLine(reason)}. ${PROVIDER_HINTS[provider]}`;
      fallbacks.push({ provider, reason: said, requested: setting === provider });
    }
  }
  throw new OverfillError('PROVIDER_UNAVAILABLE', `No execution provider could load the model (${fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')}).`);
}

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function firstLine(text: string): string {
  const line = text.split('\n')[0].trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
