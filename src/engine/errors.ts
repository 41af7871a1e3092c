// One error family for everything the engine can refuse. Messages say what failed, why,
// and what to do, in that order; `code` lets the UI group them and show each kind once.

export type OverfillErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'MODEL_INVALID'
  | 'MODEL_LOAD_FAILED'
  | 'KV_LAYOUT_MISMATCH'
  | 'TOKENIZER_INVALID'
  | 'PROVIDER_UNAVAILABLE'
  | 'ENGINE_CRASHED'
  /** The engine process died while the request ran; it restarts on its own. */
  | 'ENGINE_STOPPED'
  | 'ENGINE_NOT_READY'
  | 'INPUT_REJECTED'
  /** OverFill: Set Up CUDA could not take the libraries it was given. */
  | 'CUDA_SETUP_FAILED'
  | 'ABORTED';

export class OverfillError extends Error {
  constructor(
    readonly code: OverfillErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'OverfillError';
  }

  /** Plain object that survives postMessage between the engine process and the extension host. */
  toJSON(): { code: OverfillErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }

  static fromJSON(data: { code: OverfillErrorCode; message: string }): OverfillError {
    return new OverfillError(data.code, data.message);
  }
}

export function abortError(): OverfillError {
  return new OverfillError('ABORTED', 'The request was cancelled.');
}

export function isAbort(err: unknown): boolean {
  return err instanceof OverfillError && err.code === 'ABORTED';
}

/** Wraps anything thrown into an OverfillError, keeping OverfillErrors as they are. */
export function asOverfillError(err: unknown, code: OverfillErrorCode, context: string): OverfillError {
  if (err instanceof OverfillError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new OverfillError(code, `${context}: ${detail}`);
}
