#!/bin/bash
# Checkpoint/restore of file locks (tests/cr/cr_locks.c) through the cryo CLI: an flock shared
# by a parent and its child through one description, POSIX locks on two ranges, an OFD lock,
# and the child's own POSIX lock come back held by the same owners (/proc/locks lines of the
# workload's files as before; a checker process finds each lock in its place).
source "$(dirname "$0")/task_lib.bash"
WORKLOAD=$BUILD/tests/cr/cr_locks
[ -x "$WORKLOAD" ] || { echo "FAIL: build cr_locks first"; exit 1; }

locks() { # the /proc/locks lines of our files, without the ordinal
    for f in A B C D; do
        ino=$(stat -c %i "$TMP/files/$f")
        grep ":$ino " /proc/locks | sed 's/^[0-9]*: //' | sort
    done
}

mkdir -p "$TMP/files"
if start locks "$WORKLOAD" "$TMP/files"; then
    before=$(locks)
    if dump_restore locks; then
        after=$(locks)
        [ -n "$before" ] && [ "$before" = "$after" ] && ok "/proc/locks as before: $(echo "$after" | wc -l) locks" \
            || fail "locks differ: before [$before] after [$after]"
        "$CRYO" checkpoint inspect "$TMP/locks/img" | grep -q "file locks: flock write fd" \
            && ok "inspect lists the locks" || fail "inspect: $("$CRYO" checkpoint inspect "$TMP/locks/img")"
        verify locks
    fi
fi
exit $FAILED
