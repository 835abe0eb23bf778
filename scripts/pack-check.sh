#!/usr/bin/env bash
# Packs the CLI as npm would publish it, installs the tarball globally into a throwaway prefix (dependencies from the
# npm registry, as on a user's machine), and runs it: --version, --help, a first run with the file vault, and one
# command from each chunk the CLI loads only when a command needs it (the core, the proxy, the MCP server, mcp install).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd apps/cli && pnpm pack --pack-destination "$work" >/dev/null)
tarball=$(ls "$work"/agentsecrets-*.tgz)
npm install -g --prefix "$work/prefix" --no-audit --no-fund --loglevel=error "$tarball" >/dev/null
bin="$work/prefix/bin/agentsecrets"
"$bin" --version
"$bin" --help | head -n 3
export HOME="$work/home" AGENTSECRETS_HOME="$work/home/.agentsecrets" AGENTSECRETS_KEYCHAIN=file
export AGENTSECRETS_PASSPHRASE='pack check passphrase'
mkdir -p "$work/project" && cd "$work/project"
"$bin" init --yes >/dev/null
printf 'pack-check-secret-value' | "$bin" secrets set PACK_CHECK --stdin >/dev/null
"$bin" secrets list --json | grep -q '"PACK_CHECK"'
"$bin" proxy start --detach --port 0 >/dev/null
trap '"$bin" proxy stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$bin" secrets list --json | grep '"PACK_CHECK"' >/dev/null
"$bin" proxy stop >/dev/null
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"pack-check","version":"1"}}}' |
  "$bin" mcp serve | grep '"serverInfo"' >/dev/null
"$bin" mcp install --client cursor --dry-run | grep 'cursor: would change' >/dev/null
echo "pack-check: the packed CLI installs with npm i -g and runs"
