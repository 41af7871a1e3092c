// HumanEval-SingleLineInfilling pass@1 (greedy) through the product's engine. Each program
// (prompt + suggestion + suffix + tests) runs in an isolated Python subprocess with a timeout,
// an empty environment and a scratch working directory.
//   node out/bench/humaneval.js [--model DIR] [--mode overfill|full|decoder] [--limit N] [--json]
// The data is ../shared/benchmarks (evaluation only, never training).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { CompletionEngine } from '../src/engine/completionEngine';
import type { GenerationMode } from '../src/engine/generate/generate';

const ROOT = path.resolve(__dirname, '..', '..');
const DATA = path.resolve(ROOT, '..', 'shared', 'benchmarks', 'humaneval-infilling', 'HumanEval-SingleLineInfilling.jsonl.gz');

interface Task {
  task_id: string;
  entry_point: string;
  prompt: string;
  suffix: string;
  canonical_solution: string;
  test: string;
}

function runsClean(program: string, dir: string): boolean {
  const r = spawnSync('/usr/bin/python3', ['-I', '-c', program], { cwd: dir, env: {}, timeout: 5000, stdio: 'ignore' });
  return r.status === 0;
}

export async function humanEval(model: string, mode: GenerationMode, limit: number) {
  const tasks = zlib.gunzipSync(fs.readFileSync(DATA)).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Task).slice(0, limit);
  const engine = await CompletionEngine.load(model, 'cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overfill-humaneval-'));
  let passed = 0;
  let exact = 0;
  try {
    for (const t of tasks) {
      const r = await engine.complete({ prefix: t.prompt, suffix: t.suffix, languageId: 'python', maxNewTokens: 64, contextTokens: 1024, maxLines: 1, mode });
      exact += r.text.trim() === t.canonical_solution.trim() ? 1 : 0;
      const program = `${t.prompt}${r.text}${t.suffix.startsWith('\n') ? '' : '\n'}${t.suffix}\n${t.test}\ncheck(${t.entry_point})\n`;
      passed += runsClean(program, dir) ? 1 : 0;
    }
  } finally {
    await engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { model: engine.info.name, mode, tasks: tasks.length, passAt1: +(passed / tasks.length).toFixed(4), exactMatch: +(exact / tasks.length).toFixed(4) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
  };
  const result = await humanEval(path.resolve(opt('model', path.join(ROOT, 'models', 'default'))), opt('mode', 'overfill') as GenerationMode, Number(opt('limit', '100000')));
  console.log(args.includes('--json') ? JSON.stringify(result) : `${result.model}, ${result.mode}: HumanEval-SingleLineInfilling pass@1 ${result.passAt1} (${result.tasks} tasks), exact match ${result.exactMatch}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
