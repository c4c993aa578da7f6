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
# gcc is the race detector's (it needs cgo); curl runs the README quickstart.
required=(
  "gcc gcc"
  "curl curl"
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
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
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
go test -race -count=1 "$@" "${pkgs[@]}"
