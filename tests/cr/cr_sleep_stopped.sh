#!/bin/bash
# Sleeps and timed waits that a stop signal (SIGSTOP, not cryo) interrupted before the dump, on
# tests/cr/cr_sleep.c's threads (nanosleep with and without rem, clock_nanosleep relative and
# TIMER_ABSTIME, futex FUTEX_WAIT relative and FUTEX_WAIT_BITSET absolute, poll and ppoll with a
# timeout, poll without one). After SIGCONT the kernel continues them in restart_syscall (orig_rax
# 219, the original call's number gone); the dump reads which call each continues
# (src/checkpoint/syscall_reentry.h (4)) and plans it as that call (the table in
# syscall_reentry.cpp). No thread may see EINTR, wake early, or sleep its whole time again where
# the time left is known:
#   cont         SIGSTOP, SIGCONT, dump (kill), restore -d: a sleep with rem ends S after its start
#                with the frozen time added; nanosleep without rem and poll with a timeout sleep
#                their whole time again after restore (their time left is only in the kernel);
#                FUTEX_WAIT returns 0 at restore (a wakeup); absolute deadlines stay.
#   cont_left    SIGSTOP, SIGCONT, dump --leave-running: the original's sleeps with rem and
#                absolute deadlines are put back onto their real calls (the frozen time added),
#                the others stay in the kernel's restart and end on time.
#   cont_again   the same, then a second dump (kill) while still in their calls: the re-entered
#                ones go on as in 'cont'; the ones left in restart_syscall are planned as in 'cont'
#                too (before, they returned EINTR at restore).
#   stopped      dumped while still stopped (kill), restore -d: the threads stopped in their
#                original calls (orig_rax the call, -ERESTART_RESTARTBLOCK), a sleep with rem goes
#                on with the time left at the stop. The restored process is stopped, as the
#                original was (tests/cr/cr_stopped.sh); SIGCONT right after the restore.
#   stopped_left dump --leave-running of the stopped tree: it stays stopped; after SIGCONT every
#                call ends as without cryo (the kernel's own restart).
#   cont_race    SIGCONT while the --leave-running dump runs (before, during or after the freeze,
#                whichever comes): the original ends every call as in 'cont_left' or on time.
#   twice        stopped again after SIGCONT (SIGSTOP, SIGCONT, SIGSTOP) and dumped while stopped:
#                the threads stopped inside restart_syscall, whose stack now shows the stop, not
#                the restart function; the freeze lets each sleep there once more to read it
#                (probe_continued_call), then as in 'cont' (a sleep with rem: the time left at
#                the freeze). Restored stopped; SIGCONT right after the restore.
#   twice_left   the same with --leave-running: still stopped, and after SIGCONT every call ends
#                as without cryo.
#   twice_killed the same, cryo killed once the tree is frozen (CRYO_TEST_KILL_AT=frozen, after
#                the probes): the kernel lets the tree go; still stopped, on time after SIGCONT.
#   race_restored  SIGCONT while the dump (kill) runs: restored as in 'stopped' or 'cont' (stopped
#                or running, as the dump found it just before writing the image, freeze.h
#                recheck_group_stops; SIGCONT after the restore either way).
# Times are CLOCK_MONOTONIC ms from the workload's start, bounded with what the shell saw: t0
# before spawn, t1 ready, ts before SIGSTOP, t2 before dump, t3 after restore (or dump) returned.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_sleep

source "$(dirname "$0")/cr_sleep_lib.sh"
W=1500 # slept before the stop (ms): more than T, so a sleep that starts over is seen
_state_is() { [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = "$2" ]; }

# results NAME: waits for the workload's results; fails the case without them.
results() {
    wait_for 30 _results "$TMP/$1/out" && return 0
    fail "$1: no results: $(grep -v '^ready' "$TMP/$1/out")"
    return 1
}

# stop_case NAME [cont|twice]: spawns the workload, lets it sleep W ms, stops it for 300 ms;
# with `cont` continues it and gives the threads 200 ms to go back into their calls
# (restart_syscall); with `twice` then stops it again for 300 ms. Sets T0 T1 TS T2.
stop_case() {
    T0=$(now_ms)
    start "$1" "$WORKLOAD" "$S" || return 1
    T1=$(now_ms)
    sleep "$(awk "BEGIN { print $W / 1000 }")"
    TS=$(now_ms)
    kill -STOP "$PID"
    wait_for 2 _state_is "$PID" T || { fail "$1: workload not stopped"; return 1; }
    sleep 0.3
    if [ "${2:-}" = cont ] || [ "${2:-}" = twice ]; then
        kill -CONT "$PID"
        sleep 0.2
    fi
    if [ "${2:-}" = twice ]; then
        kill -STOP "$PID"
        wait_for 2 _state_is "$PID" T || { fail "$1: workload not stopped again"; return 1; }
        sleep 0.3
    fi
    T2=$(now_ms)
}

# restored_stopped NAME: a tree dumped while stopped is restored stopped (state T); SIGCONT it.
restored_stopped() {
    wait_for 2 _state_is "$PID" T || fail "$1: restored in state $(awk '{ print $3 }' "/proc/$PID/stat"), expected T"
    kill -CONT "$PID"
}

# The restored process of a dump after SIGCONT (threads in restart_syscall). $1: the case.
expect_restored() {
    local name=$1 frozen=$((T3 - T2)) whole=$((T3 - T0))
    for call in nanosleep_rem mono_rem; do
        expect "$name" $call "0 0" $S $((S + ${F1:-0} + frozen + T))
    done
    expect "$name" ppoll_timeout "0 0" $S $((S + T3 - TS + T)) # the kernel adds the stopped time
    for call in nanosleep_null poll_timeout; do
        expect "$name" $call "0 0" $((S + T2 - T1)) $((S + whole + T))
    done
    expect "$name" abs_realtime "0 0" $S $(($(max $S $whole) + T))
    expect "$name" futex_abs "-1 ETIMEDOUT" $S $(($(max $S $whole) + T))
    expect "$name" futex_rel "0 0" $((T2 - T1)) $((whole + T)) # woken at restore
    expect "$name" poll_infinite "1 0" 0 $((S + 2 * whole + 2 * T))
}

# The original after a --leave-running dump after SIGCONT. $1: the case.
expect_left() {
    local name=$1
    for call in nanosleep_rem mono_rem abs_realtime futex_abs; do
        [ $call = futex_abs ] && want="-1 ETIMEDOUT" || want="0 0"
        expect "$name" $call "$want" $S $((S + T3 - T2 + T))
    done
    expect "$name" ppoll_timeout "0 0" $S $((S + T3 - TS + T))
    # Continued by the kernel: on time, the frozen time not added.
    for call in nanosleep_null poll_timeout; do
        expect "$name" $call "0 0" $S $((S + T))
    done
    expect "$name" futex_rel "-1 ETIMEDOUT" $S $((S + T))
    expect "$name" poll_infinite "1 0" 0 $((S + T3 - T0 + 2 * T))
}

name=cont
if stop_case $name cont && dump_restore $name; then
    T3=$(now_ms)
    results $name && expect_restored $name
fi

name=cont_left
if stop_case $name cont; then
    if "$CRYO" dump -t "$PID" -D "$TMP/$name/img" --leave-running; then
        T3=$(now_ms)
        results $name && expect_left $name
    else
        fail "$name: dump --leave-running failed"
    fi
fi

name=cont_again
if stop_case $name cont; then
    if "$CRYO" dump -t "$PID" -D "$TMP/$name/img0" --leave-running; then
        F1=$(($(now_ms) - T2))
        sleep 0.3
        T2=$(now_ms)
        if dump_restore $name; then
            T3=$(now_ms)
            results $name && expect_restored $name
        fi
        unset F1
    else
        fail "$name: first dump --leave-running failed"
    fi
fi

# expect_stopped_restored NAME: the calls of a tree dumped while stopped (TS: the stop) and
# restored at T3: the time left at the stop is slept from the restore (the stopped and frozen
# time added), calls without a time left sleep their whole time again.
expect_stopped_restored() {
    local name=$1 call
    for call in nanosleep_rem mono_rem ppoll_timeout; do
        expect $name $call "0 0" $S $((S + T3 - TS + T))
    done
    for call in nanosleep_null poll_timeout; do
        expect $name $call "0 0" $((S + T2 - T1)) $((S + T3 - T0 + T))
    done
    expect $name abs_realtime "0 0" $S $(($(max $S $((T3 - T0))) + T))
    expect $name futex_abs "-1 ETIMEDOUT" $S $(($(max $S $((T3 - T0))) + T))
    expect $name futex_rel "0 0" $((T2 - T1)) $((T3 - T0 + T))
    expect $name poll_infinite "1 0" 0 $((S + 2 * (T3 - T0) + 2 * T))
}

name=stopped
if stop_case $name && dump_restore $name; then
    restored_stopped $name
    T3=$(now_ms)
    if results $name; then
        expect_stopped_restored $name
    fi
fi

name=twice
if stop_case $name twice && dump_restore $name; then
    restored_stopped $name
    T3=$(now_ms)
    results $name && expect_restored $name
fi

# left_stopped NAME [twice]: the tree dumped --leave-running while stopped stays stopped, and
# after SIGCONT ends every call as without cryo.
left_stopped() {
    local name=$1 mode=${2:-}
    stop_case "$name" "$mode" || return
    if [ "$name" = twice_killed ]; then
        { CRYO_TEST_KILL_AT=frozen "$CRYO" dump -t "$PID" -D "$TMP/$name/img" >/dev/null 2>&1; } 2>/dev/null
        [ $? = 137 ] || fail "$name: cryo was not killed at 'frozen'"
    elif ! "$CRYO" dump -t "$PID" -D "$TMP/$name/img" --leave-running; then
        fail "$name: dump --leave-running failed"
        return
    fi
    if _state_is "$PID" T; then
        ok "$name: still stopped after the dump"
    else
        fail "$name: state $(awk '{ print $3 }' "/proc/$PID/stat") after the dump, expected T (stopped)"
    fi
    sleep 0.3
    TC=$(now_ms)
    kill -CONT "$PID"
    results "$name" || return
    for call in nanosleep_rem nanosleep_null mono_rem abs_realtime poll_timeout; do
        expect "$name" $call "0 0" $S $((S + T))
    done
    expect "$name" ppoll_timeout "0 0" $S $((S + TC - TS + T)) # the kernel adds the stopped time
    for call in futex_rel futex_abs; do
        expect "$name" $call "-1 ETIMEDOUT" $S $((S + T))
    done
    expect "$name" poll_infinite "1 0" 0 $((S + TC - T0 + 2 * T))
}
left_stopped stopped_left
left_stopped twice_left twice
left_stopped twice_killed twice

# SIGCONT races the freeze: the threads are in their original calls (group-stop) or already in
# restart_syscall when seized, or get SIGCONT while held. Either way the original ends each call
# on time, or (re-entered by the freeze) with at most the frozen time added.
name=cont_race
if stop_case $name; then
    "$CRYO" dump -t "$PID" -D "$TMP/$name/img" --leave-running &
    dump=$!
    sleep 0.0$((RANDOM % 5))
    kill -CONT "$PID"
    if wait $dump; then
        T3=$(now_ms)
        if results $name; then
            for call in nanosleep_rem mono_rem abs_realtime; do
                expect $name $call "0 0" $S $((S + T3 - T2 + T))
            done
            expect $name futex_abs "-1 ETIMEDOUT" $S $((S + T3 - T2 + T))
            expect $name ppoll_timeout "0 0" $S $((S + T3 - TS + T))
            for call in nanosleep_null poll_timeout; do
                expect $name $call "0 0" $S $((S + T))
            done
            expect $name futex_rel "-1 ETIMEDOUT" $S $((S + T))
            expect $name poll_infinite "1 0" 0 $((S + T3 - T0 + 2 * T))
        fi
    else
        fail "$name: dump --leave-running failed"
    fi
fi

# SIGCONT races the dump (kill): each thread is seized in its original call (group-stop), in
# restart_syscall, or gets SIGCONT while held; restored as in 'stopped' or 'cont'.
name=race_restored
if stop_case $name; then
    "$CRYO" dump -t "$PID" -D "$TMP/$name/img" &
    dump=$!
    sleep 0.0$((RANDOM % 5))
    kill -CONT "$PID"
    if wait $dump && gone "$PID" && "$CRYO" restore -D "$TMP/$name/img" -d; then
        kill -CONT "$PID" # restored stopped if the freeze found it still stopped
        T3=$(now_ms)
        if results $name; then
            expect_stopped_restored $name
        fi
    else
        fail "$name: dump or restore failed"
    fi
fi

finish
