#!/usr/bin/env bash
# Packs the CLI as npm would publish it, installs the tarball globally into a throwaway prefix (dependencies from the
# npm registry, as on a user's machine), and runs it: --version, --help, a first run with the file vault, and one
# command from each chunk the CLI loads only when a command needs it (the core, the proxy, the MCP server, mcp install).
# First every package's tarball is linted (scripts/lint-packages.sh: publint, attw, LICENSE, require()), unless
# --no-lint (scripts/node-versions.sh runs this smoke on each Node with that Node first on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = --no-lint ] || bash scripts/lint-packages.sh
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
upstream_dir=$(pwd)/scripts
mkdir -p "$work/project" && cd "$work/project"
"$bin" init --yes >/dev/null
printf 'pack-check-secret-value' | "$bin" secrets set PACK_CHECK --stdin >/dev/null
"$bin" secrets list --json | grep -q '"PACK_CHECK"'
# A call against a local upstream that echoes the credential: injected, and redacted on the way back.
node "$upstream_dir/demo-upstream.mjs" >"$work/upstream.port" &
upstream_pid=$!
trap 'kill "$upstream_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -s "$work/upstream.port" ] && break; sleep 0.1; done
port=$(cat "$work/upstream.port")
"$bin" allowlist add "http://127.0.0.1:$port" >/dev/null
answer=$("$bin" call --url "http://127.0.0.1:$port/v1" --bearer PACK_CHECK)
grep -q 'REDACTED' <<<"$answer"
if grep -q 'pack-check-secret-value' <<<"$answer"; then echo "pack-check: the value came back" >&2; exit 1; fi
"$bin" proxy start --detach --port 0 >/dev/null
trap '"$bin" proxy stop >/dev/null 2>&1 || true; kill "$upstream_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" secrets list --json | grep '"PACK_CHECK"' >/dev/null
"$bin" proxy stop >/dev/null
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"pack-check","version":"1"}}}' |
  "$bin" mcp serve | grep '"serverInfo"' >/dev/null
"$bin" mcp install --client cursor --dry-run | grep 'cursor: would change' >/dev/null
echo "pack-check: the packed CLI installs with npm i -g and runs on node $(node --version)"
