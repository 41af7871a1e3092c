// What a click on the status bar item offers: the OverFill commands a user reaches for.
import * as vscode from 'vscode';

interface MenuItem extends vscode.QuickPickItem {
  command: string;
}

export async function showStatusMenu(enabled: boolean): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const items: MenuItem[] = [
    { label: enabled ? '$(circle-slash) Disable Inline Completions' : '$(sparkle) Enable Inline Completions', command: 'overfill.toggle' },
    { label: '$(library) Select Model…', command: 'overfill.selectModel' },
    { label: '$(split-horizontal) Compare Modes at Cursor', description: 'OverFill vs full-only vs decoder-only', command: 'overfill.compareModes' },
  ];
  // onnxruntime-node has a CUDA build for Linux x64 only.
  if (process.platform === 'linux' && process.arch === 'x64') items.push({ label: '$(chip) Set Up CUDA…', description: 'NVIDIA GPUs', command: 'overfill.setUpCuda' });
  if (editor && !editor.selection.isEmpty) items.push({ label: '$(comment-discussion) Explain Selection', command: 'overfill.explainSelection' });
  items.push({ label: '$(output) Show Log', command: 'overfill.showLog' }, { label: '$(gear) Settings', command: 'workbench.action.openSettings', description: 'overfill' });
  const picked = await vscode.window.showQuickPick(items, { title: 'OverFill' });
  if (!picked) return;
  if (picked.command === 'workbench.action.openSettings') await vscode.commands.executeCommand(picked.command, '@ext:overfill.overfill-code');
  else await vscode.commands.executeCommand(picked.command);
}
