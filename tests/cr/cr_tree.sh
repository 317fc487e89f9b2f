#!/bin/bash
# Checkpoint/restore of a process tree with threads (tests/cr/cr_tree.c) through the cryo CLI:
# the root (3 threads, one blocked in a futex), child A in its own process group with
# grandchild B, child C in its own session. After restore: the same pids, parents, groups and
# sessions, every process beats on, threads keep their TLS, pthread_join of restored threads
# returns, and parents reap their restored children with the right exit status.
set -u
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
BUILD=${CRYO_BUILD:-$(cd "$(dirname "$0")/../../build" && pwd)}
CRYO=${CRYO:-$BUILD/src/cryo}
WORKLOAD=$BUILD/tests/cr/cr_tree
[ -x "$CRYO" ] && [ -x "$WORKLOAD" ] || { echo "FAIL: build cryo and cr_tree first"; exit 1; }

TMP=$(mktemp -d /tmp/cr_tree.XXXXXX)
ALL=()
cleanup() {
    exec 2>/dev/null
    for p in "${ALL[@]}"; do kill -9 "$p" 2>/dev/null; done
    { wait; } 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }
ok() { echo "ok: $*"; }
gone() { for _ in $(seq 300); do [ -e /proc/$1 ] || return 0; sleep 0.02; done; return 1; }
ids() { ps -o pid=,ppid=,pgid=,sid=,nlwp= -p "$1" | tr -s ' '; }

(
    for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
    exec "$WORKLOAD" "$TMP" >"$TMP/out" 2>&1 </dev/null
) &
ROOT=$!
for _ in $(seq 300); do grep -q "^ready" "$TMP/out" 2>/dev/null && break; sleep 0.02; done
read -r _ _ A C < <(grep "^ready" "$TMP/out")
B=$(cat /proc/$A/task/$A/children | tr -d ' ')
ALL=("$ROOT" "$A" "$B" "$C")
before=""
for p in "${ALL[@]}"; do before+="$(ids "$p")"$'\n'; done

"$CRYO" dump -t "$ROOT" -D "$TMP/img" || fail "dump failed"
{ wait "$ROOT"; } 2>/dev/null
for p in "${ALL[@]}"; do gone "$p" || fail "pid $p still there after dump"; done
[ "$("$CRYO" checkpoint inspect "$TMP/img" --format json | jq '.processes | length')" = 4 ] || fail "image does not hold 4 processes"

"$CRYO" restore -D "$TMP/img" -d || fail "restore failed"
after=""
for p in "${ALL[@]}"; do after+="$(ids "$p")"$'\n'; done
# The root's parent changes (it was this script, now cryo's parent reaped it); the rest must not.
strip_root_ppid() { sed '1s/^\( *[0-9]*\) [0-9]*/\1 P/'; }
[ "$(echo "$before" | strip_root_ppid)" = "$(echo "$after" | strip_root_ppid)" ] \
    && ok "pids, parents, groups, sessions, thread counts as before: $(echo $after)" \
    || fail "tree differs: before [$before] after [$after]"
for role in root a b c; do
    n1=$(wc -l <"$TMP/beat-$role"); sleep 0.15; n2=$(wc -l <"$TMP/beat-$role")
    [ "$n2" -gt "$n1" ] || fail "$role does not beat after restore"
done
kill -USR1 "$ROOT"
gone "$ROOT" || fail "root did not finish"
grep -q "^verify ok" "$TMP/out" && ok "root: $(grep threads "$TMP/out")" || fail "root: $(cat "$TMP/out")"
for role in a b c; do
    grep -q "^ok" "$TMP/result-$role" 2>/dev/null && ok "$role: $(cat "$TMP/result-$role")" \
        || fail "$role: $(cat "$TMP/result-$role" 2>/dev/null)"
done
exit $FAILED
