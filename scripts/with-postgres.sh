#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL 15 on 127.0.0.1 and TEST_DATABASE_URL pointing at it, then stops and
# removes the server. initdb refuses root, so the cluster belongs to the postgres user.
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
data=$(mktemp -d)
port=${AGENTSECRETS_TEST_PG_PORT:-54329}
chown postgres: "$data"
cleanup() {
  runuser -u postgres -- "$bin/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap cleanup EXIT
runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off" start >/dev/null
export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
"$@"
