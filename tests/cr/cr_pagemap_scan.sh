#!/bin/bash
# The dump's page planning by PAGEMAP_SCAN and by pagemap entries (CRYO_PAGEMAP_SCAN=0) give the
# same page index on a real process (tests/cr/cr_memory.c: anonymous, heap, stack, PROT_NONE,
# read-only and written private file pages, untouched regions), through the cryo CLI:
#  1. --leave-running dumps alternating pagemap, scan, pagemap: the scan image's page_runs equal
#     the pagemap ones (the two pagemap dumps must agree, or the process changed: retried);
#  2. the scan image restores and the process verifies its memory.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_memory

"$CRYO" check | grep -q "^PAGEMAP_SCAN *ok" || { echo "SKIP: no PAGEMAP_SCAN"; exit 77; }

runs() { jq -c '.page_runs' "$TMP/scan/$1/process-$PID.json"; }
dump() { # dump NAME [ENV...]
    local name=$1
    shift
    rm -rf "$TMP/scan/$name"
    env "$@" "$CRYO" dump -t "$PID" -D "$TMP/scan/$name" --leave-running || fail "dump $name failed"
}

if start scan "$WORKLOAD" 16 "$TMP/scan/beat"; then
    same=0
    for attempt in 1 2 3; do
        dump pagemap1 CRYO_PAGEMAP_SCAN=0
        dump scan
        dump pagemap2 CRYO_PAGEMAP_SCAN=0
        [ "$(runs pagemap1)" = "$(runs pagemap2)" ] || { note "attempt $attempt: the process changed its pages"; continue; }
        same=1
        break
    done
    if [ $same = 1 ]; then
        n=$(jq '.page_runs | length' "$TMP/scan/scan/process-$PID.json")
        [ "$n" -gt 3 ] || fail "only $n page runs: the workload's areas are not in the index"
        [ "$(runs scan)" = "$(runs pagemap1)" ] && ok "scan and pagemap plan the same $n page runs" \
            || fail "page runs differ: $(diff <(runs pagemap1 | jq -c '.[]') <(runs scan | jq -c '.[]') | head -20)"
    else
        fail "the process kept changing its pages between dumps"
    fi
    kill -9 "$PID"; { wait "$PID"; } 2>/dev/null; gone "$PID"
    "$CRYO" restore -D "$TMP/scan/scan" -d || fail "restore of the scan image failed"
    verify scan "$PID"
fi

finish
