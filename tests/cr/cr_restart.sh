#!/bin/bash
# A syscall interrupted by the dump (pause, sigsuspend, nanosleep, read: tests/cr/cr_restart.c)
# must still end with EINTR when a signal with a handler arrives after `restore -d`. The signal
# is sent by restore itself, to the whole process, just before it lets the threads go
# (CRYO_TEST_SIGNAL_AT_RELEASE=10, SIGUSR1): the restored thread had not yet re-entered its
# syscall then, so this is the race of a signal sent right after restore returns, made
# deterministic. Then once more per mode with the signal sent by the shell after restore.
# (nanosleep is entered again at restore, src/checkpoint/syscall_reentry.cpp: it must be the
# signal that ends it, not the restore.)
# After sigsuspend the thread's own mask (SIGUSR1 blocked) must be back, not sigsuspend's.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_restart

_verdict() { grep -q "^verify\|^FAIL" "$1" 2>/dev/null; }
for mode in pause sigsuspend sigsuspend_unblocked nanosleep nanosleep_rem read; do
    name=at_release_$mode
    start "$name" "$WORKLOAD" "$mode" || continue
    sleep 0.1 # let it block in the syscall
    "$CRYO" dump -t "$PID" -D "$TMP/$name/img" || { fail "$name: dump failed"; continue; }
    gone "$PID" || { fail "$name: $PID still there after dump"; continue; }
    CRYO_TEST_SIGNAL_AT_RELEASE=10 "$CRYO" restore -D "$TMP/$name/img" -d || { fail "$name: restore failed"; continue; }
    if finished "$PID" && wait_for 2 _verdict "$TMP/$name/out" && grep -q "^verify ok" "$TMP/$name/out"; then
        ok "$name: $(grep '^verify' "$TMP/$name/out")"
    else
        fail "$name: signal sent at release lost or wrong: $(grep -v '^ready' "$TMP/$name/out" || echo still blocked)"
    fi

    name=after_$mode
    start "$name" "$WORKLOAD" "$mode" || continue
    sleep 0.1
    dump_restore "$name" && verify "$name"
done
finish
