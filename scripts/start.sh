#!/usr/bin/env bash
# The first run of a new user, for real: installs and builds, then sets up a vault (the OS keychain where one
# answers, else the encrypted file vault), stores a secret, allowlists a destination, starts the proxy and makes an
# authenticated call through it to a small local API that echoes what it receives — and shows that the credential
# does not come back. The proxy keeps running; `agentsecrets proxy stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

# The owner passphrase is asked once here (or taken from AGENTSECRETS_PASSPHRASE) and kept in a variable of this
# shell that is not exported: no process started from here inherits it — not setup's build tools, not the demo API
# left running below. It is handed to this script's own agentsecrets commands only, one command at a time; the
# background proxy receives it through a pipe, never through its environment.
passphrase="${AGENTSECRETS_PASSPHRASE:-}"
unset AGENTSECRETS_PASSPHRASE
if [ -z "$passphrase" ]; then
  if [ ! -t 0 ]; then
    echo "start: no terminal to ask for the owner passphrase; set AGENTSECRETS_PASSPHRASE for unattended runs" >&2
    exit 2
  fi
  read -r -s -p "Owner passphrase (chosen now on a first run, at least 8 characters): " passphrase
  echo
fi

# AGENTSECRETS_SKIP_SETUP=1 (tests): the machine is set up and built already.
[ "${AGENTSECRETS_SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh >/dev/null
agentsecrets() { AGENTSECRETS_PASSPHRASE="$passphrase" node "$repo/apps/cli/dist/bin.js" "$@"; }

export AGENTSECRETS_HOME="${AGENTSECRETS_HOME:-$HOME/.agentsecrets}"
demo="${AGENTSECRETS_DEMO_DIR:-$HOME/agentsecrets-demo}"
mkdir -p "$demo"
cd "$demo"

echo "== 1. init"
agentsecrets init --yes

echo "== 2. store a secret"
printf 'demo-%s' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" | agentsecrets secrets set DEMO_TOKEN --stdin
agentsecrets secrets list

echo "== 3. allowlist a destination (a local echo API started for this demo)"
port_file=$(mktemp)
nohup node "$repo/scripts/demo-upstream.mjs" >"$port_file" 2>/dev/null &
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
port=$(head -n1 "$port_file")
agentsecrets allowlist add "http://127.0.0.1:$port"

echo "== 4. start the proxy"
if agentsecrets proxy status | grep -q '^running'; then agentsecrets proxy status; else agentsecrets proxy start --detach --port "${AGENTSECRETS_PROXY_PORT:-8765}"; fi
proxy_url=$(agentsecrets proxy status --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).url))')

echo "== 5. an agent calls the API through the proxy, naming the secret"
node -e '
  const [url, token, target] = process.argv.slice(1);
  fetch(url + "/proxy", { headers: { "X-AS-Session-Token": token, "X-AS-Target-URL": target, "X-AS-Inject-Bearer": "DEMO_TOKEN" } })
    .then(async (r) => console.log(`HTTP ${r.status}\n${await r.text()}`));
' "$proxy_url" "$(agentsecrets proxy token)" "http://127.0.0.1:$port/v1/hello"

echo "== 6. the audit log, by key name only"
agentsecrets proxy logs --last 3
echo
echo "The proxy is running at $proxy_url (token: agentsecrets proxy token). Stop it with: node $repo/apps/cli/dist/bin.js proxy stop"
