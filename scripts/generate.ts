// One generation from the command line, through the engine the extension runs:
//   npm run generate -- --model DIR [--mode overfill|full|decoder] [--provider auto|cpu|...]
//       (--ids 1,2,3 | --prompt TEXT | --prefix A --suffix B) [--max-new-tokens N] [--json]
// --ids runs those raw prompt ids greedily: no prompt building, healing or line rules; it stops
// only at --max-new-tokens or an end-of-text id. --prompt completes TEXT as a cursor at its end;
// --prefix/--suffix place the cursor between them (the extension's path: FIM prompt, healing, line
// rules). --json prints one object: ids, text, mode, provider, and timings.
import { CompletionEngine } from '../src/engine/completionEngine';
import { isAbort, OverfillError } from '../src/engine/errors';
import { GENERATION_MODES, type GenerationMode } from '../src/engine/generate/generate';
import { PROVIDER_SETTINGS, type ProviderSetting } from '../src/engine/runtime/providerNames';

const PROVIDERS: readonly ProviderSetting[] = PROVIDER_SETTINGS;
const USAGE = 'usage: npm run generate -- --model DIR [--mode overfill|full|decoder] [--provider auto|webgpu|cuda|dml|cpu] (--ids 1,2,3 | --prompt TEXT | --prefix A --suffix B) [--max-new-tokens N] [--json]';

function parse(argv: string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out.set(a.slice(2), true);
    else out.set(a.slice(2), argv[++i]);
  }
  return out;
}

function fail(message: string): never {
  console.error(`generate: ${message}\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let args: Map<string, string | true>;
  try {
    args = parse(process.argv.slice(2));
  } catch (err) {
    fail((err as Error).message);
  }
  const str = (name: string): string | undefined => {
    const v = args.get(name);
    if (v === true) fail(`--${name} needs a value`);
    return v;
  };
  const model = str('model') ?? fail('--model is required');
  const mode = (str('mode') ?? 'overfill') as GenerationMode;
  if (!GENERATION_MODES.includes(mode)) fail(`--mode must be one of ${GENERATION_MODES.join(', ')}`);
  const provider = (str('provider') ?? 'auto') as ProviderSetting;
  if (!PROVIDERS.includes(provider)) fail(`--provider must be one of ${PROVIDERS.join(', ')}`);
  const maxNewTokens = Number(str('max-new-tokens') ?? '48');
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) fail('--max-new-tokens must be a positive integer');
  const ids = str('ids');
  const prompt = str('prompt');
  const prefix = str('prefix');
  const suffix = str('suffix');
  const inputs = [ids !== undefined, prompt !== undefined, prefix !== undefined || suffix !== undefined].filter(Boolean).length;
  if (inputs !== 1) fail('give exactly one of --ids, --prompt, or --prefix/--suffix');

  const engine = await CompletionEngine.load(model, provider);
  try {
    const info = engine.info;
    let out: { ids: number[]; text: string; stopReason: string; promptTokens: number; prefillMs: number; decodeMs: number };
    if (ids !== undefined) {
      const promptIds = ids.split(',').map((x) => Number(x.trim()));
      if (promptIds.some((x) => !Number.isInteger(x) || x < 0)) fail('--ids must be comma-separated non-negative integers');
      const result = await engine.generateIds(promptIds, mode, maxNewTokens, undefined, new Set([engine.endOfTextId]));
      out = { ids: result.ids, text: engine.decode(result.ids), stopReason: result.stopReason, promptTokens: promptIds.length, prefillMs: result.prefillMs, decodeMs: result.decodeMs };
    } else {
      const result = await engine.complete({ prefix: prefix ?? prompt ?? '', suffix: suffix ?? '', maxNewTokens, contextTokens: info.contextLength, mode });
      out = { ids: result.ids, text: result.text, stopReason: result.stopReason, promptTokens: result.promptTokens, prefillMs: result.prefillMs, decodeMs: result.decodeMs };
    }
    const ran = info.kind === 'full-only' ? 'full' : mode; // a full-only model runs full whatever was asked
    const report = { ...out, mode: ran, provider: info.provider, model: info.name, kind: info.kind, family: info.family ?? null, fallbacks: info.fallbacks };
    if (args.has('json')) console.log(JSON.stringify(report));
    else {
      console.error(`${info.name} (${info.kind}) on ${info.provider}, mode ${ran}: ${report.ids.length} tokens, prefill ${out.prefillMs.toFixed(0)} ms, decode ${out.decodeMs.toFixed(0)} ms`);
      console.log(report.text);
    }
  } finally {
    await engine.dispose();
  }
}

main().catch((err) => {
  if (isAbort(err)) process.exit(130);
  console.error(`generate: ${err instanceof OverfillError ? `[${err.code}] ` : ''}${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
