#!/usr/bin/env bash
# The supported Node versions besides the machine's (engines: ^20.19 || ^22.12 || ^24), each from the npm registry's
# `node@N` package, cached under $AGENTSECRETS_NODE_CACHE (default ~/.cache/agentsecrets-ci). The full suite runs on the
# machine's Node (scripts/test.sh); three full runs would take 40-60 min on a loaded 2-core machine, so on each other
# version this runs what differs between versions:
#   1. every package's unit tests (packages/*) on that Node — argon2, @github/keytar (N-API) and libsodium load;
#   2. every library required by name through its "exports" (require() of an ES module);
#   3. the packed CLI installed with that Node's npm i -g and run: init, secrets set --stdin, a call against a local
#      upstream, the proxy, mcp serve answering initialize (scripts/pack-check.sh --no-lint);
#   4. better-sqlite3 (the server's database; not N-API, so built per ABI) compiled against that Node's headers
#      and opened.
# Usage: bash scripts/node-versions.sh [MAJOR ...]   (default: 22 24)
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${AGENTSECRETS_NODE_CACHE:-$HOME/.cache/agentsecrets-ci}
[ $# -gt 0 ] || set -- 22 24
sqlite_version=$(node -p "require('./apps/server/package.json').dependencies['better-sqlite3']")
base_path=$PATH
for major in "$@"; do
  started=$SECONDS
  prefix="$cache/node$major"
  if [ ! -x "$prefix/bin/node" ]; then
    npm install -g --prefix "$prefix" --no-audit --no-fund --loglevel=error "node@$major" >/dev/null
  fi
  export PATH="$prefix/bin:$base_path"
  # The node@N package carries the whole release, headers included (include/node), which node-gyp builds against.
  nodedir=$(dirname "$(dirname "$(ls -d "$prefix"/lib/node_modules/node/node_modules/node-*/include/node)")")
  echo "node-versions: $(node --version)"

  # A wide per-test timeout: the property tests take seconds on a loaded machine, whatever the Node. core's
  # team.test.ts runs a sync server on better-sqlite3, which is built for the machine's Node: step 4 checks it here.
  bash scripts/with-keyring.sh node node_modules/vitest/vitest.mjs run --testTimeout=60000 \
    --exclude '**/team.test.ts' --exclude '**/node_modules/**' \
    --project audit --project core --project crypto --project errors --project injection --project keychain \
    --project sync --project testkit --project fs --project names --project local-ca --project sandbox

  for dir in packages/* apps/*; do
    [ "$(node -p "require('./$dir/package.json').private === true")" = true ] && continue
    (cd "$dir" && node -e 'require(process.argv[1])' "$(node -p "require('./package.json').name")")
  done

  bash scripts/pack-check.sh --no-lint

  work=$(mktemp -d)
  (cd "$work" && npm init -y >/dev/null &&
    npm_config_nodedir="$nodedir" npm install --no-audit --no-fund --loglevel=error "better-sqlite3@$sqlite_version" >/dev/null &&
    node -e 'const D = require("better-sqlite3"); const db = new D(":memory:"); if (db.prepare("select 1 as one").get().one !== 1) process.exit(1); console.log(`node-versions: better-sqlite3 loads on ${process.version}`)')
  rm -rf "$work"
  echo "node-versions: $(node --version) passed in $((SECONDS - started)) s"
done
