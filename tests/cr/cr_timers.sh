#!/bin/bash
# Checkpoint/restore of timers (tests/cr/cr_timers.c) through the cryo CLI: ITIMER_REAL keeps
# firing, ITIMER_VIRTUAL/PROF keep their remaining time and interval; POSIX timers come back
# with the same (sparse) ids, clocks, notification (process, thread, none) and values, and the
# periodic ones keep firing.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_timers

# /proc/PID/timers without the pid/tid numbers' changes (they are the same after restore).
if start timers "$WORKLOAD" "$TMP/timers/beat"; then
    before=$(cat "/proc/${READY[1]}/timers")
    if dump_restore timers; then
        after=$(cat "/proc/${READY[1]}/timers")
        [ "$before" = "$after" ] && ok "/proc timers as before: $(echo "$after" | grep -c '^ID') timers" \
            || fail "timers differ: before [$before] after [$after]"
        "$CRYO" checkpoint inspect "$TMP/timers/img" | grep -q "POSIX timers: 5 7 8" \
            && ok "inspect lists the POSIX timers" || fail "inspect: $("$CRYO" checkpoint inspect "$TMP/timers/img")"
        verify timers
    fi
fi
finish
