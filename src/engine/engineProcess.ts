// Engine process entry (started by EngineClient with child_process.fork): owns the loaded
// model pair and runs every inference outside the extension host. A process, not a worker
// thread, because a native abort in onnxruntime or a GPU driver ends the whole process it runs
// in; here that is this process, which the client restarts. A new completion request cancels
// the one before it (typing outruns the model); explain requests run independently, and step
// aside between model runs while a completion runs (schedule/turns.ts), never cancelled by one.
import { CompletionEngine } from './completionEngine';
import { asOverfillError, OverfillError } from './errors';
import type { FromEngine, ToEngine } from './protocol';

const channel = process.send?.bind(process);
if (!channel) throw new Error('engineProcess.js must be started by EngineClient (child_process.fork with an IPC channel)');
// The extension host went away (closed, crashed, killed): nothing is left to answer.
process.on('disconnect', () => process.exit(0));

/** The model requests run on; a failed load leaves the one before it in place. */
let engine: Promise<CompletionEngine> | undefined;
const running = new Map<number, AbortController>();
let latestCompletion: number | undefined;
/** The warm-up after a load; any request stops it (a user never waits on it). */
let warming: AbortController | undefined;

function stopWarmUp(): void {
  warming?.abort();
  warming = undefined;
}

function warmUp(loaded: CompletionEngine): void {
  const controller = new AbortController();
  warming = controller;
  const t0 = performance.now();
  loaded
    .warmUp(controller.signal)
    .then((passes) => {
      if (passes > 0) send({ type: 'log', level: 'info', message: `Warmed up ${loaded.info.name} in ${Math.round(performance.now() - t0)} ms (${passes} synthetic prompt${passes > 1 ? 's' : ''}).` });
    })
    .catch((err) => send({ type: 'log', level: 'warn', message: `Warm-up failed: ${asOverfillError(err, 'ENGINE_CRASHED', 'warm-up').message}` }))
    .finally(() => {
      if (warming === controller) warming = undefined;
    });
}

function send(message: FromEngine): void {
  channel!(message);
}

/** Answers a request with its error. Not logged here: the caller reports it, counting repeats (one a keystroke otherwise). */
function fail(id: number, err: unknown): void {
  send({ type: 'failed', id, error: asOverfillError(err, 'ENGINE_CRASHED', 'The engine failed').toJSON() });
}

async function ready(): Promise<CompletionEngine> {
  if (!engine) throw new OverfillError('ENGINE_NOT_READY', 'No model is loaded yet.');
  return engine;
}

async function handle(msg: ToEngine): Promise<void> {
  if (msg.type !== 'cancel') stopWarmUp();
  switch (msg.type) {
    case 'load': {
      for (const controller of running.values()) controller.abort();
      const previous = engine;
      const next = CompletionEngine.load(msg.folder, msg.provider, { cpuThreads: msg.cpuThreads });
      // Requests made during the load wait for it; if it fails they run on the previous model,
      // which stays loaded (a failed switch must not leave the user without suggestions).
      engine = next.catch((err) => (previous ? previous : Promise.reject(err)));
      engine.catch(() => undefined);
      const loaded = await next;
      send({ type: 'loaded', id: msg.id, info: loaded.info });
      warmUp(loaded);
      // Released only after the aborted requests have left their sessions.
      previous?.then((e) => e.dispose()).catch(() => undefined);
      return;
    }
    case 'cancel':
      running.get(msg.id)?.abort();
      return;
    case 'complete': {
      if (latestCompletion !== undefined) running.get(latestCompletion)?.abort();
      latestCompletion = msg.id;
      const controller = new AbortController();
      running.set(msg.id, controller);
      try {
        const result = await (await ready()).complete(msg.request, controller.signal);
        send({ type: 'completed', id: msg.id, result });
      } finally {
        running.delete(msg.id);
      }
      return;
    }
    case 'explain': {
      const controller = new AbortController();
      running.set(msg.id, controller);
      try {
        const text = await (await ready()).explain(msg.request, controller.signal, (t) => send({ type: 'explainText', id: msg.id, text: t }));
        send({ type: 'explained', id: msg.id, text });
      } finally {
        running.delete(msg.id);
      }
      return;
    }
  }
}

process.on('message', (msg: ToEngine) => {
  handle(msg).catch((err) => fail(msg.id, err));
});
