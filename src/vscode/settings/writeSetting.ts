// Writes an `overfill.*` setting where it takes effect (see winningScope.ts).
import * as vscode from 'vscode';
import { winningScope, type Scope } from './winningScope';

const TARGETS: Record<Scope, vscode.ConfigurationTarget> = {
  workspaceFolder: vscode.ConfigurationTarget.WorkspaceFolder,
  workspace: vscode.ConfigurationTarget.Workspace,
  global: vscode.ConfigurationTarget.Global,
};

/**
 * Sets `key` in the scope whose value wins for `resource`; resolves with that scope.
 * `resourceScoped`: the setting may be set per folder (package.json "scope": "resource").
 */
export async function writeWinning<T>(key: string, value: T, resource?: vscode.Uri, resourceScoped = false): Promise<Scope> {
  const config = vscode.workspace.getConfiguration('overfill', resource);
  const multiRoot = vscode.workspace.workspaceFile !== undefined;
  const scope = winningScope(config.inspect<T>(key), resourceScoped && multiRoot);
  await config.update(key, value, TARGETS[scope]);
  return scope;
}
