#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3, the newest that runs on node 20) into
# .tools/code-server, offline but for the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=4.100.3
DEST=.tools/code-server
BIN="$DEST/node_modules/.bin/code-server"
if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "^$VERSION"; then exit 0; fi

# @vscode/ripgrep's postinstall downloads rg from the internet: seed its cache with Debian's rg
# under the archive name it looks for.
RG_CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
RG_ARCHIVE="$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$RG_ARCHIVE" ]; then
  mkdir -p "$RG_CACHE/stage"
  cp "$(command -v rg)" "$RG_CACHE/stage/rg"
  tar -C "$RG_CACHE/stage" -czf "$RG_ARCHIVE" rg
  rm -rf "$RG_CACHE/stage"
fi

echo "setup: installing code-server $VERSION (builds native modules; a few minutes)"
rm -rf "$DEST"
mkdir -p "$DEST"
echo '{ "name": "overfill-tools", "private": true }' > "$DEST/package.json"
# unsafe_perm: code-server's postinstall refuses to run as root without it. Its scripts must
# run (they install VS Code's own modules), hence allowing them in this folder only.
(cd "$DEST" && npm_config_unsafe_perm=true npm_config_yes=true npm_config_nodedir=/usr \
  npm install --no-audit --no-fund --loglevel=error --dangerously-allow-all-scripts "code-server@$VERSION" >install.log 2>&1) \
  || { tail -40 "$DEST/install.log"; echo "setup: code-server install failed (log: $DEST/install.log)"; exit 1; }
"$BIN" --version | head -1
