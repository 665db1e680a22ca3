#!/usr/bin/env bash
# bin/strata, the launcher: on JDK 25+ the first run of a build of `up` records an AOT cache,
# written when it stops normally; the next start adopts and uses it. A recording that was not
# finished is never adopted, and STRATA_AOT=off leaves the JVM's options alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../cli/lib.sh
source "$root/tests/cli/lib.sh"
work=$(mktemp -d /tmp/strata-launcher.XXXXXX)
export STRATA_AOT_DIR="$work/aot"
port=$(free_port)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

JAVA_HOME=$("$root/bin/java-home")
major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$JAVA_HOME/release")
if [ "${major:-0}" -lt 25 ]; then
  echo "JDK $major: no AOT cache before JDK 25; only checking that bin/strata up starts without one"
fi

start() { # LOG: bin/strata up with a fresh data directory; leaves the JVM's pid in $pid
  rm -rf "$work/data"
  strata_up "$1" "$port" --data-dir "$work/data" --admin-password launcher
  pid=$strata_pid
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
jvm_args() { tr '\0' '\n' <"/proc/$pid/cmdline"; }

echo "-- first run of this build: records a cache, written at its stop"
start "$work/first.log"
if [ "${major:-0}" -lt 25 ]; then
  ! jvm_args | matches AOT || fail "JDK $major was given AOT options"
  stop
  echo "launcher tests passed (no AOT cache on JDK $major)"
  exit 0
fi
recording=$(jvm_args | sed -n 's/^-XX:AOTCacheOutput=//p')
[[ "$recording" == "$STRATA_AOT_DIR/up-"*".aot.$pid.tmp" ]] || fail "the first run does not record a cache: $(jvm_args | tr '\n' ' ')"
stop
[ -s "$recording" ] || fail "the first run's stop wrote no cache at $recording"
cache=${recording%.*.tmp}

echo "-- the next start adopts the recording and runs from it"
start "$work/second.log"
expect_eq "$(jvm_args | sed -n 's/^-XX:AOTCache=//p')" "$cache" "the cache the second start used"
[ ! -e "$recording" ] || fail "the recording was copied, not adopted"
! matches -i "error.*aot\|aot.*error" "$work/second.log" || fail "the JVM could not use the cache: $(grep -i aot "$work/second.log")"
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || fail "the cloud started from the cache does not answer"
stop

echo "-- an unfinished recording (its writer gone, no header yet) is removed, not adopted"
rm -f "$cache"
head -c 4096 /dev/zero >"$cache.999999.tmp"
start "$work/third.log"
[ ! -e "$cache.999999.tmp" ] || fail "an unfinished recording was left behind"
[ ! -e "$cache" ] || fail "an unfinished recording was adopted"
jvm_args | matches -x -- "-XX:AOTCacheOutput=$cache.$pid.tmp" || fail "a start without a cache does not record one"
echo "-- a recording process SIGKILLed leaves no cache, and what it left is removed at the next start"
killed=$pid
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=
[ ! -e "$cache.$killed.tmp" ] || fail "a SIGKILLed recording wrote a cache"
start "$work/fourth.log"
! ls "$cache.$killed".* >/dev/null 2>&1 || fail "what a SIGKILLed recording left is still there: $(ls "$cache.$killed".*)"
jvm_args | matches -x -- "-XX:AOTCacheOutput=$cache.$pid.tmp" || fail "the start after a SIGKILLed recording does not record"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=

echo "-- STRATA_AOT=off: no AOT options"
STRATA_AOT=off start "$work/off.log"
! jvm_args | matches AOT || fail "STRATA_AOT=off still gave AOT options: $(jvm_args | grep AOT)"
stop

echo "launcher tests passed"
