#!/bin/bash
# Checkpoint/restore of file locks (tests/cr/cr_locks.c) through the cryo CLI: an flock shared
# by a parent and its child through one description, POSIX locks on two ranges, an OFD lock,
# and the child's own POSIX lock come back held by the same owners (/proc/locks lines of the
# workload's files as before; a checker process finds each lock in its place). A dump without
# --file-locks is refused in one line naming the process and a lock, and the tree runs on.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_locks

locks() { # the /proc/locks lines of our files, without the ordinal
    for f in A B C D; do
        ino=$(stat -c %i "$TMP/files/$f")
        grep ":$ino " /proc/locks | sed 's/^[0-9]*: //' | sort
    done
}

mkdir -p "$TMP/files"
if start locks "$WORKLOAD" "$TMP/files"; then
    before=$(locks)
    refused locks "^cryo: dump ${READY[1]}: process ${READY[1]} holds a file lock \((flock|posix|ofd) (read|write) on fd [0-9]+\): needs --file-locks$" \
        "$CRYO" dump -t "${READY[1]}" -D "$TMP/locks/refused"
    [ -e "$TMP/locks/refused" ] && fail "a refused dump left an image"
    for p in "${READY[@]:1}"; do
        grep -q "TracerPid:[[:space:]]*0" "/proc/$p/status" || fail "pid $p traced after a refused dump"
    done
    [ "$(locks)" = "$before" ] || fail "locks changed by a refused dump: $(locks)"
    # A conflicting flock taken between dump and restore: the restore fails naming the lock,
    # and nothing it created keeps running; once released, the restore goes through.
    "$CRYO" dump -t "${READY[1]}" -D "$TMP/locks/img" --file-locks || fail "dump failed"
    for p in "${READY[@]:1}"; do gone "$p" || fail "pid $p still there after dump"; done
    exec {holder}>"$TMP/files/A"
    flock -n "$holder" || fail "could not take the flock on A after the dump"
    if "$CRYO" restore -D "$TMP/locks/img" -d 2>"$TMP/locks/err"; then
        fail "restore succeeded although A is locked by someone else"
    else
        grep -q "file lock on fd 3" "$TMP/locks/err" && ok "conflicting lock: $(head -1 "$TMP/locks/err")" \
            || fail "error does not name the lock: $(cat "$TMP/locks/err")"
        for p in "${READY[@]:1}"; do gone "$p" || fail "pid $p runs after a failed restore"; done
    fi
    exec {holder}>&-
    if "$CRYO" restore -D "$TMP/locks/img" -d; then
        after=$(locks)
        [ -n "$before" ] && [ "$before" = "$after" ] && ok "/proc/locks as before: $(echo "$after" | wc -l) locks" \
            || fail "locks differ: before [$before] after [$after]"
        "$CRYO" checkpoint inspect "$TMP/locks/img" | grep -q "file locks: flock write fd" \
            && ok "inspect lists the locks" || fail "inspect: $("$CRYO" checkpoint inspect "$TMP/locks/img")"
        verify locks
    fi
fi
finish
