// A/B of the prefill chunk size (the engine prefills a prompt in chunks so that a stale request
// stops between them): TTFT of a cold 1k-token prompt per chunk size, interleaved, same prompts.
//   node out/bench/prefillChunkAb.js [--pair DIR] [--chunks 256,512,1024] [--samples 4]
import * as fs from 'fs';
import * as path from 'path';
import { CompletionEngine } from '../src/engine/completionEngine';
import { option } from './common';

const ROOT = path.resolve(__dirname, '..', '..');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const pair = path.resolve(option(args, 'pair', path.join(ROOT, '.cache', 'bench-pairs', 'qwen2.5-coder-0.5b-shape')));
  const chunks = option(args, 'chunks', '256,512,1024').split(',').map(Number);
  const samples = Number(option(args, 'samples', '4'));
  const engines = await Promise.all(chunks.map((c) => CompletionEngine.load(pair, 'cpu', { promptCache: true, prefillChunk: c })));
  const text = fs.readFileSync(path.join(ROOT, 'src', 'engine', 'completionEngine.ts'), 'utf8').repeat(4);
  const prompt = (i: number): number[] => {
    const at = text.indexOf('\n', Math.floor(text.length * (0.6 + 0.05 * i)));
    return engines[0].buildPrompt({ prefix: text.slice(0, at), suffix: text.slice(at), contextTokens: 1024, maxNewTokens: 16 }).ids;
  };
  const ttft: number[][] = chunks.map(() => []);
  for (let s = -1; s < samples; s++) {
    for (let k = 0; k < chunks.length; k++) {
      const i = (k + Math.max(0, s)) % chunks.length;
      engines[i].clearCache();
      const r = await engines[i].generateIds(prompt(Math.max(0, s)), 'overfill', 1);
      if (s >= 0) ttft[i].push(r.prefillMs);
    }
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  console.log(JSON.stringify({ pair: path.basename(pair), promptTokens: prompt(0).length, samples, ttftMsP50: Object.fromEntries(chunks.map((c, i) => [c, +med(ttft[i]).toFixed(1)])), ttftMs: Object.fromEntries(chunks.map((c, i) => [c, ttft[i].map((x) => +x.toFixed(1))])) }));
  for (const e of engines) await e.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
