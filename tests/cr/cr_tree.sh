#!/bin/bash
# Checkpoint/restore of a process tree with threads (tests/cr/cr_tree.c) through the cryo CLI:
# the root (3 threads, one blocked in a futex), child A in its own process group with
# grandchild B, child C in its own session. After restore: the same pids, parents, groups and
# sessions, every process beats on, threads keep their TLS, pthread_join of restored threads
# returns, and parents reap their restored children with the right exit status.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_tree
source "$(dirname "$0")/cr_tree_lib.sh"
ids() { ps -o pid=,ppid=,pgid=,sid=,nlwp= -p "$1" | tr -s ' '; }

start_tree
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
check_tree_runs
finish
