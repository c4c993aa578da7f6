#!/usr/bin/env bash
# Benchmarks of docs/benchmarks.md, each as a ratio against a baseline
# measured in the same run (these machines are noisy):
#
#   1. POST /v1/customers throughput against a running server, on SQLite
#      and on PostgreSQL, driven by cmd/loadgen; baseline: GET /healthz on
#      the same server.
#   2. GET /v1/customers/{key} latency at 1 thousand and 1 million
#      customers (BenchmarkGetCustomer in internal/httpapi).
#   3. POST /v1/transactions that fire two rules, each with its own
#      Idempotency-Key as clients are told to send, against a running server
#      on SQLite and on PostgreSQL, in rounds (median and range); baseline:
#      GET /healthz before each round; afterwards advocate verify and the
#      reward count.
#   4. GET /v1/customers/{key}/stats and /balance at 1 thousand and 1
#      million ledger entries (BenchmarkCustomerReads in internal/httpapi).
#   5. GET /r/{code} throughput with wrk against a bare net/http handler
#      returning the same 302 (loadgen bare302); p99 at 80% of the maximum
#      rate, open loop; clicks counted after that run; po.js gzipped.
#   6. Stripe events applied per second on SQLite: signed invoice.paid
#      events (renewals of 2,000 customers made from customer.created
#      events, each referred) to the program's Stripe webhook endpoint, in
#      rounds with GET /healthz and POST /v1/transactions (the same payment
#      through the API) as baselines; afterwards advocate verify.
#
#   bash scripts/bench.sh                # all
#   bash scripts/bench.sh load           # only 1
#   bash scripts/bench.sh get            # only 2
#   bash scripts/bench.sh transactions   # only 3
#   bash scripts/bench.sh reads          # only 4
#   bash scripts/bench.sh redirect       # only 5
#   bash scripts/bench.sh stripe         # only 6
#
# BENCH_CONCURRENCY (default 32) and BENCH_DURATION (default 10s) tune the
# load runs, BENCH_TX_CONCURRENCY (default 64), BENCH_TX_ROUNDS (default 3)
# and BENCH_TX_ENGINES (default "sqlite postgres") those of 3;
# BENCH_TX_WEBHOOKS (default 0) subscribes that many webhook endpoints to
# every event (a local receiver answering 204) during 3, so that a run with
# 3 can be compared with one with 0 (the goal: at least 0.9). Installs and
# starts PostgreSQL when missing, and wrk for 5 (needs root). BENCH_BIN
# names an advocate binary to run instead of building one from this
# checkout, so that builds can be alternated in one session, as the noise
# of a shared machine requires.
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
# bare_pid is the bare302 handler of the redirect section, while it runs.
bare_pid=
stop_bare() {
  if [[ -n $bare_pid ]]; then
    kill "$bare_pid" 2>/dev/null || true
    bare_pid=
  fi
}
# new_sqlite sets sqlite_dir to a fresh temporary directory for a SQLite
# database (dropping any previous one); drop_sqlite removes it.
sqlite_dir=
drop_sqlite() {
  if [[ -n $sqlite_dir ]]; then
    rm -rf "$sqlite_dir"
    sqlite_dir=
  fi
}
new_sqlite() {
  drop_sqlite
  sqlite_dir=$(mktemp -d "$out/sqlite.XXXXXX")
}
# cleanup runs on every exit, early or not, so nothing outlives the script.
cleanup() {
  stop_server
  stop_bare
  drop_sqlite
}
trap cleanup EXIT

# start_server NAME DB starts the built binary on a free port and sets url
# and key from what it prints on first start.
start_server() {
  local name=$1 db=$2
  local extra=()
  if ((${tx_webhooks:-0} > 0)); then extra=(--webhook-allow-private); fi
  "$out/advocate" serve --addr 127.0.0.1:0 --db "$db" --rate-limit 0 --metrics-token bench-metrics-token-0123 "${extra[@]}" >"$out/$name.out" 2>"$out/$name.log" &
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

# build_advocate puts the binary to measure at $out/advocate: BENCH_BIN if
# set, else a build of this checkout.
build_advocate() {
  if [[ -n ${BENCH_BIN:-} ]]; then
    cp "$BENCH_BIN" "$out/advocate"
  else
    go build -o "$out/advocate" ./cmd/advocate
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
  build_advocate
  go build -o "$out/loadgen" ./cmd/loadgen
  echo "# load: $concurrency workers for $duration after a 1s warm-up; server and load generator share the machine"

  new_sqlite
  load_engine sqlite "$sqlite_dir/advocate.db"
  drop_sqlite

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

# metric prints the value of the Prometheus sample named exactly $1 (name
# and labels) on the running server, 0 when there is none yet.
metric() {
  curl -fsS -H "Authorization: Bearer bench-metrics-token-0123" "$url/metrics" | awk -v m="$1" 'index($0, m " ") == 1 {v = $NF} END {print v + 0}'
}

# io_counts PID prints the process's read and write system calls and the
# bytes they read and wrote (rchar, wchar), sockets included: the
# database's share is what changes between builds of the same server.
io_counts() { awk '/^syscr/ {r = $2} /^syscw/ {w = $2} /^rchar/ {rb = $2} /^wchar/ {wb = $2} END {print r, w, rb, wb}' "/proc/$1/io"; }

# count_rows ENGINE DB TABLE counts a table's rows, read straight from the
# database rather than through Advocate.
count_rows() {
  if [[ $1 == sqlite ]]; then
    sqlite3 "$2" "SELECT COUNT(*) FROM $3"
  else
    runuser -u postgres -- psql -d advocate_bench_tx -tAc "SELECT COUNT(*) FROM $3"
  fi
}

# tx_engine NAME DB measures POST /v1/transactions on one engine: two rules
# (referrer credit, friend discount, both available at once) and 200
# referrers with 2,000 referred friends made through the API first; every
# request is then a new transaction key for one of the friends, so each
# writes a transaction, two rewards, a ledger transaction of two entries, a
# discount code and five events. Afterwards the server is stopped, the
# ledger verified and the rewards counted.
tx_engine() {
  local name=$1 db=$2 engine=$1
  start_server "tx-$engine" "$db"
  local rule
  for rule in \
    '{"name":"Referrer credit","trigger":"purchase","recipient":"referrer","reward_type":"credit","amount":10,"unit":"fixed","currency":"USD","recurrence":"every"}' \
    '{"name":"Friend discount","trigger":"purchase","recipient":"friend","reward_type":"discount","amount":20,"unit":"percentage","recurrence":"every"}'; do
    curl -fsS -o /dev/null -X POST "$url/v1/reward_rules" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$rule"
  done
  local i received=""
  if ((tx_webhooks > 0)); then
    "$out/loadgen" receive >"$out/receive.out" &
    receiver_pid=$!
    for _ in $(seq 1 50); do grep -q '^receive listening' "$out/receive.out" 2>/dev/null && break; sleep 0.1; done
    received=$(awk '/^receive listening on/ {print $4}' "$out/receive.out")
    for ((i = 1; i <= tx_webhooks; i++)); do
      curl -fsS -o /dev/null -X POST "$url/v1/webhook_endpoints" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
        -d "{\"url\":\"$received/hooks/$i\",\"events\":[\"*\"]}"
    done
    name="$name, $tx_webhooks webhook endpoints"
  fi
  "$out/loadgen" -url "$url/v1/customers" -key "$key" -n 200 -label "seed: 200 referrers ($name)" \
    -body '{"key":"referrer-{i}","email":"referrer-{i}@example.com","name":"Referrer {i}","referral_code":"REF{i}"}'
  "$out/loadgen" -url "$url/v1/customers" -key "$key" -n 2000 -label "seed: 2000 friends ($name)" \
    -body '{"key":"friend-{i}","email":"friend-{i}@example.com","name":"Friend {i}","referred_by":"REF{i%200}"}'
  # Rounds of the baseline and the transactions, one after the other: the
  # machine's speed drifts by up to a half within minutes (neighbours), so
  # one round says little; the median and the range say more.
  local base post cpu0 cpu1 n0 n1 round r rates=() ratios=()
  local created='advocate_http_requests_total{route="POST /v1/transactions",status="201"}'
  for ((round = 1; round <= tx_rounds; round++)); do
    base=$("$out/loadgen" -url "$url/healthz" -c "$tx_concurrency" -d "$duration" -label "GET /healthz ($name $round)")
    echo "$base"
    cpu0=$(metric process_cpu_seconds_total) n0=$(metric "$created") io0=$(io_counts "$server_pid")
    if [[ -n $received ]]; then d0=$(curl -fsS "$received/count"); fi
    post=$("$out/loadgen" -url "$url/v1/transactions" -key "$key" -c "$tx_concurrency" -d "$duration" \
      -label "POST /v1/transactions ($name $round)" -H 'Idempotency-Key: idem-{n}' \
      -body '{"customer_key":"friend-{i%2000}","key":"txn-{n}","type":"purchase","amount":50,"currency":"USD"}')
    echo "$post"
    cpu1=$(metric process_cpu_seconds_total) n1=$(metric "$created") io1=$(io_counts "$server_pid")
    if [[ -n $received ]]; then
      awk -v n="$name $round" -v a="$d0" -v b="$(curl -fsS "$received/count")" -v d="${duration%s}" \
        'BEGIN {printf "webhook deliveries received during the round (%s): %d, %.0f/s\n", n, b - a, (b - a) / d}'
    fi
    r=$(rate "$post")
    rates+=("$r") ratios+=("$(awk -v p="$r" -v b="$(rate "$base")" 'BEGIN {printf "%.3f", p / b}')")
    awk -v n="$name $round" -v c0="$cpu0" -v c1="$cpu1" -v k=$((n1 - n0)) \
      'BEGIN {printf "server CPU per transaction (%s): %.0f µs (%.1f CPU-seconds for %d transactions, warm-up included)\n", n, (c1 - c0) * 1e6 / k, c1 - c0, k}'
    awk -v n="$name $round" -v k=$((n1 - n0)) -v a="$io0" -v b="$io1" \
      'BEGIN {split(a, x); split(b, y); printf "server system calls per transaction (%s): %.1f reads (%.0f KB), %.1f writes (%.0f KB)\n", n, (y[1] - x[1]) / k, (y[3] - x[3]) / k / 1000, (y[2] - x[2]) / k, (y[4] - x[4]) / k / 1000}'
  done
  printf '%s\n' "${rates[@]}" | sort -n | awk -v n="$name" -v r="${ratios[*]}" '{v[NR] = $1}
    END {printf "POST /v1/transactions (%s): median %.0f/s of %d rounds (%.0f - %.0f/s); ratio to GET /healthz per round: %s\n",
         n, v[int((NR + 1) / 2)], NR, v[1], v[NR], r}'
  if [[ -n $received ]]; then
    # The backlog left when the load stops, and how long it takes to drain.
    # Done when nothing more came for 3 s (the deliverer polls every
    # second, and yields while the API writes), or after 300 s.
    local before after waited=0 still=0 stopped
    stopped=$(curl -fsS "$received/count")
    after=$stopped
    while :; do
      sleep 1
      waited=$((waited + 1))
      before=$after after=$(curl -fsS "$received/count")
      if ((after == before)); then still=$((still + 1)); else still=0; fi
      ((still >= 3 || waited >= 300)) && break
    done
    local drained=$((waited - still))
    awk -v n="$name" -v a="$after" -v s="$stopped" -v w="$drained" \
      'BEGIN {printf "webhook deliveries (%s): %d received in all; %d after the load stopped, in about %ds: %.0f/s\n", n, a, a - s, w, (a - s) / (w > 0 ? w : 1)}'
  fi
  stop_server
  if [[ -n $received ]]; then kill "$receiver_pid"; fi
  "$out/advocate" verify --db "$db"
  local txns rewards codes
  txns=$(count_rows "$engine" "$db" transactions) rewards=$(count_rows "$engine" "$db" rewards) codes=$(count_rows "$engine" "$db" discount_codes)
  echo "rows ($name): $txns transactions, $rewards rewards, $codes discount codes"
  if ((rewards != 2 * txns || codes != txns)); then
    echo "FAIL: want two rewards and one discount code per transaction" >&2
    exit 1
  fi
  echo "rewards = 2 x transactions ($name): ok"
}

if [[ $what == all || $what == transactions ]]; then
  build_advocate
  go build -o "$out/loadgen" ./cmd/loadgen
  command -v sqlite3 >/dev/null || apt-get install -y sqlite3 >/dev/null
  tx_concurrency=${BENCH_TX_CONCURRENCY:-64} tx_rounds=${BENCH_TX_ROUNDS:-3} tx_engines=" ${BENCH_TX_ENGINES:-sqlite postgres} "
  tx_webhooks=${BENCH_TX_WEBHOOKS:-0}
  echo "# transactions: $tx_rounds rounds of GET /healthz then POST /v1/transactions, $tx_concurrency workers for $duration after a 1s warm-up each; server and load generator share the machine"

  if [[ $tx_engines == *" sqlite "* ]]; then
    new_sqlite
    tx_engine sqlite "$sqlite_dir/advocate.db"
    drop_sqlite
  fi
  if [[ $tx_engines == *" postgres "* ]]; then
    PGOPTIONS=--client-min-messages=warning runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 \
      -c "DROP DATABASE IF EXISTS advocate_bench_tx" -c "CREATE DATABASE advocate_bench_tx OWNER advocate"
    tx_engine postgres "${pg/\/advocate_test\?//advocate_bench_tx?}"
  fi
fi

if [[ $what == all || $what == reads ]]; then
  echo "# stats and balance: random referrers, one client, httptest server"
  ADVOCATE_TEST_POSTGRES=$pg ADVOCATE_BENCH_LARGE=1 \
    go test -run '^$' -bench 'BenchmarkCustomerReads' -benchtime 5s -timeout 30m ./internal/httpapi/ | tee "$out/reads.txt"
  awk '/^BenchmarkCustomerReads/ {
      split($1, p, "/"); eng = p[2]; sub(/^entries=/, "", p[3]); n = p[3] + 0; read = p[4]; sub(/-[0-9]+$/, "", read)
      for (i = 3; i < NF; i++) if ($(i+1) == "ns/op") ns[eng, read, n] = $i
      keys[eng "/" read] = 1
    }
    END { for (k in keys) { split(k, q, "/"); if (ns[q[1], q[2], 1000] && ns[q[1], q[2], 1000000])
      printf "ratio GET /v1/customers/{key}/%s 1M / 1k ledger entries (%s): %.2f\n", q[2], q[1], ns[q[1], q[2], 1000000] / ns[q[1], q[2], 1000] } }' "$out/reads.txt"
fi

if [[ $what == all || $what == redirect ]]; then
  build_advocate
  go build -o "$out/loadgen" ./cmd/loadgen
  command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
  command -v sqlite3 >/dev/null || apt-get install -y sqlite3 >/dev/null
  # A browser's user agent: bots' clicks are not recorded, and the
  # benchmark is of a redirect that records one.
  ua='User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
  new_sqlite
  start_server redirect "$sqlite_dir/advocate.db"
  curl -fsS -o /dev/null -X POST "$url/v1/customers" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"key":"jane","email":"jane@example.com","name":"Jane","referral_code":"JANE20"}'
  location=$(curl -sS -o /dev/null -w '%{redirect_url}' -H "$ua" "$url/r/JANE20")
  "$out/loadgen" bare302 -addr 127.0.0.1:0 -location "$location" >"$out/bare302.out" &
  bare_pid=$!
  for _ in $(seq 1 50); do grep -q listening "$out/bare302.out" && break; sleep 0.1; done
  bare=$(awk '/listening/ {print $4}' "$out/bare302.out")
  echo "# redirect: wrk -t2 -c64 for 5s, alternating the bare handler and Advocate, three rounds; both redirect to $location"

  # cpu_ticks PID prints the process's user and system CPU time in ticks.
  cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
  # wrk_run NAME URL PID runs wrk and prints its rate, p99 and the server's
  # CPU time per request; for Advocate also the clicks still queued at the
  # end, which show whether the click writer kept up (a backlog would be
  # work deferred past the measurement).
  wrk_run() {
    local t0 t1 res queued=
    t0=$(cpu_ticks "$3")
    res=$(wrk -t2 -c64 -d5s --latency -H "$ua" "$2/r/JANE20")
    t1=$(cpu_ticks "$3")
    [[ $2 != "$url" ]] || queued="  clicks queued at the end: $(metric advocate_clicks_queued)"
    awk -v name="$1" -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v q="$queued" '
      /requests in/ {n = $1} /Requests\/sec/ {r = $2} $1 == "99%" {p99 = $2} /Non-2xx/ {bad = $NF}
      END {printf "%-22s %8.0f req/s  p99 %-9s %4.0f µs server CPU per request%s%s\n", name, r, p99, ticks / hz * 1e6 / n, q, bad ? "  NON-3xx: " bad : ""}' <<<"$res"
  }
  results=
  for round in 1 2 3; do
    results+=$(wrk_run "bare net/http 302" "$bare" "$bare_pid")$'\n'
    results+=$(wrk_run "advocate GET /r/{code}" "$url" "$server_pid")$'\n'
  done
  printf '%s' "$results"
  max=$(awk '/^advocate/ {s += $4; n++} END {printf "%.0f", s / n}' <<<"$results")
  awk '/^bare/ {b += $4} /^advocate/ {a += $4} END {printf "ratio advocate / bare, mean of 3 rounds: %.2f\n", a / b}' <<<"$results"

  rate80=$((max * 8 / 10))
  echo "# fixed rate: 80% of Advocate's mean maximum, $rate80 req/s, open loop (-raw), 10s after a 1s warm-up, latency from when each request was due"
  # clicks prints the stored clicks once the count has stopped moving and
  # nothing is queued: the server writes them in batches every 100 ms.
  clicks() {
    local last=-1 n same=0
    while ((same < 3)); do
      sleep 0.2
      n=$(sqlite3 "$sqlite_dir/advocate.db" 'SELECT COUNT(*) FROM clicks')
      if [[ $n == "$last" && $(metric advocate_clicks_queued) == 0 ]]; then same=$((same + 1)); else same=0; fi
      last=$n
    done
    echo "$n"
  }
  clicks0=$(clicks)
  fixed=$("$out/loadgen" -raw -url "$url/r/JANE20" -rate "$rate80" -c 128 -d 10s -status 302 -H "$ua" -label "advocate GET /r/{code}")
  echo "$fixed"
  clicks1=$(clicks)
  sent=$(awk '{for (i = 1; i <= NF; i++) {if ($(i+1) == "ok") n += $i; if ($i ~ /^\(\+[0-9]+$/) n += substr($i, 3)}} END {print n}' <<<"$fixed")
  echo "clicks recorded during the fixed-rate run: $((clicks1 - clicks0)) of $sent redirects (warm-up included); lost: $((sent - (clicks1 - clicks0)))"
  echo "clicks dropped by the buffer over the whole run (wrk included): $(metric advocate_clicks_dropped_total), failed to write: $(metric advocate_clicks_failed_total)"
  "$out/loadgen" -raw -url "$bare/r/JANE20" -rate "$rate80" -c 128 -d 10s -status 302 -H "$ua" -label "bare net/http 302"
  # Where the p99 stays low, and how the bare handler fares at 80% of its
  # own maximum: the load generator shares the two CPUs with the server.
  for pct in 25 50; do
    "$out/loadgen" -raw -url "$url/r/JANE20" -rate $((max * pct / 100)) -c 128 -d 5s -status 302 -H "$ua" -label "advocate at ${pct}%"
  done
  bare_max=$(awk '/^bare/ {s += $4; n++} END {printf "%.0f", s / n}' <<<"$results")
  "$out/loadgen" -raw -url "$bare/r/JANE20" -rate $((bare_max * 8 / 10)) -c 128 -d 5s -status 302 -H "$ua" -label "bare at 80% of its max"
  stop_server
  stop_bare
  drop_sqlite

  go test -count=1 -run '^TestSize$' -v ./web/sdk/ | awk '/po.js:/ {sub(/^.*po.js:/, "po.js:"); print}'
fi

if [[ $what == all || $what == stripe ]]; then
  build_advocate
  go build -o "$out/loadgen" ./cmd/loadgen
  command -v sqlite3 >/dev/null || apt-get install -y sqlite3 >/dev/null
  st_concurrency=${BENCH_TX_CONCURRENCY:-64} st_rounds=${BENCH_TX_ROUNDS:-3}
  echo "# stripe: $st_rounds rounds of GET /healthz, POST /v1/transactions and signed Stripe invoice.paid events, $st_concurrency workers for $duration after a 1s warm-up each; SQLite"
  new_sqlite
  db="$sqlite_dir/advocate.db"
  start_server stripe "$db"
  program=$(sed -nE 's/^ *Program: .*\(([^,]+),.*/\1/p' "$out/stripe.out")
  secret=whsec_benchmark0123456789abcdef
  curl -fsS -o /dev/null -X PUT "$url/v1/integrations/stripe" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"webhook_secret\":\"$secret\"}"
  curl -fsS -o /dev/null -X POST "$url/v1/reward_rules" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"name":"Referrer credit","trigger":"subscription","recipient":"referrer","reward_type":"credit","amount":10,"unit":"percentage","recurrence":"every"}'
  hook="$url/integrations/stripe/webhook/$program"
  "$out/loadgen" -url "$url/v1/customers" -key "$key" -n 200 -label "seed: 200 referrers" \
    -body '{"key":"referrer-{i}","email":"referrer-{i}@example.com","name":"Referrer {i}","referral_code":"REF{i}"}'
  "$out/loadgen" -url "$hook" -stripe-secret "$secret" -n 2000 -label "seed: 2000 customer.created events" \
    -body '{"id":"evt_c{i}","object":"event","api_version":"2025-03-31.basil","created":1765000000,"livemode":false,"type":"customer.created","data":{"object":{"id":"cus_{i}","object":"customer","email":"friend-{i}@example.com","name":"Friend {i}","metadata":{"advocate_referral_code":"REF{i%200}"}}}}'
  rates=() api_rates=() ratios=() api_ratios=()
  for ((round = 1; round <= st_rounds; round++)); do
    base=$("$out/loadgen" -url "$url/healthz" -c "$st_concurrency" -d "$duration" -label "GET /healthz (stripe $round)")
    echo "$base"
    api=$("$out/loadgen" -url "$url/v1/transactions" -key "$key" -c "$st_concurrency" -d "$duration" \
      -label "POST /v1/transactions (stripe $round)" -H 'Idempotency-Key: idem-{n}' \
      -body '{"customer_key":"cus_{i%2000}","key":"txn-{n}","type":"subscription","amount":50,"currency":"USD"}')
    echo "$api"
    ev=$("$out/loadgen" -url "$hook" -stripe-secret "$secret" -c "$st_concurrency" -d "$duration" -label "Stripe invoice.paid (stripe $round)" \
      -body '{"id":"evt_{n}","object":"event","api_version":"2025-03-31.basil","created":1765000000,"livemode":false,"type":"invoice.paid","data":{"object":{"id":"in_{n}","object":"invoice","customer":"cus_{i%2000}","customer_email":"friend-{i%2000}@example.com","amount_paid":5000,"currency":"usd","billing_reason":"subscription_cycle","status":"paid","status_transitions":{"paid_at":1765000000},"parent":{"type":"subscription_details","subscription_details":{"subscription":"sub_{i%2000}","metadata":{}}},"metadata":{}}}}')
    echo "$ev"
    r=$(rate "$ev") a=$(rate "$api") b=$(rate "$base")
    rates+=("$r") api_rates+=("$a")
    ratios+=("$(awk -v p="$r" -v b="$b" 'BEGIN {printf "%.3f", p / b}')")
    api_ratios+=("$(awk -v p="$r" -v b="$a" 'BEGIN {printf "%.2f", p / b}')")
  done
  printf '%s\n' "${rates[@]}" | sort -n | awk -v r="${ratios[*]}" -v a="${api_ratios[*]}" '{v[NR] = $1}
    END {printf "Stripe events applied (SQLite): median %.0f/s of %d rounds (%.0f - %.0f/s); ratio to GET /healthz per round: %s; to POST /v1/transactions: %s\n",
         v[int((NR + 1) / 2)], NR, v[1], v[NR], r, a}'
  stop_server
  "$out/advocate" verify --db "$db"
  echo "rows: $(sqlite3 "$db" 'SELECT COUNT(*) FROM stripe_events') Stripe events recorded, $(sqlite3 "$db" "SELECT COUNT(*) FROM transactions WHERE metadata LIKE '%stripe%'") transactions from Stripe"
  drop_sqlite
fi
