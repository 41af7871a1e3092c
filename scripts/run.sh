#!/usr/bin/env bash
# Installs everything, builds and packages the extension, and starts a real VS Code
# (code-server on 127.0.0.1) with it installed on the embedded default model and a sample
# workspace open. Prints the URL; Ctrl+C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent build
node scripts/package.mjs linux-x64
PORT="${PORT:-8080}"
STATE=.cache/run
mkdir -p "$STATE/home" "$STATE/user-data/User" "$STATE/extensions"
rm -rf "$STATE/workspace"
cp -r media/sample-workspace "$STATE/workspace"
[ -f "$STATE/user-data/User/settings.json" ] || echo '{ "workbench.startupEditor": "none", "telemetry.telemetryLevel": "off" }' > "$STATE/user-data/User/settings.json"
export HOME="$PWD/$STATE/home" XDG_CONFIG_HOME="$PWD/$STATE/home/.config" XDG_DATA_HOME="$PWD/$STATE/home/.local/share"
CS=.tools/code-server/node_modules/.bin/code-server
ARGS=(--user-data-dir "$STATE/user-data" --extensions-dir "$STATE/extensions")
"$CS" "${ARGS[@]}" --force --install-extension build/overfill-code-*-linux-x64.vsix >/dev/null
echo
echo "OverFill Code is running in VS Code at: http://127.0.0.1:$PORT/?folder=$PWD/$STATE/workspace"
echo "(open it in a browser; Ctrl+C here stops it)"
exec "$CS" "${ARGS[@]}" --auth none --bind-addr "127.0.0.1:$PORT" --disable-telemetry --disable-update-check \
  --disable-workspace-trust "$PWD/$STATE/workspace"
