// What happens between a keystroke and a suggestion, above the VS Code API (the replay
// benchmark drives it without a window):
//   1. a cached suggestion answers at once: asked here before, or typed along (the rest of it);
//   2. a model run already going for this text, or for text the user has since typed past, is
//      joined rather than cancelled and started again;
//   3. otherwise wait out the debounce (adaptive to the typing rhythm, or fixed), then run;
//   4. once a suggestion is shown and the user pauses, the states after accepting it (its first
//      line, and all of it) are computed ahead; any keystroke cancels that.
import { isAbort } from '../engine/errors';
import type { CompletionRequest, CompletionResult } from '../engine/requests';
import { SuggestionCache } from './suggestionCache';
import { TypingRhythm } from './typingRhythm';

export interface CompletionBackend {
  complete(request: CompletionRequest, signal: AbortSignal): Promise<CompletionResult>;
}

export interface FlowOptions {
  /** Suggestion cache and typing along (off: every keystroke asks the model). */
  cache: boolean;
  /** A fixed debounce in ms, or undefined for the adaptive one. */
  debounceMs?: number;
  /** Join a model run going for the same or typed-past text instead of starting again. */
  joinRunning: boolean;
  /** Compute the states after accepting a suggestion in idle time. */
  prefetch: boolean;
}

export const DEFAULT_FLOW_OPTIONS: FlowOptions = { cache: true, joinRunning: true, prefetch: true };

/** A request as the flow sees it: the engine's, plus which document it is in. */
export interface FlowRequest extends CompletionRequest {
  /** The document (its URI): suggestions are cached per document. */
  scope: string;
}

export type Source = 'cache' | 'model' | 'joined';

export interface FlowAnswer {
  text: string;
  source: Source;
  /** The model run's figures, when one ran for this request. */
  result?: CompletionResult;
}

export interface FlowEvents {
  /** A model run finished: for a request, or ahead of time. */
  onModelRun?(kind: 'request' | 'prefetch', request: FlowRequest, result: CompletionResult, ms: number): void;
  /** The typing paused after a request (commit context chunks then). */
  onIdle?(): void;
}

export interface FlowStats {
  requests: number;
  fromCache: number;
  joined: number;
  modelRuns: number;
  prefetchRuns: number;
  cancelled: number;
}

/**
 * A running model run's caller may hand it over to the next keystroke within this time: VS Code
 * cancels a request on the keystroke, then waits its own debounce (50 ms) before asking again.
 */
const HANDOVER_MS = 200;
/** Text typed past a running request that may still reuse it (it is then cached). */
const MAX_TYPED_PAST = 32;
/** Idle time after an answer before accepted states are computed. */
const PREFETCH_IDLE_MS = 250;

interface Running {
  request: FlowRequest;
  promise: Promise<CompletionResult>;
  controller: AbortController;
  waiters: number;
}

const sleep = (ms: number, signal: AbortSignal): Promise<boolean> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

function sameCursor(a: FlowRequest, b: FlowRequest): boolean {
  return a.scope === b.scope && a.prefix === b.prefix && a.suffix === b.suffix;
}

/** `later` is `earlier` with up to MAX_TYPED_PAST characters typed at the cursor. */
function typedPast(earlier: FlowRequest, later: FlowRequest): boolean {
  const extra = later.prefix.length - earlier.prefix.length;
  return later.scope === earlier.scope && later.suffix === earlier.suffix && extra > 0 && extra <= MAX_TYPED_PAST && later.prefix.startsWith(earlier.prefix);
}

export class CompletionFlow {
  readonly cache = new SuggestionCache();
  private readonly rhythm = new TypingRhythm();
  private running: Running | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly stats: FlowStats = { requests: 0, fromCache: 0, joined: 0, modelRuns: 0, prefetchRuns: 0, cancelled: 0 };

  constructor(
    private readonly backend: CompletionBackend,
    private options: FlowOptions = DEFAULT_FLOW_OPTIONS,
    private readonly events: FlowEvents = {},
  ) {}

  setOptions(options: FlowOptions): void {
    if (!options.cache) this.cache.clear();
    this.options = options;
  }

  /** The debounce a request waits, in ms. */
  debounceFor(request: FlowRequest): number {
    return this.options.debounceMs ?? this.rhythm.delay(request.prefix.slice(-1));
  }

  /** Forgets every cached suggestion (a new model suggests differently). */
  reset(): void {
    this.cache.clear();
    clearTimeout(this.idleTimer);
    this.running?.controller.abort();
    this.running = undefined;
  }

  /**
   * The suggestion for a keystroke, or undefined when `signal` (the editor's cancellation)
   * fires first. Model errors other than cancellation are thrown.
   */
  async provide(request: FlowRequest, signal: AbortSignal): Promise<FlowAnswer | undefined> {
    this.stats.requests++;
    clearTimeout(this.idleTimer);
    this.rhythm.keystroke(performance.now());
    const answer = await this.answer(request, signal);
    if (answer) this.scheduleIdle(request, answer);
    else if (signal.aborted) this.stats.cancelled++;
    return answer;
  }

  /** The running run, if this request may use it (joined, or waited for and typed along). */
  private joinable(request: FlowRequest): Running | undefined {
    const running = this.running;
    if (!running || running.controller.signal.aborted || !this.options.joinRunning) return undefined;
    return sameCursor(running.request, request) || typedPast(running.request, request) ? running : undefined;
  }

  private async answer(request: FlowRequest, signal: AbortSignal): Promise<FlowAnswer | undefined> {
    const cached = this.fromCache(request);
    if (cached) return cached;
    // A run for this text (a request, or one computed ahead), or for text typed past since.
    const running = this.joinable(request);
    if (running) {
      const result = await this.wait(running, signal);
      if (signal.aborted) return undefined;
      if (result && sameCursor(running.request, request)) {
        this.stats.joined++;
        return { text: result.text, source: 'joined', result };
      }
      const after = this.fromCache(request); // the typed text may run along what it found
      if (after) return after;
      // Aborted under us, or it found nothing to type along: ask for this text.
    } else {
      this.running?.controller.abort();
    }
    if (!(await sleep(this.debounceFor(request), signal))) return undefined;
    const again = this.fromCache(request); // a run that ended meanwhile
    if (again) return again;
    const current = this.joinable(request);
    if (current && sameCursor(current.request, request)) {
      const result = await this.wait(current, signal);
      if (result === undefined) return undefined;
      this.stats.joined++;
      return { text: result.text, source: 'joined', result };
    }
    this.running?.controller.abort();
    const run = this.start(request, 'request');
    const result = await this.wait(run, signal);
    return result === undefined ? undefined : { text: result.text, source: 'model', result };
  }

  private fromCache(request: FlowRequest): FlowAnswer | undefined {
    if (!this.options.cache) return undefined;
    const hit = this.cache.lookup(request.scope, request.prefix, request.suffix);
    if (!hit) return undefined;
    this.stats.fromCache++;
    return { text: hit.text, source: 'cache' };
  }

  private start(request: FlowRequest, kind: 'request' | 'prefetch'): Running {
    const controller = new AbortController();
    const t0 = performance.now();
    if (kind === 'request') this.stats.modelRuns++;
    else this.stats.prefetchRuns++;
    const promise = this.backend.complete(request, controller.signal).then((result) => {
      if (this.options.cache) this.cache.put(request.scope, request.prefix, request.suffix, result.text);
      this.events.onModelRun?.(kind, request, result, performance.now() - t0);
      return result;
    });
    const run: Running = { request, promise, controller, waiters: 0 };
    this.running = run;
    const clear = (): void => {
      if (this.running === run) this.running = undefined;
    };
    promise.then(clear, clear);
    return run;
  }

  /**
   * Waits for a run on behalf of one caller; undefined if the caller gives up or the run is
   * aborted. A caller that gives up leaves the run going for a while (VS Code asks again only
   * after its own debounce): the next keystroke may take it over; else it is aborted.
   */
  private async wait(run: Running, signal: AbortSignal): Promise<CompletionResult | undefined> {
    run.waiters++;
    let onAbort: (() => void) | undefined;
    const gaveUp = new Promise<undefined>((resolve) => {
      onAbort = (): void => resolve(undefined);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([run.promise, gaveUp]);
    } catch (err) {
      if (isAbort(err)) return undefined;
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort!);
      run.waiters--;
      if (signal.aborted && run.waiters === 0) {
        if (!this.options.joinRunning) run.controller.abort();
        else setTimeout(() => run.waiters === 0 && run.controller.abort(), HANDOVER_MS);
      }
    }
  }

  private scheduleIdle(request: FlowRequest, answer: FlowAnswer): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.events.onIdle?.();
      if (this.options.prefetch && this.options.cache && answer.text) void this.prefetch(request, answer.text);
    }, PREFETCH_IDLE_MS);
  }

  /**
   * The states after accepting `shown`'s first line and all of it, each unless the cache answers
   * it already. They run as the flow's current run: a keystroke for exactly that state (Tab)
   * joins it; any other keystroke aborts it.
   */
  private async prefetch(request: FlowRequest, shown: string): Promise<void> {
    const nl = shown.indexOf('\n');
    const accepted = nl > 0 ? [shown.slice(0, nl + 1), shown] : [shown];
    for (const text of accepted) {
      const next: FlowRequest = { ...request, prefix: request.prefix + text };
      if (this.running) return; // a request is running, or a keystroke came
      if (this.cache.lookup(next.scope, next.prefix, next.suffix)) continue;
      const run = this.start(next, 'prefetch');
      try {
        await run.promise;
      } catch {
        return; // aborted by a keystroke, or failed: the next request reports real failures
      }
    }
  }

  dispose(): void {
    this.reset();
  }
}
