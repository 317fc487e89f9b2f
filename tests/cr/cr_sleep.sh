#!/bin/bash
# Sleeps and timed waits that the dump interrupts (tests/cr/cr_sleep.c: one thread each in
# nanosleep with and without rem, clock_nanosleep relative on CLOCK_MONOTONIC and TIMER_ABSTIME
# on CLOCK_REALTIME, futex FUTEX_WAIT relative and FUTEX_WAIT_BITSET absolute, poll and ppoll
# with a timeout, poll without one) must go on after restore as the table in
# src/checkpoint/syscall_reentry.cpp says, never with an early EINTR:
#   restored    dump (kill), restore -d: a sleep with rem ends S after its start in the
#               process's own time (the frozen time added, nothing slept twice); without rem,
#               and poll with a timeout, it sleeps its whole time again (never early); absolute
#               deadlines stay; FUTEX_WAIT returns 0 at restore (a wakeup); ppoll waits the rest.
#   twice       the same, then the restored process dumped and restored again while still
#               in its calls: restore let each thread go into the real syscall (never into
#               restart_syscall), so the second dump plans them as the first did.
#   left        dump --leave-running: the original gets the restored process's plan at once
#               where that plan keeps the call's time (syscall_reentry.h (3)): a sleep with rem
#               sleeps what was left (the frozen time added), absolute deadlines stay; the calls
#               whose time left only the kernel knows (nanosleep without rem, poll with a
#               timeout, relative FUTEX_WAIT) stay in the kernel's restart and end on time.
#   again       a second dump (kill) of such an original while still in its calls: the
#               re-entered ones go on after restore; the three the kernel continued in
#               restart_syscall are planned as the calls they continue (syscall_reentry.h (4)):
#               nanosleep without rem and poll sleep their whole time again, FUTEX_WAIT returns 0.
# Sleeps a SIGSTOP/SIGCONT (not cryo) put into restart_syscall: tests/cr/cr_sleep_stopped.sh.
# Times are CLOCK_MONOTONIC ms from the workload's start, bounded with what the shell saw:
# t0 before spawn, t1 ready, t2 before dump, t3 after restore (or dump) returned.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_sleep

source "$(dirname "$0")/cr_sleep_lib.sh"
W=1500 # slept before the dump (ms): more than T, so a sleep that starts over is seen

# run_case NAME: spawns the workload and lets it sleep W ms; sets T0 T1 T2.
run_case() {
    T0=$(now_ms)
    start "$1" "$WORKLOAD" "$S" || return 1
    T1=$(now_ms)
    sleep "$(awk "BEGIN { print $W / 1000 }")"
    T2=$(now_ms)
}

name=restored
if run_case $name && dump_restore $name; then
    T3=$(now_ms)
    if wait_for 30 _results "$TMP/$name/out"; then
        frozen=$((T3 - T2)) whole=$((T3 - T0))
        for call in nanosleep_rem mono_rem ppoll_timeout; do
            expect $name $call "0 0" $S $((S + frozen + T))
        done
        for call in nanosleep_null poll_timeout; do
            expect $name $call "0 0" $((S + T2 - T1)) $((S + whole + T))
        done
        expect $name abs_realtime "0 0" $S $(($(max $S $whole) + T))
        expect $name futex_abs "-1 ETIMEDOUT" $S $(($(max $S $whole) + T))
        expect $name futex_rel "0 0" $((T2 - T1)) $((whole + T))
        expect $name poll_infinite "1 0" 0 $((S + 2 * whole + 2 * T))
    else
        fail "$name: no results: $(grep -v '^ready' "$TMP/$name/out")"
    fi
fi

# The restored process dumped and restored once more while still in its calls.
name=twice
if run_case $name && dump_restore $name; then
    F1=$(($(now_ms) - T2))
    sleep 0.3
    T2=$(now_ms)
    rm -rf "$TMP/$name/img"
    if dump_restore $name; then
        T3=$(now_ms)
        if wait_for 30 _results "$TMP/$name/out"; then
            for call in nanosleep_rem mono_rem; do
                expect $name $call "0 0" $S $((S + F1 + T3 - T2 + T))
            done
            for call in nanosleep_null poll_timeout; do
                expect $name $call "0 0" $((S + T2 - T1)) $((S + T3 - T0 + T))
            done
            expect $name futex_rel "0 0" $W $((T2 - T0 + T)) # woken at the first restore
            expect $name futex_abs "-1 ETIMEDOUT" $S $(($(max $S $((T3 - T0))) + T))
            expect $name abs_realtime "0 0" $S $(($(max $S $((T3 - T0))) + T))
            expect $name ppoll_timeout "0 0" $S $((S + T3 - T0 - W + T))
            expect $name poll_infinite "1 0" 0 $((S + T3 - T0 + 2 * T))
        else
            fail "$name: no results: $(grep -v '^ready' "$TMP/$name/out")"
        fi
    fi
fi

name=left
if run_case $name && "$CRYO" dump -t "$PID" -D "$TMP/$name/img" --leave-running; then
    T3=$(now_ms)
    if wait_for 30 _results "$TMP/$name/out"; then
        for call in nanosleep_rem mono_rem abs_realtime ppoll_timeout; do
            expect $name $call "0 0" $S $((S + T3 - T2 + T))
        done
        # Continued by the kernel: on time, the frozen time not added.
        for call in nanosleep_null poll_timeout; do
            expect $name $call "0 0" $S $((S + T))
        done
        expect $name futex_rel "-1 ETIMEDOUT" $S $((S + T))
        expect $name futex_abs "-1 ETIMEDOUT" $S $((S + T3 - T2 + T))
        expect $name poll_infinite "1 0" 0 $((S + T3 - T0 + 2 * T))
    else
        fail "$name: no results: $(grep -v '^ready' "$TMP/$name/out")"
    fi
else
    fail "$name: dump --leave-running failed"
fi

# The original of a --leave-running dump, dumped again while still in its calls.
name=again
if run_case $name && "$CRYO" dump -t "$PID" -D "$TMP/$name/img0" --leave-running; then
    F1=$(($(now_ms) - T2))
    T2a=$T2
    sleep 0.3
    T2=$(now_ms)
    if dump_restore $name; then
        T3=$(now_ms)
        if wait_for 30 _results "$TMP/$name/out"; then
            for call in nanosleep_rem mono_rem; do
                expect $name $call "0 0" $S $((S + F1 + T3 - T2 + T))
            done
            # In restart_syscall since the first dump: the whole time again after restore,
            # FUTEX_WAIT woken at restore.
            for call in nanosleep_null poll_timeout; do
                expect $name $call "0 0" $((S + T2 - T1)) $((S + T3 - T0 + T))
            done
            expect $name futex_rel "0 0" $((T2 - T1)) $((T3 - T0 + T))
            expect $name futex_abs "-1 ETIMEDOUT" $S $(($(max $S $((T3 - T0))) + T))
            expect $name abs_realtime "0 0" $S $(($(max $S $((T3 - T0))) + T))
            expect $name ppoll_timeout "0 0" $S $((S + T3 - T0 - W + T))
            expect $name poll_infinite "1 0" 0 $((S + T3 - T0 + 2 * T))
        else
            fail "$name: no results: $(grep -v '^ready' "$TMP/$name/out")"
        fi
    fi
else
    fail "$name: first dump --leave-running failed"
fi

finish
