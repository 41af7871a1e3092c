// Which onnxruntime-node the engine runs. Normally the one shipped with the extension; once
// "OverFill: Set Up CUDA" has placed CUDA provider libraries beside a copy of it in global
// storage, that copy: ORT opens provider libraries from the folder holding libonnxruntime.so.1,
// and a .vsix install can never write into the extension's own folder.
import { createRequire } from 'module';
import * as path from 'path';
import type * as Ort from 'onnxruntime-node';
import { ORT_PATH_ENV } from './runtimeEnv';

// Webpack cannot bundle a computed require: its __non_webpack_require__ is Node's own (outside
// webpack, in the compiled tests, createRequire makes one).
declare const __non_webpack_require__: NodeJS.Require | undefined;
const nodeRequire = typeof __non_webpack_require__ === 'function' ? __non_webpack_require__ : createRequire(__filename);

/** The package the binding comes from (the log line says where the engine's runtime is). */
export let ortPath: string = process.env[ORT_PATH_ENV] || 'onnxruntime-node';

function load(): typeof Ort {
  try {
    return nodeRequire(ortPath) as typeof Ort;
  } catch (err) {
    // A CUDA runtime removed from another window while this one ran: the shipped binding still works.
    if (ortPath === 'onnxruntime-node') throw err;
    process.emitWarning(`onnxruntime-node at ${ortPath} did not load (${(err as Error).message.split('\n')[0]}); using the extension's own`);
    ortPath = 'onnxruntime-node';
    return nodeRequire(ortPath) as typeof Ort;
  }
}

const binding = load();
export const Tensor = binding.Tensor;
export const InferenceSession = binding.InferenceSession;

/** The loaded package's folder (resolved from its main, <package>/dist/index.js). */
function packageDir(): string {
  return path.dirname(path.dirname(nodeRequire.resolve(ortPath)));
}

/** The folder holding the native library ORT looks for provider libraries beside. */
export function ortNativeDir(): string {
  return path.join(packageDir(), 'bin', 'napi-v6', process.platform, process.arch);
}

/** The loaded onnxruntime-node's version: the one CUDA provider libraries must match. */
export function ortVersion(): string {
  return (nodeRequire(path.join(packageDir(), 'package.json')) as { version: string }).version;
}
