#!/bin/bash
# Checkpoint/restore of guard pages (madvise MADV_GUARD_INSTALL; tests/cr/cr_guard.c): guards
# at the edges and in the middle of an anonymous area, next to a written page, in a private
# file mapping, in shared anonymous memory and in a shared file mapping. They are not page data (the dump used to copy them as "swapped" pages and fail
# with EFAULT); the image lists them per area, and restore installs them again:
#  1. dump (PAGEMAP_SCAN) + restore: data intact, guards still guards (pagemap bit 58, SIGSEGV
#     at the page), MADV_GUARD_REMOVE gives ordinary pages; inspect lists the 8 guard ranges;
#  2. the same with pages planned from pagemap entries (CRYO_PAGEMAP_SCAN=0);
#  3. --leave-running: the original verifies the same, then its image restores and verifies.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_guard
"$WORKLOAD" probe || { echo "SKIP: no MADV_GUARD_INSTALL on this kernel"; exit 77; }

# guard_ranges IMG: how many guard ranges inspect shows for the image's process.
guard_ranges() { "$CRYO" checkpoint inspect "$1" --format json | jq '[.processes[0].guards[].ranges[]] | length'; }

for mode in scan pagemap; do
    name=kill-$mode
    if [ $mode = pagemap ]; then export CRYO_PAGEMAP_SCAN=0; else unset CRYO_PAGEMAP_SCAN; fi
    if start "$name" "$WORKLOAD" && dump_restore "$name"; then
        { wait "$PID"; } 2>/dev/null # the dumped original, killed: no job notice
        n=$(guard_ranges "$TMP/$name/img")
        [ "$n" = 8 ] && ok "$name: inspect shows 8 guard ranges" || fail "$name: inspect shows $n guard ranges, not 8"
        "$CRYO" checkpoint inspect "$TMP/$name/img" | grep -q "guard pages of" || fail "$name: no guard pages in inspect's text"
        verify "$name"
    fi
done
unset CRYO_PAGEMAP_SCAN

if start leave "$WORKLOAD"; then
    "$CRYO" dump -t "$PID" -D "$TMP/leave/img" --leave-running || fail "leave: dump failed"
    verify leave && ok "leave: the original's guards and data are intact after the dump"
    gone "$PID" || fail "leave: pid $PID did not exit"
    { wait "$PID"; } 2>/dev/null
    # The restored process writes at its old offset of stdout: a fresh file with the line it
    # had written at the dump, so that its verdict is its own.
    mv "$TMP/leave/out" "$TMP/leave/out.original"
    echo "ready $PID" >"$TMP/leave/out"
    if "$CRYO" restore -D "$TMP/leave/img" -d; then
        verify leave "$PID" && ok "leave: the image of the running original restores its guards"
    else
        fail "leave: restore failed"
    fi
fi
finish
