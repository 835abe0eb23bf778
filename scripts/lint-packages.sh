#!/usr/bin/env bash
# Every workspace package as npm would publish it: packed with pnpm (workspace:* becomes a version), then checked
# with publint (package.json fields against the files in the tarball) and @arethetypeswrong/cli (types resolve for
# every consumer), the tarball holds LICENSE, and `require()` of the package by name (its own "exports", through
# self-reference) loads it on this Node.
#
# attw runs with --profile esm-only: the packages are ESM only on purpose (one copy of each class, so `instanceof
# AgentSecretsError` holds; a dual build would load two), and every Node in `engines` (^20.19, ^22.12, 24) loads
# an ES module with require(). The require() line below proves it on the Node that runs this script.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for dir in packages/* apps/*; do
  name=$(node -p "require('./$dir/package.json').name")
  private=$(node -p "require('./$dir/package.json').private === true")
  [ "$private" = true ] && continue
  (cd "$dir" && pnpm pack --pack-destination "$work" >/dev/null)
  tarball=$(ls "$work"/*.tgz)
  files=$(tar -tzf "$tarball")
  grep -qx 'package/LICENSE' <<<"$files" || { echo "lint-packages: $name: no LICENSE in the tarball" >&2; exit 1; }
  pnpm exec publint run --strict "$tarball" >"$work/publint.log" 2>&1 || { cat "$work/publint.log" >&2; exit 1; }
  pnpm exec attw --profile esm-only --format ascii --no-emoji "$tarball" >"$work/attw.log" 2>&1 ||
    { cat "$work/attw.log" >&2; exit 1; }
  (cd "$dir" && node -e 'require(process.argv[1])' "$name")
  rm -f "$tarball"
  echo "lint-packages: $name ok"
done
