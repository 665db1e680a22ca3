# Helpers for the conformance scripts (sourced).
# matches GREP-ARGS...: grep that reads all of its input. `cmd | grep -q` stops reading at the
# first match, the writer then dies of SIGPIPE, and with pipefail the pipeline fails anyway.
matches() { grep "$@" >/dev/null; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; }
# wait_status SERVER STATUS [TIMEOUT]: polls `openstack server show` until the status matches.
wait_status() {
  local server=$1 want=$2 timeout=${3:-120} status=""
  for _ in $(seq 1 "$timeout"); do
    status=$(openstack server show "$server" -f value -c status 2>/dev/null || echo GONE)
    [ "$status" == "$want" ] && return 0
    [ "$status" == "ERROR" ] && [ "$want" != "ERROR" ] && fail "server $server went to ERROR: $(openstack server show "$server" -f value -c fault)"
    sleep 1
  done
  fail "server $server is $status, not $want, after ${timeout}s"
}
# free_port: a TCP port free on loopback right now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# strata_up LOG PORT ARGS...: starts `bin/strata up --bind 127.0.0.1 --port PORT ARGS...` in the
# background, appending to LOG, and waits for its /healthz; its pid is left in strata_pid.
strata_up() {
  local log=$1 port=$2
  shift 2
  "$root/bin/strata" up --port "$port" --bind 127.0.0.1 "$@" >>"$log" 2>&1 &
  strata_pid=$!
  for _ in $(seq 1 240); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$strata_pid" 2>/dev/null || { tail -50 "$log"; fail "strata up died"; }
    sleep 0.5
  done
  fail "strata up did not start"
}
