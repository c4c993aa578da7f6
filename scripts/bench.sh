#!/usr/bin/env bash
# Benchmarks of docs/benchmarks.md, each as a ratio against a baseline
# measured in the same run (these machines are noisy):
#
#   1. POST /v1/customers throughput against a running server, on SQLite
#      and on PostgreSQL, driven by cmd/loadgen; baseline: GET /healthz on
#      the same server.
#   2. GET /v1/customers/{key} latency at 1 thousand and 1 million
#      customers (BenchmarkGetCustomer in internal/httpapi).
#
#   bash scripts/bench.sh            # both
#   bash scripts/bench.sh load       # only 1
#   bash scripts/bench.sh get        # only 2
#
# BENCH_CONCURRENCY (default 32) and BENCH_DURATION (default 10s) tune the
# load runs. Installs and starts PostgreSQL when missing (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
concurrency=${BENCH_CONCURRENCY:-32}
duration=${BENCH_DURATION:-10s}
out=bench-out
mkdir -p "$out"

echo "# $(nproc) CPUs, $(go version | cut -d' ' -f3-), $(. /etc/os-release && echo "$PRETTY_NAME")"
pg=$(bash scripts/postgres.sh)

server_pid=
stop_server() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
sqlite_dir=
trap 'stop_server; [[ -z $sqlite_dir ]] || rm -rf "$sqlite_dir"' EXIT

# start_server NAME DB starts the built binary on a free port and sets url
# and key from what it prints on first start.
start_server() {
  local name=$1 db=$2
  "$out/advocate" serve --addr 127.0.0.1:0 --db "$db" --rate-limit 0 >"$out/$name.out" 2>"$out/$name.log" &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^Advocate is running at' "$out/$name.out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$out/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  url=$(awk '/^Advocate is running at/ {print $5}' "$out/$name.out")
  key=$(awk '/Secret key:/ {print $3}' "$out/$name.out")
  if [[ -z $url || -z $key ]]; then
    echo "server $name did not start; see $out/$name.out and $out/$name.log" >&2
    exit 1
  fi
}

# rate prints the req/s figure of a loadgen result line.
rate() { awk '{for (i = 1; i < NF; i++) if ($(i+1) == "req/s") print $i}' <<<"$1"; }

# load_engine NAME DB measures the baseline and customer creation on one engine.
load_engine() {
  local name=$1 db=$2
  start_server "$name" "$db"
  local base post
  base=$("$out/loadgen" -url "$url/healthz" -c "$concurrency" -d "$duration" -label "GET /healthz ($name)")
  echo "$base"
  post=$("$out/loadgen" -url "$url/v1/customers" -key "$key" -c "$concurrency" -d "$duration" \
    -label "POST /v1/customers ($name)" \
    -body '{"email":"load-{n}@example.com","name":"Load Customer {n}","key":"load-{n}","metadata":{"plan":"pro"}}')
  echo "$post"
  awk -v p="$(rate "$post")" -v b="$(rate "$base")" -v n="$name" \
    'BEGIN {printf "ratio POST /v1/customers / GET /healthz (%s): %.3f\n", n, p / b}'
  stop_server
}

if [[ $what == all || $what == load ]]; then
  go build -o "$out/advocate" ./cmd/advocate
  go build -o "$out/loadgen" ./cmd/loadgen
  echo "# load: $concurrency workers for $duration after a 1s warm-up; server and load generator share the machine"

  sqlite_dir=$(mktemp -d "$out/sqlite.XXXXXX")
  load_engine sqlite "$sqlite_dir/advocate.db"

  PGOPTIONS=--client-min-messages=warning runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS advocate_bench" -c "CREATE DATABASE advocate_bench OWNER advocate"
  load_engine postgres "${pg/\/advocate_test\?//advocate_bench?}"
fi

if [[ $what == all || $what == get ]]; then
  echo "# GET /v1/customers/{key}: random keys, one client, httptest server"
  ADVOCATE_TEST_POSTGRES=$pg ADVOCATE_BENCH_LARGE=1 \
    go test -run '^$' -bench 'BenchmarkGetCustomer' -benchtime 5s ./internal/httpapi/ | tee "$out/get.txt"
  awk '/^BenchmarkGetCustomer/ {
      split($1, p, "/"); eng = p[2]; sub(/^customers=/, "", p[3]); sub(/-[0-9]+$/, "", p[3]); n = p[3] + 0
      for (i = 3; i < NF; i++) if ($(i+1) == "ns/op") ns[eng, n] = $i
      engines[eng] = 1
    }
    END { for (e in engines) if (ns[e, 1000] && ns[e, 1000000])
      printf "ratio GET /v1/customers/{key} 1M / 1k customers (%s): %.2f\n", e, ns[e, 1000000] / ns[e, 1000] }' "$out/get.txt"
fi
