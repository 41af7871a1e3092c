// "OverFill: Set Up CUDA" (Linux x64): takes onnxruntime's CUDA provider libraries from a folder
// or archive the user names, places them beside an exact-version copy of onnxruntime-node in
// global storage (src/cudaSetup), restarts the engine process on that copy, and says plainly
// what is still missing (driver, CUDA runtime, cuDNN). Also holds the runtime in use, so the
// engine process's environment is computed in one place.
import * as path from 'path';
import * as vscode from 'vscode';
import { cudaEngineEnv, cudaStorageExists, installCudaRuntime, ortVersionIn, readCudaRuntime, removeCudaRuntime, versionVerdict, type CudaRuntime } from '../../cudaSetup/cudaRuntime';
import { openCudaSource, whatToName } from '../../cudaSetup/cudaSource';
import { checkCuda, splitLibraryPath, type CudaReadiness } from '../../engine/runtime/cuda/cudaReadiness';
import type { ErrorReporter } from '../errors/errorReporter';
import type { ModelController } from '../model/modelController';
import type { OverfillSettings } from '../settings/settings';

const SUPPORTED = process.platform === 'linux' && process.arch === 'x64';

type Action = 'folder' | 'archive' | 'check' | 'remove';

export class CudaSetup {
  private runtime: CudaRuntime | undefined;
  private readonly ortVersion: string | undefined;

  constructor(
    private readonly storageDir: string,
    /** The node_modules folder holding the extension's own onnxruntime-node. */
    private readonly ortModules: string,
    private readonly settings: () => OverfillSettings,
    private readonly errors: ErrorReporter,
    private readonly log: vscode.LogOutputChannel,
  ) {
    try {
      this.ortVersion = ortVersionIn(ortModules);
      this.runtime = SUPPORTED ? readCudaRuntime(storageDir, this.ortVersion) : undefined;
    } catch (err) {
      log.warn(`No CUDA runtime: ${(err as Error).message}`);
    }
    if (this.runtime) log.info(`CUDA runtime set up from ${this.runtime.record.source} (${this.runtime.nativeDir}).`);
  }

  /** Whether a CUDA runtime is set up (the engine runs on its copy of onnxruntime). */
  get active(): boolean {
    return this.runtime !== undefined;
  }

  /**
   * The engine process's environment, asked at every start: no CUDA runtime unless one is set
   * up and still whole (another window may have removed it since).
   */
  engineEnv(): Record<string, string> {
    if (this.runtime && this.ortVersion) this.runtime = readCudaRuntime(this.storageDir, this.ortVersion);
    return cudaEngineEnv(this.runtime, this.settings().cudaLibraryPaths);
  }

  /** Restarts the engine on the current environment; a load that fails is reported by the controller. */
  private async restart(model: ModelController): Promise<void> {
    await model.restartEngine(this.settings()).catch(() => undefined);
  }

  async run(model: ModelController): Promise<void> {
    if (!SUPPORTED || !this.ortVersion) {
      void vscode.window.showInformationMessage(`OverFill: onnxruntime-node has a CUDA build for Linux x64 only. Here WebGPU${process.platform === 'win32' ? ' and DirectML run' : ' runs'} the model on your GPU with nothing to install: leave "overfill.executionProvider" at "auto".`);
      return;
    }
    const v = this.ortVersion;
    const items: (vscode.QuickPickItem & { action: Action })[] = [
      { label: '$(folder) From a folder…', detail: whatToName(v), action: 'folder' },
      { label: '$(archive) From an archive…', detail: 'a .nupkg, .whl, .zip, .tgz or .tar.gz of that package: nothing is downloaded', action: 'archive' },
      ...(this.runtime ? [{ label: '$(pulse) Check again', detail: `what CUDA still needs here (set up from ${this.runtime.record.source})`, action: 'check' as const }] : []),
      // Also a setup for an onnxruntime-node version this extension no longer ships.
      ...(cudaStorageExists(this.storageDir) ? [{ label: '$(trash) Remove the CUDA setup', detail: 'frees its copy of onnxruntime and the provider libraries', action: 'remove' as const }] : []),
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title: 'OverFill: Set Up CUDA',
      placeHolder: `onnxruntime ${v}'s CUDA provider libraries; running them also needs an NVIDIA driver, the CUDA runtime and cuDNN 9`,
    });
    if (!picked) return;
    try {
      if (picked.action === 'remove') return await this.remove(model);
      if (picked.action === 'check') return await this.report(await this.check(), model);
      const uri = await vscode.window.showOpenDialog(
        picked.action === 'folder'
          ? { canSelectFolders: true, canSelectFiles: false, title: `Folder with onnxruntime ${v}'s CUDA provider libraries` }
          : { canSelectFiles: true, canSelectFolders: false, title: `onnxruntime ${v} Linux GPU package`, filters: { Packages: ['nupkg', 'whl', 'zip', 'tgz', 'gz', 'tar'] } },
      );
      if (!uri?.[0]) return;
      await this.install(uri[0].fsPath, model);
    } catch (err) {
      this.errors.report(err, 'Setting up CUDA');
    }
  }

  private async install(given: string, model: ModelController): Promise<void> {
    const v = this.ortVersion!;
    const source = await openCudaSource(given, v);
    let acceptUnknownVersion = false;
    if (versionVerdict(source, v) === 'unknown') {
      const use = await vscode.window.showWarningMessage(
        `${path.basename(given)} does not say which onnxruntime version it is. The libraries must be onnxruntime ${v}'s: others fail to load, or crash the engine process (the editor keeps running). Use them?`,
        { modal: true },
        'Use Them',
      );
      if (use !== 'Use Them') return;
      acceptUnknownVersion = true;
    }
    this.runtime = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'OverFill: setting up CUDA' }, (progress) =>
      installCudaRuntime({ source, storageDir: this.storageDir, ortModules: this.ortModules, acceptUnknownVersion, progress: (message) => progress.report({ message }) }),
    );
    const mb = this.runtime.record.files.reduce((n, f) => n + f.bytes, 0) / 1e6;
    this.log.info(`CUDA provider libraries placed in ${this.runtime.nativeDir} (${mb.toFixed(1)} MB) from ${given}${source.version ? ` (onnxruntime ${source.version.value}, per ${source.version.from})` : ' (version confirmed by the user)'}.`);
    await this.restart(model);
    await this.report(await this.check(), model);
  }

  private check(): Promise<CudaReadiness> {
    return checkCuda({ ortVersion: this.ortVersion!, runtimeDir: this.runtime!.nativeDir, ldLibraryPath: splitLibraryPath(this.engineEnv().LD_LIBRARY_PATH) });
  }

  private async report(readiness: CudaReadiness, model: ModelController): Promise<void> {
    if (!readiness.ready) {
      const problems = readiness.problems.join('; ');
      this.log.warn(`CUDA is set up but cannot run yet: ${problems}.`);
      const choice = await vscode.window.showWarningMessage(`OverFill: the CUDA provider libraries are in place, but CUDA cannot run yet: ${readiness.summary}. Install what is missing, or add the folders holding it to "overfill.cuda.libraryPaths". The log says more.`, 'Library Paths', 'Show Log');
      if (choice === 'Library Paths') void vscode.commands.executeCommand('workbench.action.openSettings', 'overfill.cuda.libraryPaths');
      if (choice === 'Show Log') this.log.show();
      return;
    }
    const provider = this.settings().executionProvider;
    if (provider === 'cuda') {
      void vscode.window.showInformationMessage(`OverFill: CUDA is ready${model.current ? `; ${model.current.name} runs on ${model.current.provider.toUpperCase()}` : ''}.`);
      return;
    }
    // auto tries WebGPU first: on a GPU with a Vulkan driver it keeps running there (docs/gpu.md says why).
    const choice = await vscode.window.showInformationMessage(
      `OverFill: CUDA is ready. "overfill.executionProvider" is "${provider}"${provider === 'auto' ? ', which tries WebGPU first (its KV cache stays on the GPU between steps) and CUDA after it' : ''}. Run on CUDA now?`,
      'Use CUDA',
      'Keep the Setting',
    );
    if (choice === 'Use CUDA') await vscode.workspace.getConfiguration('overfill').update('executionProvider', 'cuda', vscode.ConfigurationTarget.Global);
  }

  private async remove(model: ModelController): Promise<void> {
    // The engine leaves the copy first: its libraries are not deleted under a running process.
    this.runtime = undefined;
    await this.restart(model);
    const freed = await removeCudaRuntime(this.storageDir);
    this.log.info(`Removed the CUDA setup (${(freed / 1e6).toFixed(0)} MB).`);
    const note = this.settings().executionProvider === 'cuda' ? ' "overfill.executionProvider" is still "cuda": the model now runs on the CPU until you change it.' : '';
    void vscode.window.showInformationMessage(`OverFill: removed the CUDA setup (${(freed / 1e6).toFixed(0)} MB freed).${note}`);
  }

  /** `overfill.cuda.libraryPaths` changed: the dynamic linker reads them only when a process starts. */
  async libraryPathsChanged(model: ModelController): Promise<void> {
    this.log.info('overfill.cuda.libraryPaths changed: restarting the engine process with them.');
    await this.restart(model);
  }
}
