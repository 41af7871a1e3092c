// The turn scheduler on its own, with stand-in work: one holder at a time, completions first,
// an explanation (or warm-up) steps aside only at between() and resumes before anyone of its rank,
// aborts while waiting leave the queue. Order of events only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAbort } from '../../src/engine/errors';
import { Turns, type Turn, type TurnPriority } from '../../src/engine/schedule/turns';

/** A promise opened from outside. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Stand-in model runs in flight, across all requests. */
let inFlight = 0;

/**
 * Work of `steps` model runs, each offered between(); logs `name:k` as run k starts and
 * `name:end`. `atStep` runs before run k (to start other requests mid-way).
 */
function work(log: string[], name: string, steps: number, atStep: Record<number, () => void> = {}): (turn: Turn) => Promise<string> {
  return async (turn) => {
    for (let k = 0; k < steps; k++) {
      atStep[k]?.();
      await turn.between();
      assert.equal(inFlight, 0, `${name}:${k} started while another run was in flight`);
      inFlight++;
      log.push(`${name}:${k}`);
      await tick(); // the model run
      inFlight--;
    }
    log.push(`${name}:end`);
    return name;
  };
}

describe('turns', () => {
  it('two completions never interleave: the second starts after the first ends', async () => {
    const turns = new Turns();
    const log: string[] = [];
    await Promise.all([turns.run('completion', work(log, 'a', 3)), turns.run('completion', work(log, 'b', 3))]);
    assert.deepEqual(log, ['a:0', 'a:1', 'a:2', 'a:end', 'b:0', 'b:1', 'b:2', 'b:end']);
  });

  it('an explanation steps aside at its next between() for a completion and resumes after it', async () => {
    const turns = new Turns();
    const log: string[] = [];
    let completion: Promise<string> | undefined;
    const explanation = turns.run('explanation', work(log, 'e', 4, { 2: () => (completion = turns.run('completion', work(log, 'c', 2))) }));
    await Promise.all([explanation, tick().then(() => completion)]);
    assert.deepEqual(log, ['e:0', 'e:1', 'c:0', 'c:1', 'c:end', 'e:2', 'e:3', 'e:end']);
  });

  it('a completion arriving during a run waits for that run only', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const running = gate();
    const explanation = turns.run('explanation', async (turn) => {
      await turn.between();
      log.push('e:0');
      running.open();
      await tick();
      log.push('e:0 done');
      for (let k = 1; k < 5; k++) {
        await turn.between();
        log.push(`e:${k}`);
        await tick();
      }
    });
    await running.opened;
    const completion = turns.run('completion', work(log, 'c', 1));
    await Promise.all([explanation, completion]);
    assert.deepEqual(log.slice(0, 4), ['e:0', 'e:0 done', 'c:0', 'c:end']);
  });

  const ranks: [TurnPriority, TurnPriority, boolean][] = [
    ['explanation', 'explanation', false],
    ['completion', 'completion', false],
    ['completion', 'explanation', false],
    ['background', 'explanation', true],
    ['background', 'completion', true],
  ];
  for (const [holder, comer, yields] of ranks) {
    it(`a running ${holder} ${yields ? 'steps aside for' : 'keeps its turn with'} a waiting ${comer}`, async () => {
      const turns = new Turns();
      const log: string[] = [];
      let second: Promise<string> | undefined;
      const first = turns.run(holder, work(log, 'h', 3, { 1: () => (second = turns.run(comer, work(log, 'w', 1))) }));
      await first;
      await second;
      assert.deepEqual(log, yields ? ['h:0', 'w:0', 'w:end', 'h:1', 'h:2', 'h:end'] : ['h:0', 'h:1', 'h:2', 'h:end', 'w:0', 'w:end']);
    });
  }

  it('a holder that stepped aside resumes before a request of its rank that queued earlier', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const waiting: Promise<string>[] = [];
    const e1 = turns.run(
      'explanation',
      work(log, 'e1', 3, {
        1: () => {
          waiting.push(turns.run('explanation', work(log, 'e2', 1)));
          waiting.push(turns.run('completion', work(log, 'c', 1)));
        },
      }),
    );
    await e1;
    await Promise.all(waiting);
    assert.deepEqual(log, ['e1:0', 'c:0', 'c:end', 'e1:1', 'e1:2', 'e1:end', 'e2:0', 'e2:end']);
  });

  it('an abort while waiting rejects at once, leaves the queue, and runs nothing', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const release = gate();
    const holder = turns.run('completion', async () => {
      log.push('h');
      await release.opened;
    });
    const controller = new AbortController();
    const queued = turns.run('completion', work(log, 'q', 1), controller.signal);
    const next = turns.run('completion', work(log, 'n', 1));
    controller.abort();
    await assert.rejects(queued, isAbort);
    assert.equal(turns.pending, 2); // the holder and `next`
    release.open();
    await Promise.all([holder, next]);
    assert.deepEqual(log, ['h', 'n:0', 'n:end']);
    assert.equal(turns.pending, 0);
  });

  it('an abort while waiting to resume ends that request; the turn stays consistent', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const controller = new AbortController();
    let completion: Promise<string> | undefined;
    const explanation = turns.run(
      'explanation',
      work(log, 'e', 3, {
        1: () => {
          completion = turns.run('completion', async (turn) => {
            controller.abort(); // while the explanation waits to resume
            return work(log, 'c', 1)(turn);
          });
        },
      }),
      controller.signal,
    );
    await assert.rejects(explanation, isAbort);
    assert.equal(await completion, 'c');
    assert.deepEqual(log, ['e:0', 'c:0', 'c:end']);
    await turns.idle();
    assert.equal(turns.pending, 0);
    assert.equal(await turns.run('completion', work(log, 'after', 1)), 'after');
  });

  it('idle() waits for the holder and every waiter', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const a = turns.run('explanation', work(log, 'a', 2));
    const b = turns.run('completion', work(log, 'b', 2));
    await turns.idle();
    assert.deepEqual(log.filter((e) => e.endsWith(':end')).sort(), ['a:end', 'b:end']);
    await Promise.all([a, b]);
  });
});
