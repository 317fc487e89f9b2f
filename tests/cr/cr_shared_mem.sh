#!/bin/bash
# Checkpoint/restore of shared and special memory (tests/cr/cr_shared_mem.c) through the cryo
# CLI: shared anonymous memory between a parent and its child is still shared after restore
# (the child writes, the parent reads), as are a shared file mapping, a deleted file's shared
# mapping and a memfd mapping; a deleted file's private mapping keeps its written page; the
# maps look the same (same paths, "(deleted)" included); untouched shared pages are not in the
# image; a THP area keeps AnonHugePages.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_shared_mem

maps() { # address, permissions, offset and path of every area (inode numbers change)
    for p in "$@"; do awk '{print $1, $2, $3, $6, $7}' "/proc/$p/maps"; done
}

mkdir -p "$TMP/files"
if start shm "$WORKLOAD" "$TMP/files"; then
    before=$(maps "${READY[1]}" "${READY[2]}")
    if dump_restore shm; then
        after=$(maps "${READY[1]}" "${READY[2]}")
        [ "$before" = "$after" ] && ok "maps of both processes as before" \
            || fail "maps differ: $(diff <(echo "$before") <(echo "$after"))"
        json=$("$CRYO" checkpoint inspect "$TMP/shm/img" --format json)
        # 4 MiB of shared anonymous memory of which 2 MiB were written: only those are saved.
        saved=$(echo "$json" | jq '[.processes[0].task.memory_objects[] | select(.kind == "shared-anonymous" and .size == 4194304) | .saved][0]')
        [ "$saved" = 2097152 ] && ok "only the written half of the shared memory is in the image" \
            || fail "shared memory saved: $saved bytes: $json"
        kinds=$(echo "$json" | jq -r '[.processes[0].task.memory_objects[].kind] | sort | join(",")')
        [ "$kinds" = "deleted-file,deleted-file,memfd,shared-anonymous,shared-anonymous" ] \
            && ok "memory objects: $kinds" || fail "memory objects: $kinds"
        verify shm
    fi
fi
finish
