// The engine benchmark: OverFill vs full-only vs decoder-only, interleaved on the same prompts,
// for the embedded default pair and random-weight pairs of realistic shape (~150M full /
// ~60M decoder, int8 and fp32; and Qwen2.5-Coder-0.5B's shapes, converted by training.convert;
// latency depends only on shapes). Medians and p95.
//   npm run bench                      table, plus docs/bench/latest.{json,md,png}
//   npm run bench -- --json            one JSON object on stdout
//   npm run bench -- --samples 3 --pairs default,rand-150m-int8 --provider cpu --threads 1
//   npm run bench -- --replay          typing replayed through the completion flow (replay.ts)
//   npm run bench -- --gpu [--provider webgpu|cuda|cpu] [--bandwidth-gbs N]   prefill and decode against bandwidth floors (gpuSet.ts)
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CompletionEngine } from '../src/engine/completionEngine';
import { GENERATION_MODES, type GenerationMode } from '../src/engine/generate/generate';
import { cpuThreads, type ProviderSetting } from '../src/engine/runtime/providers';
import { option } from './common';
import { replay } from './replay';
import { gpuSet } from './gpuSet';
import { vsLlamaCpp } from './vsLlamaCpp';

const ROOT = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => option(args, name, fallback);
const asJson = args.includes('--json');
const samples = Number(opt('samples', '3'));
const provider = opt('provider', 'cpu') as ProviderSetting;
/** Threads for CPU kernels, as overfill.cpuThreads (0 = every core). */
const threadSetting = Number(opt('threads', '0'));
const LINE_TOKENS = 16;
/** Extra decode steps per measurement of decode speed (see msPerStep). */
const DECODE_STEPS = 48;
const PAIR_DIRS: Record<string, string> = {
  default: path.join(ROOT, 'models', 'default'),
  'rand-150m-int8': path.join(ROOT, '.cache', 'bench-pairs', 'rand-150m-int8'),
  'rand-150m-fp32': path.join(ROOT, '.cache', 'bench-pairs', 'rand-150m-fp32'),
  'rand-150m-int8-kv8': path.join(ROOT, '.cache', 'bench-pairs', 'rand-150m-int8-kv8'),
  'qwen2.5-coder-0.5b-shape': path.join(ROOT, '.cache', 'bench-pairs', 'qwen2.5-coder-0.5b-shape'),
};
/** Most samples per mode for pairs too slow for the full count on a CPU (a 2k-token prefill of the 0.5B pair takes seconds). */
const MAX_SAMPLES: Record<string, number> = { 'qwen2.5-coder-0.5b-shape': 2 };
const pairNames = opt('pairs', Object.keys(PAIR_DIRS).join(',')).split(',');

type Stat = { p50: number; p95: number };
const METRICS = ['ttftMs', 'lineMs', 'decodeTokPerSec', 'decodeMsPerTokenCtx256', 'decodeMsPerTokenCtx2048', 'incrementalMs', 'coldSameMs'] as const;
type Metric = (typeof METRICS)[number];

function rotate<T>(xs: readonly T[], by: number): T[] {
  return xs.map((_, i) => xs[(i + by) % xs.length]);
}

function stat(xs: number[]): Stat {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { p50: +q(0.5).toFixed(2), p95: +q(0.95).toFixed(2) };
}

/** Held-out-style code: Python stdlib modules the tokenizers were not trained on, and our own sources. */
function sourceTexts(): string[] {
  const lib = fs.readdirSync('/usr/lib').filter((d) => /^python3\.\d+$/.test(d)).map((d) => path.join('/usr/lib', d))[0];
  const files = lib ? fs.readdirSync(lib).filter((f) => /^[m-z].*\.py$/.test(f)).sort().map((f) => path.join(lib, f)) : [];
  const own = ['src/engine/completionEngine.ts', 'src/engine/generate/generate.ts', 'src/engine/runtime/kvCache.ts'].map((f) => path.join(ROOT, f));
  return [...own, ...files].map((f) => fs.readFileSync(f, 'utf8')).filter((t) => t.length > 30_000);
}

interface Cursor {
  prefix: string;
  suffix: string;
}

/** A cursor at a line end around 80% into a long file: ample prefix and some suffix. */
function cursorIn(text: string, k: number): Cursor {
  let at = Math.floor(text.length * (0.7 + 0.05 * (k % 5)));
  at = text.indexOf('\n', at);
  return { prefix: text.slice(0, at), suffix: text.slice(at) };
}

async function measurePair(name: string, dir: string, texts: string[]) {
  const engine = await CompletionEngine.load(dir, provider, { promptCache: true, cpuThreads: threadSetting });
  // Room for the longest run after a prompt (msPerStep's repeat), within the trained context.
  const ctxMax = engine.info.contextLength - (DECODE_STEPS + 2);
  const rows = Object.fromEntries(GENERATION_MODES.map((m) => [m, Object.fromEntries(METRICS.map((k) => [k, [] as number[]]))])) as Record<GenerationMode, Record<Metric, number[]>>;
  const prompt = (c: Cursor, tokens: number): number[] => engine.buildPrompt({ ...c, contextTokens: Math.min(tokens, ctxMax), maxNewTokens: LINE_TOKENS }).ids;
  const cold = async (ids: number[], mode: GenerationMode, n: number) => {
    engine.clearCache();
    return engine.generateIds(ids, mode, n);
  };
  // Decode ms per step, pooled over the cold run's steps and those of the same prompt run again
  // from the prompt cache (a two-token prefill) with a longer budget: a single 16-token line
  // left the 2048/256 and mode-vs-mode ratios moving by 15-30% between runs.
  const msPerStep = async (ids: number[], mode: GenerationMode, first: { ids: number[]; decodeMs: number }) => {
    const again = await engine.generateIds(ids, mode, DECODE_STEPS + 1);
    return (first.decodeMs + again.decodeMs) / Math.max(1, first.ids.length - 1 + again.ids.length - 1);
  };
  // Warm-up, as the engine process does after a load (CompletionEngine.warmUp) but for every mode:
  // the first runs at each size pay for allocations; a 1k-token prefill settles on its third run.
  for (let pass = 0; pass < 2; pass++) {
    for (const mode of GENERATION_MODES) await cold(prompt(cursorIn(texts[pass], pass), 1024), mode, 4);
  }
  const pairSamples = Math.min(samples, MAX_SAMPLES[name] ?? samples);
  for (let s = 0; s < pairSamples; s++) {
    const c = cursorIn(texts[s % texts.length], s);
    const typed = { prefix: c.prefix + 'x', suffix: c.suffix };
    // The mode order rotates per sample: a mode that runs right after another mode's session
    // starts on a cold session of its own (150M int8: OverFill's TTFT, the very same prefill as
    // full-only's, came out 7-8% slower when OverFill always ran first).
    for (const mode of rotate(GENERATION_MODES, s)) {
      const r = rows[mode];
      const line = await cold(prompt(c, 1024), mode, LINE_TOKENS);
      r.ttftMs.push(line.prefillMs);
      r.lineMs.push(line.prefillMs + line.decodeMs);
      r.decodeTokPerSec.push(1000 / (await msPerStep(prompt(c, 1024), mode, line)));
      for (const [ctx, key] of [[256, 'decodeMsPerTokenCtx256'], [2048, 'decodeMsPerTokenCtx2048']] as const) {
        const ids = prompt(c, ctx);
        r[key].push(await msPerStep(ids, mode, await cold(ids, mode, LINE_TOKENS + 1)));
      }
      // One character typed into a ~2k-token file whose prompt is cached.
      await cold(prompt(c, 2048), mode, LINE_TOKENS);
      const inc = await engine.generateIds(prompt(typed, 2048), mode, LINE_TOKENS);
      r.incrementalMs.push(inc.prefillMs + inc.decodeMs);
      const same = await cold(prompt(typed, 2048), mode, LINE_TOKENS);
      r.coldSameMs.push(same.prefillMs + same.decodeMs);
    }
  }
  const info = engine.info;
  await engine.dispose();
  const modes = Object.fromEntries(GENERATION_MODES.map((m) => [m, Object.fromEntries(METRICS.map((k) => [k, stat(rows[m][k])]))])) as Record<GenerationMode, Record<Metric, Stat>>;
  const o = modes.overfill;
  return {
    name,
    samples: pairSamples,
    fullParams: info.fullParams,
    decoderParams: info.decoderParams,
    provider: info.provider,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    modes,
    ratios: {
      decodeTokPerSecOverfillVsDecoder: +(o.decodeTokPerSec.p50 / modes.decoder.decodeTokPerSec.p50).toFixed(3),
      decodeTokPerSecOverfillVsFull: +(o.decodeTokPerSec.p50 / modes.full.decodeTokPerSec.p50).toFixed(3),
      ttftOverfillVsFull: +(o.ttftMs.p50 / modes.full.ttftMs.p50).toFixed(3),
      decodeCtx2048VsCtx256: +(o.decodeMsPerTokenCtx2048.p50 / o.decodeMsPerTokenCtx256.p50).toFixed(3),
      incrementalVsCold: +(o.incrementalMs.p50 / o.coldSameMs.p50).toFixed(3),
    },
  };
}

function markdown(result: { pairs: Awaited<ReturnType<typeof measurePair>>[] } & Record<string, unknown>): string {
  const lines = [`# Engine benchmark (${result.date}, ${result.machine})`, '', `${samples} samples per mode (fewer where a pair's heading says so), modes interleaved on the same prompts (their order rotating per sample); p50 / p95; ${result.threads} CPU threads per session. Single line = ${LINE_TOKENS} tokens at a 1k-token prompt, cold prompt cache. Decode speed (tok/s at 1k, ms/token at 256 and 2048) is pooled over a cold run's steps and ${DECODE_STEPS} more on the same prompt from the prompt cache. Incremental = one character typed into a cached ~2k-token prompt, ${LINE_TOKENS} tokens.`, ''];
  for (const p of result.pairs) {
    lines.push(`## ${p.name}: full ${(p.fullParams! / 1e6).toFixed(1)}M, decoder ${(p.decoderParams! / 1e6).toFixed(1)}M params, ${p.provider}, peak RSS ${p.peakRssMb} MB${p.samples < samples ? `, ${p.samples} samples` : ''}`, '');
    lines.push('| mode | TTFT ms | single line ms | decode tok/s | ms/token @256 | ms/token @2048 | incremental ms | same, cold ms |', '|---|---|---|---|---|---|---|---|');
    for (const m of GENERATION_MODES) {
      const x = p.modes[m];
      lines.push(`| ${m} | ${METRICS.map((k) => `${x[k].p50} / ${x[k].p95}`).join(' | ')} |`);
    }
    const r = p.ratios;
    lines.push('', `Ratios (p50): OverFill decode tok/s = ${r.decodeTokPerSecOverfillVsDecoder}× decoder-only, ${r.decodeTokPerSecOverfillVsFull}× full-only; TTFT OverFill/full = ${r.ttftOverfillVsFull}; ms/token 2048/256 = ${r.decodeCtx2048VsCtx256}; incremental/cold = ${r.incrementalVsCold}.`, '');
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const missing = pairNames.filter((n) => n !== 'default' && !fs.existsSync(path.join(PAIR_DIRS[n] ?? n, 'overfill.json')));
  if (missing.length > 0) {
    if (!asJson) console.log(`making the random-weight benchmark pairs (${missing.join(', ')}) with training/ ...`);
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'bench', 'make_bench_pairs.py')], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const texts = sourceTexts();
  const pairs = [];
  for (const name of pairNames) {
    if (!asJson) console.log(`measuring ${name} ...`);
    pairs.push(await measurePair(name, PAIR_DIRS[name] ?? path.resolve(name), texts));
  }
  const cpus = os.cpus();
  const result = { date: new Date().toISOString().slice(0, 10), machine: `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}`, threads: cpuThreads(threadSetting), samples, pairs };
  if (asJson) {
    console.log(JSON.stringify(result));
    return;
  }
  const out = path.join(ROOT, 'docs', 'bench');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'latest.json'), JSON.stringify(result, null, 1));
  const md = markdown(result);
  fs.writeFileSync(path.join(out, 'latest.md'), md);
  console.log(md);
  try {
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'bench', 'plot_bench.py'), path.join(out, 'latest.json'), path.join(out, 'latest.png')], { stdio: 'inherit' });
  } catch {
    console.log('(no chart: bench/plot_bench.py needs python3-matplotlib: apt-get install python3-matplotlib)');
  }
}

const run = args.includes('--replay') ? replay : args.includes('--vs-llamacpp') ? vsLlamaCpp : args.includes('--gpu') ? gpuSet : () => main();
run(args).catch((err) => {
  console.error(err);
  process.exit(1);
});
