#!/usr/bin/env bash
# Installs (if missing) and starts a local PostgreSQL for the tests, and
# prints the URL to export as ADVOCATE_TEST_POSTGRES. Debian's package and
# pg_ctlcluster; needs root for apt-get. Safe to run again.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "installing postgresql…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$ver main"; then
  pg_createcluster "$ver" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $4}' | grep -q online; then
  pg_ctlcluster "$ver" main start >&2
fi
for _ in $(seq 1 50); do
  runuser -u postgres -- pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.2
done
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 >&2 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'advocate') THEN
    CREATE ROLE advocate LOGIN PASSWORD 'advocate';
  END IF;
END $$;
SELECT 'CREATE DATABASE advocate_test OWNER advocate'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'advocate_test')\gexec
ALTER ROLE advocate SET synchronous_commit = on;
SQL
echo "postgres://advocate:advocate@127.0.0.1:5432/advocate_test?sslmode=disable"
