#!/usr/bin/env bash
# Installs what building and testing need, on Debian with only the npm registry and Debian's
# apt reachable: Debian packages (PyTorch for training/, Chromium and ripgrep for the
# end-to-end tests), the project's npm packages, and code-server (a real VS Code).
# Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3-torch python3-onnx python3-numpy python3-regex python3-pytest libopenblas0-pthread chromium ripgrep libkrb5-dev strace)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# onnxruntime-node's postinstall downloads CUDA provider files; offline that fails and rolls
# back the whole install. Its CPU binaries ship inside the package, so skip the download.
export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
if [ ! -d node_modules/onnxruntime-node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

bash scripts/setup-code-server.sh
