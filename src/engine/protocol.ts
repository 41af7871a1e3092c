// Messages between the extension host (EngineClient) and the engine process (engineProcess.ts).
import type { OverfillErrorCode } from './errors';
import type { CompletionRequest, CompletionResult, ExplainRequest, ModelInfo } from './requests';
import type { ProviderSetting } from './runtime/providers';

export interface SerializedError {
  code: OverfillErrorCode;
  message: string;
}

export type ToEngine =
  | { type: 'load'; id: number; folder: string; provider: ProviderSetting; cpuThreads: number }
  | { type: 'complete'; id: number; request: CompletionRequest }
  | { type: 'explain'; id: number; request: ExplainRequest }
  | { type: 'cancel'; id: number };

export type FromEngine =
  | { type: 'loaded'; id: number; info: ModelInfo }
  | { type: 'completed'; id: number; result: CompletionResult }
  | { type: 'explainText'; id: number; text: string }
  | { type: 'explained'; id: number; text: string }
  | { type: 'failed'; id: number; error: SerializedError }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };
