#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: setup, lint, typecheck, then every test against a real Secret Service.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm lint
pnpm typecheck
bash scripts/with-keyring.sh pnpm test
