#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: setup, lint, typecheck, the packaging check, the other supported
# Node versions (scripts/node-versions.sh: 22 and 24), then every test on the machine's Node against a real Secret
# Service (gnome-keyring in a private D-Bus session) and a throwaway PostgreSQL. Ends with one summary line:
# "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm lint
pnpm typecheck
node scripts/check-source.mjs
bash scripts/pack-check.sh
bash scripts/node-versions.sh
report=$(mktemp --suffix=.json)
status=0
bash scripts/with-keyring.sh bash scripts/with-postgres.sh pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
' "$report" || true
rm -f "$report"
exit "$status"
