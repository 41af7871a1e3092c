// Soak: many completion requests through the engine process, sent as the extension sends them:
// typing bursts in which each keystroke cancels the request before it, files of mixed sizes
// (a 50k-line file and a single 2 MB line among them), an explanation now and then, and a model
// swap midway (to another pair and back). Reports errors, cancellations, memory and latency.
//   npm run soak -- --requests 10000 [--json] [--model DIR] [--other DIR]
import * as fs from 'fs';
import * as path from 'path';
import { EngineClient } from '../src/engine/engineClient';
import { isAbort } from '../src/engine/errors';
import type { CompletionRequest } from '../src/engine/requests';
import { option, percentile, seededRandom } from './common';

const ROOT = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => option(args, name, fallback);
const asJson = args.includes('--json');
const total = Number(opt('requests', '1000'));
const model = path.resolve(opt('model', path.join(ROOT, 'models', 'default')));
const otherDefault = path.join(ROOT, 'test', 'fixtures', 'generated', 'pair-b');
const other = path.resolve(opt('other', fs.existsSync(path.join(otherDefault, 'overfill.json')) ? otherDefault : model));
const EXPLAIN_EVERY = 250;

/** Resident memory of a process from /proc (Linux), in MB. */
function processRssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Texts to type into: held-out files, our own sources, a 50k-line file and a 2 MB single line. */
function documents(): string[] {
  const cases = fs.readFileSync(path.join(ROOT, 'bench', 'cases', 'heldout.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 40);
  const texts = cases.map((l) => {
    const c = JSON.parse(l) as { prefix: string; middle: string; suffix: string };
    return c.prefix + c.middle + c.suffix;
  });
  texts.push(fs.readFileSync(path.join(ROOT, 'src', 'engine', 'completionEngine.ts'), 'utf8'));
  texts.push(Array.from({ length: 50_000 }, (_, i) => `const value${i} = compute(${i}, "${i % 97}");`).join('\n'));
  texts.push('var a=' + Array.from({ length: 200_000 }, (_, i) => `f${i % 13}(${i})`).join(',') + ';');
  return texts;
}

/** What the provider would send for a cursor at `at` (its window: contextSize × 8 characters each side). */
function requestAt(text: string, at: number): CompletionRequest {
  const maxChars = 1024 * 8;
  return { prefix: text.slice(Math.max(0, at - maxChars), at), suffix: text.slice(at, at + maxChars), languageId: 'typescript', filePath: 'soak.ts', maxNewTokens: 48, contextTokens: 1024, maxLines: 8 };
}

async function main(): Promise<void> {
  const client = new EngineClient(path.join(ROOT, 'out', 'src', 'engine', 'engineProcess.js'));
  await client.load(model, 'cpu');
  // What the extension costs: the host side (this process stands in for it) plus the engine process.
  const rssMb = (): number => Math.round(process.memoryUsage.rss() / 1024 / 1024 + processRssMb(client.pid));
  await sleep(3000); // the engine's own warm-up
  const texts = documents();
  const r = seededRandom(7);
  const latencies: number[] = [];
  let errors = 0;
  let cancelled = 0;
  let sent = 0;
  const firstErrors: string[] = [];
  const count = (err: unknown): void => {
    if (isAbort(err)) cancelled++;
    else {
      errors++;
      if (firstErrors.length < 5) firstErrors.push(err instanceof Error ? err.message : String(err));
    }
  };
  let afterWarmUp = 0;
  let peak = rssMb();
  const warmUpRequests = Math.min(200, Math.floor(total / 10));
  let lastLog = performance.now();
  while (sent < total) {
    if (sent >= warmUpRequests && afterWarmUp === 0) afterWarmUp = rssMb();
    // A burst: 1-6 keystrokes 10-60 ms apart, each cancelling the one before; the last is awaited.
    const text = texts[Math.floor(r() * texts.length)];
    let at = Math.floor(r() * text.length);
    const burst = 1 + Math.floor(r() * 6);
    const pending: Promise<void>[] = [];
    let previous: AbortController | undefined;
    for (let k = 0; k < burst && sent < total; k++, sent++) {
      previous?.abort();
      const controller = new AbortController();
      previous = controller;
      const t0 = performance.now();
      pending.push(client.complete(requestAt(text, at), controller.signal).then(() => void latencies.push(performance.now() - t0), count));
      at = Math.min(text.length, at + 1);
      if (k < burst - 1) await sleep(10 + 50 * r());
    }
    await Promise.all(pending);
    if (sent % EXPLAIN_EVERY < burst) {
      await client.explain({ code: text.slice(Math.max(0, at - 600), at), languageId: 'typescript', maxNewTokens: 24, contextTokens: 1024 }, undefined, () => undefined).catch(count);
    }
    if (sent >= total / 2 && sent - burst < total / 2) await client.load(other, 'cpu').catch(count);
    if (sent >= (3 * total) / 4 && sent - burst < (3 * total) / 4) await client.load(model, 'cpu').catch(count);
    peak = Math.max(peak, rssMb());
    if (!asJson && performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      console.log(`${sent}/${total} requests, ${errors} errors, RSS ${rssMb()} MB`);
    }
  }
  const end = rssMb();
  await client.dispose();
  const result = { requests: sent, errors, cancelled, rssMB: { afterWarmUp: afterWarmUp || end, end, peak: Math.max(peak, end) }, p50Ms: percentile(latencies, 0.5), p95Ms: percentile(latencies, 0.95), ...(firstErrors.length ? { firstErrors } : {}) };
  console.log(asJson ? JSON.stringify(result) : JSON.stringify(result, null, 1));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
