#!/usr/bin/env bash
# Starts a local PostgreSQL for Nubo's store tests, idempotently, on a Debian
# machine: installs the distribution's server package if missing, creates and
# starts the cluster, creates the `nubo` role and the `nubo_test` database, and
# prints the connection URL on stdout (everything else goes to stderr), so CI
# can run:
#
#   export NUBO_TEST_POSTGRES_URL="$(scripts/start-postgres.sh)"
#   cargo test -p nubo-store
#
# Override with NUBO_PG_USER, NUBO_PG_PASSWORD, NUBO_PG_DB.
set -euo pipefail

PG_USER="${NUBO_PG_USER:-nubo}"
PG_PASSWORD="${NUBO_PG_PASSWORD:-nubo}"
PG_DB="${NUBO_PG_DB:-nubo_test}"

log() { echo "start-postgres: $*" >&2; }

if [ "$(id -u)" -eq 0 ]; then
    as_root() { "$@"; }
    as_postgres() { runuser -u postgres -- "$@"; }
else
    as_root() { sudo "$@"; }
    as_postgres() { sudo -u postgres "$@"; }
fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing postgresql"
    as_root apt-get update >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
fi

VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"

# The package creates cluster "main"; some container images skip that step.
if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" { found = 1 } END { exit !found }'; then
    log "creating cluster $VERSION/main"
    as_root pg_createcluster "$VERSION" main >&2
fi

status() { pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" { print $4 }'; }
if [ "$(status)" != "online" ]; then
    log "starting cluster $VERSION/main"
    as_root pg_ctlcluster "$VERSION" main start >&2
fi
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" { print $3 }')"

for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
    sleep 0.5
done
pg_isready -h 127.0.0.1 -p "$PORT" >&2

psql_admin() { as_postgres psql -p "$PORT" -v ON_ERROR_STOP=1 -tA "$@"; }

if [ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" ]; then
    log "creating role $PG_USER"
    psql_admin -c "CREATE USER \"$PG_USER\" PASSWORD '$PG_PASSWORD' SUPERUSER" >&2
fi
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]; then
    log "creating database $PG_DB"
    as_postgres createdb -p "$PORT" -O "$PG_USER" "$PG_DB" >&2
fi

echo "postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PORT/$PG_DB"
