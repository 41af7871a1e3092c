// A manifest's sha256 of each graph is checked the first time the file is loaded, so a damaged
// or replaced file gets a clear message instead of a crash or wrong suggestions. A file already
// checked, with the same size and modification time, is not read again: a normal load (a model
// switch, a restart of the engine after a crash) stays fast.
import { createHash } from 'crypto';
import { createReadStream, promises as fs } from 'fs';
import * as path from 'path';
import { OverfillError } from '../errors';
import type { ModelManifest } from './manifest';

/** Files verified in this process: path -> "size:mtime:sha256". Bounded: a user has few models. */
const verified = new Map<string, string>();
const MAX_REMEMBERED = 64;

function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

async function verify(file: string, expected: string, role: string): Promise<void> {
  const stat = await fs.stat(file);
  const stamp = `${stat.size}:${Math.floor(stat.mtimeMs)}:${expected.toLowerCase()}`;
  if (verified.get(file) === stamp) return;
  const actual = await sha256Of(file);
  if (actual !== expected.toLowerCase()) {
    throw new OverfillError('MODEL_INVALID', `The ${role} ${file} does not match the sha256 in its overfill.json (the file is damaged or was replaced: ${actual.slice(0, 12)}… instead of ${expected.slice(0, 12)}…). Copy the model folder again or re-export it.`);
  }
  verified.set(file, stamp);
  if (verified.size > MAX_REMEMBERED) verified.delete(verified.keys().next().value as string);
}

/** Checks each graph that names a sha256. */
export async function verifyGraphFiles(manifest: ModelManifest): Promise<void> {
  const graphs: [string, { file: string; sha256?: string }][] = [['full model', manifest.full], ['decoder', manifest.decoder]];
  for (const [role, g] of graphs) {
    if (typeof g.sha256 === 'string' && /^[0-9a-f]{64}$/i.test(g.sha256)) await verify(path.join(manifest.folder, g.file), g.sha256, role);
  }
}
