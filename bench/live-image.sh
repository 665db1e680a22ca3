#!/usr/bin/env bash
# Live images on real guests (QEMU; TCG unless KVM works): starts `strata up --driver qemu` on a
# fresh data dir, registers the test guest, and runs the live-image driver of strata-bench.
# Usage: bench/live-image.sh [--boots N] [--counts 1,10,50] [--ram 256,512,1024] [--settle SECONDS] [--singles N] [--warm N] [--warmup BATCHES] [--warmup-size CLONES] [--poll-ms MS] [--cold-only]
# --cold-only: only the cold boots (Compute API call to the ready marker), the QEMU driver's figure.
# --warm N: warm QEMU processes kept per live image (strata up --live-image-warm; default 1).
# --warmup BATCHES: 10-clone batches launched and deleted before anything is measured (the
# controller's launch path compiled, as in a cloud that has run for a while; default 0).
# --warmup-size CLONES: clones per warm-up batch (default 10).
# --poll-ms MS: how often a batch is listed while it starts (default 20); each clone's start is
# printed as seen by those polls and as the API records it (launched_at), which polls do not delay.
# The cloud overcommits CPU 32:1 (2 cores here would otherwise hold 32 one-vCPU servers, fewer than
# the 50 clones the benchmark starts); idle clones use little CPU.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
JAVA_HOME=$(bin/java-home); export JAVA_HOME
# The jars are built only when missing or older than the sources (STRATA_SKIP_BUILD=1: never): a
# rebuilt jar is a new build to bin/strata, whose controller then records a new JVM AOT cache.
if [ "${STRATA_SKIP_BUILD:-}" != 1 ] && bin/stale-jars strata-cli/target/strata.jar strata-bench/target/strata-bench.jar; then
  mvn -B -q -DskipTests package -pl strata-bench,strata-cli -am >/dev/null
fi
tools/guest-image/build.sh >/dev/null
warm=1
load_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --warm) warm=$2; shift 2 ;;
    *) load_args+=("$1"); shift ;;
  esac
done
data=$(mktemp -d /tmp/sl.XXXXXX)   # short: QEMU's unix sockets live under it
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
STRATA_SKIP_BUILD=1 bin/strata up --driver qemu --data-dir "$data" --port "$port" --bind 127.0.0.1 --admin-password bench --cpu-allocation-ratio 32 --live-image-warm "$warm" \
  >"$data/strata.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # The cloud's log (the driver's per-clone timings: "launched ... running after N ms") outlives the run.
  cp "$data/strata.log" "${STRATA_BENCH_LOG:-/tmp/strata-live-image-bench.log}" 2>/dev/null || true
  pkill -f "qemu-system.*$data" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 1 240); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
export OS_AUTH_URL="http://127.0.0.1:$port/identity/v3" OS_USERNAME=admin OS_PASSWORD=bench OS_PROJECT_NAME=admin \
  OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3
image=$(tools/guest-image/register.sh --name bench-guest | sed -n 's/^image=//p')
echo "warm processes per live image: $warm"
# bin/strata starts the controller from a JVM AOT cache recorded by an earlier run of the same
# build, or records one (written at this run's stop); STRATA_AOT=off runs without.
aot=$(tr '\0' '\n' <"/proc/$pid/cmdline" | sed -n 's/^-XX:AOTCache=/used: /p; s/^-XX:AOTCacheOutput=/none yet, recording one: /p')
echo "controller's JVM AOT cache: ${aot:-none}"
echo "accelerator: $(curl -fsS -H "X-Auth-Token: $(openstack token issue -f value -c id)" \
  "http://127.0.0.1:$port/compute/v2.1/os-hypervisors/detail" | jq -r '.hypervisors[0].cpu_info')"
# The benchmark's client shares the machine with the cloud it measures: it runs as bin/strata's
# client commands do (C1 only, serial GC): about half the CPU it took from the cloud during a
# batch (14-27 ms against 27-62 ms per batch, bench/RESULTS.md, thirteenth session).
"$JAVA_HOME/bin/java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar strata-bench/target/strata-bench.jar live-image "http://127.0.0.1:$port" bench "$image" "$data" --warm "$warm" --controller-pid "$pid" "${load_args[@]}"
