// A short soak in CI (bench/soak.ts: bursts that cancel each other, mixed file sizes, explain,
// a model swap): no error but cancellations, and memory within a bound of where it was after
// warm-up. The 10,000-request figures are in docs/reliability.md.
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as path from 'path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from './fixtures';

/** RSS growth allowed over 400 requests: first runs at new shapes still allocate (~40 MB seen); a leak of 0.25 MB per request would not fit. */
const GROWTH_MB = 100;

describe('soak', () => {
  it('400 requests through the engine process: no errors, cancellations counted, memory bounded', () => {
    const out = execFileSync(process.execPath, [path.join(REPO_ROOT, 'out', 'bench', 'soak.js'), '--requests', '400', '--json'], { encoding: 'utf8', timeout: 300_000 });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { requests: number; errors: number; cancelled: number; rssMB: { afterWarmUp: number; end: number; peak: number }; p50Ms: number; firstErrors?: string[] };
    assert.equal(r.requests, 400);
    assert.equal(r.errors, 0, `errors: ${r.firstErrors?.join(' | ')}`);
    assert.ok(r.cancelled > 0 && r.cancelled < 400, `${r.cancelled} cancelled: bursts must cancel some requests and answer others`);
    assert.ok(r.rssMB.end <= r.rssMB.afterWarmUp + GROWTH_MB, `RSS ${r.rssMB.afterWarmUp} MB after warm-up, ${r.rssMB.end} MB at the end`);
  });
});
