// The extension host's handle on the engine process: request/response over an IPC channel,
// AbortSignal turned into cancel messages, and a restart with the model reloaded when the
// process dies. Knows nothing of VS Code.
//
// The engine runs in a child process rather than a worker thread: a native abort in
// onnxruntime or a GPU driver (seen: ending a worker during a run aborts with Napi::Error)
// takes down the whole process it runs in, and in a worker that is the extension host.
import { fork, type ChildProcess } from 'child_process';
import type { Readable } from 'stream';
import { abortError, OverfillError } from './errors';
import type { FromEngine, ToEngine } from './protocol';
import type { CompletionRequest, CompletionResult, ExplainRequest, ModelInfo } from './requests';
import type { ProviderSetting } from './runtime/providers';

/** Longest wait for the engine to leave a running step before its process is ended. */
const DISPOSE_WAIT_MS = 3000;
/** More crashes than this within CRASH_WINDOW_MS stop the automatic restarts (a crash loop). */
const MAX_RESTARTS = 3;
const CRASH_WINDOW_MS = 60_000;
/** Lines of the engine's stderr kept to explain a crash. */
const STDERR_LINES = 20;

interface Pending {
  /** The process the request went to: a restart answers only that one's. */
  proc: ChildProcess;
  resolve(value: unknown): void;
  reject(err: OverfillError): void;
  onText?: (text: string) => void;
}

interface LoadArgs {
  folder: string;
  provider: ProviderSetting;
  cpuThreads: number;
}

export interface EngineCrash {
  /** What ended the process, for the user: "signal SIGKILL", "exit code 134" (+ its last stderr line). */
  reason: string;
  /** Requests that were running and were answered with ENGINE_STOPPED. */
  lostRequests: number;
  /** False after a crash loop: the next request starts the process again. */
  restarting: boolean;
}

export interface EngineClientEvents {
  log?(level: 'info' | 'warn' | 'error', message: string): void;
  /** The engine process died; when `restarting`, a new one is reloading the last model. */
  crashed?(crash: EngineCrash): void;
  /** The process started after a crash has the model loaded again. */
  restarted?(info: ModelInfo): void;
  /** The process started after a crash could not load the model again. */
  restartFailed?(err: OverfillError): void;
}

export interface EngineClientOptions {
  /**
   * Extra environment for the engine process (a CUDA runtime, library paths). A function is
   * asked at every start: a runtime another window removed is not named again.
   */
  env?: Record<string, string> | (() => Record<string, string>);
}

export class EngineClient {
  private proc: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The last model that loaded: what a restarted process loads again. */
  private lastGood: LoadArgs | undefined;
  private readonly crashTimes: number[] = [];
  private stderrTail: string[] = [];
  private disposed = false;
  private reloading: Promise<void> | undefined;

  constructor(
    private readonly engineScript: string,
    private readonly events: EngineClientEvents = {},
    private options: EngineClientOptions = {},
  ) {}

  /** The engine process's id (tests, and the log line saying where the engine runs). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private ensureProcess(): ChildProcess {
    if (this.proc) return this.proc;
    if (this.disposed) throw new OverfillError('ENGINE_NOT_READY', 'The engine was shut down.');
    const proc = fork(this.engineScript, [], {
      // Structured clone, as postMessage was: typed arrays and nested objects pass as they are.
      serialization: 'advanced',
      // The extension host's own flags (an --inspect port) must not be inherited.
      execArgv: [],
      // Under VS Code, process.execPath is the Electron binary: this makes it a plain Node.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', ...(typeof this.options.env === 'function' ? this.options.env() : this.options.env) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.stderrTail = [];
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      // onnxruntime colours its log lines: keep the text.
      for (const line of chunk.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) if (line.trim()) this.stderrTail.push(line.trim());
      if (this.stderrTail.length > STDERR_LINES) this.stderrTail.splice(0, this.stderrTail.length - STDERR_LINES);
    });
    proc.on('message', (msg: FromEngine) => this.onMessage(msg));
    proc.on('error', (err) => this.events.log?.('error', `Engine process error: ${err.message}`));
    proc.on('exit', (code, signal) => this.onExit(proc, code, signal));
    this.proc = proc;
    this.setKeepAlive(false);
    this.events.log?.('info', `Engine process started (pid ${proc.pid}).`);
    return proc;
  }

  /** An idle engine must not keep a test process or the extension host alive. */
  private setKeepAlive(busy: boolean, proc = this.proc): void {
    if (!proc) return;
    const handles = [proc, proc.channel, proc.stderr as (Readable & { ref?(): void; unref?(): void }) | null];
    for (const h of handles) {
      if (busy) h?.ref?.();
      else h?.unref?.();
    }
  }

  private onExit(proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.proc !== proc) return; // disposed, or already replaced
    this.proc = undefined;
    const last = this.stderrTail[this.stderrTail.length - 1];
    const reason = `${signal ? `signal ${signal}` : `exit code ${code}`}${last ? `: ${last}` : ''}`;
    for (const line of this.stderrTail) this.events.log?.('warn', `engine stderr: ${line}`);
    const lostRequests = this.pending.size;
    const crash = new OverfillError('ENGINE_STOPPED', `The engine process stopped (${reason}) while working on this request. It restarts with the model reloaded; try again.`);
    for (const p of this.pending.values()) p.reject(crash);
    this.pending.clear();

    const now = Date.now();
    this.crashTimes.push(now);
    while (this.crashTimes.length && now - this.crashTimes[0] > CRASH_WINDOW_MS) this.crashTimes.shift();
    const restarting = !!this.lastGood && this.crashTimes.length <= MAX_RESTARTS;
    this.events.log?.('error', `The engine process stopped (${reason}); ${lostRequests} request(s) lost; ${restarting ? 'restarting it' : this.lastGood ? `${this.crashTimes.length} crashes within a minute: it restarts with the next request` : 'no model to reload'}.`);
    this.events.crashed?.({ reason, lostRequests, restarting });
    if (restarting) {
      const args = this.lastGood!;
      this.load(args.folder, args.provider, args.cpuThreads).then(
        (info) => this.events.restarted?.(info),
        (err: OverfillError) => this.events.restartFailed?.(err),
      );
    }
  }

  private onMessage(msg: FromEngine): void {
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
        // What a load printed is onnxruntime's word on a GPU provider that did not load (its JS
        // error says only "Failed to load shared library"): the log keeps it beside the fallback.
        if (msg.info.fallbacks.length) for (const line of this.stderrTail) this.events.log?.('info', `engine stderr: ${line}`);
        this.stderrTail = [];
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

  private send(proc: ChildProcess, msg: ToEngine): void {
    // A process that just died has no channel; its exit handler answers the request.
    if (proc.connected) proc.send(msg);
  }

  private call<T>(build: (id: number) => ToEngine, signal?: AbortSignal, onText?: (text: string) => void): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError());
    let proc: ChildProcess;
    try {
      proc = this.ensureProcess();
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => this.send(proc, { type: 'cancel', id });
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        proc,
        resolve: (v) => (done(), resolve(v as T)),
        reject: (e) => (done(), reject(e)),
        onText,
      });
      this.setKeepAlive(true);
      this.send(proc, build(id));
    }).finally(() => {
      if (this.pending.size === 0) this.setKeepAlive(false);
    });
  }

  /** Requests sent and not answered yet (tests: the queue must not grow while the user types). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Loads (or swaps to) a model pair. Requests made meanwhile wait for it. If it fails, the
   * model loaded before stays in use (in the engine and for restarts) and this rejects.
   */
  async load(folder: string, provider: ProviderSetting, cpuThreads = 0): Promise<ModelInfo> {
    const info = await this.call<ModelInfo>((id) => ({ type: 'load', id, folder, provider, cpuThreads }));
    this.lastGood = { folder, provider, cpuThreads };
    return info;
  }

  async complete(request: CompletionRequest, signal?: AbortSignal): Promise<CompletionResult> {
    await this.reloadAfterCrash();
    return this.call<CompletionResult>((id) => ({ type: 'complete', id, request }), signal);
  }

  async explain(request: ExplainRequest, signal: AbortSignal | undefined, onText: (text: string) => void): Promise<string> {
    await this.reloadAfterCrash();
    return this.call<string>((id) => ({ type: 'explain', id, request }), signal, onText);
  }

  /** After a crash loop no process runs: the next request starts one and loads the model first. */
  private reloadAfterCrash(): Promise<void> {
    if (this.reloading) return this.reloading;
    if (this.proc || !this.lastGood || this.disposed) return Promise.resolve();
    const args = this.lastGood;
    this.reloading = this.load(args.folder, args.provider, args.cpuThreads)
      .then((info) => this.events.restarted?.(info))
      .finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  /**
   * Stops the engine: requests in flight are cancelled and answered with ABORTED, the process
   * gets up to DISPOSE_WAIT_MS to leave its step (so onnxruntime releases its sessions), then it
   * is ended.
   */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stopProcess();
  }

  /**
   * Ends the engine process so that the next one starts with `env` (by default the options'
   * own, asked again: a CUDA runtime set up or removed, library paths changed; the dynamic
   * linker reads them only at process start). Requests in flight are answered with ABORTED.
   * Nothing is reloaded here: a load sent at once (before this resolves) starts the next
   * process, and requests then wait for it; without one, the next request reloads the last model.
   */
  async restartWith(env: EngineClientOptions['env'] = this.options.env): Promise<void> {
    this.options = { ...this.options, env };
    await this.stopProcess();
    this.events.log?.('info', 'Engine process stopped to start again with a new environment.');
  }

  private async stopProcess(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    // Only its own requests: one sent meanwhile (a load right after a restart) went to the next process.
    const own = (): number[] => [...this.pending].filter(([, p]) => p.proc === proc).map(([id]) => id);
    if (proc && own().length > 0) {
      for (const id of own()) this.send(proc, { type: 'cancel', id });
      const deadline = Date.now() + DISPOSE_WAIT_MS;
      while (own().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    }
    for (const id of own()) {
      this.pending.get(id)!.reject(abortError());
      this.pending.delete(id);
    }
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      this.setKeepAlive(true, proc); // until it has exited
      proc.kill();
      await exited;
    }
  }
}
