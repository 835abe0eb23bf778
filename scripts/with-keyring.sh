#!/usr/bin/env bash
# Runs a command inside a fresh D-Bus session with an unlocked gnome-keyring Secret Service, so the `os` keychain
# backend runs against the real thing on a headless machine. The keyring lives in a temporary directory.
set -euo pipefail
if [ "${AGENTSECRETS_IN_KEYRING_SESSION:-}" = 1 ]; then exec "$@"; fi
exec dbus-run-session -- bash -c '
  set -euo pipefail
  keyring_dir=$(mktemp -d)
  trap "rm -rf \"$keyring_dir\"" EXIT
  printf ci-keyring-password | XDG_DATA_HOME=$keyring_dir gnome-keyring-daemon --unlock --components=secrets >/dev/null
  AGENTSECRETS_IN_KEYRING_SESSION=1 "$@"
' bash "$@"
