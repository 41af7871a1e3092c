// Worker-thread entry: owns the loaded model pair and runs every inference off the extension
// host's main thread. A new completion request cancels the one before it (typing outruns
// the model); explain requests run independently.
import { parentPort } from 'worker_threads';
import { CompletionEngine } from './completionEngine';
import { asOverfillError, isAbort, OverfillError } from './errors';
import type { FromWorker, ToWorker } from './protocol';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

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

function send(message: FromWorker): void {
  port!.postMessage(message);
}

function fail(id: number, err: unknown): void {
  const e = asOverfillError(err, 'ENGINE_CRASHED', 'The engine failed');
  send({ type: 'failed', id, error: e.toJSON() });
  if (!isAbort(e)) send({ type: 'log', level: 'error', message: `[${e.code}] ${e.message}` });
}

async function ready(): Promise<CompletionEngine> {
  if (!engine) throw new OverfillError('ENGINE_NOT_READY', 'No model is loaded yet.');
  return engine;
}

async function handle(msg: ToWorker): Promise<void> {
  if (msg.type !== 'cancel') stopWarmUp();
  switch (msg.type) {
    case 'load': {
      for (const controller of running.values()) controller.abort();
      const previous = engine;
      engine = CompletionEngine.load(msg.folder, msg.provider, { cpuThreads: msg.cpuThreads });
      engine.catch(() => undefined);
      try {
        const loaded = await engine;
        send({ type: 'loaded', id: msg.id, info: loaded.info });
        warmUp(loaded);
      } finally {
        // Released only after the aborted requests have left their sessions.
        previous?.then((e) => e.dispose()).catch(() => undefined);
      }
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

port.on('message', (msg: ToWorker) => {
  handle(msg).catch((err) => fail(msg.id, err));
});
