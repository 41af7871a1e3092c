// Private by default, checked at the syscall level: an engine session (load, complete, explain,
// in its engine process, with onnxruntime's native code) runs under strace, and the test fails if
// any process or thread creates an AF_INET or AF_INET6 socket. A control run that does open one
// shows that the trace would see it.
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from './fixtures';

const SESSION = path.join(REPO_ROOT, 'out', 'test', 'support', 'engineSession.js');

/** Runs node with `args` under `strace -f -e trace=socket`; returns the socket() calls it saw. */
function socketsOpenedBy(args: string[]): { calls: string[]; stdout: string } {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'overfill-strace-')), 'trace.txt');
  const run = spawnSync('strace', ['-f', '-qq', '-e', 'trace=socket', '-o', log, process.execPath, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (run.error) throw new Error(`strace did not run (${run.error.message}): scripts/setup.sh installs it (apt-get install strace).`);
  assert.equal(run.status, 0, `traced run failed: ${run.stderr.slice(-2000)}`);
  const calls = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('socket('));
  fs.rmSync(path.dirname(log), { recursive: true, force: true });
  return { calls, stdout: run.stdout };
}

const inet = (calls: string[]): string[] => calls.filter((c) => /socket\(AF_INET6?\b/.test(c));

describe('no network', () => {
  it('the trace sees a socket when one is opened (control)', () => {
    const { calls } = socketsOpenedBy(['-e', "require('net').connect(9, '127.0.0.1').on('error', () => undefined)"]);
    assert.ok(inet(calls).length > 0, `strace saw no AF_INET socket in the control run: ${calls.join('\n')}`);
  });

  it('an engine session (load, complete with context, explain) opens no AF_INET/AF_INET6 socket', () => {
    const { calls, stdout } = socketsOpenedBy([SESSION]);
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { completion?: string; explanation?: string };
    assert.equal(typeof result.completion, 'string', 'the session did not complete');
    assert.deepEqual(inet(calls), []);
  });
});
