// Keeps the engine process loaded with the model pair the settings name, swapping it live when
// they change, and publishes the state to the status bar: loading, ready, restarting after the
// engine process died, error. A switch that fails keeps the model that was working.
import * as path from 'path';
import * as vscode from 'vscode';
import type { EngineClient, EngineCrash } from '../../engine/engineClient';
import { OverfillError } from '../../engine/errors';
import type { CompletionRequest, CompletionResult, ExplainRequest, ModelInfo } from '../../engine/requests';
import type { ErrorReporter } from '../errors/errorReporter';
import type { OverfillSettings } from '../settings/settings';
import type { StatusBar } from '../status/statusBar';
import { formatParams } from './modelCatalog';

/** What a load is asked for; the same again while it holds is not reloaded. */
function loadKey(folder: string, settings: OverfillSettings): string {
  return JSON.stringify([folder, settings.executionProvider, settings.cpuThreads]);
}

export class ModelController {
  private loading: Promise<ModelInfo> | undefined;
  private loadingKey: string | undefined;
  private info: ModelInfo | undefined;
  /** The user hears of an engine restart once a session; later ones go to the log. */
  private crashShown = false;

  constructor(
    private readonly client: EngineClient,
    private readonly embeddedModel: string,
    private readonly status: StatusBar,
    private readonly errors: ErrorReporter,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  folderFor(settings: OverfillSettings): string {
    return settings.modelPath || this.embeddedModel;
  }

  /** Called when no model is loaded or loading any more (a first pick that failed): the lazy load may start. */
  onUnloaded: () => void = () => undefined;

  /** The load in hand, settled (a pick waits for it so a failure can fall back to it). */
  async settled(): Promise<void> {
    await this.loading?.catch(() => undefined);
  }

  /** Whether a model was asked for (loaded, loading, or failed): until then nothing runs. */
  get started(): boolean {
    return this.loading !== undefined;
  }

  /** The folder of the model serving requests now, if one is. */
  get loadedFolder(): string | undefined {
    return this.info?.folder;
  }

  get current(): ModelInfo | undefined {
    return this.info;
  }

  /**
   * (Re)loads the model pair the settings name, or `folder` (Select Model tries one before the
   * setting names it); requests made meanwhile wait for it. The same folder, provider and
   * threads as the load in hand are not loaded again. If it fails while another model was
   * working, that model stays in use (in the engine too) and the user is told why.
   */
  load(settings: OverfillSettings, folder = this.folderFor(settings)): Promise<ModelInfo> {
    const key = loadKey(folder, settings);
    if (this.loading && this.loadingKey === key) return this.loading;
    const previousKey = this.loadingKey;
    this.loadingKey = key;
    const label = folder === this.embeddedModel ? 'default' : path.basename(folder);
    const previous = this.info;
    const configured = folder === this.folderFor(settings);
    this.status.set({ kind: 'loading', model: label });
    this.log.info(`Loading model pair from ${folder} (provider: ${settings.executionProvider}, CPU threads: ${settings.cpuThreads || 'auto'})`);
    this.errors.reset();
    const loading = this.client.load(folder, settings.executionProvider, settings.cpuThreads);
    this.loading = previous ? loading.catch(() => previous) : loading;
    const current = this.loading;
    loading.then(
      (info) => {
        if (this.loading !== current) return;
        this.info = info;
        this.status.clearError();
        for (const f of info.fallbacks) {
          const message = `The ${f.provider} execution provider did not load (${f.reason}); running on ${info.provider} instead.`;
          if (f.requested) this.errors.warnOnce(`provider:${f.provider}`, message);
          else this.log.info(message);
        }
        this.log.info(`Loaded ${info.name} on ${info.provider} in ${info.loadMs} ms (${info.kind}; full ${info.fullParams ?? '?'} params, decoder ${info.decoderParams ?? 'none'}; family ${info.family ?? 'none'}; engine pid ${this.client.pid ?? '?'}${info.runtime === 'onnxruntime-node' ? '' : `; onnxruntime from ${info.runtime}`})`);
        this.showReady(info);
        if (info.kind === 'full-only') this.log.info(`${info.name} is a standard ONNX export: it runs full-only (no decoder). Convert its checkpoint with training.convert for an OverFill pair.`);
      },
      (err) => {
        if (this.loading !== current) return;
        if (previous) {
          this.loadingKey = previousKey;
          this.showReady(previous);
          this.errors.report(err, `Switching to ${folder}`, `Still using ${previous.name}.`);
          return;
        }
        this.info = undefined;
        this.loadingKey = undefined; // the same folder may be tried again once fixed
        if (!configured) {
          // A folder tried by Select Model before any model ran: the settings' model may still load.
          this.loading = undefined;
          this.status.set({ kind: 'idle' });
          this.errors.report(err, `Switching to ${folder}`);
          this.onUnloaded();
          return;
        }
        this.status.set({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
        this.errors.report(err, `Loading ${folder}`);
      },
    );
    return loading;
  }

  /**
   * Starts the engine again with another environment (a CUDA runtime, library paths) and, if a
   * model was asked for, loads what the settings name on it (also when folder and provider
   * are the same as before: the runtime under them changed).
   */
  async restartEngine(settings: OverfillSettings): Promise<ModelInfo | undefined> {
    const stopping = this.client.restartWith();
    if (!this.started) return stopping.then(() => undefined);
    // Sent before the old process is gone, so the new one starts with this load: a suggestion
    // asked for meanwhile waits for it instead of reloading the last model by itself.
    this.loadingKey = undefined;
    const loading = this.load(settings);
    await stopping;
    return loading;
  }

  private showReady(info: ModelInfo): void {
    const shape = info.kind === 'full-only' ? `full-only ${formatParams(info.fullParams)} (a standard ONNX export: no OverFill decoder, so suggestions decode at the full model's speed)` : `full ${formatParams(info.fullParams)} → decoder ${formatParams(info.decoderParams)}`;
    const prompt = info.fim ? '' : '; no fill-in-the-middle tokens: completes from the text before the cursor only';
    this.status.set({ kind: 'ready', model: info.kind === 'full-only' ? `${info.name} (full-only)` : info.name, provider: info.provider, detail: `${info.name} on ${info.provider.toUpperCase()}, ${shape}${info.family ? `, ${info.family} prompt format` : ''}${prompt}`,
      notes: info.fallbacks.map((f) => `${f.provider.toUpperCase()} not used: ${f.reason}`),
    });
  }

  /** The engine process died (EngineClient's event); it is restarting unless it crashed in a loop. */
  engineCrashed(crash: EngineCrash): void {
    const name = this.info?.name ?? 'the model';
    if (crash.restarting) this.status.set({ kind: 'restarting', model: name, reason: crash.reason });
    else this.status.set({ kind: 'error', message: `The engine process stopped several times within a minute (${crash.reason}); it starts again with the next suggestion.` });
    if (this.crashShown) return;
    this.crashShown = true;
    const lost = crash.lostRequests ? ` ${crash.lostRequests === 1 ? 'The request it was working on was' : `The ${crash.lostRequests} requests it was working on were`} lost.` : '';
    void vscode.window
      .showWarningMessage(`OverFill: the engine process stopped (${crash.reason}).${lost} ${crash.restarting ? `It is restarting with ${name}.` : 'It starts again with the next suggestion.'} The log has the details.`, 'Show Log')
      .then((choice) => choice && this.log.show());
  }

  engineRestarted(info: ModelInfo): void {
    this.info = info;
    this.loading = Promise.resolve(info);
    this.log.info(`The engine process restarted (pid ${this.client.pid ?? '?'}) with ${info.name} on ${info.provider}.`);
    this.showReady(info);
  }

  engineRestartFailed(err: OverfillError): void {
    this.info = undefined;
    this.status.set({ kind: 'error', message: err.message });
    this.errors.report(err, 'Reloading the model after the engine restarted');
  }

  private async ready(): Promise<ModelInfo> {
    if (!this.loading) throw new OverfillError('ENGINE_NOT_READY', 'No model is loaded yet: open a file in a language OverFill is enabled for, or run OverFill: Select Model.');
    return this.loading;
  }

  async complete(request: CompletionRequest, signal: AbortSignal): Promise<CompletionResult> {
    const info = await this.ready();
    this.status.busy(info.name);
    try {
      return await this.client.complete(request, signal);
    } finally {
      this.status.idle();
    }
  }

  async explain(request: ExplainRequest, signal: AbortSignal, onText: (text: string) => void): Promise<string> {
    await this.ready();
    return this.client.explain(request, signal, onText);
  }

  get modelName(): string {
    return this.info?.name ?? 'model';
  }
}
