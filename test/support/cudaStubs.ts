// Stand-ins for onnxruntime's CUDA provider libraries and the CUDA/cuDNN/driver libraries they
// link, built with the machine's gcc: real ELF shared objects with the real file names, sonames
// and dependency structure, but no CUDA in them (no CUDA build can be downloaded here). ORT
// loads them for real: the shared one registers, the CUDA one lacks GetProvider.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export interface CudaStubs {
  /** libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so. */
  providers: string;
  /** libcudart.so.12, libcudnn.so.9, libcuda.so.1: not on any search path unless named. */
  cudaLibs: string;
}

function gcc(args: string[]): void {
  execFileSync('gcc', ['-shared', '-fPIC', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export function buildCudaStubs(root: string): CudaStubs {
  const providers = path.join(root, 'providers');
  const cudaLibs = path.join(root, 'cuda-libs');
  const src = path.join(root, 'src');
  for (const d of [providers, cudaLibs, src]) fs.mkdirSync(d, { recursive: true });
  const c = (name: string, text: string): string => {
    const file = path.join(src, name);
    fs.writeFileSync(file, text);
    return file;
  };
  gcc(['-o', path.join(cudaLibs, 'libcudart.so.12'), '-Wl,-soname,libcudart.so.12', c('cudart.c', 'int cudaRuntimeGetVersion(int* v) { *v = 12000; return 0; }\n')]);
  gcc(['-o', path.join(cudaLibs, 'libcudnn.so.9'), '-Wl,-soname,libcudnn.so.9', c('cudnn.c', 'unsigned long cudnnGetVersion(void) { return 90000; }\n')]);
  gcc(['-o', path.join(cudaLibs, 'libcuda.so.1'), '-Wl,-soname,libcuda.so.1', c('cuda_driver.c', 'int cuInit(unsigned f) { (void)f; return 0; }\n')]);
  gcc(['-o', path.join(providers, 'libonnxruntime_providers_shared.so'), c('shared.c', 'void Provider_SetHost(void* host) { (void)host; }\n')]);
  gcc([
    '-o', path.join(providers, 'libonnxruntime_providers_cuda.so'),
    c('cuda.c', 'int cudaRuntimeGetVersion(int*);\nunsigned long cudnnGetVersion(void);\nint overfill_stub(void) { int v; return cudaRuntimeGetVersion(&v) + (int)cudnnGetVersion(); }\n'),
    `-L${cudaLibs}`, '-l:libcudart.so.12', '-l:libcudnn.so.9',
    `-L${providers}`, '-l:libonnxruntime_providers_shared.so',
    '-Wl,-rpath,$ORIGIN',
  ]);
  return { providers, cudaLibs };
}

/** A zip written by Python's zipfile (an implementation independent of ours). `text:` values are contents, others file paths. */
export function pyZip(out: string, entries: Record<string, string>, opts: { zip64?: boolean; stored?: boolean } = {}): void {
  const script = [
    'import json, sys, zipfile',
    'out, entries, zip64, stored = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"',
    'with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as z:',
    '    for name, src in entries.items():',
    '        if src.startswith("text:"):',
    '            z.writestr(name, src[5:])',
    '        else:',
    '            with open(src, "rb") as f, z.open(name, "w", force_zip64=zip64) as w:',
    '                w.write(f.read())',
  ].join('\n');
  execFileSync('python3', ['-c', script, out, JSON.stringify(entries), opts.zip64 ? '1' : '0', opts.stored ? '1' : '0']);
}

export const NUPKG_NATIVE = 'runtimes/linux-x64/native';

export const nuspec = (version: string): string => `text:<?xml version="1.0"?><package><metadata><id>Microsoft.ML.OnnxRuntime.Gpu.Linux</id><version>${version}</version></metadata></package>`;

/** The Linux GPU package's layout: its .nuspec and the provider libraries under runtimes/linux-x64/native. */
export function writeNupkg(out: string, stubs: CudaStubs, version: string): void {
  pyZip(out, {
    'Microsoft.ML.OnnxRuntime.Gpu.Linux.nuspec': nuspec(version),
    [`${NUPKG_NATIVE}/libonnxruntime_providers_shared.so`]: path.join(stubs.providers, 'libonnxruntime_providers_shared.so'),
    [`${NUPKG_NATIVE}/libonnxruntime_providers_cuda.so`]: path.join(stubs.providers, 'libonnxruntime_providers_cuda.so'),
  });
}
