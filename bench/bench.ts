// Latency of the engine as the extension uses it (worker thread, real model files), the three
// modes interleaved on the same prompts. Reports medians and p95; --json prints one object.
//   npm run bench [-- --json] [-- --model DIR] [-- --rounds N]
import * as fs from 'fs';
import * as path from 'path';
import { EngineClient } from '../src/engine/engineClient';
import { GENERATION_MODES, type GenerationMode } from '../src/engine/generate/generate';
import type { CompletionRequest } from '../src/engine/requests';

const ROOT = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const json = args.includes('--json');
const model = path.resolve(opt('model', path.join(ROOT, 'models', 'default')));
const rounds = Number(opt('rounds', '3'));

/** Cursor positions in real source files: after `at` characters of each line-start cut. */
function prompts(): CompletionRequest[] {
  const files = [
    ...fs.readdirSync(path.join(ROOT, 'src', 'engine')).filter((f) => f.endsWith('.ts')).map((f) => path.join(ROOT, 'src', 'engine', f)),
    ...fs.readdirSync(path.join(ROOT, 'training')).filter((f) => f.endsWith('.py')).map((f) => path.join(ROOT, 'training', f)),
  ].sort();
  const out: CompletionRequest[] = [];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const frac of [0.3, 0.6, 0.9]) {
      let at = Math.floor(text.length * frac);
      at = text.indexOf('\n', at) + 1 || at;
      at += Math.min(12, text.indexOf('\n', at) - at);
      out.push({ prefix: text.slice(0, at), suffix: text.slice(at), languageId: file.endsWith('.py') ? 'python' : 'typescript', maxNewTokens: 16, contextTokens: 1024, maxLines: 1 });
    }
  }
  return out;
}

function stats(xs: number[]): { p50: number; p95: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { p50: +q(0.5).toFixed(2), p95: +q(0.95).toFixed(2), n: s.length };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const client = new EngineClient(path.join(ROOT, 'out', 'src', 'engine', 'worker.js'));
  const info = await client.load(model, 'cpu');
  const first = await client.complete(prompts()[0]);
  const coldMs = performance.now() - t0;
  const rows: Record<GenerationMode, { total: number[]; prefill: number[]; perToken: number[] }> = {
    overfill: { total: [], prefill: [], perToken: [] },
    full: { total: [], prefill: [], perToken: [] },
    decoder: { total: [], prefill: [], perToken: [] },
  };
  const ps = prompts();
  for (let r = 0; r < rounds; r++) {
    for (const p of ps) {
      for (const mode of GENERATION_MODES) {
        const t = performance.now();
        const res = await client.complete({ ...p, mode });
        rows[mode].total.push(performance.now() - t);
        rows[mode].prefill.push(res.prefillMs);
        if (res.ids.length > 1) rows[mode].perToken.push(res.decodeMs / (res.ids.length - 1));
      }
    }
  }
  await client.dispose();
  const result = {
    model: info.name,
    fullParams: info.fullParams,
    decoderParams: info.decoderParams,
    provider: info.provider,
    prompts: ps.length,
    rounds,
    coldStartToFirstSuggestionMs: +coldMs.toFixed(1),
    firstSuggestionPromptTokens: first.promptTokens,
    modes: Object.fromEntries(GENERATION_MODES.map((m) => [m, { lineMs: stats(rows[m].total), ttftMs: stats(rows[m].prefill), decodeMsPerToken: stats(rows[m].perToken) }])),
  };
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(`${result.model} (full ${info.fullParams}, decoder ${info.decoderParams} params) on ${info.provider}; ${ps.length} prompts x ${rounds} rounds, single line, up to 16 tokens`);
  console.log(`cold start (worker + load + first suggestion): ${result.coldStartToFirstSuggestionMs} ms`);
  console.log('mode      line p50/p95 ms   ttft p50/p95 ms   decode ms/token p50/p95');
  for (const m of GENERATION_MODES) {
    const x = result.modes[m];
    console.log(`${m.padEnd(9)} ${`${x.lineMs.p50} / ${x.lineMs.p95}`.padEnd(17)} ${`${x.ttftMs.p50} / ${x.ttftMs.p95}`.padEnd(17)} ${x.decodeMsPerToken.p50} / ${x.decodeMsPerToken.p95}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
