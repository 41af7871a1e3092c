// The log line each model run leaves in the OverFill log: what it cost, what context it carried
// (the end-to-end tests read it to see the cache and the context at work).
import type { CompletionResult } from '../../engine/requests';

/** One log line per model run: what the request cost and what context it carried. */
export function describeRun(kind: 'request' | 'prefetch', r: CompletionResult, ms: number): string {
  const context = r.contextChunks.length ? `${r.contextChunks.length} chunks (${r.contextChunkTokens} tokens) from ${[...new Set(r.contextChunks)].join(', ')}` : 'no chunks';
  const what = kind === 'request' ? 'Suggestion: model run' : 'Suggestion ahead (after accepting): model run';
  return `${what} in ${Math.round(ms)} ms: prompt ${r.promptTokens} tokens (${r.reusedTokens} cached), ${r.ids.length} generated, context ${context}`;
}
