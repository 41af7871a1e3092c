// Bundles the extension host code and the engine process. onnxruntime-node stays external:
// scripts/package.mjs copies it (only the target platform's binaries) next to the bundles.
'use strict';
const path = require('path');

/** @type {import('webpack').Configuration} */
const common = {
  target: 'node',
  mode: 'none',
  devtool: 'nosources-source-map',
  resolve: { extensions: ['.ts', '.js'], conditionNames: ['node', 'require', 'default'] },
  module: {
    rules: [{ test: /\.ts$/, exclude: /node_modules/, use: [{ loader: 'ts-loader', options: { onlyCompileBundledFiles: true, compilerOptions: { sourceMap: true } } }] }],
  },
  externals: { vscode: 'commonjs vscode', 'onnxruntime-node': 'commonjs onnxruntime-node' },
  output: { path: path.resolve(__dirname, 'dist'), filename: '[name].js', libraryTarget: 'commonjs2' },
  infrastructureLogging: { level: 'warn' },
  performance: { hints: false },
};

module.exports = [
  { ...common, name: 'extension', entry: { extension: './src/extension.ts' } },
  // The engine process never sees `vscode`: the layering shows in what each bundle may import.
  { ...common, name: 'engine', entry: { engineProcess: './src/engine/engineProcess.ts' }, externals: { 'onnxruntime-node': 'commonjs onnxruntime-node' } },
];
