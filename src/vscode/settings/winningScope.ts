// Where a setting's value comes from, so a command that flips it writes it there: a user
// setting written under a workspace one would change nothing (the workspace's wins). No VS Code
// import: the inspect result is plain data (tested).

export type Scope = 'workspaceFolder' | 'workspace' | 'global';

export interface Inspected<T> {
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

/**
 * The most specific scope that sets the value, else the user's (global) settings. A folder's own
 * value counts only for a setting that folders may set (resource scope) in a multi-root
 * workspace; in a single-folder one VS Code reports the workspace value as the folder's too.
 */
export function winningScope<T>(inspected: Inspected<T> | undefined, folderScoped = false): Scope {
  if (folderScoped && inspected?.workspaceFolderValue !== undefined) return 'workspaceFolder';
  if (inspected?.workspaceValue !== undefined) return 'workspace';
  return 'global';
}
