#!/usr/bin/env bash
# Starts an all-in-one cloud on a free port with a fresh data directory, runs every
# tests/cli/*.sh conformance script against it with the openrc sourced, then stops it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=$(mktemp -d /tmp/strata-conformance.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$data/strata.log"

"$root/bin/strata" up --data-dir "$data" --port "$port" --bind 127.0.0.1 --admin-password conformance-admin >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "strata up died" >&2; exit 1; }
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$log"; echo "strata up did not start" >&2; exit 1; }

# shellcheck disable=SC1091
source "$data/openrc"
export STRATA_DATA_DIR="$data" STRATA_URL="http://127.0.0.1:$port"
status=0
for script in "$here"/[0-9]*.sh; do
  echo "-- $(basename "$script")"
  if ! bash "$script"; then
    echo "FAILED: $(basename "$script")" >&2
    status=1
  fi
done
if [ $status -ne 0 ]; then
  echo "---- last lines of the cloud's log" >&2
  tail -50 "$log" >&2
fi
exit $status
