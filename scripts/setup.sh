#!/usr/bin/env bash
# Installs what building and testing need, on Debian with only the npm registry and Debian's
# apt reachable: Debian packages (PyTorch for training/, Chromium and ripgrep for the
# end-to-end tests), the project's npm packages, and code-server (a real VS Code).
# Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT_PACKAGES=(python3-torch python3-onnx python3-numpy python3-regex python3-pytest libopenblas0-pthread chromium ripgrep libkrb5-dev strace gcc binutils)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The WebGPU tests run on Mesa's software Vulkan driver (lavapipe). Dawn refuses Debian 12's
# Mesa 22 ("shaderUniform*ArrayDynamicIndexing required"); bookworm-backports has Mesa 25. The
# suite is added from the mirror the machine already uses.
mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if ! dpkg --compare-versions "${mesa:-0}" ge 25 || ! dpkg -s libvulkan1 >/dev/null 2>&1; then
  echo "setup: installing Mesa's lavapipe (Vulkan, for WebGPU) from bookworm-backports"
  # Active lines only, in the files apt reads (*.list, *.sources; not *.disabled, not comments).
  # One grep, no pipe: with pipefail a pipe into grep -q can fail on SIGPIPE. -q exits 0 on a match even if a glob names no file.
  if ! grep -qsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; then
    mirror=$(grep -hs -m1 '^URIs:' /etc/apt/sources.list.d/debian.sources | awk '{print $2}' || true)
    # One-line form, options ([signed-by=...]) or not: the URI is the first field starting with a scheme.
    [ -n "$mirror" ] || mirror=$(grep -hs -E '^deb .* bookworm ' /etc/apt/sources.list | grep -o -m1 -E '[a-z]+://[^ ]+' | head -n 1 || true)
    [ -n "$mirror" ] || { echo "setup: no Debian mirror found in /etc/apt to add bookworm-backports from" >&2; exit 1; }
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
  fi
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
fi

# onnxruntime-node's postinstall downloads CUDA provider files; offline that fails and rolls
# back the whole install. Its CPU binaries ship inside the package, so skip the download.
export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
if [ ! -d node_modules/onnxruntime-node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

bash scripts/setup-code-server.sh
