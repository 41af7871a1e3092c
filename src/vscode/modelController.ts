// Keeps the engine worker loaded with the model pair the settings name, swapping it live when
// they change, and publishes the state to the status bar.
import * as path from 'path';
import * as vscode from 'vscode';
import type { EngineClient } from '../engine/engineClient';
import type { CompletionRequest, CompletionResult, ExplainRequest, ModelInfo } from '../engine/requests';
import type { ErrorReporter } from './errorReporter';
import type { OverfillSettings } from './settings';
import type { StatusBar } from './statusBar';

export class ModelController {
  private loading: Promise<ModelInfo> | undefined;
  private info: ModelInfo | undefined;

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

  /** (Re)loads the model pair; requests made meanwhile wait for it. */
  load(settings: OverfillSettings): Promise<ModelInfo> {
    const folder = this.folderFor(settings);
    const label = settings.modelPath ? path.basename(folder) : 'default';
    this.status.set({ kind: 'loading', model: label });
    this.log.info(`Loading model pair from ${folder} (provider: ${settings.executionProvider}, CPU threads: ${settings.cpuThreads || 'auto'})`);
    this.errors.reset();
    const loading = this.client.load(folder, settings.executionProvider, settings.cpuThreads);
    this.loading = loading;
    loading.then(
      (info) => {
        if (this.loading !== loading) return;
        this.info = info;
        for (const f of info.fallbacks) {
          const message = `The ${f.provider} execution provider did not load (${f.reason}); running on ${info.provider} instead.`;
          if (f.requested) this.errors.warnOnce(`provider:${f.provider}`, message);
          else this.log.info(message);
        }
        this.log.info(`Loaded ${info.name} on ${info.provider} in ${info.loadMs} ms (${info.kind}; full ${info.fullParams ?? '?'} params, decoder ${info.decoderParams ?? 'none'}; family ${info.family ?? 'none'})`);
        const fellBack = info.fallbacks.length ? ` (${info.fallbacks.map((f) => f.provider.toUpperCase()).join(', ')} unavailable: see the log)` : '';
        const shape = info.kind === 'full-only' ? `full-only ${formatParams(info.fullParams)} (a standard ONNX export: no OverFill decoder, so suggestions decode at the full model's speed)` : `full ${formatParams(info.fullParams)} → decoder ${formatParams(info.decoderParams)}`;
        const prompt = info.fim ? '' : '; no fill-in-the-middle tokens: completes from the text before the cursor only';
        this.status.set({ kind: 'ready', model: info.kind === 'full-only' ? `${info.name} (full-only)` : info.name, detail: `${info.name} on ${info.provider.toUpperCase()}${fellBack}, ${shape}${info.family ? `, ${info.family} prompt format` : ''}${prompt}` });
        if (info.kind === 'full-only') this.log.info(`${info.name} is a standard ONNX export: it runs full-only (no decoder). Convert its checkpoint with training.convert for an OverFill pair.`);
      },
      (err) => {
        if (this.loading !== loading) return;
        this.info = undefined;
        this.status.set({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
        this.errors.report(err, `Loading ${folder}`);
      },
    );
    return loading;
  }

  private async ready(): Promise<ModelInfo> {
    if (!this.loading) throw new Error('No model load was started.');
    return this.loading;
  }

  async complete(request: CompletionRequest, signal: AbortSignal): Promise<CompletionResult> {
    const info = await this.ready();
    this.status.set({ kind: 'working', model: info.name });
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

function formatParams(n: number | undefined): string {
  if (!n) return '?';
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${(n / 1e3).toFixed(0)}K`;
}
