#!/bin/bash
# Calls the kernel never restarts, which return a plain EINTR when a freeze interrupts them
# (tests/cr/cr_eintr.c: epoll_wait without and with a timeout, epoll_pwait with a mask,
# epoll_pwait2, rt_sigtimedwait, semtimedop, recv with SO_RCVTIMEO; and a recv without one,
# which the kernel restarts itself), must never see an EINTR
# cryo made, whatever becomes of the dump; and a real SIGUSR1 with a handler, sent once the
# thread is back in its epoll_wait, must still end that one with EINTR (and only then):
#   left        dump --leave-running: the original
#   signal_frozen   the same with SIGUSR1 sent while cryo holds the tree
#   shell_job   a dump that fails after collecting (a shell job without --shell-job, refused
#               once every remote syscall ran): the original
#   killed_frozen, killed_collected    cryo SIGKILLed (CRYO_TEST_KILL_AT) right after the freeze
#               and after collecting: the kernel lets the threads go, the original runs on
#   restored    dump, restore -d: the restored process
#   twice       the restored process dumped and restored again while still in its calls
# A timeout starts again in full at the thaw or restore: later than asked, never earlier.
# Times are CLOCK_MONOTONIC ms from the workload's start: t0 before spawn, t1 ready, tsig when
# SIGUSR1 was sent, tend after the last dump/restore returned.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_eintr

S=3000 # each timed call's timeout (ms)
W=500  # ms in the calls before the dump
T=1500 # slack for a loaded host (ms)

now_ms() { echo $(($(date +%s%N) / 1000000)); }
_results() { grep -q "^done" "$1" 2>/dev/null; }

# expect NAME CALL WANT LO HI: CALL's result line reads WANT ("RET ERRNO"), elapsed in [LO, HI].
expect() {
    local name=$1 call=$2 want=$3 lo=$4 hi=$5 line ret err ms
    line=$(grep "^result $call " "$TMP/$name/out") || { fail "$name $call: no result"; return; }
    read -r _ _ ret err ms <<<"$line"
    if [ "$ret $err" != "$want" ]; then
        [ "$call $ret" = "pwait_inf 2" ] && err="returned with epoll_pwait's mask still set"
        fail "$name $call: returned $ret ($err) after $ms ms, expected $want"
    elif [ "$ms" -lt "$lo" ] || [ "$ms" -gt "$hi" ]; then
        fail "$name $call: ended after $ms ms, expected $lo..$hi"
    else
        ok "$name $call: $want after $ms ms"
    fi
}

# begin NAME [MIB]: the workload in its calls for W ms; sets T0 T1.
begin() {
    T0=$(now_ms)
    mkdir -p "$TMP/$1"
    start "$1" "$WORKLOAD" "$S" ${2:-} || return 1
    T1=$(now_ms)
    local sem
    sem=$(awk '/^sem / {print $2}' "$TMP/$1/out")
    [ -n "$sem" ] && defer "ipcrm -s $sem 2>/dev/null"
    sleep "$(awk "BEGIN { print $W / 1000 }")"
}

# judge NAME PID [TSIG]: signal PID's `signalled` thread (unless the caller did at TSIG),
# then check every result.
judge() {
    local name=$1 pid=$2 tend tsig=${3:-}
    tend=$(now_ms)
    sleep 0.3
    if [ -z "$tsig" ]; then
        tsig=$(now_ms)
        if [ -e "/proc/$pid" ] && ! _results "$TMP/$name/out"; then
            grep -q "TracerPid:.0$" "/proc/$pid/status" || fail "$name: still traced"
            kill -USR1 "$pid"
        else
            fail "$name: the workload finished before SIGUSR1 (calls ended early)"
        fi
    fi
    if ! wait_for $((S / 1000 * 2 + 10)) _results "$TMP/$name/out"; then
        fail "$name: no results: $(grep -v '^ready' "$TMP/$name/out")"
        return
    fi
    local hi=$((tend - T0 + S + T))
    expect "$name" epoll_timeout "0 0" "$S" "$hi"
    expect "$name" pwait2_timeout "0 0" "$S" "$hi"
    for call in sigtimedwait semtimedop recv_timeout; do
        expect "$name" $call "-1 EAGAIN" "$S" "$hi"
    done
    expect "$name" epoll_inf "1 0" "$S" $((hi + T))
    expect "$name" pwait_inf "1 0" "$S" $((hi + T))
    expect "$name" recv_block "1 0" "$S" $((hi + T))
    expect "$name" signalled "-1 EINTR" $((tsig - T1)) $((tsig - T0 + T))
    grep -q "^handler 1$" "$TMP/$name/out" || fail "$name: SIGUSR1 handler: $(grep '^handler' "$TMP/$name/out")"
}

name=left
if begin $name; then
    if "$CRYO" dump -t "$PID" -D "$TMP/$name/img" --leave-running; then
        judge $name "$PID"
    else
        fail "$name: dump --leave-running failed"
    fi
fi

# SIGUSR1 sent while cryo holds the tree: 256 MiB copied while frozen (CRYO_DUMP_SNAPSHOT=0)
# keep it frozen long enough to see the tracer (read with builtins only, no fork per look).
# Whether the signal came before or after cryo planned the rewind, the handler runs once and
# its epoll_wait ends with EINTR, no earlier than the signal.
name=signal_frozen
# _traced PID DUMPER: waits until PID shows a tracer, or DUMPER is gone (returns 1).
_traced() {
    local line
    while kill -0 "$2" 2>/dev/null; do
        while IFS= read -r line; do
            [[ $line == TracerPid:* ]] && [[ ${line//[^0-9]/} != 0 ]] && return 0
        done <"/proc/$1/status"
    done
    return 1
}
if begin $name 256; then
    CRYO_DUMP_SNAPSHOT=0 "$CRYO" dump -t "$PID" -D "$TMP/$name/img" --leave-running &
    dumper=$!
    _traced "$PID" "$dumper" || note "$name: the dump ended before the workload showed a tracer"
    tsig=$(now_ms)
    kill -USR1 "$PID"
    if wait "$dumper"; then
        judge $name "$PID" "$tsig"
    else
        fail "$name: dump --leave-running failed"
    fi
fi

# The workload stays in this shell's session: refused as a shell job, after collection.
name=shell_job
if SPAWN_SETSID=0 begin $name; then
    if "$CRYO" dump -t "$PID" -D "$TMP/$name/img" 2>"$TMP/$name/err"; then
        fail "$name: the dump of a shell job without --shell-job succeeded"
    elif ! grep -q "shell-job" "$TMP/$name/err"; then
        fail "$name: the dump failed otherwise: $(cat "$TMP/$name/err")"
    else
        judge $name "$PID"
    fi
fi

for phase in frozen collected; do
    name=killed_$phase
    begin $name || continue
    CRYO_TEST_KILL_AT=$phase "$CRYO" dump -t "$PID" -D "$TMP/$name/img" 2>/dev/null
    judge $name "$PID"
done

name=restored
if begin $name && dump_restore $name; then
    judge $name "$PID"
fi

name=twice
if begin $name && dump_restore $name; then
    sleep 0.3
    rm -rf "$TMP/$name/img"
    dump_restore $name && judge $name "$PID"
fi

finish
