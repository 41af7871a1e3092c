// A GPU provider can create its sessions and still fail when they first run (a kernel it lacks
// for one node, a driver that refuses a shader, out of device memory). That failure would
// otherwise reach the user on their first keystroke, and on every one after. So a model opened
// on a GPU provider runs once at load; if that run fails it is reopened on the CPU, once, and
// the fallback says why.
import { isAbort } from '../errors';
import type { ProviderFallback, ProviderName, ProviderSetting } from './providers';

export interface OpenedOnProvider {
  readonly provider: ProviderName;
  /** The engine's own list (ModelInfo.fallbacks): appended to, not replaced. */
  readonly fallbacks: ProviderFallback[];
  /** One short run through every graph the model has. */
  firstRun(): Promise<void>;
  dispose(): Promise<void>;
}

export async function openWithFirstRunCheck<T extends OpenedOnProvider>(open: (setting: ProviderSetting) => Promise<T>, setting: ProviderSetting): Promise<T> {
  const opened = await open(setting);
  if (opened.provider === 'cpu') return opened;
  try {
    await opened.firstRun();
    return opened;
  } catch (err) {
    if (isAbort(err)) throw err;
    await opened.dispose().catch(() => undefined);
    const onCpu = await open('cpu');
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    onCpu.fallbacks.unshift(...opened.fallbacks, { provider: opened.provider, reason: `it loaded the model but failed at its first run (${reason})`, requested: setting === opened.provider });
    return onCpu;
  }
}
