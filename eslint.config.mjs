// Lint, and the layering rules: the engine never imports `vscode` (it runs in a engine process
// and in tests and benchmarks without VS Code); nor does src/completion (the provider's logic,
// driven by the replay benchmark without a window); only engine/runtime touches onnxruntime-node.
import tseslint from 'typescript-eslint';

const noVscode = { name: 'vscode', message: 'src/engine must not depend on VS Code: take plain data and an AbortSignal.' };
const noOrt = { name: 'onnxruntime-node', message: 'Only src/engine/runtime talks to onnxruntime-node.', allowTypeImports: true };
const noAdapters = { group: ['**/vscode/*'], message: 'src/engine must not import the VS Code adapters.' };

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'build/**', '.cache/**', '.tools/**', 'node_modules/**', 'test/fixtures/**', 'webpack.config.js'] },
  ...tseslint.configs.recommended,
  { files: ['src/engine/**/*.ts'], rules: { 'no-restricted-imports': ['error', { paths: [noVscode, noOrt], patterns: [noAdapters] }] } },
  { files: ['src/engine/runtime/**/*.ts'], rules: { 'no-restricted-imports': ['error', { paths: [noVscode], patterns: [noAdapters] }] } },
  {
    files: ['src/completion/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'src/completion runs without VS Code (the replay benchmark drives it): take plain data.' }, noOrt], patterns: [{ group: ['**/vscode/*'], message: 'src/completion must not import the VS Code adapters.' }] }] },
  },
  { files: ['src/vscode/**/*.ts', 'src/extension.ts'], rules: { 'no-restricted-imports': ['error', { paths: [noOrt] }] } },
);
