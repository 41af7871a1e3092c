// Completion quality through the product's own engine (prompt building, generation, line
// rules): exact match, edit similarity and first-line exact match, overall, per language and per
// kind of case (line completion or infilling).
//   npm run eval -- --cases bench/cases/heldout.jsonl --mode overfill|full|decoder [--model DIR] [--json] [--no-healing]
// A case is {"id","language","prefix","suffix","middle"} (and optionally "kind"); the file is
// prefix + middle + suffix.
// As in line-completion harnesses, a suggestion may have as many lines as the middle.
import * as fs from 'fs';
import * as path from 'path';
import { CompletionEngine } from '../src/engine/completionEngine';
import type { GenerationMode } from '../src/engine/generate/generate';

const ROOT = path.resolve(__dirname, '..', '..');

interface Case {
  id: string;
  language: string;
  prefix: string;
  suffix: string;
  middle: string;
  kind?: string;
}

interface Tally {
  n: number;
  exact: number;
  editSim: number;
  multiline: number;
  firstLineExact: number;
}

export function editSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return 1 - prev[n] / Math.max(m, n, 1);
}

const firstLine = (s: string): string => s.split('\n')[0].trimEnd();

function add(t: Tally, middle: string, got: string): void {
  const want = middle.trimEnd();
  const have = got.trimEnd();
  t.n++;
  t.exact += have === want ? 1 : 0;
  t.editSim += editSimilarity(have, want);
  if (want.includes('\n')) {
    t.multiline++;
    t.firstLineExact += firstLine(have) === firstLine(want) ? 1 : 0;
  }
}

function summary(t: Tally) {
  return {
    cases: t.n,
    exactMatch: +(t.exact / Math.max(1, t.n)).toFixed(4),
    exactMatches: t.exact, // the count: at a few matches, ratios of rates are mostly noise
    editSimilarity: +(t.editSim / Math.max(1, t.n)).toFixed(4),
    multilineCases: t.multiline,
    firstLineExactMatch: t.multiline ? +(t.firstLineExact / t.multiline).toFixed(4) : null,
  };
}

const summaries = (tallies: Record<string, Tally>) => Object.fromEntries(Object.entries(tallies).map(([k, v]) => [k, summary(v)]));

export async function evaluate(model: string, casesFile: string, mode: GenerationMode, tokenHealing = true) {
  const cases = fs.readFileSync(casesFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Case);
  const engine = await CompletionEngine.load(model, 'cpu');
  const empty = (): Tally => ({ n: 0, exact: 0, editSim: 0, multiline: 0, firstLineExact: 0 });
  const all = empty();
  const byLanguage: Record<string, Tally> = {};
  const byKind: Record<string, Tally> = {};
  try {
    for (const c of cases) {
      const lines = c.middle.replace(/\s+$/, '').split('\n').length;
      const r = await engine.complete({ prefix: c.prefix, suffix: c.suffix, languageId: c.language, maxNewTokens: 48, contextTokens: 1024, maxLines: lines, mode, tokenHealing });
      add(all, c.middle, r.text);
      add((byLanguage[c.language] ??= empty()), c.middle, r.text);
      if (c.kind) add((byKind[c.kind] ??= empty()), c.middle, r.text);
    }
  } finally {
    await engine.dispose();
  }
  return { model: engine.info.name, mode, tokenHealing, casesFile: path.relative(ROOT, path.resolve(casesFile)), ...summary(all), byLanguage: summaries(byLanguage), byKind: summaries(byKind) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
  };
  const mode = opt('mode', 'overfill') as GenerationMode;
  if (!['overfill', 'full', 'decoder'].includes(mode)) throw new Error(`--mode must be overfill, full or decoder, not ${mode}`);
  const result = await evaluate(path.resolve(opt('model', path.join(ROOT, 'models', 'default'))), opt('cases', path.join(ROOT, 'bench', 'cases', 'heldout.jsonl')), mode, !args.includes('--no-healing'));
  if (args.includes('--json')) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(`${result.model}, ${mode}: ${result.cases} cases, exact match ${result.exactMatch} (${result.exactMatches}), edit similarity ${result.editSimilarity}` + (result.multilineCases ? `, first-line exact match ${result.firstLineExactMatch} (${result.multilineCases} multi-line)` : ''));
  for (const [group, s] of [...Object.entries(result.byLanguage), ...Object.entries(result.byKind)]) {
    console.log(`  ${group.padEnd(12)} ${s.cases} cases, exact ${s.exactMatch} (${s.exactMatches}), edit similarity ${s.editSimilarity}`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
