// The same error on every keystroke (a model that did not load) is shown once; its repeats are
// counted and logged at the 10th, 100th, 1000th time, not per keystroke.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorTally, MAX_DISTINCT_ERRORS } from '../../src/vscode/errors/errorTally';

describe('error tally', () => {
  it('first once, then log lines only at powers of ten', () => {
    const tally = new ErrorTally();
    const firsts: number[] = [];
    const logged: number[] = [];
    for (let i = 1; i <= 2000; i++) {
      const t = tally.count('MODEL_NOT_FOUND:gone');
      assert.equal(t.count, i);
      if (t.first) firsts.push(i);
      if (t.logRepeat) logged.push(i);
    }
    assert.deepEqual(firsts, [1]);
    assert.deepEqual(logged, [10, 100, 1000]);
  });

  it('distinct errors are counted apart, and a reset (a new model) shows them again', () => {
    const tally = new ErrorTally();
    assert.equal(tally.count('a').first, true);
    assert.equal(tally.count('b').first, true);
    assert.equal(tally.count('a').first, false);
    tally.reset();
    assert.equal(tally.count('a').first, true);
  });

  it('remembers at most MAX_DISTINCT_ERRORS, forgetting the least recently seen', () => {
    const tally = new ErrorTally();
    tally.count('old');
    for (let i = 0; i < MAX_DISTINCT_ERRORS; i++) tally.count(`e${i}`);
    assert.equal(tally.size, MAX_DISTINCT_ERRORS);
    assert.equal(tally.count('e5').first, false);
    assert.equal(tally.count('old').first, true, 'the oldest error was not forgotten');
  });
});
