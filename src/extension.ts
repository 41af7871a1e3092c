// Wiring only: builds the pieces, hands each what it needs, registers them with VS Code.
import { existsSync } from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { CompletionFlow, DEFAULT_FLOW_OPTIONS, type FlowOptions } from './completion/completionFlow';
import { EngineClient } from './engine/engineClient';
import type { CompletionRequest, CompletionResult } from './engine/requests';
import { CompareModes } from './vscode/compare/compareModes';
import { wantsSuggestions } from './vscode/completion/completionRequest';
import { ContextCollector } from './vscode/completion/contextCollector';
import { CudaSetup } from './vscode/cuda/cudaSetup';
import { InlineCompletionProvider } from './vscode/completion/inlineCompletionProvider';
import { ErrorReporter } from './vscode/errors/errorReporter';
import { ExplainCommand } from './vscode/explain/explainCommand';
import { ExplainPanel } from './vscode/explain/explainPanel';
import { ModelController } from './vscode/model/modelController';
import { ModelPicker } from './vscode/model/modelPicker';
import { SettingsStore, type OverfillSettings } from './vscode/settings/settings';
import { writeWinning } from './vscode/settings/writeSetting';
import { describeRun } from './vscode/status/runLog';
import { SlowHint } from './vscode/status/slowHint';
import { StatusBar } from './vscode/status/statusBar';
import { showStatusMenu } from './vscode/status/statusMenu';
import { figuresOf } from './vscode/status/suggestionFigures';

const SUGGESTION_SETTINGS = new Set<string>(['maxNewTokens', 'contextSize', 'maxLines', 'context', 'languages']);

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('OverFill', { log: true });
  const status = new StatusBar('overfill.showMenu');
  const errors = new ErrorReporter(log, (message) => status.error(message));
  const settings = new SettingsStore((message) => log.warn(message));
  // The .vsix carries onnxruntime-node in dist/node_modules; a development checkout has it at the root.
  const ortModules = [path.join(__dirname, 'node_modules'), context.asAbsolutePath('node_modules')].find((d) => existsSync(path.join(d, 'onnxruntime-node'))) ?? path.join(__dirname, 'node_modules');
  const cuda = new CudaSetup(context.globalStorageUri.fsPath, ortModules, () => settings.settings, errors, log);
  const client = new EngineClient(
    path.join(__dirname, 'engineProcess.js'),
    {
      log: (level, message) => log[level](message),
      crashed: (crash) => model.engineCrashed(crash),
      restarted: (info) => model.engineRestarted(info),
      restartFailed: (err) => model.engineRestartFailed(err),
    },
    { env: () => cuda.engineEnv() },
  );
  const embedded = context.asAbsolutePath(path.join('models', 'default'));
  const model = new ModelController(client, embedded, status, errors, log);
  const slowHint = new SlowHint();
  const contextChunks = new ContextCollector(settings);

  /** A model run answered the user: its figures go to the status bar (and maybe a hint). */
  const shown = (result: CompletionResult, ms: number): void => {
    const figures = figuresOf(result, ms);
    status.suggestion(figures);
    slowHint.maybeShow(figures, settings.settings.slowSuggestionMs, model.current);
  };
  const runOnce = async (request: CompletionRequest, signal: AbortSignal): Promise<CompletionResult> => {
    const t0 = performance.now();
    const result = await model.complete(request, signal);
    const ms = performance.now() - t0;
    log.info(describeRun('request', result, ms));
    shown(result, ms);
    return result;
  };
  const flowOptions = (s: OverfillSettings): FlowOptions => ({ ...DEFAULT_FLOW_OPTIONS, debounceMs: s.debounceMs });
  const flow = new CompletionFlow({ complete: (request, signal) => model.complete(request, signal) }, flowOptions(settings.settings), {
    onModelRun: (kind, _request, result, ms) => {
      log.info(describeRun(kind, result, ms));
      if (kind === 'request') shown(result, ms);
    },
    onIdle: () => contextChunks.commit(),
  });

  function loadModel(): void {
    flow.reset(); // another model suggests other things
    // Errors are reported by the controller; an explanation may load a disabled extension's model.
    model.load(settings.settings).then(() => settings.settings.enable || status.set({ kind: 'disabled' }), () => undefined);
  }
  /** No model loads until suggestions are on and an editor they are on for is open (or a command needs one). */
  function loadWhenWanted(): void {
    if (model.started) return;
    const s = settings.settings;
    if (!s.enable) status.set({ kind: 'disabled' });
    else if (vscode.window.visibleTextEditors.some((e) => wantsSuggestions(e.document, s))) loadModel();
    else status.set({ kind: 'idle' });
  }
  model.onUnloaded = loadWhenWanted;
  const ensureModel = (): void => {
    if (!model.started) loadModel();
  };

  const explainPanel = new ExplainPanel();
  const explain = new ExplainCommand(explainPanel, settings, model, errors, ensureModel, (message) => log.info(message));
  // Its runs are not the user's suggestions: they stay out of the status bar's figures.
  const compare = new CompareModes(settings, model, contextChunks, errors, ensureModel, (request, signal) => model.complete(request, signal));
  const picker = new ModelPicker(model, embedded, context.globalStorageUri.fsPath, () => settings.settings);

  context.subscriptions.push(
    log,
    settings,
    status,
    explainPanel,
    explain,
    compare,
    contextChunks,
    { dispose: () => flow.dispose() },
    { dispose: () => void client.dispose() },
    vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, new InlineCompletionProvider(settings, flow, runOnce, contextChunks, errors)),
    vscode.commands.registerCommand('overfill.explainSelection', () => explain.run()),
    vscode.commands.registerCommand('overfill.compareModes', () => compare.run()),
    vscode.commands.registerCommand('overfill.selectModel', () => picker.run()),
    vscode.commands.registerCommand('overfill.setUpCuda', () => cuda.run(model)),
    // Shift+Tab is bound to VS Code's own command (package.json): a key that went through the
    // extension host would arrive after a following keystroke. This is the palette's entry.
    vscode.commands.registerCommand('overfill.acceptLine', () => vscode.commands.executeCommand('editor.action.inlineSuggest.acceptNextLine')),
    vscode.commands.registerCommand('overfill.showMenu', () => showStatusMenu(settings.settings.enable)),
    vscode.commands.registerCommand('overfill.showLog', () => log.show()),
    vscode.commands.registerCommand('overfill.toggle', async () => {
      const enable = !settings.settings.enable;
      const scope = await writeWinning('enable', enable, vscode.window.activeTextEditor?.document.uri); // window-scoped: no folder values
      log.info(`Inline completions turned ${enable ? 'on' : 'off'} in the ${scope} settings.`);
    }),
    vscode.window.onDidChangeVisibleTextEditors(() => loadWhenWanted()),
    settings.onDidChange(({ settings: next, modelChanged, changed }) => {
      if (changed.length) log.info(`Settings changed: ${changed.join(', ')}`);
      flow.setOptions(flowOptions(next));
      // Cached suggestions were cut and prompted under the old values.
      if (changed.some((k) => SUGGESTION_SETTINGS.has(k))) flow.reset();
      // New library paths need a new engine process, which then loads what the settings name.
      if (changed.includes('cudaLibraryPaths') && cuda.active) {
        flow.reset();
        void cuda.libraryPathsChanged(model);
      } else if (modelChanged && model.started) loadModel();
      else if (!model.started) loadWhenWanted();
      else if (!next.enable) status.set({ kind: 'disabled' });
      else status.enabled();
    }),
  );
  loadWhenWanted();
}

export function deactivate(): void {
  // Everything is released through context.subscriptions.
}
