// The provider names settings may use. Apart from providers.ts so that the extension host can
// read settings without loading onnxruntime-node's native binding: only the engine process runs it.

/** What `overfill.executionProvider` may say. */
export const PROVIDER_SETTINGS = ['auto', 'webgpu', 'cuda', 'dml', 'cpu'] as const;
export type ProviderSetting = (typeof PROVIDER_SETTINGS)[number];
export type ProviderName = Exclude<ProviderSetting, 'auto'>;
