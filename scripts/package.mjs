// Packages one platform-specific .vsix per target: the webpack bundles, the embedded default
// model, and onnxruntime-node with only that platform's native binaries.
//   node scripts/package.mjs [linux-x64 win32-x64 darwin-arm64]   (default: all three)
// Each .vsix is then checked: its own binaries present, no other platform's.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TARGETS = {
  // binaries: what the binding loads (DirectML.dll for dml; dxcompiler.dll and dxil.dll for WebGPU over D3D12).
  'linux-x64': { os: 'linux', arch: 'x64', binaries: ['libonnxruntime.so.1'] },
  'win32-x64': { os: 'win32', arch: 'x64', binaries: ['onnxruntime.dll', 'DirectML.dll', 'dxcompiler.dll', 'dxil.dll'] },
  // The package also has a byte-identical libonnxruntime.1.30.0.dylib that the binding never loads (45 MB): left out.
  'darwin-arm64': { os: 'darwin', arch: 'arm64', binaries: ['libonnxruntime.1.dylib'], drop: ['libonnxruntime.1.30.0.dylib'] },
};
const targets = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(TARGETS);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const ortBin = join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');

if (!existsSync(join(root, 'dist', 'extension.js')) || !existsSync(join(root, 'dist', 'engineProcess.js'))) {
  throw new Error('dist/ is missing: run "npm run build" first.');
}
mkdirSync(join(root, 'build'), { recursive: true });

for (const target of targets) {
  const t = TARGETS[target];
  if (!t) throw new Error(`Unknown target ${target}; known: ${Object.keys(TARGETS).join(', ')}`);
  const stage = join(root, '.cache', 'stage', target);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const f of ['package.json', 'LICENSE', 'CHANGELOG.md', '.vscodeignore', 'media/icon.png', 'media/walkthroughs', 'models/default']) {
    cpSync(join(root, f), join(stage, f), { recursive: true });
  }
  // The .vsix has no repository to resolve relative links against: name the files instead.
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
    .replace(/!\[[^\]]*\]\((?!https?:)[^)]+\)\n?/g, '')
    .replace(/\[([^[\]]+)\]\((?!https?:)([^)]+)\)/g, '$1 (`$2` in the source)');
  writeFileSync(join(stage, 'README.md'), readme);
  for (const f of ['extension.js', 'engineProcess.js']) cpSync(join(root, 'dist', f), join(stage, 'dist', f));
  const ortDest = join(stage, 'dist', 'node_modules', 'onnxruntime-node');
  cpSync(join(root, 'node_modules', 'onnxruntime-node', 'package.json'), join(ortDest, 'package.json'));
  cpSync(join(root, 'node_modules', 'onnxruntime-node', 'dist'), join(ortDest, 'dist'), { recursive: true });
  cpSync(join(ortBin, t.os, t.arch), join(ortDest, 'bin', 'napi-v6', t.os, t.arch), { recursive: true });
  for (const f of t.drop ?? []) rmSync(join(ortDest, 'bin', 'napi-v6', t.os, t.arch, f));
  const commonDest = join(stage, 'dist', 'node_modules', 'onnxruntime-common');
  cpSync(join(root, 'node_modules', 'onnxruntime-common', 'package.json'), join(commonDest, 'package.json'));
  cpSync(join(root, 'node_modules', 'onnxruntime-common', 'dist', 'cjs'), join(commonDest, 'dist', 'cjs'), { recursive: true });

  const out = join(root, 'build', `${pkg.name}-${pkg.version}-${target}.vsix`);
  rmSync(out, { force: true });
  execFileSync(process.execPath, [join(root, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--target', target, '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', out], {
    cwd: stage,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  checkContents(out, t);
  console.log(`${target}: ${out} (${(statSync(out).size / 1e6).toFixed(1)} MB)`);
}

function checkContents(vsix, t) {
  const listing = execFileSync('unzip', ['-Z1', vsix], { encoding: 'utf8' }).split('\n');
  const bins = new Set(listing.filter((f) => f.includes('/bin/napi-v6/')).map((f) => f.split('/bin/napi-v6/')[1].split('/').slice(0, 2).join('/')));
  const want = `${t.os}/${t.arch}`;
  if (bins.size !== 1 || !bins.has(want)) throw new Error(`${vsix}: expected only ${want} binaries, found ${[...bins].join(', ')}`);
  for (const f of t.drop ?? []) if (listing.some((l) => l.endsWith(`napi-v6/${want}/${f}`))) throw new Error(`${vsix} carries ${f}, which is left out`);
  for (const need of [`napi-v6/${want}/onnxruntime_binding.node`, ...t.binaries.map((b) => `napi-v6/${want}/${b}`), 'extension/dist/extension.js', 'extension/dist/engineProcess.js', 'extension/models/default/overfill.json', 'extension/models/default/full.onnx', 'extension/models/default/decoder.onnx', 'extension/models/default/tokenizer.json']) {
    if (!listing.some((f) => f.endsWith(need))) throw new Error(`${vsix} lacks ${need}`);
  }
  // Every page a walkthrough step shows must ship, or the step opens empty.
  for (const w of pkg.contributes?.walkthroughs ?? []) {
    for (const step of w.steps ?? []) {
      const page = step.media?.markdown?.replace(/^\.\//, '');
      if (page && !listing.includes(`extension/${page}`)) throw new Error(`${vsix} lacks ${page} (walkthrough ${w.id}, step ${step.id})`);
    }
  }
}
