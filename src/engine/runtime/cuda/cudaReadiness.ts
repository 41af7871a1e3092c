// Can the CUDA provider load here, and if not, what exactly is missing, in words a user can act
// on: the provider libraries themselves ("OverFill: Set Up CUDA"), the NVIDIA driver, the CUDA
// runtime, cuDNN. Read from the provider libraries' own dependency lists, not from a version
// guessed here: which CUDA major the libraries link is whatever they say.
import { promises as fs } from 'fs';
import * as path from 'path';
import { findLibrary, librarySearch, missingLibraries, type MissingLibrary } from './findLibraries';

/** Placed beside libonnxruntime.so.1; ORT opens them from there by absolute path. */
export const CUDA_PROVIDER_FILES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'] as const;

export interface CudaReadiness {
  ready: boolean;
  /** Each a sentence saying what is missing and what to do. Empty when ready. */
  problems: string[];
  /** One line for a notification: "missing the NVIDIA driver (libcuda.so.1), CUDA 12 (libcudart.so.12)". */
  summary: string;
}

export interface CudaCheckOptions {
  /** The folder holding the libonnxruntime.so.1 the engine loads. */
  runtimeDir: string;
  /** LD_LIBRARY_PATH as the engine process has it. */
  ldLibraryPath: readonly string[];
  platform?: NodeJS.Platform;
  arch?: string;
  /** The onnxruntime version the provider libraries must be from (for the messages). */
  ortVersion: string;
  /** Where the NVIDIA kernel driver says its version (a test points it elsewhere). */
  driverVersionFile?: string;
}

export function splitLibraryPath(value: string | undefined): string[] {
  return (value ?? '').split(':').filter(Boolean);
}

export async function checkCuda(options: CudaCheckOptions): Promise<CudaReadiness> {
  const { platform = process.platform, arch = process.arch } = options;
  if (platform !== 'linux' || arch !== 'x64') {
    const only = 'onnxruntime-node has a CUDA build for Linux x64 only; here WebGPU (or DirectML on Windows) runs the model on the GPU';
    return { ready: false, problems: [only], summary: only };
  }
  const files = CUDA_PROVIDER_FILES.map((f) => path.join(options.runtimeDir, f));
  const present = await Promise.all(files.map((f) => fs.stat(f).then(() => true, () => false)));
  if (present.some((p) => !p)) {
    const none = `the CUDA provider libraries are not set up: run "OverFill: Set Up CUDA" with onnxruntime ${options.ortVersion}'s Linux GPU package`;
    return { ready: false, problems: [none], summary: none };
  }
  const search = await librarySearch(options.ldLibraryPath);
  const missing = await missingLibraries(files, search);
  const problems = describeMissing(missing);
  // The CUDA runtime opens the driver's libcuda.so.1 itself, at its first call: a provider that
  // loads without it fails later, with "CUDA driver version is insufficient". Look for it now.
  const driverFile = options.driverVersionFile ?? '/proc/driver/nvidia/version';
  const driver = (await fs.stat(driverFile).then(() => true, () => false)) || (await findLibrary('libcuda.so.1', search)) !== undefined;
  const noDriver = !driver && !missing.some((m) => component(m.name) === 'driver');
  if (noDriver) problems.unshift(`no NVIDIA driver was found (neither ${driverFile} nor libcuda.so.1): install NVIDIA's driver for your GPU`);
  return { ready: problems.length === 0, problems, summary: summarize(missing, noDriver) };
}

function summarize(missing: readonly MissingLibrary[], noDriver: boolean): string {
  const groups = new Map<string, string[]>();
  if (noDriver) groups.set('the NVIDIA driver', ['libcuda.so.1']);
  for (const m of missing) {
    const c = component(m.name);
    const label = c === 'driver' ? 'the NVIDIA driver' : c === 'cuda' ? `CUDA ${major(m.name) ?? ''}`.trim() : c === 'cudnn' ? `cuDNN ${major(m.name) ?? ''}`.trim() : m.name;
    groups.set(label, [...(groups.get(label) ?? []), ...(label === m.name ? [] : [m.name])]);
  }
  if (!groups.size) return 'ready';
  return `missing ${[...groups].map(([label, libs]) => (libs.length ? `${label} (${libs.join(', ')})` : label)).join(', ')}`;
}

type Component = 'driver' | 'cuda' | 'cudnn' | 'other';

function component(name: string): Component {
  if (/^libcuda\.so|^libnvidia-/.test(name)) return 'driver';
  if (/^libcudnn/.test(name)) return 'cudnn';
  if (/^lib(cudart|cublas|cublasLt|cufft|curand|cusparse|cusolver|nvrtc|nvJitLink|nvToolsExt|cupti)\b/.test(name)) return 'cuda';
  return 'other';
}

/** The major version a soname carries (libcudart.so.12 → 12). */
function major(name: string): string | undefined {
  return /\.so\.(\d+)/.exec(name)?.[1];
}

function describeMissing(missing: readonly MissingLibrary[]): string[] {
  const by = (c: Component): MissingLibrary[] => missing.filter((m) => component(m.name) === c);
  const names = (list: readonly MissingLibrary[]): string => list.map((m) => m.name).join(', ');
  const majors = (list: readonly MissingLibrary[]): string => [...new Set(list.map((m) => major(m.name)).filter(Boolean))].join(' or ');
  const problems: string[] = [];
  const driver = by('driver');
  if (driver.length) problems.push(`the NVIDIA driver's ${names(driver)} is not found: install NVIDIA's driver for your GPU`);
  const cuda = by('cuda');
  if (cuda.length) {
    const v = majors(cuda);
    problems.push(`the CUDA ${v} runtime libraries ${names(cuda)} are not found: install CUDA ${v} (its runtime, cuBLAS, cuFFT and cuRAND), or add the folder holding them to "overfill.cuda.libraryPaths"`);
  }
  const cudnn = by('cudnn');
  if (cudnn.length) {
    const v = majors(cudnn);
    problems.push(`cuDNN ${v} (${names(cudnn)}) is not found: install cuDNN ${v} for CUDA, or add the folder holding it to "overfill.cuda.libraryPaths"`);
  }
  const other = by('other');
  if (other.length) problems.push(`${other.map((m) => `${m.name} (needed by ${m.neededBy})`).join(', ')} not found: install ${other.length > 1 ? 'them' : 'it'}, or add the folder holding ${other.length > 1 ? 'them' : 'it'} to "overfill.cuda.libraryPaths"`);
  return problems;
}
