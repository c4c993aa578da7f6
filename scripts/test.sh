#!/usr/bin/env bash
# The test command: installs what the tests need when it is missing, starts
# PostgreSQL, vets, and runs the whole suite on SQLite and PostgreSQL under
# the race detector. Extra arguments go to `go test`:
#
#   bash scripts/test.sh
#   bash scripts/test.sh -run TestCustomers ./internal/httpapi/
#
# Works from a fresh clone on Debian with Go installed (as root, for
# apt-get). CI runs it through .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use, as "path package": one line each. gcc is
# the race detector's (it needs cgo); curl runs the README quickstart;
# chromium runs the browser tests (internal/browsertest), which launch
# exactly this path. (Node.js and npx, for the OpenAPI linter, come with
# this kind of machine.)
chromium=${ADVOCATE_CHROMIUM:-/usr/bin/chromium}
required=(
  "/usr/bin/gcc gcc"
  "/usr/bin/curl curl"
  "$chromium chromium"
  "/usr/include/stdio.h libc6-dev"
)
missing=()
for req in "${required[@]}"; do
  read -r path pkg <<<"$req"
  [[ -e $path ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "installing ${missing[*]}…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${missing[@]}" >&2
fi
[[ -x $chromium ]] || { echo "no Chromium at $chromium" >&2; exit 1; }
export ADVOCATE_CHROMIUM=$chromium

ADVOCATE_TEST_POSTGRES=$(bash scripts/postgres.sh)
export ADVOCATE_TEST_POSTGRES
export CGO_ENABLED=1
# Every test that cannot reach PostgreSQL or Chromium fails instead of
# skipping, and the report below fails the run on any skip.
export ADVOCATE_TEST_STRICT=1

# Without a package argument, test every package, and require that tests
# ran on both engines and in Chromium.
pkgs=(./...)
for a in "$@"; do
  case $a in
    ./* | ../* | github.com/*) pkgs=() ;;
  esac
done
require=()
((${#pkgs[@]})) && require=(-require sqlite,postgres,chromium)

gofmt_out=$(gofmt -l cmd internal scripts api web 2>/dev/null)
[[ -z $gofmt_out ]] || { echo "gofmt -l lists files to format:"; echo "$gofmt_out"; exit 1; } >&2
go vet ./...
# staticcheck at a pinned version, run from the module proxy so that it
# does not join the project's own dependencies.
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go build -o /tmp/advocate-testreport ./scripts/testreport
report() { /tmp/advocate-testreport "$@"; }

# Every package runs under the race detector. It makes the store and API
# tests about three times slower (measured: 44 s → 135 s for
# internal/httpapi on a loaded 2-core machine), but those are the packages
# with shared state that must be raced; the others cost little either way.
#
# The rewards simulation under the race detector walks one random seed
# for 3,000 steps; the full walk (fixed seeds and a random one, 10,000
# steps each on SQLite and 2,000 on PostgreSQL, invariants after every
# step) runs after it without the detector, where it is 15 times faster.
# The report prints each seed, to replay a failure with -sim.seed.
summary=$(mktemp)
{
  go test -race -count=1 -timeout 30m -json "$@" "${pkgs[@]}"
  if ((${#pkgs[@]})); then
    go test -count=1 -timeout 30m -json -run '^TestSimulation$' ./internal/store/
  fi
} 2>&1 | report -strict "${require[@]}" -summary "$summary"

if ((${#pkgs[@]})); then
  # Each fuzz target for a few seconds beyond its seed corpus (which the
  # runs above already executed); docs/testing.md has the longer runs.
  #
  # Go 1.26's fuzz coordinator may report a bare "context deadline
  # exceeded" when -fuzztime ends while a worker is mid-call on a loaded
  # machine (go.dev/issue/75804, fixed in Go 1.27): no input failed and
  # none was written. Such a run is tried once more; anything else, and a
  # second such failure, fails the suite.
  fuzztime=${ADVOCATE_FUZZTIME:-4s}
  targets=0
  fuzz() {
    go test -run '^$' -fuzz "^${1}\$" -fuzztime "$fuzztime" -fuzzminimizetime 2s "$2" >/tmp/advocate-fuzz.log 2>&1
  }
  deadline_flake() {
    grep -q 'context deadline exceeded' /tmp/advocate-fuzz.log &&
      ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' /tmp/advocate-fuzz.log
  }
  while IFS=: read -r file fn; do
    target=${fn#func }
    echo "fuzz $target in ./$(dirname "$file") for $fuzztime"
    if ! fuzz "$target" "./$(dirname "$file")"; then
      deadline_flake && echo "fuzz $target: Go's fuzztime deadline race (go.dev/issue/75804), no failing input; once more" &&
        fuzz "$target" "./$(dirname "$file")" ||
        { cat /tmp/advocate-fuzz.log; exit 1; }
    fi
    targets=$((targets + 1))
  done < <(grep -rH --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' cmd internal | sort)
  echo "fuzz: $targets targets, $fuzztime each, no failure"

  # The OpenAPI document against Redocly's recommended rules: no error and
  # no warning; each warning turned down is in .redocly.lint-ignore.yaml
  # with its reason.
  lint=$(npx --yes @redocly/cli@2.77.0 lint --format stylish api/openapi.yaml 2>&1) &&
    ! grep -q 'You have [0-9]* warning' <<<"$lint" ||
    { echo "$lint"; echo "OpenAPI lint failed" >&2; exit 1; }
  echo "OpenAPI lint: clean ($(grep -o '[0-9]* problems are explicitly ignored' <<<"$lint" || echo 'nothing ignored'))"
fi

# The closing line, last, for whoever reads the log's end.
cat "$summary"
rm -f "$summary"
