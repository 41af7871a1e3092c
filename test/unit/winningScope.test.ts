// The toggle writes where the value that takes effect comes from: a user setting written under a
// workspace one would change nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { winningScope } from '../../src/vscode/settings/winningScope';

describe('winningScope', () => {
  it('the most specific scope that sets the value wins, else the user settings', () => {
    assert.equal(winningScope({ globalValue: true, workspaceValue: false, workspaceFolderValue: true }, true), 'workspaceFolder');
    assert.equal(winningScope({ globalValue: true, workspaceValue: false }), 'workspace');
    assert.equal(winningScope({ workspaceValue: false }), 'workspace');
    assert.equal(winningScope({ globalValue: false }), 'global');
    assert.equal(winningScope({}), 'global');
    assert.equal(winningScope(undefined), 'global');
  });

  it('a value set to false still counts as set', () => {
    assert.equal(winningScope({ workspaceFolderValue: false }, true), 'workspaceFolder');
  });

  it('a folder value is the workspace value unless the setting is per folder in a multi-root workspace', () => {
    // Single folder, window-scoped overfill.enable: VS Code reports the workspace value as the folder's too.
    assert.equal(winningScope({ workspaceValue: false, workspaceFolderValue: false }), 'workspace');
    assert.equal(winningScope({ workspaceFolderValue: false }), 'global');
  });
});
