// Where the time goes, per operator: onnxruntime's own profiler on the sessions of a pair while
// the engine prefills cold 1k-token prompts (the full model) and decodes (the decoder), as in a
// single-line suggestion. Prints the share of each op type in each session's kernel time
// (attention runs inside the If of training/static_attention.py: its MatMul, Softmax, ... nodes).
//   node out/bench/profileOps.js [--pair DIR] [--runs 3]
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import * as os from 'os';
import * as path from 'path';
import { CompletionEngine } from '../src/engine/completionEngine';
import { option } from './common';

const ROOT = path.resolve(__dirname, '..', '..');

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const pair = path.resolve(option(args, 'pair', path.join(ROOT, '.cache', 'bench-pairs', 'rand-150m-int8')));
  const runs = Number(option(args, 'runs', '3'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overfill-profile-'));
  // The engine opens its sessions through InferenceSession.create: profiling is switched on there.
  const sessions: { file: string; session: ort.InferenceSession }[] = [];
  const create = ort.InferenceSession.create.bind(ort.InferenceSession) as (file: string, o: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;
  (ort.InferenceSession as unknown as { create: typeof create }).create = async (file, o) => {
    const session = await create(file, { ...o, enableProfiling: true, profileFilePrefix: path.join(dir, path.basename(file, '.onnx')) });
    sessions.push({ file: path.basename(file), session });
    return session;
  };
  const engine = await CompletionEngine.load(pair, 'cpu', { promptCache: true });
  const text = fs.readFileSync(path.join(ROOT, 'src', 'engine', 'completionEngine.ts'), 'utf8').repeat(4);
  for (let i = 0; i < runs; i++) {
    const at = text.indexOf('\n', Math.floor(text.length * (0.6 + 0.05 * i)));
    const ids = engine.buildPrompt({ prefix: text.slice(0, at), suffix: text.slice(at), contextTokens: 1024, maxNewTokens: 16 }).ids;
    engine.clearCache();
    await engine.generateIds(ids, 'overfill', 16);
  }
  for (const { session } of sessions) session.endProfiling();
  await engine.dispose();
  const report: Record<string, Record<string, number>> = {};
  for (const f of fs.readdirSync(dir)) {
    const events = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as ProfileEvent[];
    const byOp: Record<string, number> = {};
    let total = 0;
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const op = e.args?.op_name ?? '?';
      // An If node's time includes its branch's nodes, which are profiled on their own too.
      if (op === 'If') continue;
      byOp[op] = (byOp[op] ?? 0) + e.dur;
      total += e.dur;
    }
    const role = f.startsWith('full') ? 'full (prefill)' : 'decoder (decode steps)';
    report[role] = Object.fromEntries(Object.entries(byOp).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([op, us]) => [op, +(us / total).toFixed(3)]));
    report[role].totalKernelMs = +(total / 1000).toFixed(1);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify({ pair: path.basename(pair), runs, shareOfKernelTime: report }, null, 1));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
