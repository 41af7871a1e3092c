// Wiring only: builds the pieces, hands each what it needs, registers them with VS Code.
import * as path from 'path';
import * as vscode from 'vscode';
import { CompletionFlow, DEFAULT_FLOW_OPTIONS, type FlowOptions } from './completion/completionFlow';
import { EngineClient } from './engine/engineClient';
import { ContextCollector } from './vscode/completion/contextCollector';
import { ErrorReporter } from './vscode/errors/errorReporter';
import { EXPLAIN_SCHEME, ExplainCommand, ExplainDocuments } from './vscode/explain/explainCommand';
import { InlineCompletionProvider } from './vscode/completion/inlineCompletionProvider';
import { ModelController } from './vscode/model/modelController';
import { SettingsStore, type OverfillSettings } from './vscode/settings/settings';
import { describeRun } from './vscode/status/runLog';
import { StatusBar } from './vscode/status/statusBar';

const SUGGESTION_SETTINGS = new Set<string>(['maxNewTokens', 'contextSize', 'maxLines', 'context']);

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('OverFill', { log: true });
  const errors = new ErrorReporter(log);
  const settings = new SettingsStore((message) => log.warn(message));
  const status = new StatusBar('overfill.showLog');
  const client = new EngineClient(path.join(__dirname, 'engineProcess.js'), {
    log: (level, message) => log[level](message),
    crashed: (crash) => model.engineCrashed(crash),
    restarted: (info) => model.engineRestarted(info),
    restartFailed: (err) => model.engineRestartFailed(err),
  });
  const model = new ModelController(client, context.asAbsolutePath(path.join('models', 'default')), status, errors, log);
  const explainDocs = new ExplainDocuments();
  const explain = new ExplainCommand(explainDocs, settings, model, errors);
  const contextChunks = new ContextCollector(settings);
  const flowOptions = (s: OverfillSettings): FlowOptions => ({ ...DEFAULT_FLOW_OPTIONS, debounceMs: s.debounceMs });
  const flow = new CompletionFlow({ complete: (request, signal) => model.complete(request, signal) }, flowOptions(settings.settings), {
    onModelRun: (kind, _request, result, ms) => log.info(describeRun(kind, result, ms)),
    onIdle: () => contextChunks.commit(),
  });

  context.subscriptions.push(
    log,
    settings,
    status,
    explainDocs,
    contextChunks,
    { dispose: () => flow.dispose() },
    { dispose: () => void client.dispose() },
    vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, new InlineCompletionProvider(settings, flow, contextChunks, errors)),
    vscode.workspace.registerTextDocumentContentProvider(EXPLAIN_SCHEME, explainDocs),
    vscode.commands.registerCommand('overfill.explainSelection', () => explain.run()),
    vscode.commands.registerCommand('overfill.showLog', () => log.show()),
    vscode.commands.registerCommand('overfill.toggle', () =>
      vscode.workspace.getConfiguration('overfill').update('enable', !settings.settings.enable, vscode.ConfigurationTarget.Global),
    ),
    settings.onDidChange(({ settings: next, modelChanged, changed }) => {
      if (changed.length) log.info(`Settings changed: ${changed.join(', ')}`);
      flow.setOptions(flowOptions(next));
      // Cached suggestions were cut and prompted under the old values.
      if (changed.some((k) => SUGGESTION_SETTINGS.has(k))) flow.reset();
      if (modelChanged) loadModel();
      else if (!next.enable) status.set({ kind: 'disabled' });
      else status.idle();
    }),
  );
  function loadModel(): void {
    flow.reset(); // another model suggests other things
    // Errors are reported by the controller; a disabled extension still loads, quietly.
    model.load(settings.settings).then(() => settings.settings.enable || status.set({ kind: 'disabled' }), () => undefined);
  }
  loadModel();
}

export function deactivate(): void {
  // Everything is released through context.subscriptions.
}
