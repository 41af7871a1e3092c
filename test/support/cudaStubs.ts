// Stand-ins for onnxruntime's CUDA provider libraries and the CUDA/cuDNN/driver libraries they
// link, built with the machine's gcc: real ELF shared objects with the real file names, sonames
// and dependency structure, but no CUDA in them (no CUDA build can be downloaded here). ORT
// loads them for real: the shared one registers, the CUDA one lacks GetProvider.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

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
  // As the real one: it links the CUDA and cuDNN libraries, not the shared provider library
  // (ORT loads that first, globally), and has no RUNPATH.
  gcc([
    '-o', path.join(providers, 'libonnxruntime_providers_cuda.so'),
    c('cuda.c', 'int cudaRuntimeGetVersion(int*);\nunsigned long cudnnGetVersion(void);\nint overfill_stub(void) { int v; return cudaRuntimeGetVersion(&v) + (int)cudnnGetVersion(); }\n'),
    `-L${cudaLibs}`, '-l:libcudart.so.12', '-l:libcudnn.so.9',
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

/**
 * A ZIP64 archive of stored entries, every size and offset in its ZIP64 fields (Python's
 * zipfile writes those only past 4 GB). Checked by Python's zipfile before use.
 */
export function writeZip64(out: string, entries: Record<string, Buffer>): void {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(entries)) {
    const nameBuf = Buffer.from(name);
    const crc = zlib.crc32(data);
    const localExtra = Buffer.alloc(20);
    localExtra.writeUInt16LE(1, 0);
    localExtra.writeUInt16LE(16, 2);
    localExtra.writeBigUInt64LE(BigInt(data.length), 4);
    localExtra.writeBigUInt64LE(BigInt(data.length), 12);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(0xffffffff, 18);
    local.writeUInt32LE(0xffffffff, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    const cdExtra = Buffer.alloc(28);
    cdExtra.writeUInt16LE(1, 0);
    cdExtra.writeUInt16LE(24, 2);
    cdExtra.writeBigUInt64LE(BigInt(data.length), 4);
    cdExtra.writeBigUInt64LE(BigInt(data.length), 12);
    cdExtra.writeBigUInt64LE(BigInt(offset), 20);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(45, 4);
    cd.writeUInt16LE(45, 6);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(0xffffffff, 20);
    cd.writeUInt32LE(0xffffffff, 24);
    cd.writeUInt16LE(nameBuf.length, 28);
    cd.writeUInt16LE(cdExtra.length, 30);
    cd.writeUInt32LE(0xffffffff, 42);
    central.push(cd, nameBuf, cdExtra);
    parts.push(local, nameBuf, localExtra, data);
    offset += local.length + nameBuf.length + localExtra.length + data.length;
  }
  const cdBuf = Buffer.concat(central);
  const count = Object.keys(entries).length;
  const eocd64 = Buffer.alloc(56);
  eocd64.writeUInt32LE(0x06064b50, 0);
  eocd64.writeBigUInt64LE(44n, 4);
  eocd64.writeUInt16LE(45, 12);
  eocd64.writeUInt16LE(45, 14);
  eocd64.writeBigUInt64LE(BigInt(count), 24);
  eocd64.writeBigUInt64LE(BigInt(count), 32);
  eocd64.writeBigUInt64LE(BigInt(cdBuf.length), 40);
  eocd64.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + cdBuf.length), 8);
  locator.writeUInt32LE(1, 16);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  eocd.writeUInt32LE(0xffffffff, 12);
  eocd.writeUInt32LE(0xffffffff, 16);
  fs.writeFileSync(out, Buffer.concat([...parts, cdBuf, eocd64, locator, eocd]));
  const check = 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(len(z.infolist()))';
  const listed = execFileSync('python3', ['-c', check, out], { encoding: 'utf8' }).trim();
  if (Number(listed) !== count) throw new Error(`Python read ${listed} entries of the ZIP64 archive, not ${count}`);
}
