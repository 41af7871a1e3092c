// Finds onnxruntime's CUDA provider libraries in what the user names: a folder (an extracted
// package, a Python wheel's onnxruntime/capi, the release archive's lib/), a zip-format archive
// (.nupkg, .whl, .zip) or a tar archive (.tgz, .tar.gz, .tar), and what onnxruntime version
// that source says it is.
import { spawn, execFile } from 'child_process';
import { createWriteStream, promises as fs } from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { OverfillError } from '../engine/errors';
import { CUDA_PROVIDER_FILES } from '../engine/runtime/cuda/cudaReadiness';
import { extractZipEntry, listZip, readZipText, type ZipEntry } from './zipArchive';

export interface CudaSource {
  /** What the user named. */
  given: string;
  /** The onnxruntime version the source states, and which of its files states it. */
  version?: { value: string; from: string };
  /** The provider libraries found (basename → path inside the source). */
  libraries: ReadonlyMap<string, string>;
  /** Copies one of `libraries` to `dest`. */
  extract(name: string, dest: string): Promise<void>;
}

const ZIP = /\.(nupkg|whl|zip)$/i;
const TAR = /\.(tgz|tar\.gz|tar)$/i;
/** Beyond this a folder is not a package: the user named the wrong one. */
const MAX_FOLDER_ENTRIES = 50_000;
const MAX_DEPTH = 8;

/** The error this setup's refusals share. */
export function cudaSetupError(message: string): OverfillError {
  return new OverfillError('CUDA_SETUP_FAILED', message);
}

/** What to name, for the command's picker and this module's refusals. */
export function whatToName(v: string): string {
  return `onnxruntime ${v}'s Linux GPU package (Microsoft.ML.OnnxRuntime.Gpu.Linux ${v}, a .nupkg), the onnxruntime-linux-x64-gpu-${v} release archive, the onnxruntime-gpu ${v} wheel, or a folder extracted from one of them`;
}

/** Which of several copies to take: the Linux x64 one of a multi-platform package. */
function pick(paths: readonly string[]): string {
  return [...paths].sort((a, b) => score(b) - score(a) || a.length - b.length)[0];
}
function score(p: string): number {
  return (p.includes('linux-x64') ? 2 : 0) + (p.includes('linux') ? 1 : 0);
}

/** Version facts in names: libonnxruntime.so.1.30.0, onnxruntime-linux-x64-gpu-1.30.0/, onnxruntime_gpu-1.30.0.dist-info/. */
function versionInName(name: string): string | undefined {
  return (/libonnxruntime\.so\.(\d+\.\d+\.\d+)$/.exec(name) ?? /onnxruntime-linux-x64-(?:gpu|cuda\d*)-(\d+\.\d+\.\d+)(?:\/|$)/.exec(name) ?? /onnxruntime_gpu-(\d+\.\d+\.\d+)\.dist-info/.exec(name))?.[1];
}

/** Version facts in files: a .nuspec's <version>, a wheel's METADATA, the release's VERSION_NUMBER. */
function versionInText(name: string, text: string): string | undefined {
  const base = path.basename(name);
  if (base.endsWith('.nuspec') && /<id>[^<]*OnnxRuntime[^<]*<\/id>/i.test(text)) return /<version>\s*([^<\s]+)\s*<\/version>/.exec(text)?.[1];
  if (base === 'METADATA' && /^Name: onnxruntime/im.test(text)) return /^Version: (\S+)/m.exec(text)?.[1];
  if (base === 'VERSION_NUMBER') return /^\s*(\d+\.\d+\.\d+)\s*$/.exec(text)?.[1];
  return undefined;
}
const TEXT_WITH_VERSION = (name: string): boolean => name.endsWith('.nuspec') || name.endsWith('.dist-info/METADATA') || path.basename(name) === 'VERSION_NUMBER';

/** `ortVersion`: the onnxruntime version the libraries must be from (for the messages). */
export async function openCudaSource(given: string, ortVersion: string): Promise<CudaSource> {
  const stat = await fs.stat(given).catch(() => undefined);
  if (!stat) throw cudaSetupError(`${given} does not exist.`);
  if (stat.isDirectory()) return openFolder(given, ortVersion);
  if (ZIP.test(given)) return openZip(given, ortVersion);
  if (TAR.test(given)) return openTar(given, ortVersion);
  throw cudaSetupError(`${given} is neither a folder nor an archive this command reads (.nupkg, .whl, .zip, .tgz, .tar.gz, .tar).`);
}

function found(given: string, names: readonly string[], v: string): Map<string, string> {
  const libraries = new Map<string, string>();
  for (const lib of CUDA_PROVIDER_FILES) {
    const copies = names.filter((n) => path.basename(n) === lib);
    if (copies.length) libraries.set(lib, pick(copies));
  }
  const missing = CUDA_PROVIDER_FILES.filter((l) => !libraries.has(l));
  if (missing.length) {
    throw cudaSetupError(`${given} holds no ${missing.join(' or ')}. Name ${whatToName(v)}.`);
  }
  return libraries;
}

async function openFolder(given: string, ortVersion: string): Promise<CudaSource> {
  const names: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH || names.length > MAX_FOLDER_ENTRIES) return;
    for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(dir, e.name);
      names.push(full);
      if (e.isDirectory()) await walk(full, depth + 1);
    }
  };
  await walk(given, 0);
  if (names.length > MAX_FOLDER_ENTRIES) throw cudaSetupError(`${given} holds more than ${MAX_FOLDER_ENTRIES} files: name the package's own folder.`);
  const libraries = found(given, names, ortVersion);
  let version: CudaSource['version'];
  for (const n of names) {
    // Names inside the folder only: the folders above it say nothing of what it holds.
    const inside = path.relative(given, n);
    const v = versionInName(inside) ?? (TEXT_WITH_VERSION(inside) ? versionInText(inside, await fs.readFile(n, 'utf8').catch(() => '')) : undefined);
    if (v) {
      version = { value: v, from: inside };
      break;
    }
  }
  return { given, version, libraries, extract: (name, dest) => fs.copyFile(libraries.get(name)!, dest) };
}

async function openZip(given: string, ortVersion: string): Promise<CudaSource> {
  const entries = await listZip(given);
  const byName = new Map<string, ZipEntry>(entries.map((e) => [e.name, e]));
  const libraries = found(given, entries.map((e) => e.name), ortVersion);
  let version: CudaSource['version'];
  for (const e of entries) {
    const v = versionInName(e.name) ?? (TEXT_WITH_VERSION(e.name) ? versionInText(e.name, await readZipText(given, e)) : undefined);
    if (v) {
      version = { value: v, from: e.name };
      break;
    }
  }
  return { given, version, libraries, extract: (name, dest) => extractZipEntry(given, byName.get(libraries.get(name)!)!, dest) };
}

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('tar', args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => (err ? reject(cudaSetupError(`tar could not read the archive: ${(stderr || err.message).trim().split('\n')[0]}. Download it again.`)) : resolve(stdout)));
  });
}

async function openTar(given: string, ortVersion: string): Promise<CudaSource> {
  // GNU tar detects gzip by itself when reading. Member names follow "--": a name that looks
  // like an option (--to-command=…) must stay a name.
  const names = (await run(['-tf', given])).split('\n').filter(Boolean);
  const libraries = found(given, names, ortVersion);
  let version: CudaSource['version'];
  for (const n of names) {
    const v = versionInName(n) ?? (TEXT_WITH_VERSION(n) ? versionInText(n, await run(['-xOf', given, '--', n])) : undefined);
    if (v) {
      version = { value: v, from: n };
      break;
    }
  }
  const extract = async (name: string, dest: string): Promise<void> => {
    const tar = spawn('tar', ['-xOf', given, '--', libraries.get(name)!], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => {
      tar.on('error', (err) => ((stderr += err.message), resolve(-1)));
      tar.on('close', resolve);
    });
    await pipeline(tar.stdout, createWriteStream(dest));
    const code = await exited;
    if (code !== 0) throw cudaSetupError(`tar could not extract ${name} from ${given} (${stderr.trim().split('\n')[0] || `exit code ${code}`}). Download the archive again.`);
  };
  return { given, version, libraries, extract };
}
