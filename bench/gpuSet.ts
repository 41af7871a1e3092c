// The --gpu set: prefill at 256/1k/2k tokens and decode ms/token at 256/2k context, OverFill vs
// full-only vs decoder-only, for the 150M pair and the Qwen2.5-Coder-0.5B-shaped pair, on one
// provider, each figure beside the floor it is measured against: the bytes a run must read
// (weights, plus the KV cache for a decode step) divided by the memory bandwidth.
//   npm run bench -- --gpu --provider webgpu --bandwidth-gbs 4800   (a GPU: its datasheet figure)
//   npm run bench -- --gpu --provider cpu                            (bandwidth measured here)
// Prefill is bound by compute, not bandwidth, on any real device: its floor is a lower bound
// only. Writes docs/bench/gpu-<provider>.{json,md}.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CompletionEngine } from '../src/engine/completionEngine';
import { DEFAULT_PREFILL_CHUNK, GENERATION_MODES, type GenerationMode } from '../src/engine/generate/generate';
import { manifestFor, readManifest, type GraphInfo, type ModelManifest } from '../src/engine/model/manifest';
import { cpuThreads, type ProviderSetting } from '../src/engine/runtime/providers';
import { option, percentile } from './common';

const ROOT = path.resolve(__dirname, '..', '..');
const PAIRS: Record<string, string> = {
  'rand-150m-int8': path.join(ROOT, '.cache', 'bench-pairs', 'rand-150m-int8'),
  'qwen2.5-coder-0.5b-shape': path.join(ROOT, '.cache', 'bench-pairs', 'qwen2.5-coder-0.5b-shape'),
};
const PREFILL_TOKENS = [256, 1024, 2048];
const DECODE_CONTEXTS = [256, 2048];
/** Decode steps timed per measurement (after the first token, which the prefill gives). */
const DECODE_STEPS = 16;
const KV_BYTES = { float32: 4, float16: 2, int8: 1 } as const;

/**
 * Host memory read bandwidth, GB/s: the best of several compares of two 256 MB buffers (memcmp
 * reads both, writes nothing, as a decode step reads its weights). A copy (read + write) gave
 * 16.9 to 24 GB/s between runs here; taking the best of more passes steadies it.
 */
function measureHostBandwidth(): number {
  const n = 256 * 1024 * 1024;
  const a = Buffer.alloc(n, 1);
  const b = Buffer.alloc(n, 1);
  let best = Infinity;
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    a.compare(b);
    best = Math.min(best, performance.now() - t0);
  }
  return (2 * n) / (best / 1000) / 1e9;
}

function graphBytes(m: ModelManifest, g: GraphInfo): number {
  const file = path.join(m.folder, g.file);
  const data = g.externalData ? path.join(path.dirname(file), g.externalData) : undefined;
  return fs.statSync(file).size + (data ? fs.statSync(data).size : 0);
}

/** KV bytes a decode step reads at `context` positions. */
function kvBytes(m: ModelManifest, context: number): number {
  return 2 * m.kv.numLayers * m.kv.numKvHeads * m.kv.headDim * context * KV_BYTES[m.kv.dtype];
}

interface Figure {
  p50: number;
  p95: number;
  /** ms the bytes read take at the bandwidth; undefined without a bandwidth. */
  floorMs?: number;
}

function figure(xs: number[], floorMs: number | undefined): Figure {
  return { p50: percentile(xs, 0.5), p95: percentile(xs, 0.95), floorMs: floorMs === undefined ? undefined : +floorMs.toFixed(3) };
}

async function measure(name: string, dir: string, provider: ProviderSetting, samples: number, gbs: number | undefined) {
  const engine = await CompletionEngine.load(dir, provider, { promptCache: false });
  const manifest = manifestFor(await readManifest(dir), engine.info.provider);
  const bytes = { full: graphBytes(manifest, manifest.full), decoder: graphBytes(manifest, manifest.decoder) };
  const floor = (b: number): number | undefined => (gbs ? (b / (gbs * 1e9)) * 1000 : undefined);
  // Run time depends on shapes, not values: any valid ids serve. Room is left for the decode steps.
  const room = engine.info.contextLength - DECODE_STEPS - 2;
  const ids = (n: number, seed: number): number[] => Array.from({ length: Math.min(n, room) }, (_, i) => 3 + ((i * 7919 + seed * 104729) % (manifest.vocabSize - 3)));
  // First runs at each size pay for allocations (and, on WebGPU, shader compiles): one untimed pass.
  for (const n of [...PREFILL_TOKENS, ...DECODE_CONTEXTS]) for (const mode of GENERATION_MODES) await engine.generateIds(ids(n, 99), mode, 2);
  const prefill: Record<string, Record<number, number[]>> = {};
  const decode: Record<string, Record<number, number[]>> = {};
  for (const mode of GENERATION_MODES) {
    prefill[mode] = Object.fromEntries(PREFILL_TOKENS.map((n) => [n, [] as number[]]));
    decode[mode] = Object.fromEntries(DECODE_CONTEXTS.map((n) => [n, [] as number[]]));
  }
  for (let s = 0; s < samples; s++) {
    // Modes interleaved, their order rotating per sample.
    for (const mode of GENERATION_MODES.map((_, i) => GENERATION_MODES[(i + s) % GENERATION_MODES.length])) {
      for (const n of PREFILL_TOKENS) prefill[mode][n].push((await engine.generateIds(ids(n, s), mode, 1)).prefillMs);
      for (const c of DECODE_CONTEXTS) {
        const r = await engine.generateIds(ids(c, s + 50), mode, DECODE_STEPS + 1);
        decode[mode][c].push(r.decodeMs / Math.max(1, r.ids.length - 1));
      }
    }
  }
  await engine.dispose();
  const role = (mode: GenerationMode, stage: 'prefill' | 'step'): 'full' | 'decoder' => (stage === 'prefill' ? (mode === 'decoder' ? 'decoder' : 'full') : mode === 'full' ? 'full' : 'decoder');
  const modes = Object.fromEntries(
    GENERATION_MODES.map((mode) => [
      mode,
      {
        prefillMs: Object.fromEntries(PREFILL_TOKENS.map((n) => [n, figure(prefill[mode][n], floor(bytes[role(mode, 'prefill')] * Math.ceil(n / DEFAULT_PREFILL_CHUNK)))])),
        decodeMsPerToken: Object.fromEntries(DECODE_CONTEXTS.map((c) => [c, figure(decode[mode][c], floor(bytes[role(mode, 'step')] + kvBytes(manifest, c)))])),
      },
    ]),
  );
  return { name, provider: engine.info.provider, fullParams: engine.info.fullParams, decoderParams: engine.info.decoderParams, graphBytes: bytes, kvDtype: manifest.kv.dtype, cacheLayout: manifest.kv.cacheLayout, modes };
}

function markdown(result: { date: string; machine: string; provider: string; bandwidthGBs?: number; bandwidthSource: string; samples: number; pairs: Awaited<ReturnType<typeof measure>>[] }): string {
  const cell = (f: Figure): string => `${f.p50} / ${f.p95}${f.floorMs !== undefined ? ` (floor ${f.floorMs}, ${(f.p50 / f.floorMs).toFixed(1)}×)` : ''}`;
  const lines = [
    `# --gpu set (${result.date}, ${result.machine}, provider ${result.provider})`,
    '',
    `${result.samples} samples per mode, interleaved; p50 / p95 ms. Floor = bytes read / ${result.bandwidthGBs ? `${result.bandwidthGBs.toFixed(1)} GB/s (${result.bandwidthSource})` : 'bandwidth (none given: pass --bandwidth-gbs)'}, and p50 / floor.`,
    `Bytes: the graph files' size, as the weights a run reads (once per ${DEFAULT_PREFILL_CHUNK}-token prefill chunk), plus the KV cache a decode step reads. Prefill is bound by compute: its floor is a lower bound only.`,
    '',
  ];
  for (const p of result.pairs) {
    lines.push(`## ${p.name}: full ${((p.fullParams ?? 0) / 1e6).toFixed(1)}M (${(p.graphBytes.full / 1e6).toFixed(1)} MB), decoder ${((p.decoderParams ?? 0) / 1e6).toFixed(1)}M (${(p.graphBytes.decoder / 1e6).toFixed(1)} MB), ${p.provider}, KV ${p.kvDtype} ${p.cacheLayout}`, '');
    lines.push(`| mode | ${PREFILL_TOKENS.map((n) => `prefill ${n}`).join(' | ')} | ${DECODE_CONTEXTS.map((c) => `ms/token @${c}`).join(' | ')} |`, `|---|${PREFILL_TOKENS.map(() => '---').join('|')}|${DECODE_CONTEXTS.map(() => '---').join('|')}|`);
    for (const mode of GENERATION_MODES) {
      const m = p.modes[mode];
      lines.push(`| ${mode} | ${PREFILL_TOKENS.map((n) => cell(m.prefillMs[n])).join(' | ')} | ${DECODE_CONTEXTS.map((c) => cell(m.decodeMsPerToken[c])).join(' | ')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

export async function gpuSet(args: readonly string[]): Promise<void> {
  const provider = option(args, 'provider', 'cpu') as ProviderSetting;
  const samples = Number(option(args, 'samples', '3'));
  const given = Number(option(args, 'bandwidth-gbs', '0'));
  const names = option(args, 'pairs', Object.keys(PAIRS).join(',')).split(',');
  const missing = names.filter((n) => !fs.existsSync(path.join(PAIRS[n] ?? n, 'overfill.json')));
  if (missing.length) throw new Error(`missing benchmark pairs ${missing.join(', ')}: run /usr/bin/python3 bench/make_bench_pairs.py`);
  const measured = !given && provider === 'cpu' ? measureHostBandwidth() : undefined;
  const gbs = given || measured;
  const pairs = [];
  for (const name of names) {
    console.error(`measuring ${name} on ${provider} ...`);
    pairs.push(await measure(name, PAIRS[name] ?? path.resolve(name), provider, samples, gbs));
  }
  const cpus = os.cpus();
  const result = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${cpuThreads()} threads`,
    provider: pairs[0]?.provider ?? provider,
    bandwidthGBs: gbs,
    bandwidthSource: given ? 'given' : measured ? 'host memory read (memcmp of two 256 MB buffers), measured here' : 'none',
    samples,
    pairs,
  };
  const out = path.join(ROOT, 'docs', 'bench');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, `gpu-${result.provider}.json`), JSON.stringify(result, null, 1));
  const md = markdown(result);
  fs.writeFileSync(path.join(out, `gpu-${result.provider}.md`), md);
  console.log(md);
}
