// The models Select Model offers: the embedded pair, each model folder in the search paths (a
// search path may itself be one), and those in the extension's global storage. Read from the
// manifests only (small JSON files): nothing is loaded until one is picked. No VS Code import.
import { promises as fs } from 'fs';
import * as path from 'path';
import { readModelFolder } from '../../engine/model/readModelFolder';

export interface ModelEntry {
  folder: string;
  name: string;
  kind: 'overfill' | 'full-only';
  fullParams?: number;
  decoderParams?: number;
  family?: string;
  /** Where it was found: shown beside it. */
  source: 'embedded' | 'search path' | 'global storage' | 'browsed';
}

export interface CatalogProblem {
  folder: string;
  message: string;
}

/** Sub-folders looked at per search path at most (a path may be a big folder by mistake). */
const MAX_CHILDREN = 200;

/** The model in `folder`, or why it is not one (the manifest's own message). */
export async function describeModel(folder: string, source: ModelEntry['source']): Promise<ModelEntry | CatalogProblem> {
  try {
    const { manifest: m } = await readModelFolder(folder);
    return {
      folder,
      name: m.name,
      kind: m.kind,
      fullParams: m.full.params,
      decoderParams: m.kind === 'full-only' ? undefined : m.decoder.params,
      family: m.family,
      source,
    };
  } catch (err) {
    return { folder, message: err instanceof Error ? err.message : String(err) };
  }
}

export function isEntry(x: ModelEntry | CatalogProblem): x is ModelEntry {
  return 'name' in x;
}

/** Folders that look like a model (a manifest, or an export's config.json next to .onnx files). */
async function looksLikeModel(folder: string): Promise<boolean> {
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  return names.includes('overfill.json') || (names.includes('config.json') && (names.includes('onnx') || names.some((n) => n.endsWith('.onnx'))));
}

/** `root` if it is a model, else its sub-folders that are. */
async function modelsUnder(root: string): Promise<string[]> {
  if (await looksLikeModel(root)) return [root];
  const children = await fs.readdir(root, { withFileTypes: true }).catch(() => []);
  const folders = children.filter((d) => d.isDirectory()).slice(0, MAX_CHILDREN).map((d) => path.join(root, d.name));
  const flags = await Promise.all(folders.map(looksLikeModel));
  return folders.filter((_, i) => flags[i]).sort();
}

/**
 * Every model on offer, embedded first, each folder once; folders that look like a model but
 * do not read as one come back as problems (the picker says why rather than hiding them).
 */
export async function listModels(embedded: string, searchPaths: readonly string[], globalStorage: string | undefined): Promise<{ entries: ModelEntry[]; problems: CatalogProblem[] }> {
  const wanted: [string, ModelEntry['source']][] = [[embedded, 'embedded']];
  for (const root of searchPaths) for (const f of await modelsUnder(path.resolve(root))) wanted.push([f, 'search path']);
  if (globalStorage) for (const f of await modelsUnder(path.join(globalStorage, 'models'))) wanted.push([f, 'global storage']);
  const seen = new Set<string>();
  const unique = wanted.filter(([f]) => !seen.has(f) && seen.add(f));
  const described = await Promise.all(unique.map(([f, source]) => describeModel(f, source)));
  return { entries: described.filter(isEntry), problems: described.filter((d): d is CatalogProblem => !isEntry(d)) };
}

export function formatParams(n: number | undefined): string {
  if (!n) return '?';
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${(n / 1e3).toFixed(0)}K`;
}

/** "OverFill: full 150.0M → decoder 52.3M" or "full-only 494.0M". */
export function describeShape(e: Pick<ModelEntry, 'kind' | 'fullParams' | 'decoderParams'>): string {
  return e.kind === 'full-only' ? `full-only ${formatParams(e.fullParams)}` : `OverFill: full ${formatParams(e.fullParams)} → decoder ${formatParams(e.decoderParams)}`;
}
