// `npm run generate` (scripts/generate.ts): raw greedy ids, a completion at a cursor, and the
// JSON report that other checks read.
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from './fixtures';
import { CONVERTED, numpyReference, OPTIMUM_QWEN2 } from './byoFixtures';

const SCRIPT = path.join(REPO_ROOT, 'out', 'scripts', 'generate.js');

function generate(...args: string[]): { status: number | null; json?: Record<string, unknown>; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return { status: r.status, json: last.startsWith('{') ? (JSON.parse(last) as Record<string, unknown>) : undefined, stderr: r.stderr };
}

describe('npm run generate', () => {
  it('--ids runs raw prompt ids greedily and --json reports ids, text, mode and the provider that ran', () => {
    const ref = numpyReference(CONVERTED('qwen2'));
    const r = generate('--model', CONVERTED('qwen2'), '--mode', 'full', '--provider', 'cpu', '--ids', ref.promptIds.join(','), '--max-new-tokens', String(ref.newTokens), '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.json?.ids, ref.greedy);
    assert.equal(r.json?.mode, 'full');
    assert.equal(r.json?.provider, 'cpu');
    assert.equal(typeof r.json?.text, 'string');
  });

  it('--prefix/--suffix completes at the cursor; a full-only export reports the mode that actually ran', () => {
    const r = generate('--model', OPTIMUM_QWEN2, '--mode', 'overfill', '--prefix', 'def add(a, b):\n    return ', '--suffix', '\n', '--max-new-tokens', '6', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json?.mode, 'full');
    assert.equal(r.json?.kind, 'full-only');
    assert.ok(Array.isArray(r.json?.ids));
  });

  it('bad arguments exit 2 with the usage; a missing model exits 1 naming it', () => {
    const bad = generate('--model', CONVERTED('qwen2'), '--ids', '1,2', '--prompt', 'x');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /exactly one of --ids, --prompt/);
    const missing = generate('--model', '/nonexistent/model', '--prompt', 'x');
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /MODEL_NOT_FOUND.*\/nonexistent\/model/);
  });
});
