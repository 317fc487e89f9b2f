#!/bin/bash
# Checkpoint/restore of signal state (tests/cr/cr_signals.c) through the cryo CLI: queued
# process-wide signals (SIGUSR2 from kill, SIGRTMIN+1 queued twice with values) and
# thread-directed ones (SIGURG by tgkill, SIGRTMIN+2 with a value), all blocked, come back
# pending in the same thread or process with the same siginfo (sender pid, code, value), in
# order; each thread keeps its sigaltstack and a handler with SA_ONSTACK runs on it.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_signals

pending() { # the pending sets of the process and of each thread, as /proc shows them
    grep ShdPnd "/proc/$1/status"
    for t in $(ls "/proc/$1/task"); do echo "$t $(grep SigPnd "/proc/$1/task/$t/status")"; done
}

if start signals "$WORKLOAD" "$TMP/signals/beat"; then
    before=$(pending "${READY[1]}")
    if dump_restore signals; then
        inspect=$("$CRYO" checkpoint inspect "$TMP/signals/img")
        echo "$inspect" | grep -q "pending signals: 3 process-wide" \
            && ok "inspect shows the pending signals" || fail "inspect: $inspect"
        after=$(pending "${READY[1]}")
        [ "$before" = "$after" ] && ok "pending sets as before: $(echo $after)" \
            || fail "pending sets differ: before [$before] after [$after]"
        verify signals
    fi
fi
finish
