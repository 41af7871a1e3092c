// Cold start as the extension sees it: engine process start + model load + first suggestion, then the
// latency of 20 suggestions while "typing" (same file, small edits, prompt cache warm).
//   node out/bench/coldStart.js [--model DIR]
import * as path from 'path';
import { EngineClient } from '../src/engine/engineClient';

const ROOT = path.resolve(__dirname, '..', '..');

async function main(): Promise<void> {
  const i = process.argv.indexOf('--model');
  const model = path.resolve(i > 0 ? process.argv[i + 1] : path.join(ROOT, 'models', 'default'));
  const t0 = performance.now();
  const client = new EngineClient(path.join(ROOT, 'out', 'src', 'engine', 'engineProcess.js'));
  await client.load(model, 'auto');
  const loaded = performance.now();
  const req = { prefix: 'import os\n\ndef read_config(path):\n    with open(path) as f:\n        data = ', suffix: '\n    return data\n', languageId: 'python', maxNewTokens: 48, contextTokens: 1024 };
  await client.complete(req);
  const first = performance.now();
  const times: number[] = [];
  for (let k = 0; k < 20; k++) {
    const t = performance.now();
    await client.complete({ ...req, prefix: req.prefix + 'x'.repeat(k % 3) });
    times.push(performance.now() - t);
  }
  await client.dispose();
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ model: path.basename(model), loadMs: +(loaded - t0).toFixed(1), coldToFirstSuggestionMs: +(first - t0).toFixed(1), typingP50Ms: +times[10].toFixed(1), typingP95Ms: +times[18].toFixed(1) }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
