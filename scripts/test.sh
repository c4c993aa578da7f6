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

# Debian packages the tests use, as "command package": one line each.
# gcc is the race detector's (it needs cgo); curl runs the README
# quickstart; chromium runs the browser tests (internal/browsertest).
required=(
  "gcc gcc"
  "curl curl"
  "chromium chromium"
)
missing=()
for req in "${required[@]}"; do
  read -r cmd pkg <<<"$req"
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
# cgo links against the C library headers too.
[[ -e /usr/include/stdio.h ]] || missing+=(libc6-dev)
if ((${#missing[@]})); then
  echo "installing ${missing[*]}…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${missing[@]}" >&2
fi

ADVOCATE_TEST_POSTGRES=$(bash scripts/postgres.sh)
export ADVOCATE_TEST_POSTGRES
export CGO_ENABLED=1

# Without a package argument, test every package.
pkgs=(./...)
for a in "$@"; do
  case $a in
    ./* | ../* | github.com/*) pkgs=() ;;
  esac
done

go vet ./...
# Every package runs under the race detector. It makes the store and API
# tests about three times slower (measured: 44 s → 135 s for
# internal/httpapi on a loaded 2-core machine), but those are the packages
# with shared state that must be raced; the others cost little either way.
go test -race -count=1 "$@" "${pkgs[@]}"

# The rewards simulation under the race detector walks 1,000 steps; the
# full walk (10,000 steps on SQLite, 2,000 on PostgreSQL, invariants after
# every step) runs without it, where it is 15 times faster.
if ((${#pkgs[@]})); then
  go test -count=1 -run '^TestSimulation$' ./internal/store/
fi
