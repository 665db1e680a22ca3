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
