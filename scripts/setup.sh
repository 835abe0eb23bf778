#!/usr/bin/env bash
# Prepares this machine for AgentSecrets: Debian packages (as root, or through sudo), pnpm 12.4.2, the workspace's
# dependencies and a build. Safe to run again; it only does what is missing.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2
# gnome-keyring etc.: a real Secret Service for the os backend; postgresql-15: the sync server's second engine;
# systemd: `systemd-analyze verify` checks the unit `service install` writes; zsh and fish: the completion scripts
# are run in them; bubblewrap, socat: the sandbox of `agentsecrets run`; python3, git, curl: the clients its tests
# drive.
APT_PACKAGES=(gnome-keyring libsecret-1-0 libsecret-tools dbus postgresql-15 systemd zsh fish bubblewrap socat python3 git curl)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install -g -E "pnpm@$PNPM_VERSION" >/dev/null
fi

# Native addons (better-sqlite3 later) build against Node's own headers.
[ -d /usr/include/node ] && export npm_config_nodedir=/usr
pnpm install --frozen-lockfile
pnpm build
