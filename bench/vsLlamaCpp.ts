// OverFill Code next to llama.cpp (what llama.vscode runs) on the same weights, the same raw
// prompt ids and the same thread count, in one run, interleaved:
//   npm run bench -- --vs-llamacpp [--samples N (default 6, 8, 3)] [--configs 150m-fp32,150m-int8,qwen0.5b-int8] [--json]
// Rows: our OverFill pair and our full model alone; llama.cpp's full model and, for reference,
// the decoder alone. Quantization on each side is named with its figures. The GGUF files are
// written from the same modules as the ONNX pairs (bench/make_bench_pairs.py, training/gguf.py).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CompletionEngine } from '../src/engine/completionEngine';
import type { GenerationMode } from '../src/engine/generate/generate';
import { cpuThreads } from '../src/engine/runtime/providers';
import { chartSvg } from './chartVsLlamaCpp';
import { option, percentile } from './common';
import { LlamaCppModel } from './llamaCpp';

const ROOT = path.resolve(__dirname, '..', '..');
const PAIRS = path.join(ROOT, '.cache', 'bench-pairs');
const LINE_TOKENS = 16;
const DECODE_TOKENS = 33;

interface Config {
  name: string;
  pair: string;
  full: string;
  decoder: string;
  quant: string;
  samples: number;
}
const CONFIGS: Config[] = [
  { name: '150m-fp32', pair: 'rand-150m-fp32', full: 'rand-150m-fp32/gguf/full.f32.gguf', decoder: 'rand-150m-fp32/gguf/decoder.f32.gguf', quant: 'ours fp32 / llama.cpp F32', samples: 6 },
  { name: '150m-int8', pair: 'rand-150m-int8', full: 'rand-150m-fp32/gguf/full.q8_0.gguf', decoder: 'rand-150m-fp32/gguf/decoder.q8_0.gguf', quant: 'ours int8 blocks of 32 (MatMulNBits, float32 KV) / llama.cpp Q8_0 (F16 KV)', samples: 8 },
  { name: 'qwen0.5b-int8', pair: 'qwen2.5-coder-0.5b-shape', full: 'qwen2.5-coder-0.5b-shape/gguf/full.q8_0.gguf', decoder: 'qwen2.5-coder-0.5b-shape/gguf/decoder.q8_0.gguf', quant: 'ours int8 blocks of 32 (MatMulNBits, float32 KV) / llama.cpp Q8_0 (F16 KV)', samples: 3 },
];
const ENGINES = ['overfill', 'ours-full', 'llama-full', 'llama-decoder'] as const;
type EngineName = (typeof ENGINES)[number];
const METRICS = ['ttftMs1k', 'prefillTokPerSec1k', 'decodeTokPerSec1k', 'line16Ms1k', 'keystroke2kMs'] as const;
type Metric = (typeof METRICS)[number];

interface Run {
  ids: number[];
  ttftMs: number;
  totalMs: number;
}

/** One engine as the benchmark drives it: a cold run, or one reusing the previous prompt's state. */
interface Side {
  run(prompt: number[], newTokens: number, reuse: boolean): Promise<Run>;
  dispose(): Promise<void>;
}

function ours(engine: CompletionEngine, mode: GenerationMode): Side {
  return {
    async run(prompt, n, reuse) {
      if (!reuse) engine.clearCache();
      const t0 = performance.now();
      const r = await engine.generateIds(prompt, mode, n);
      return { ids: r.ids, ttftMs: r.prefillMs, totalMs: performance.now() - t0 };
    },
    dispose: async () => undefined,
  };
}

function llama(model: LlamaCppModel): Side {
  return { run: (prompt, n, reuse) => model.generate(prompt, n, reuse), dispose: () => model.dispose() };
}


/** Prompts of our tokenizer's ids: FIM prompts for cursors in long source files, cut to `tokens`. */
function prompts(engine: CompletionEngine, tokens: number, count: number): number[][] {
  const files = ['src/engine/completionEngine.ts', 'src/engine/generate/generate.ts', 'src/engine/runtime/kvCache.ts', 'src/engine/prompt/buildFimPrompt.ts', 'src/vscode/inlineCompletionProvider.ts'];
  return Array.from({ length: count }, (_, i) => {
    const text = fs.readFileSync(path.join(ROOT, files[i % files.length]), 'utf8').repeat(4);
    const at = text.indexOf('\n', Math.floor(text.length * 0.8));
    return engine.buildPrompt({ prefix: text.slice(0, at), suffix: text.slice(at), contextTokens: tokens, maxNewTokens: LINE_TOKENS }).ids;
  });
}

async function openSides(config: Config, threads: number, only?: EngineName): Promise<{ engine: CompletionEngine; sides: Partial<Record<EngineName, Side>> }> {
  const engine = await CompletionEngine.load(path.join(PAIRS, config.pair), 'cpu', { promptCache: true, cpuThreads: threads });
  const sides: Partial<Record<EngineName, Side>> = {};
  const want = (e: EngineName): boolean => !only || only === e;
  if (want('overfill')) sides.overfill = ours(engine, 'overfill');
  if (want('ours-full')) sides['ours-full'] = ours(engine, 'full');
  const contextSize = 2048 + 64;
  if (want('llama-full')) sides['llama-full'] = llama(await LlamaCppModel.load(path.join(PAIRS, config.full), { threads, contextSize }));
  if (want('llama-decoder')) sides['llama-decoder'] = llama(await LlamaCppModel.load(path.join(PAIRS, config.decoder), { threads, contextSize }));
  return { engine, sides };
}

/** Every metric once for `side` on prompt pair (p1k, p2k). */
async function measure(side: Side, p1k: number[], p2k: number[]): Promise<Record<Metric, number> & { lineIds: number[] }> {
  const line = await side.run(p1k, LINE_TOKENS, false);
  const decode = await side.run(p1k, DECODE_TOKENS, false);
  await side.run(p2k, LINE_TOKENS, false); // the file as evaluated before the keystroke
  const key = await side.run([...p2k, p2k[p2k.length - 1]], LINE_TOKENS, true);
  return {
    lineIds: line.ids,
    ttftMs1k: line.ttftMs,
    prefillTokPerSec1k: (p1k.length / line.ttftMs) * 1000,
    decodeTokPerSec1k: ((decode.ids.length - 1) / (decode.totalMs - decode.ttftMs)) * 1000,
    line16Ms1k: line.totalMs,
    keystroke2kMs: key.totalMs,
  };
}

async function measureConfig(config: Config, threads: number, samples: number) {
  const { engine, sides } = await openSides(config, threads);
  const p1k = prompts(engine, 1024, samples + 1);
  const p2k = prompts(engine, 2048, samples + 1);
  const rows = Object.fromEntries(ENGINES.map((e) => [e, Object.fromEntries(METRICS.map((m) => [m, [] as number[]]))])) as Record<EngineName, Record<Metric, number[]>>;
  // Warm-up on the extra prompt: first runs of each shape pay for allocations on both sides.
  for (const e of ENGINES) await measure(sides[e]!, p1k[samples], p2k[samples]);
  let parity = { equal: 0, of: 0 };
  for (let s = 0; s < samples; s++) {
    const order = ENGINES.map((_, i) => ENGINES[(i + s) % ENGINES.length]);
    const lines: Partial<Record<EngineName, number[]>> = {};
    for (const e of order) {
      const m = await measure(sides[e]!, p1k[s], p2k[s]);
      lines[e] = m.lineIds;
      for (const k of METRICS) rows[e][k].push(m[k]);
    }
    // Same weights, same ids in: how many of the 16 greedy ids the two full models share.
    const a = lines['ours-full']!;
    const b = lines['llama-full']!;
    const firstDiff = a.findIndex((id, i) => id !== b[i]);
    parity = { equal: parity.equal + (firstDiff < 0 ? a.length : firstDiff), of: parity.of + a.length };
  }
  const info = engine.info;
  for (const side of Object.values(sides)) await side!.dispose();
  await engine.dispose();
  const stats = Object.fromEntries(ENGINES.map((e) => [e, Object.fromEntries(METRICS.map((m) => [m, { p50: percentile(rows[e][m], 0.5), p95: percentile(rows[e][m], 0.95) }]))])) as Record<EngineName, Record<Metric, { p50: number; p95: number }>>;
  const ratio = (e: EngineName, vs: EngineName, m: Metric): number => +(stats[e][m].p50 / stats[vs][m].p50).toFixed(3);
  return {
    name: config.name,
    quant: config.quant,
    fullParams: info.fullParams,
    decoderParams: info.decoderParams,
    samples,
    promptTokens: { '1k': p1k[0].length, '2k': p2k[0].length },
    parityFullIds: parity,
    peakRssMb: rssProbe(config, threads),
    stats,
    goals: {
      line16OverfillVsLlamaFull: ratio('overfill', 'llama-full', 'line16Ms1k'),
      keystroke2kOverfillVsLlamaFull: ratio('overfill', 'llama-full', 'keystroke2kMs'),
      ttftOverfillVsLlamaFull: ratio('overfill', 'llama-full', 'ttftMs1k'),
      decodeTokPerSecOverfillVsLlamaFull: ratio('overfill', 'llama-full', 'decodeTokPerSec1k'),
    },
  };
}

/** Peak RSS of each engine alone: a fresh process per engine running one sample's work. */
function rssProbe(config: Config, threads: number): Record<EngineName, number> {
  const out = {} as Record<EngineName, number>;
  for (const e of ENGINES) {
    const text = execFileSync(process.execPath, [__filename, '--rss-probe', config.name, '--engine', e, '--threads', String(threads)], { encoding: 'utf8' });
    out[e] = Number(text.trim().split('\n').pop());
  }
  return out;
}

async function probeMain(args: string[]): Promise<void> {
  const config = CONFIGS.find((c) => c.name === option(args, 'rss-probe', ''))!;
  const engineName = option(args, 'engine', 'overfill') as EngineName;
  const { engine, sides } = await openSides(config, Number(option(args, 'threads', '2')), engineName);
  await measure(sides[engineName]!, prompts(engine, 1024, 1)[0], prompts(engine, 2048, 1)[0]);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  console.log(Math.round(Number(hwm?.[1] ?? 0) / 1024));
  process.exit(0);
}

type Result = Awaited<ReturnType<typeof measureConfig>>;

function markdown(date: string, machine: string, threads: number, results: Result[]): string {
  const lines = [
    `# OverFill Code vs llama.cpp (${date}, ${machine}, ${threads} threads each)`,
    '',
    `Same weights (GGUF written from the modules our ONNX pairs were exported from), the same raw prompt ids, ${threads} CPU threads on both sides, engines interleaved per sample (order rotating). llama.cpp: node-llama-cpp 3.21.1's prebuilt CPU build, one sequence, greedy. TTFT = prompt evaluated + first token, cold. Decode tok/s over ${DECODE_TOKENS - 1} tokens after the first at a 1k prompt. Single line = ${LINE_TOKENS} tokens at a 1k prompt, cold. Keystroke = one token appended to an already-evaluated 2k prompt, ${LINE_TOKENS} tokens: llama.cpp keeps the sequence's evaluated prefix (as llama.vscode's cache_prompt), ours uses its prompt cache. Peak RSS: each engine alone in a fresh process, one sample's work. p50 / p95.`,
    '',
  ];
  for (const r of results) {
    lines.push(`## ${r.name}: full ${(r.fullParams! / 1e6).toFixed(1)}M, decoder ${(r.decoderParams! / 1e6).toFixed(1)}M; ${r.quant}; ${r.samples} samples; prompts ${r.promptTokens['1k']} / ${r.promptTokens['2k']} tokens`, '');
    lines.push('| engine | TTFT @1k ms | prefill tok/s @1k | decode tok/s @1k | single line @1k ms | keystroke @2k ms | peak RSS MB |', '|---|---|---|---|---|---|---|');
    for (const e of ENGINES) {
      const s = r.stats[e];
      lines.push(`| ${e} | ${METRICS.map((m) => `${s[m].p50} / ${s[m].p95}`).join(' | ')} | ${r.peakRssMb[e]} |`);
    }
    const g = r.goals;
    lines.push('', `OverFill / llama.cpp full (p50): single line ${g.line16OverfillVsLlamaFull}× (goal ≤ 0.7), keystroke ${g.keystroke2kOverfillVsLlamaFull}× (goal ≤ 1), TTFT ${g.ttftOverfillVsLlamaFull}× (goal ≤ 1.1), decode tok/s ${g.decodeTokPerSecOverfillVsLlamaFull}×. Full models' greedy ids shared before the first difference: ${r.parityFullIds.equal} of ${r.parityFullIds.of}.`, '');
  }
  return lines.join('\n');
}

export async function vsLlamaCpp(args: string[]): Promise<void> {
  if (args.includes('--rss-probe')) return probeMain(args);
  const asJson = args.includes('--json');
  const threads = cpuThreads(Number(option(args, 'threads', '0')));
  const names = option(args, 'configs', CONFIGS.map((c) => c.name).join(',')).split(',');
  const missing = CONFIGS.filter((c) => names.includes(c.name) && !fs.existsSync(path.join(PAIRS, c.decoder)));
  if (missing.length) {
    if (!asJson) console.log('making the benchmark pairs and their GGUF files (bench/make_bench_pairs.py) ...');
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'bench', 'make_bench_pairs.py')], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const results: Result[] = [];
  for (const config of CONFIGS.filter((c) => names.includes(c.name))) {
    if (!asJson) console.log(`measuring ${config.name} ...`);
    results.push(await measureConfig(config, threads, Number(option(args, 'samples', String(config.samples)))));
  }
  const date = new Date().toISOString().slice(0, 10);
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`;
  const result = { date, machine, threads, results };
  if (asJson) {
    console.log(JSON.stringify(result));
    return;
  }
  const out = path.join(ROOT, 'docs', 'bench');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'vs-llamacpp.json'), JSON.stringify(result, null, 1));
  const md = markdown(date, machine, threads, results);
  fs.writeFileSync(path.join(out, 'vs-llamacpp.md'), md);
  fs.writeFileSync(path.join(out, 'vs-llamacpp.svg'), chartSvg(results, `OverFill Code vs llama.cpp, same weights (${date}, ${machine}, ${threads} threads; p50, lower is better)`));
  console.log(md);
}

if (require.main === module) {
  vsLlamaCpp(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
