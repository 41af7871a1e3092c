// The CUDA runtime "OverFill: Set Up CUDA" builds in the extension's global storage: an
// exact-version copy of the onnxruntime-node the extension ships, with onnxruntime's CUDA
// provider libraries beside its libonnxruntime.so.1 (where ORT opens them from), and a record of
// what was placed. The engine process loads that copy when it exists (OVERFILL_ORT_PATH).
import { createHash } from 'crypto';
import { createReadStream, existsSync, promises as fs, readFileSync, statSync } from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { CUDA_PROVIDER_FILES } from '../engine/runtime/cuda/cudaReadiness';
import { readElfDynamic } from '../engine/runtime/cuda/elfDynamic';
import { ORT_PATH_ENV } from '../engine/runtime/runtimeEnv';
import { cudaSetupError, type CudaSource } from './cudaSource';

export const CUDA_STORAGE_DIR = 'cuda';
const RECORD = 'setup.json';
const RECORD_FORMAT = 1;
/** A scratch folder older than this is a setup that was cut off, not one running in another window. */
const STALE_PARTIAL_MS = 60 * 60 * 1000;

export interface PlacedFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface CudaSetupRecord {
  format: number;
  /** onnxruntime-node's version, which the provider libraries must match. */
  ortVersion: string;
  source: string;
  /** What the source said its version was, and where; absent when it said nothing (the user confirmed). */
  sourceVersion?: { value: string; from: string };
  placedAt: string;
  files: PlacedFile[];
}

export interface CudaRuntime {
  /** The copied onnxruntime-node package: what OVERFILL_ORT_PATH names. */
  ortPackage: string;
  /** The folder holding libonnxruntime.so.1 and the provider libraries. */
  nativeDir: string;
  record: CudaSetupRecord;
}

/** The version of the onnxruntime-node in `modules` (a node_modules folder). */
export function ortVersionIn(modules: string): string {
  const file = path.join(modules, 'onnxruntime-node', 'package.json');
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch (err) {
    throw cudaSetupError(`The extension's own onnxruntime-node is unreadable (${file}: ${(err as Error).message}). Reinstall the extension.`);
  }
}

/** Whether a source's stated version fits: 'match', 'unknown' (it states none), or the version it states. */
export function versionVerdict(source: CudaSource, ortVersion: string): 'match' | 'unknown' | { mismatch: string } {
  if (!source.version) return 'unknown';
  return source.version.value === ortVersion ? 'match' : { mismatch: source.version.value };
}

function runtimeDir(storageDir: string, ortVersion: string): string {
  return path.join(storageDir, CUDA_STORAGE_DIR, `onnxruntime-${ortVersion}`);
}

function layout(dir: string): { ortPackage: string; nativeDir: string } {
  const ortPackage = path.join(dir, 'node_modules', 'onnxruntime-node');
  return { ortPackage, nativeDir: path.join(ortPackage, 'bin', 'napi-v6', 'linux', 'x64') };
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

export interface InstallOptions {
  source: CudaSource;
  /** The extension's global storage folder. */
  storageDir: string;
  /** The node_modules folder holding the extension's onnxruntime-node and onnxruntime-common. */
  ortModules: string;
  /** Set when the source states no version and the user said to use it anyway. */
  acceptUnknownVersion?: boolean;
  progress?: (message: string) => void;
}

/**
 * Builds the runtime in a scratch folder and moves it into place only when it is whole: a
 * setup that fails or is cut off leaves the previous one (or none) as it was.
 */
export async function installCudaRuntime(options: InstallOptions): Promise<CudaRuntime> {
  const { source, storageDir, ortModules, progress = () => undefined } = options;
  if (process.platform !== 'linux' || process.arch !== 'x64') throw cudaSetupError('CUDA from Node exists only on Linux x64: onnxruntime-node has no CUDA build for Windows or macOS. WebGPU (and DirectML on Windows) run the model on the GPU there.');
  const ortVersion = ortVersionIn(ortModules);
  const verdict = versionVerdict(source, ortVersion);
  if (typeof verdict === 'object') {
    throw cudaSetupError(`${source.given} is onnxruntime ${verdict.mismatch} (its ${source.version!.from} says so); OverFill runs onnxruntime ${ortVersion}, and provider libraries of another version fail to load or crash it. Use onnxruntime ${ortVersion}'s Linux GPU package.`);
  }
  if (verdict === 'unknown' && !options.acceptUnknownVersion) {
    throw cudaSetupError(`${source.given} does not say which onnxruntime version it is. Use onnxruntime ${ortVersion}'s Linux GPU package, or confirm that these files are from it.`);
  }
  const root = path.join(storageDir, CUDA_STORAGE_DIR);
  await fs.mkdir(root, { recursive: true });
  // Leftovers of a setup that was cut off; a younger one may be another window's, still running.
  for (const e of await fs.readdir(root)) {
    const full = path.join(root, e);
    const age = Date.now() - ((await fs.stat(full).catch(() => undefined))?.mtimeMs ?? Date.now());
    if (e.startsWith('.partial-') && age > STALE_PARTIAL_MS) await fs.rm(full, { recursive: true, force: true });
  }
  const scratch = await fs.mkdtemp(path.join(root, '.partial-'));
  try {
    progress(`copying onnxruntime-node ${ortVersion}`);
    const { nativeDir } = layout(scratch);
    const copy = (from: string, to = from): Promise<void> => fs.cp(path.join(ortModules, from), path.join(scratch, 'node_modules', to), { recursive: true });
    await copy('onnxruntime-node/package.json');
    await copy('onnxruntime-node/dist');
    await copy('onnxruntime-node/bin/napi-v6/linux/x64');
    await copy('onnxruntime-common/package.json');
    await copy('onnxruntime-common/dist/cjs');
    const files: PlacedFile[] = [];
    for (const name of CUDA_PROVIDER_FILES) {
      progress(`taking ${name} from ${path.basename(source.given)}`);
      const dest = path.join(nativeDir, name);
      await source.extract(name, dest);
      // A wrong file (another platform's, a truncated download) is refused here, not by a crash.
      await readElfDynamic(dest);
      files.push({ name, bytes: (await fs.stat(dest)).size, sha256: await sha256(dest) });
    }
    const record: CudaSetupRecord = { format: RECORD_FORMAT, ortVersion, source: source.given, sourceVersion: source.version, placedAt: new Date().toISOString(), files };
    await fs.writeFile(path.join(scratch, RECORD), `${JSON.stringify(record, null, 2)}\n`);
    const dir = runtimeDir(storageDir, ortVersion);
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(scratch, dir);
    // Runtimes for an onnxruntime-node this extension no longer ships are hundreds of MB of nothing.
    for (const e of await fs.readdir(root)) {
      if (e.startsWith('onnxruntime-') && path.join(root, e) !== dir) await fs.rm(path.join(root, e), { recursive: true, force: true });
    }
    return { ...layout(dir), record };
  } catch (err) {
    await fs.rm(scratch, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The runtime set up for this onnxruntime-node version, if whole (its record and every file it
 * lists at its size). Synchronous and small: read once when the extension starts.
 */
export function readCudaRuntime(storageDir: string, ortVersion: string): CudaRuntime | undefined {
  const dir = runtimeDir(storageDir, ortVersion);
  const file = path.join(dir, RECORD);
  if (!existsSync(file)) return undefined;
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as CudaSetupRecord;
    const paths = layout(dir);
    if (record.format !== RECORD_FORMAT || record.ortVersion !== ortVersion) return undefined;
    if (!existsSync(path.join(paths.nativeDir, 'libonnxruntime.so.1'))) return undefined;
    for (const f of record.files) if (statSync(path.join(paths.nativeDir, f.name), { throwIfNoEntry: false })?.size !== f.bytes) return undefined;
    return { ...paths, record };
  } catch {
    return undefined;
  }
}

/** Whether anything of a CUDA setup is in storage (for another onnxruntime-node version too). */
export function cudaStorageExists(storageDir: string): boolean {
  return existsSync(path.join(storageDir, CUDA_STORAGE_DIR));
}

/** Removes every CUDA runtime this extension set up; returns the bytes freed. */
export async function removeCudaRuntime(storageDir: string): Promise<number> {
  const root = path.join(storageDir, CUDA_STORAGE_DIR);
  const bytes = await folderBytes(root);
  await fs.rm(root, { recursive: true, force: true });
  return bytes;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, e.name);
    total += e.isDirectory() ? await folderBytes(full) : (await fs.stat(full)).size;
  }
  return total;
}

/**
 * The engine process's environment for a CUDA runtime: the copy of onnxruntime-node to load,
 * and the user's CUDA/cuDNN folders ahead of LD_LIBRARY_PATH (read by the dynamic linker only
 * when a process starts: one more reason the engine is a process).
 */
export function cudaEngineEnv(runtime: CudaRuntime | undefined, libraryPaths: readonly string[], inherited = process.env.LD_LIBRARY_PATH): Record<string, string> {
  // Set even when empty: a value inherited from the user's shell must not pick the runtime.
  if (!runtime) return { [ORT_PATH_ENV]: '' };
  const ld = [...libraryPaths, ...(inherited ?? '').split(':')].filter(Boolean);
  return { [ORT_PATH_ENV]: runtime.ortPackage, ...(ld.length ? { LD_LIBRARY_PATH: ld.join(':') } : {}) };
}
