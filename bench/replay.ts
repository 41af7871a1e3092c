// Replay benchmark: types held-out code character by character at a human pace through the
// completion flow (the provider's logic above the VS Code API) and the engine in its process,
// as the editor would: every keystroke cancels the request before it. Two variants, interleaved
// per file in one run: "before" (every keystroke debounced and sent to the model, as the
// provider did before the suggestion cache) and "after" (cache, typing along, joining, adaptive
// debounce, accepted states ahead). Then the cost of context chunks in the prompt, cached vs cold.
//   npm run bench -- --replay [--cases 6] [--json] [--model DIR]
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CompletionFlow, DEFAULT_FLOW_OPTIONS, type FlowOptions, type FlowRequest } from '../src/completion/completionFlow';
import { CompletionEngine } from '../src/engine/completionEngine';
import { EngineClient } from '../src/engine/engineClient';
import { option, percentile, seededRandom } from './common';

const ROOT = path.resolve(__dirname, '..', '..');
const ENGINE = path.join(ROOT, 'out', 'src', 'engine', 'engineProcess.js');

interface Case {
  id: string;
  language: string;
  prefix: string;
  middle: string;
  suffix: string;
}

const VARIANTS: Record<string, FlowOptions> = {
  // The provider before this change: a fixed 120 ms debounce, then a model run per keystroke.
  before: { cache: false, joinRunning: false, prefetch: false, debounceMs: 120 },
  after: DEFAULT_FLOW_OPTIONS,
};

/** VS Code's own wait between a keystroke and asking the provider. */
const EDITOR_DEBOUNCE_MS = 50;
/** A gap at least this long after a key is a pause: the user waits for a suggestion there. */
const PAUSE_MS = 350;

/**
 * Gaps after each key, as people type: bursts of 70-170 ms inside words, a pause of 350-900 ms
 * after a third of spaces and punctuation, 700-1200 ms at line ends.
 */
function paceFor(text: string, seed: number): number[] {
  const r = seededRandom(seed);
  return [...text].map((ch) => {
    if (ch === '\n') return 700 + 500 * r();
    if (/[\s(),.;:=]/.test(ch) && r() < 0.35) return PAUSE_MS + 550 * r();
    return 70 + 100 * r();
  });
}

/** What is typed: the case's middle and the rest of its line, up to 160 characters. */
function typedText(c: Case): { typed: string; after: string } {
  const nl = c.suffix.indexOf('\n');
  const lineRest = nl < 0 ? c.suffix : c.suffix.slice(0, nl);
  const typed = (c.middle + lineRest).slice(0, 160);
  const whole = c.middle + c.suffix;
  return { typed, after: whole.slice(typed.length) };
}

function pickCases(count: number): Case[] {
  const rows = fs.readFileSync(path.join(ROOT, 'bench', 'cases', 'heldout.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Case);
  // Round-robin over languages, cases with something worth typing (the order is the file's).
  const byLanguage = new Map<string, Case[]>();
  for (const c of rows) if (typedText(c).typed.trim().length >= 24) byLanguage.set(c.language, [...(byLanguage.get(c.language) ?? []), c]);
  const out: Case[] = [];
  for (let k = 0; out.length < count && k < rows.length; k++) for (const list of byLanguage.values()) if (list[k] && out.length < count) out.push(list[k]);
  return out;
}

interface Tally {
  keystrokes: number;
  answered: number;
  latencies: number[];
  fromCache: number;
  /** Keys followed by a pause, those answered, and how fast. */
  pauses: number;
  pauseAnswered: number;
  pauseLatencies: number[];
  along: number;
  alongChanged: number;
  modelRuns: number;
  aheadRuns: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function typeCase(client: EngineClient, options: FlowOptions, c: Case, seed: number, tally: Tally): Promise<void> {
  const flow = new CompletionFlow(client, options);
  const { typed, after } = typedText(c);
  const pace = paceFor(typed, seed);
  let prefix = c.prefix;
  let previous: AbortController | undefined;
  /** The suggestion on screen and the keystroke it belongs to. */
  let shown = { text: '', at: -1 };
  const pending: Promise<void>[] = [];
  for (let i = 0; i < typed.length; i++) {
    const ch = typed[i];
    // Typing along: the key typed is the next character of what is shown.
    const alongExpected = shown.at === i - 1 && shown.text.length > 1 && shown.text[0] === ch ? shown.text.slice(1) : undefined;
    if (alongExpected !== undefined) tally.along++;
    previous?.abort();
    const controller = new AbortController();
    previous = controller;
    prefix += ch;
    const request: FlowRequest = { scope: c.id, prefix, suffix: after, languageId: c.language, filePath: c.id, maxNewTokens: 48, contextTokens: 1024, maxLines: 8 };
    tally.keystrokes++;
    const pause = pace[i] >= PAUSE_MS;
    if (pause) tally.pauses++;
    const t0 = performance.now();
    // VS Code cancels the request on the keystroke, then asks after its own 50 ms debounce
    // (if no other key came meanwhile).
    pending.push(
      sleep(EDITOR_DEBOUNCE_MS).then(async () => {
        if (controller.signal.aborted) return;
        const answer = await flow.provide(request, controller.signal).catch(() => undefined);
        if (!answer || controller.signal.aborted) {
          if (alongExpected !== undefined && !controller.signal.aborted) tally.alongChanged++;
          return;
        }
        tally.answered++;
        tally.latencies.push(performance.now() - t0);
        if (pause) {
          tally.pauseAnswered++;
          tally.pauseLatencies.push(performance.now() - t0);
        }
        if (answer.source === 'cache') tally.fromCache++;
        if (alongExpected !== undefined && answer.text !== alongExpected) tally.alongChanged++;
        shown = { text: answer.text, at: i };
      }),
    );
    await sleep(pace[i]);
  }
  await Promise.race([Promise.all(pending), sleep(5000)]);
  await sleep(400); // let work ahead finish or be counted
  tally.modelRuns += flow.stats.modelRuns;
  tally.aheadRuns += flow.stats.prefetchRuns;
  flow.dispose();
}

function summary(t: Tally) {
  return {
    keystrokes: t.keystrokes,
    answered: t.answered,
    p50Ms: percentile(t.latencies, 0.5),
    p95Ms: percentile(t.latencies, 0.95),
    cacheShare: +(t.fromCache / Math.max(1, t.answered)).toFixed(3),
    pauses: t.pauses,
    pauseAnsweredShare: +(t.pauseAnswered / Math.max(1, t.pauses)).toFixed(3),
    pauseP50Ms: percentile(t.pauseLatencies, 0.5),
    pauseP95Ms: percentile(t.pauseLatencies, 0.95),
    modelRunsPer100Keys: +((100 * t.modelRuns) / Math.max(1, t.keystrokes)).toFixed(1),
    aheadRunsPer100Keys: +((100 * t.aheadRuns) / Math.max(1, t.keystrokes)).toFixed(1),
    typedAlong: t.along,
    changedWhileTypingAlong: t.alongChanged,
    changedShare: +(t.alongChanged / Math.max(1, t.along)).toFixed(3),
  };
}

interface AlongTally {
  keys: number;
  answered: number;
  latencies: number[];
  fromCache: number;
  changed: number;
  modelRuns: number;
}

/**
 * Typing along: wait for the suggestion at the cursor, then type its first characters (up to 12)
 * at burst pace, as a user who agrees with it but types rather than pressing Tab. Each key
 * should bring back the rest of the same suggestion.
 */
async function typeAlong(client: EngineClient, options: FlowOptions, c: Case, seed: number, tally: AlongTally): Promise<void> {
  const flow = new CompletionFlow(client, options);
  const { after } = typedText(c);
  const request = (prefix: string): FlowRequest => ({ scope: c.id, prefix, suffix: after, languageId: c.language, filePath: c.id, maxNewTokens: 48, contextTokens: 1024, maxLines: 8 });
  const first = await flow.provide(request(c.prefix), new AbortController().signal);
  let shown = first?.text ?? '';
  const along = shown.slice(0, 12);
  const r = seededRandom(seed);
  let prefix = c.prefix;
  let previous: AbortController | undefined;
  const pending: Promise<void>[] = [];
  const runsBefore = flow.stats.modelRuns;
  for (let k = 0; k < along.length - 1; k++) {
    previous?.abort();
    const controller = new AbortController();
    previous = controller;
    prefix += along[k];
    const expected = shown.slice(1);
    // What VS Code shows until an answer comes: the rest of the same suggestion.
    shown = expected;
    tally.keys++;
    const t0 = performance.now();
    const at = prefix;
    pending.push(
      sleep(EDITOR_DEBOUNCE_MS).then(async () => {
        if (controller.signal.aborted) return;
        const answer = await flow.provide(request(at), controller.signal).catch(() => undefined);
        if (!answer || controller.signal.aborted) return;
        tally.answered++;
        tally.latencies.push(performance.now() - t0);
        if (answer.source === 'cache') tally.fromCache++;
        if (answer.text !== expected) {
          tally.changed++;
          if (prefix === at) shown = answer.text;
        }
      }),
    );
    await sleep(70 + 100 * r());
  }
  await Promise.race([Promise.all(pending), sleep(5000)]);
  tally.modelRuns += flow.stats.modelRuns - runsBefore;
  flow.dispose();
}

/** Keystroke latency with context chunks in the prompt: one character typed into a cached prompt vs the same prompt cold, and without chunks. */
async function contextCost(model: string, cases: Case[]) {
  const engine = await CompletionEngine.load(model, 'cpu');
  const chunks = cases.slice(0, 8).map((c) => ({ path: `${c.id}.${c.language}`, text: c.prefix.split('\n').slice(-24).join('\n') }));
  const rows: Record<string, number[]> = { withContextCached: [], withContextCold: [], withoutContextCached: [], withoutContextCold: [] };
  let contextTokens = 0;
  const run = async (c: Case, context: boolean, cold: boolean): Promise<number> => {
    const base = { prefix: c.prefix, suffix: c.suffix, languageId: c.language, filePath: c.id, maxNewTokens: 16, contextTokens: 1024, maxLines: 1, context: context ? chunks : [], contextChunkTokens: 384 };
    engine.clearCache();
    await engine.complete(base);
    if (cold) engine.clearCache();
    const r = await engine.complete({ ...base, prefix: base.prefix + ' ' });
    if (context) contextTokens = r.contextChunkTokens;
    return r.prefillMs + r.decodeMs;
  };
  for (const c of [...cases, ...cases].slice(0, 8)) {
    rows.withContextCached.push(await run(c, true, false));
    rows.withContextCold.push(await run(c, true, true));
    rows.withoutContextCached.push(await run(c, false, false));
    rows.withoutContextCold.push(await run(c, false, true));
  }
  await engine.dispose();
  const st = (v: number[]): { p50: number; p95: number } => ({ p50: percentile(v, 0.5), p95: percentile(v, 0.95) });
  return { contextTokens, withContextCached: st(rows.withContextCached), withContextCold: st(rows.withContextCold), withoutContextCached: st(rows.withoutContextCached), withoutContextCold: st(rows.withoutContextCold) };
}

export async function replay(args: string[]): Promise<void> {
  const opt = (name: string, fallback: string): string => option(args, name, fallback);
  const asJson = args.includes('--json');
  const model = path.resolve(opt('model', path.join(ROOT, 'models', 'default')));
  const cases = pickCases(Number(opt('cases', '6')));
  const client = new EngineClient(ENGINE);
  const info = await client.load(model, 'cpu');
  await sleep(3000); // the engine's warm-up after a load
  const tallies = Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, { keystrokes: 0, answered: 0, latencies: [], fromCache: 0, pauses: 0, pauseAnswered: 0, pauseLatencies: [], along: 0, alongChanged: 0, modelRuns: 0, aheadRuns: 0 } as Tally]));
  for (const [k, c] of cases.entries()) {
    if (!asJson) console.log(`typing ${c.id} (${typedText(c).typed.length} characters) ...`);
    const order = k % 2 === 0 ? Object.keys(VARIANTS) : Object.keys(VARIANTS).reverse();
    for (const v of order) await typeCase(client, VARIANTS[v], c, 1000 + k, tallies[v]);
  }
  const along = Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, { keys: 0, answered: 0, latencies: [], fromCache: 0, changed: 0, modelRuns: 0 } as AlongTally]));
  for (const [k, c] of cases.entries()) {
    const order = k % 2 === 0 ? Object.keys(VARIANTS) : Object.keys(VARIANTS).reverse();
    for (const v of order) await typeAlong(client, VARIANTS[v], c, 2000 + k, along[v]);
  }
  await client.dispose();
  const result = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
    model: info.name,
    cases: cases.map((c) => c.id),
    variants: Object.fromEntries(Object.entries(tallies).map(([v, t]) => [v, summary(t)])),
    typingAlong: Object.fromEntries(
      Object.entries(along).map(([v, t]) => [v, { keys: t.keys, answered: t.answered, p50Ms: percentile(t.latencies, 0.5), p95Ms: percentile(t.latencies, 0.95), cacheShare: +(t.fromCache / Math.max(1, t.answered)).toFixed(3), modelRunsPer100Keys: +((100 * t.modelRuns) / Math.max(1, t.keys)).toFixed(1), changed: t.changed }]),
    ),
    contextCostMs: await contextCost(model, cases),
  };
  if (asJson) {
    console.log(JSON.stringify(result));
    return;
  }
  const out = path.join(ROOT, 'docs', 'bench');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'replay.json'), JSON.stringify(result, null, 1));
  const lines = [
    `# Replay benchmark (${result.date}, ${result.machine}, ${result.model})`,
    '',
    `${cases.length} held-out files, each typed at a human pace (bursts of 70-170 ms between keys, pauses of ${PAUSE_MS}-900 ms after some spaces and punctuation, 700-1200 ms at line ends) through the completion flow and the engine process, once per variant, interleaved; as in VS Code, each key cancels the request before it and the provider is asked 50 ms later. Latency: keystroke to answer (those 50 ms included), for keystrokes answered before the next key; "at pauses": keys followed by a pause, where the user waits for a suggestion. Typed along: keys that matched the next character of the suggestion shown; changed: the next answer was not the rest of it.`,
    '',
    '| variant | keystrokes | answered | p50 / p95 ms | at pauses: answered | at pauses: p50 / p95 ms | from cache | model runs /100 keys | ahead runs /100 keys | typed along | shown text changed |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...Object.entries(result.variants).map(([v, s]) => `| ${v} | ${s.keystrokes} | ${s.answered} | ${s.p50Ms} / ${s.p95Ms} | ${(100 * s.pauseAnsweredShare).toFixed(0)}% of ${s.pauses} | ${s.pauseP50Ms} / ${s.pauseP95Ms} | ${(100 * s.cacheShare).toFixed(0)}% | ${s.modelRunsPer100Keys} | ${s.aheadRunsPer100Keys} | ${s.typedAlong} | ${s.changedWhileTypingAlong} (${(100 * s.changedShare).toFixed(0)}%) |`),
    '',
    'Typing along: after each file\'s first suggestion, its first characters (up to 12) typed at burst pace (70-170 ms); each key should bring back the rest of the same suggestion.',
    '',
    '| variant | keys typed along | answered | p50 / p95 ms | from cache | model runs /100 keys | answer changed |',
    '|---|---|---|---|---|---|---|',
    ...Object.entries(result.typingAlong).map(([v, a]) => `| ${v} | ${a.keys} | ${a.answered} | ${a.p50Ms} / ${a.p95Ms} | ${(100 * a.cacheShare).toFixed(0)}% | ${a.modelRunsPer100Keys} | ${a.changed} |`),
    '',
    `Context chunks (${result.contextCostMs.contextTokens} tokens of 8 other files) in the prompt, one character typed, 16 tokens, single line, p50 / p95 ms:`,
    '',
    '| | cached prompt | cold |',
    '|---|---|---|',
    `| with chunks | ${result.contextCostMs.withContextCached.p50} / ${result.contextCostMs.withContextCached.p95} | ${result.contextCostMs.withContextCold.p50} / ${result.contextCostMs.withContextCold.p95} |`,
    `| without | ${result.contextCostMs.withoutContextCached.p50} / ${result.contextCostMs.withoutContextCached.p95} | ${result.contextCostMs.withoutContextCold.p50} / ${result.contextCostMs.withoutContextCold.p95} |`,
    '',
  ];
  fs.writeFileSync(path.join(out, 'replay.md'), lines.join('\n'));
  console.log(lines.join('\n'));
}
