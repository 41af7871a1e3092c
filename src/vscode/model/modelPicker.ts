// "OverFill: Select Model": a quick pick of the models on offer (modelCatalog.ts) and
// "Browse…". The pick is loaded first; only once it runs does the setting name it, so a pair
// that fails keeps the working one (ModelController says why) and the setting unchanged.
import * as vscode from 'vscode';
import type { OverfillSettings } from '../settings/settings';
import { describeModel, describeShape, isEntry, listModels, type ModelEntry } from './modelCatalog';
import type { ModelController } from './modelController';

interface ModelItem extends vscode.QuickPickItem {
  folder?: string;
  problem?: string;
  browse?: boolean;
}

export class ModelPicker {
  constructor(
    private readonly model: ModelController,
    private readonly embedded: string,
    private readonly globalStorage: string,
    private readonly settings: () => OverfillSettings,
  ) {}

  async run(): Promise<void> {
    const s = this.settings();
    const { entries, problems } = await listModels(this.embedded, s.modelSearchPaths, this.globalStorage);
    const current = this.model.loadedFolder ?? this.model.folderFor(s);
    const items: ModelItem[] = entries.map((e) => this.item(e, e.folder === current, s));
    if (problems.length) {
      items.push({ label: 'Not usable', kind: vscode.QuickPickItemKind.Separator });
      for (const p of problems) items.push({ label: `$(warning) ${p.folder}`, detail: p.message, folder: p.folder, problem: p.message });
    }
    items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
    items.push({ label: '$(folder-opened) Browse…', description: 'a model folder, or one .onnx file of a standard export', browse: true });
    const searched = s.modelSearchPaths.length ? `searched: ${s.modelSearchPaths.join(', ')}` : 'add folders to search with overfill.model.searchPaths';
    const picked = await vscode.window.showQuickPick(items, { title: 'OverFill: Select Model', placeHolder: `The model for suggestions and explanations (${searched})`, matchOnDescription: true, matchOnDetail: true });
    if (!picked) return;
    if (picked.problem) {
      void vscode.window.showErrorMessage(`OverFill: ${picked.folder} is not a model OverFill can run: ${picked.problem}`);
      return;
    }
    const folder = picked.browse ? await this.browse() : picked.folder;
    if (folder) await this.select(folder);
  }

  private item(e: ModelEntry, isCurrent: boolean, s: OverfillSettings): ModelItem {
    const info = this.model.current;
    const provider = isCurrent && info ? info.provider.toUpperCase() : s.executionProvider === 'auto' ? 'auto provider' : s.executionProvider.toUpperCase();
    const where = e.source === 'embedded' ? 'embedded in the extension (a small demo pair)' : `${e.folder} (${e.source})`;
    return {
      label: `${isCurrent ? '$(check) ' : ''}${e.name}`,
      description: `${describeShape(e)} · ${provider}${e.family ? ` · ${e.family}` : ''}`,
      detail: where,
      folder: e.folder,
    };
  }

  private async browse(): Promise<string | undefined> {
    const uris = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: true, canSelectMany: false, openLabel: 'Use this model', filters: { 'ONNX model': ['onnx'] }, title: 'OverFill: a model folder (overfill.json, or a standard ONNX export)' });
    return uris?.[0]?.fsPath;
  }

  /** Checks, loads, and only then writes the setting; resolves whether the model switched. */
  async select(folder: string): Promise<boolean> {
    const described = await describeModel(folder, 'browsed');
    if (!isEntry(described)) {
      void vscode.window.showErrorMessage(`OverFill: ${folder} is not a model OverFill can run: ${described.message}`);
      return false;
    }
    // A load still in flight (the settings' model) settles first: if the pick fails, that one serves.
    await this.model.settled();
    try {
      await this.model.load(this.settings(), folder);
    } catch {
      return false; // ModelController told the user why, and what is still in use
    }
    // The model path is machine-scoped: only user settings are read (a workspace cannot
    // shadow it), so the user's settings are where it takes effect.
    const value = folder === this.embedded ? undefined : folder;
    const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('overfill');
    await config().update('model.path', value, vscode.ConfigurationTarget.Global);
    // Said, not silent, if something still names another model (a remote's machine settings, say).
    const effective = config().inspect<string>('model.path')?.globalValue?.trim() || undefined;
    if (effective !== value) {
      void vscode.window.showWarningMessage(`OverFill: ${described.name} runs now, but "overfill.model.path" still reads "${effective ?? '(empty)'}" from settings that override the ones just written, so the next start would use that. Edit it there.`, 'Open Settings').then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'overfill.model.path');
      });
    } else {
      void vscode.window.setStatusBarMessage(`OverFill: now using ${described.name}`, 4000);
    }
    return true;
  }
}
