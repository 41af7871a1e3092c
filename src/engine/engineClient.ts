// Main-thread handle on the engine worker: request/response over postMessage, AbortSignal
// turned into cancel messages, and a restart when the worker dies. Knows nothing of VS Code.
import { Worker } from 'worker_threads';
import { abortError, OverfillError } from './errors';
import type { FromWorker, ToWorker } from './protocol';
import type { CompletionRequest, CompletionResult, ExplainRequest, ModelInfo } from './requests';
import type { ProviderSetting } from './runtime/providers';

/** Longest wait for the worker to leave a running step before its thread is ended. */
const DISPOSE_WAIT_MS = 3000;

interface Pending {
  resolve(value: unknown): void;
  reject(err: OverfillError): void;
  onText?: (text: string) => void;
}

export interface EngineClientEvents {
  log?(level: 'info' | 'warn' | 'error', message: string): void;
}

export class EngineClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private lastLoad: { folder: string; provider: ProviderSetting; cpuThreads: number } | undefined;

  constructor(
    private readonly workerScript: string,
    private readonly events: EngineClientEvents = {},
  ) {}

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerScript);
    worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    worker.on('error', (err) => this.events.log?.('error', `Engine worker error: ${err.message}`));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const crash = new OverfillError('ENGINE_CRASHED', `The engine worker stopped (exit code ${code}). It restarts with the next request; see the OverFill log for the cause.`);
      for (const p of this.pending.values()) p.reject(crash);
      this.pending.clear();
    });
    // Idle workers must not keep a test process or the extension host alive.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private onMessage(msg: FromWorker): void {
    if (msg.type === 'log') {
      this.events.log?.(msg.level, msg.message);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    switch (msg.type) {
      case 'explainText':
        p.onText?.(msg.text);
        return;
      case 'loaded':
        p.resolve(msg.info);
        break;
      case 'completed':
        p.resolve(msg.result);
        break;
      case 'explained':
        p.resolve(msg.text);
        break;
      case 'failed':
        p.reject(OverfillError.fromJSON(msg.error));
        break;
    }
    this.pending.delete(msg.id);
  }

  private call<T>(build: (id: number) => ToWorker, signal?: AbortSignal, onText?: (text: string) => void): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError());
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (v) => (done(), resolve(v as T)),
        reject: (e) => (done(), reject(e)),
        onText,
      });
      worker.ref();
      worker.postMessage(build(id));
    }).finally(() => {
      if (this.pending.size === 0) this.worker?.unref();
    });
  }

  /** Requests sent and not answered yet (tests: the queue must not grow while the user types). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Loads (or swaps to) a model pair. Requests made meanwhile wait for it. */
  load(folder: string, provider: ProviderSetting, cpuThreads = 0): Promise<ModelInfo> {
    this.lastLoad = { folder, provider, cpuThreads };
    return this.call<ModelInfo>((id) => ({ type: 'load', id, folder, provider, cpuThreads }));
  }

  async complete(request: CompletionRequest, signal?: AbortSignal): Promise<CompletionResult> {
    await this.reloadAfterCrash();
    return this.call<CompletionResult>((id) => ({ type: 'complete', id, request }), signal);
  }

  async explain(request: ExplainRequest, signal: AbortSignal | undefined, onText: (text: string) => void): Promise<string> {
    await this.reloadAfterCrash();
    return this.call<string>((id) => ({ type: 'explain', id, request }), signal, onText);
  }

  /** A fresh worker after a crash has no model: load the last one again first. */
  private async reloadAfterCrash(): Promise<void> {
    if (!this.worker && this.lastLoad) await this.load(this.lastLoad.folder, this.lastLoad.provider, this.lastLoad.cpuThreads);
  }

  /**
   * Stops the worker. Terminating its thread while onnxruntime runs a step aborts the whole
   * process (the extension host), so requests in flight are cancelled first and the worker is
   * given up to DISPOSE_WAIT_MS to leave its step.
   */
  async dispose(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker && this.pending.size > 0) {
      for (const id of this.pending.keys()) worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
      const deadline = Date.now() + DISPOSE_WAIT_MS;
      while (this.pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    }
    for (const p of this.pending.values()) p.reject(abortError());
    this.pending.clear();
    await worker?.terminate();
  }
}
