// What "overfill.model.path" names: an OverFill pair (a folder with overfill.json), or a standard
// ONNX export (its folder, or one of its .onnx files to choose that variant).
import { promises as fs } from 'fs';
import * as path from 'path';
import { MANIFEST_FILE, readManifest, type ModelManifest } from './manifest';
import { locateStandardExport, standardExportManifest } from './standardExport';

export interface ModelFolder {
  manifest: ModelManifest;
  /** True for a standard export: its KV layout comes from the graph (runtime/loadModelPair.ts). */
  standard: boolean;
}

export async function readModelFolder(location: string): Promise<ModelFolder> {
  const hasManifest = await fs.stat(path.join(location, MANIFEST_FILE)).then((s) => s.isFile(), () => false);
  if (!hasManifest) {
    const found = await locateStandardExport(location);
    if (found) return { manifest: await standardExportManifest(found.folder, found.graph), standard: true };
  }
  return { manifest: await readManifest(location), standard: false };
}
