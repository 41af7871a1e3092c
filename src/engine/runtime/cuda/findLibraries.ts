// Whether the dynamic linker would find every library a shared object needs, following the
// same order it does (RPATH, LD_LIBRARY_PATH, RUNPATH, the ld.so cache, the default folders),
// through the whole dependency tree. Says what is missing before onnxruntime tries to load a
// provider: its own error is only "Failed to load shared library".
import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { readElfDynamic } from './elfDynamic';

export interface LibrarySearch {
  /** LD_LIBRARY_PATH as the process that loads the library will have it. */
  ldLibraryPath: readonly string[];
  /** soname → path, from `ldconfig -p` (x86-64 entries). */
  cache: ReadonlyMap<string, string>;
}

export interface MissingLibrary {
  name: string;
  /** The library that needs it (a basename). */
  neededBy: string;
}

const DEFAULT_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'];
const MAX_LIBRARIES = 400;

/** The search the engine process will have: its LD_LIBRARY_PATH and this machine's ld.so cache. */
export async function librarySearch(ldLibraryPath: readonly string[]): Promise<LibrarySearch> {
  return { ldLibraryPath, cache: await ldconfigCache() };
}

async function ldconfigCache(): Promise<Map<string, string>> {
  const cache = new Map<string, string>();
  const out = await new Promise<string>((resolve) => {
    // ldconfig lives in /sbin, which a user's PATH may lack.
    execFile('ldconfig', ['-p'], { env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/sbin:/usr/sbin` }, maxBuffer: 16 << 20 }, (err, stdout) => resolve(err ? '' : stdout));
  });
  for (const line of out.split('\n')) {
    const m = /^\s*(\S+) \(([^)]*)\) => (.+)$/.exec(line);
    if (m && m[2].includes('x86-64') && !cache.has(m[1])) cache.set(m[1], m[3].trim());
  }
  return cache;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then((s) => s.isFile(), () => false);
}

async function locate(name: string, from: string, runpath: string[], rpath: string[], search: LibrarySearch): Promise<string | undefined> {
  if (name.includes('/')) return (await exists(name)) ? name : undefined;
  const origin = path.dirname(from);
  const expand = (dirs: readonly string[]): string[] => dirs.map((d) => d.replace(/\$\{?ORIGIN\}?/g, origin));
  const dirs = [...(runpath.length ? [] : expand(rpath)), ...search.ldLibraryPath, ...expand(runpath)];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    if (await exists(file)) return file;
  }
  return fromSystem(name, search);
}

/** Where a library would be found by name alone (dlopen of a bare soname, no RPATH). */
export async function findLibrary(name: string, search: LibrarySearch): Promise<string | undefined> {
  for (const dir of search.ldLibraryPath) {
    const file = path.join(dir, name);
    if (await exists(file)) return file;
  }
  return fromSystem(name, search);
}

/** The ld.so cache, then the default folders. */
async function fromSystem(name: string, search: LibrarySearch): Promise<string | undefined> {
  const cached = search.cache.get(name);
  if (cached && (await exists(cached))) return cached;
  for (const dir of DEFAULT_DIRS) {
    const file = path.join(dir, name);
    if (await exists(file)) return file;
  }
  return undefined;
}

/** Every library in `roots`' dependency tree that the linker would not find. */
export async function missingLibraries(roots: readonly string[], search: LibrarySearch): Promise<MissingLibrary[]> {
  const missing: MissingLibrary[] = [];
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length && seen.size < MAX_LIBRARIES) {
    const file = queue.shift()!;
    const real = await fs.realpath(file).catch(() => file);
    if (seen.has(real)) continue;
    seen.add(real);
    // A root that is no shared library is the caller's error; a dependency the linker found but
    // this reader cannot parse is the linker's business.
    const dyn = roots.includes(file) ? await readElfDynamic(file) : await readElfDynamic(file).catch(() => undefined);
    if (!dyn) continue;
    for (const name of dyn.needed) {
      const found = await locate(name, file, dyn.runpath, dyn.rpath, search);
      if (found) queue.push(found);
      else if (!missing.some((m) => m.name === name)) missing.push({ name, neededBy: path.basename(file) });
    }
  }
  return missing;
}
