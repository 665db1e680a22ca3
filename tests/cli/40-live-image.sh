#!/usr/bin/env bash
# Cobalt's documented flow with bin/strata's live-image commands (fake driver): create a server,
# bless it, start clones (with progress), list both ways, refuse what Cobalt refuses, clean up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export STRATA_SKIP_BUILD=1
strata() { "$root/bin/strata" "$@"; }

head -c 4096 /dev/urandom > "$work/disk.img"
strata image create --file "$work/disk.img" --disk-format raw li-image >/dev/null
strata server create --flavor m1.tiny --image li-image --wait li-origin >/dev/null 2>&1
origin=$(strata server show li-origin -f value -c id)

live=$(strata live-image create li-origin --name li-live --wait -f value -c id 2>/dev/null)
expect_eq "$(strata server show "$live" -f value -c status)" BLESSED "live image status"
expect_eq "$(strata live-image list li-origin -f value -c ID)" "$live" "live-image list"

printf 'hello clones\n' > "$work/user-data"
strata live-image start li-live --name li-clone --num-instances 3 --user_data "$work/user-data" --params role=worker \
  --params shard=1 --target 256M --wait -f value -c ID >"$work/clones" 2>"$work/progress"
expect_eq "$(wc -l < "$work/clones")" 3 "clones started"
grep -q "3 server(s) started from the live image" "$work/progress" || fail "no progress line: $(cat "$work/progress")"
expect_eq "$(strata live-image servers li-live -f value -c ID | sort)" "$(sort "$work/clones")" "live-image servers"
strata server show "$(head -1 "$work/clones")" -f json | matches '"launched_from": "'"$live"'"' || fail "clone not linked"

# Refusals: one readable line, non-zero status.
if strata live-image delete li-live 2>"$work/err"; then fail "deleting a live image with clones succeeded"; fi
[ "$(wc -l < "$work/err")" -eq 1 ] || fail "error is not one line: $(cat "$work/err")"
grep -q "still has launched instances" "$work/err" || fail "unexpected error: $(cat "$work/err")"
if strata live-image start li-origin 2>"$work/err"; then fail "starting from a regular server succeeded"; fi
grep -q "not a live image" "$work/err" || fail "unexpected error: $(cat "$work/err")"
if strata live-image start li-live --num-instances 0 2>/dev/null; then fail "--num-instances 0 was accepted"; fi

# One host in this cloud: co-migrate has nowhere to go, and says so in one line.
if strata co-migrate li-origin 2>"$work/err"; then fail "co-migrate with a single host succeeded"; fi
[ "$(wc -l < "$work/err")" -eq 1 ] || fail "co-migrate error is not one line: $(cat "$work/err")"
grep -q "no available hosts" "$work/err" || fail "unexpected co-migrate error: $(cat "$work/err")"

# shellcheck disable=SC2046
strata server delete --wait $(cat "$work/clones") >/dev/null 2>&1
[ -z "$(strata live-image servers li-live -f value -c ID)" ] || fail "clones still listed"
strata server delete --wait li-origin >/dev/null 2>&1
expect_eq "$(strata server show "$live" -f value -c status)" BLESSED "live image outlives its origin"
strata live-image delete li-live
if strata server show "$live" >/dev/null 2>&1; then fail "the live image is still there"; fi
strata image delete li-image
echo "live images through bin/strata: ok (origin $origin)"
