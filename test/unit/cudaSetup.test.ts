// "OverFill: Set Up CUDA" below VS Code: reading ELF dependencies (checked against readelf),
// finding what the CUDA provider needs, reading the packages it comes in (zip archives written
// by Python's zipfile, tar archives by tar), placing the libraries beside an exact-version copy
// of onnxruntime-node, and the real engine process and onnxruntime running from that copy.
// The provider libraries are gcc-built stand-ins (test/support/cudaStubs.ts): no CUDA build can
// be fetched here, so what is shown is that ORT opens them from the copy, not that CUDA runs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cudaEngineEnv, installCudaRuntime, ortVersionIn, readCudaRuntime, removeCudaRuntime, type CudaRuntime } from '../../src/cudaSetup/cudaRuntime';
import { openCudaSource } from '../../src/cudaSetup/cudaSource';
import { EngineClient } from '../../src/engine/engineClient';
import { checkCuda } from '../../src/engine/runtime/cuda/cudaReadiness';
import { readElfDynamic } from '../../src/engine/runtime/cuda/elfDynamic';
import { findLibrary, librarySearch, missingLibraries } from '../../src/engine/runtime/cuda/findLibraries';
import { ORT_PATH_ENV } from '../../src/engine/runtime/runtimeEnv';
import { buildCudaStubs, NUPKG_NATIVE as NUPKG_DIR, nuspec, pyZip, writeZip64, type CudaStubs } from '../support/cudaStubs';
import { ENGINE_SCRIPT, PAIR_A, REPO_ROOT } from './fixtures';

const ORT_MODULES = path.join(REPO_ROOT, 'node_modules');
const ORT_VERSION = ortVersionIn(ORT_MODULES);
const ORT_NATIVE = path.join(ORT_MODULES, 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
const linuxX64 = process.platform === 'linux' && process.arch === 'x64';

/** What readelf -d says, as readElfDynamic reports it. */
function readelf(file: string): { needed: string[]; soname?: string; runpath: string[] } {
  const out = execFileSync('readelf', ['-d', '-W', file], { encoding: 'utf8' });
  const all = (tag: string): string[] => [...out.matchAll(new RegExp(`\\(${tag}\\)\\s+[^\\[]*\\[([^\\]]*)\\]`, 'g'))].map((m) => m[1]);
  return { needed: all('NEEDED'), soname: all('SONAME')[0], runpath: all('RUNPATH').flatMap((p) => p.split(':')) };
}

describe('CUDA setup', { skip: !linuxX64 && 'the CUDA runtime is Linux x64 only' }, () => {
  let tmp: string;
  let stubs: CudaStubs;
  let nupkg: string;
  const providerFiles = (): Record<string, string> => ({
    [`${NUPKG_DIR}/libonnxruntime_providers_shared.so`]: path.join(stubs.providers, 'libonnxruntime_providers_shared.so'),
    [`${NUPKG_DIR}/libonnxruntime_providers_cuda.so`]: path.join(stubs.providers, 'libonnxruntime_providers_cuda.so'),
  });

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'overfill-cuda-'));
    stubs = buildCudaStubs(path.join(tmp, 'stubs'));
    nupkg = path.join(tmp, `Microsoft.ML.OnnxRuntime.Gpu.Linux.${ORT_VERSION}.nupkg`);
    pyZip(nupkg, { 'Microsoft.ML.OnnxRuntime.Gpu.Linux.nuspec': nuspec(ORT_VERSION), ...providerFiles(), 'runtimes/win-x64/native/onnxruntime_providers_cuda.dll': 'text:not for Linux' });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('ELF dependencies', () => {
    for (const [label, file] of [
      ['the shipped libonnxruntime.so.1', () => path.join(ORT_NATIVE, 'libonnxruntime.so.1')],
      ['the shipped onnxruntime_binding.node', () => path.join(ORT_NATIVE, 'onnxruntime_binding.node')],
      ['the CUDA provider stand-in', () => path.join(stubs.providers, 'libonnxruntime_providers_cuda.so')],
    ] as const) {
      it(`reads ${label} as readelf -d does`, async () => {
        const got = await readElfDynamic(file());
        const want = readelf(file());
        assert.ok(want.needed.length > 0, 'readelf lists its needs');
        assert.deepEqual(got.needed, want.needed);
        assert.equal(got.soname, want.soname);
        assert.deepEqual(got.runpath, want.runpath);
      });
    }

    it("refuses another CPU's library (an aarch64 wheel's), saying so", async () => {
      const arm = path.join(tmp, 'libonnxruntime_providers_cuda.aarch64.so');
      const bytes = fs.readFileSync(path.join(stubs.providers, 'libonnxruntime_providers_cuda.so'));
      bytes.writeUInt16LE(183, 18); // EM_AARCH64
      fs.writeFileSync(arm, bytes);
      await assert.rejects(readElfDynamic(arm), /built for another CPU \(ELF machine 183, not x86-64\)/);
    });

    it('refuses a file that is not a shared library, saying so', async () => {
      const text = path.join(tmp, 'libonnxruntime_providers_cuda.txt');
      fs.writeFileSync(text, 'not an ELF file at all, just text that is long enough to have a header'.repeat(2));
      await assert.rejects(readElfDynamic(text), (e: Error & { code?: string }) => e.code === 'CUDA_SETUP_FAILED' && /no ELF signature/.test(e.message));
    });
  });

  describe('what the CUDA provider needs', () => {
    it("follows RUNPATH $ORIGIN: the shipped binding finds its libonnxruntime.so.1, and libc and libstdc++ through the ld.so cache", async () => {
      assert.deepEqual(await missingLibraries([path.join(ORT_NATIVE, 'onnxruntime_binding.node')], await librarySearch([])), []);
      const alone = path.join(tmp, 'binding-alone');
      fs.mkdirSync(alone, { recursive: true });
      fs.copyFileSync(path.join(ORT_NATIVE, 'onnxruntime_binding.node'), path.join(alone, 'onnxruntime_binding.node'));
      assert.deepEqual(await missingLibraries([path.join(alone, 'onnxruntime_binding.node')], await librarySearch([])), [{ name: 'libonnxruntime.so.1', neededBy: 'onnxruntime_binding.node' }]);
    });

    it('names each missing library once, with what provides it', async () => {
      const missing = await missingLibraries([path.join(stubs.providers, 'libonnxruntime_providers_cuda.so')], await librarySearch([]));
      assert.deepEqual(missing.map((m) => m.name).sort(), ['libcudart.so.12', 'libcudnn.so.9']);
      const found = await missingLibraries([path.join(stubs.providers, 'libonnxruntime_providers_cuda.so')], await librarySearch([stubs.cudaLibs]));
      assert.deepEqual(found, []);
    });

    it('says what to install: the driver, the CUDA runtime of the major version linked, cuDNN', async (t) => {
      if (await findLibrary('libcuda.so.1', await librarySearch([]))) return t.skip('this machine has an NVIDIA driver: its absence cannot be shown');
      const r = await checkCuda({ ortVersion: ORT_VERSION, runtimeDir: stubs.providers, ldLibraryPath: [], driverVersionFile: path.join(tmp, 'no-driver') });
      assert.equal(r.ready, false);
      assert.equal(r.problems.length, 3, r.problems.join('\n'));
      assert.match(r.problems[0], /no NVIDIA driver was found .*libcuda\.so\.1.*install NVIDIA's driver/);
      assert.match(r.problems[1], /CUDA 12 runtime libraries libcudart\.so\.12 are not found: install CUDA 12 .*"overfill\.cuda\.libraryPaths"/);
      assert.match(r.problems[2], /cuDNN 9 \(libcudnn\.so\.9\) is not found/);
      assert.equal(r.summary, 'missing the NVIDIA driver (libcuda.so.1), CUDA 12 (libcudart.so.12), cuDNN 9 (libcudnn.so.9)');
    });

    it('is ready when the library paths hold them (the driver found as libcuda.so.1)', async () => {
      const r = await checkCuda({ ortVersion: ORT_VERSION, runtimeDir: stubs.providers, ldLibraryPath: [stubs.cudaLibs], driverVersionFile: path.join(tmp, 'no-driver') });
      assert.deepEqual(r, { ready: true, problems: [], summary: 'ready' });
    });

    it('without the provider libraries, points at the setup command; off Linux x64, at WebGPU', async () => {
      const none = await checkCuda({ ortVersion: ORT_VERSION, runtimeDir: ORT_NATIVE, ldLibraryPath: [stubs.cudaLibs] });
      assert.match(none.problems.join(), /not set up: run "OverFill: Set Up CUDA"/);
      const win = await checkCuda({ ortVersion: ORT_VERSION, runtimeDir: stubs.providers, ldLibraryPath: [], platform: 'win32' });
      assert.match(win.problems.join(), /Linux x64 only; here WebGPU/);
    });
  });

  describe('reading the package', () => {
    it('a .nupkg: the Linux libraries and the version its .nuspec states', async () => {
      const source = await openCudaSource(nupkg, ORT_VERSION);
      assert.deepEqual(source.version, { value: ORT_VERSION, from: 'Microsoft.ML.OnnxRuntime.Gpu.Linux.nuspec' });
      assert.equal(source.libraries.get('libonnxruntime_providers_cuda.so'), `${NUPKG_DIR}/libonnxruntime_providers_cuda.so`);
      const out = path.join(tmp, 'extracted.so');
      await source.extract('libonnxruntime_providers_cuda.so', out);
      assert.deepEqual(fs.readFileSync(out), fs.readFileSync(path.join(stubs.providers, 'libonnxruntime_providers_cuda.so')));
    });

    it('a ZIP64 wheel (every size and offset in ZIP64 fields), stored rather than deflated: its METADATA version', async () => {
      const whl = path.join(tmp, 'onnxruntime_gpu.whl');
      writeZip64(whl, {
        'onnxruntime_gpu.dist-info/METADATA': Buffer.from(`Metadata-Version: 2.1\nName: onnxruntime-gpu\nVersion: ${ORT_VERSION}\n`),
        'onnxruntime/capi/libonnxruntime_providers_shared.so': fs.readFileSync(path.join(stubs.providers, 'libonnxruntime_providers_shared.so')),
        'onnxruntime/capi/libonnxruntime_providers_cuda.so': fs.readFileSync(path.join(stubs.providers, 'libonnxruntime_providers_cuda.so')),
      });
      const source = await openCudaSource(whl, ORT_VERSION);
      assert.equal(source.version?.value, ORT_VERSION);
      const out = path.join(tmp, 'from-wheel.so');
      await source.extract('libonnxruntime_providers_shared.so', out);
      assert.deepEqual(fs.readFileSync(out), fs.readFileSync(path.join(stubs.providers, 'libonnxruntime_providers_shared.so')));
    });

    it('the release .tgz: its lib/ and VERSION_NUMBER', async () => {
      const top = `onnxruntime-linux-x64-gpu-${ORT_VERSION}`;
      const stage = path.join(tmp, 'tgz-stage');
      fs.mkdirSync(path.join(stage, top, 'lib'), { recursive: true });
      fs.writeFileSync(path.join(stage, top, 'VERSION_NUMBER'), `${ORT_VERSION}\n`);
      for (const f of fs.readdirSync(stubs.providers)) fs.copyFileSync(path.join(stubs.providers, f), path.join(stage, top, 'lib', f));
      const tgz = path.join(tmp, `${top}.tgz`);
      execFileSync('tar', ['-czf', tgz, '-C', stage, top]);
      const source = await openCudaSource(tgz, ORT_VERSION);
      assert.equal(source.version?.value, ORT_VERSION);
      const out = path.join(tmp, 'from-tgz.so');
      await source.extract('libonnxruntime_providers_cuda.so', out);
      assert.deepEqual(fs.readFileSync(out), fs.readFileSync(path.join(stubs.providers, 'libonnxruntime_providers_cuda.so')));
    });

    it('a bare folder states no version', async () => {
      const source = await openCudaSource(stubs.providers, ORT_VERSION);
      assert.equal(source.version, undefined);
      assert.equal(source.libraries.size, 2);
    });

    it('refuses an archive without the CUDA provider, a truncated one, and a corrupted entry', async () => {
      const partial = path.join(tmp, 'partial.zip');
      pyZip(partial, { [`${NUPKG_DIR}/libonnxruntime_providers_shared.so`]: path.join(stubs.providers, 'libonnxruntime_providers_shared.so') });
      await assert.rejects(openCudaSource(partial, ORT_VERSION), /holds no libonnxruntime_providers_cuda\.so\. Name onnxruntime 1\.30\.0's Linux GPU package/);
      const truncated = path.join(tmp, 'truncated.nupkg');
      fs.writeFileSync(truncated, fs.readFileSync(nupkg).subarray(0, 4000));
      await assert.rejects(openCudaSource(truncated, ORT_VERSION), /not a readable zip archive .*Download the package again/);
      // Flip one byte inside a stored entry's data: its CRC-32 no longer matches.
      const stored = path.join(tmp, 'stored.zip');
      pyZip(stored, providerFiles(), { stored: true });
      const bytes = fs.readFileSync(stored);
      const lib = fs.readFileSync(path.join(stubs.providers, 'libonnxruntime_providers_cuda.so'));
      const at = bytes.indexOf(lib.subarray(0, 64)) + 2000;
      bytes[at] ^= 0xff;
      fs.writeFileSync(stored, bytes);
      const source = await openCudaSource(stored, ORT_VERSION);
      await assert.rejects(source.extract('libonnxruntime_providers_cuda.so', path.join(tmp, 'bad.so')), /fails its CRC-32 check/);
    });
  });

  describe('placing the runtime', () => {
    let storage: string;
    let runtime: CudaRuntime;
    before(async () => {
      storage = path.join(tmp, 'global-storage');
      runtime = await installCudaRuntime({ source: await openCudaSource(nupkg, ORT_VERSION), storageDir: storage, ortModules: ORT_MODULES });
    });

    it('puts the provider libraries beside an exact-version copy of onnxruntime-node, and records them', () => {
      assert.equal(runtime.nativeDir, path.join(runtime.ortPackage, 'bin', 'napi-v6', 'linux', 'x64'));
      assert.equal(JSON.parse(fs.readFileSync(path.join(runtime.ortPackage, 'package.json'), 'utf8')).version, ORT_VERSION);
      assert.deepEqual(fs.readFileSync(path.join(runtime.nativeDir, 'libonnxruntime.so.1')), fs.readFileSync(path.join(ORT_NATIVE, 'libonnxruntime.so.1')));
      assert.deepEqual(fs.readdirSync(runtime.nativeDir).sort(), ['libonnxruntime.so.1', 'libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so', 'onnxruntime_binding.node']);
      assert.deepEqual(runtime.record.files.map((f) => f.name), ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']);
      const sha = spawnSync('sha256sum', [path.join(runtime.nativeDir, 'libonnxruntime_providers_cuda.so')], { encoding: 'utf8' }).stdout.split(' ')[0];
      assert.equal(runtime.record.files[1].sha256, sha);
      assert.deepEqual(fs.readdirSync(path.join(storage, 'cuda')), [`onnxruntime-${ORT_VERSION}`], 'no scratch folder is left behind');
    });

    it('is found again at the next start, for its onnxruntime-node version only', () => {
      assert.equal(readCudaRuntime(storage, ORT_VERSION)?.ortPackage, runtime.ortPackage);
      assert.equal(readCudaRuntime(storage, '0.0.1'), undefined, 'a runtime for another onnxruntime-node version is not used');
    });

    it('refuses another onnxruntime version, and an unstated one unless confirmed', async () => {
      const old = path.join(tmp, 'old.nupkg');
      pyZip(old, { 'Microsoft.ML.OnnxRuntime.Gpu.Linux.nuspec': nuspec('1.22.0'), ...providerFiles() });
      const other = path.join(tmp, 'other-storage');
      await assert.rejects(installCudaRuntime({ source: await openCudaSource(old, ORT_VERSION), storageDir: other, ortModules: ORT_MODULES }), new RegExp(`is onnxruntime 1\\.22\\.0 \\(its Microsoft\\.ML\\.OnnxRuntime\\.Gpu\\.Linux\\.nuspec says so\\); OverFill runs onnxruntime ${ORT_VERSION.replace(/\./g, '\\.')}`));
      await assert.rejects(installCudaRuntime({ source: await openCudaSource(stubs.providers, ORT_VERSION), storageDir: other, ortModules: ORT_MODULES }), /does not say which onnxruntime version it is/);
      assert.equal(fs.existsSync(path.join(other, 'cuda', `onnxruntime-${ORT_VERSION}`)), false, 'nothing placed');
      const confirmed = await installCudaRuntime({ source: await openCudaSource(stubs.providers, ORT_VERSION), storageDir: other, ortModules: ORT_MODULES, acceptUnknownVersion: true });
      assert.equal(confirmed.record.sourceVersion, undefined);
      assert.ok((await removeCudaRuntime(other)) > 40e6, 'the copy of onnxruntime is freed');
      assert.equal(fs.existsSync(path.join(other, 'cuda')), false);
    });

    it('a file that is not a shared library is refused, and the runtime placed before stays', async () => {
      const bad = path.join(tmp, 'bad.nupkg');
      pyZip(bad, { 'Microsoft.ML.OnnxRuntime.Gpu.Linux.nuspec': nuspec(ORT_VERSION), ...providerFiles(), [`${NUPKG_DIR}/libonnxruntime_providers_cuda.so`]: 'text:<html>Not Found</html>' });
      await assert.rejects(installCudaRuntime({ source: await openCudaSource(bad, ORT_VERSION), storageDir: storage, ortModules: ORT_MODULES }), /is not a Linux x64 shared library/);
      assert.equal(readCudaRuntime(storage, ORT_VERSION)?.record.placedAt, runtime.record.placedAt);
      assert.deepEqual(fs.readdirSync(path.join(storage, 'cuda')), [`onnxruntime-${ORT_VERSION}`]);
    });

    it('onnxruntime itself opens the provider libraries from the copy (and the library path reaches it)', () => {
      // A plain Node process on the copy, as the engine is started: ORT's own log says which file it opened.
      const script = `require(process.env.${ORT_PATH_ENV}).InferenceSession.create(${JSON.stringify(path.join(PAIR_A, 'full.onnx'))}, { executionProviders: ['cuda'] }).then(() => console.log('LOADED'), (e) => console.log('ERR ' + e.message));`;
      const run = (libraryPaths: string[]): string => {
        const env = { ...process.env, ...cudaEngineEnv(runtime, libraryPaths, '') };
        const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
        return (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '');
      };
      const cudaLib = path.join(runtime.nativeDir, 'libonnxruntime_providers_cuda.so');
      const without = run([]);
      assert.match(without, /ERR .*Failed to load shared library/);
      assert.ok(without.includes(`Failed to load library ${cudaLib} with error: libcudart.so.12: cannot open shared object file`), without);
      const withLibs = run([stubs.cudaLibs]);
      assert.ok(withLibs.includes(`${cudaLib}: undefined symbol: GetProvider`), withLibs);
    });

    it('the engine process runs on the copy, says why CUDA did not start, and logs onnxruntime\'s own words', async () => {
      const lines: string[] = [];
      for (const [libraryPaths, reason] of [
        [[], /CUDA 12 runtime libraries libcudart\.so\.12 are not found/],
        [[stubs.cudaLibs], /^onnxruntime could not start its CUDA provider; the log's "engine stderr" lines say why\. .*\(onnxruntime: .*Failed to load shared library\)$/],
      ] as const) {
        const client = new EngineClient(ENGINE_SCRIPT, { log: (_level, message) => lines.push(message) }, { env: cudaEngineEnv(runtime, libraryPaths, '') });
        try {
          const info = await client.load(PAIR_A, 'cuda');
          assert.equal(info.runtime, runtime.ortPackage);
          assert.equal(info.provider, 'cpu');
          assert.equal(info.fallbacks[0].provider, 'cuda');
          assert.match(info.fallbacks[0].reason, reason);
          const result = await client.complete({ prefix: 'def add(a, b):\n    return ', suffix: '\n', languageId: 'python', maxNewTokens: 4, contextTokens: 256 });
          assert.ok(result.ids.length > 0, 'the copy runs the model on the CPU');
        } finally {
          await client.dispose();
        }
      }
      assert.ok(lines.some((l) => l.startsWith('engine stderr:') && l.includes('undefined symbol: GetProvider')), lines.join('\n'));
    });

    it('a placed library cut short is not used at the next start', () => {
      const lib = path.join(runtime.nativeDir, 'libonnxruntime_providers_cuda.so');
      fs.truncateSync(lib, 100);
      assert.equal(readCudaRuntime(storage, ORT_VERSION), undefined);
    });
  });
});
