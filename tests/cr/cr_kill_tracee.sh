#!/bin/bash
# A process of the tree SIGKILLed from outside while cryo runs a remote syscall in it (the
# CRYO_TEST_KILL_TRACEE=NR:PID hook of sys/tracee.cpp kills it from the syscall-entry stop of
# remote syscall NR) fails the dump at once, in one line naming the process, and every other
# process of the tree runs on: thawed, not traced, beating. The tree is tests/cr/cr_tree (a
# root with 3 threads, child A with grandchild B, child C). Killing the multi-threaded root
# is the case that used to hang: a leader's exit is reported to its tracer only after its
# other threads, which cryo also traces, are reaped.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_tree

# runs_on NAME PID ROLE...: every thread of PID untraced and not stopped, each ROLE beating.
runs_on() {
    local name=$1 pid=$2 role t n1 n2
    shift 2
    [ -d /proc/$pid ] || { fail "$name: process $pid is gone"; return; }
    for t in /proc/$pid/task/*; do
        grep -q "TracerPid:.0$" "$t/status" || fail "$name: thread ${t##*/} still traced"
        case $(awk '/^State:/ {print $2}' "$t/status") in t|T) fail "$name: thread ${t##*/} left stopped" ;; esac
    done
    for role in "$@"; do
        n1=$(wc -l <"$TMP/$name/beat-$role"); sleep 0.2; n2=$(wc -l <"$TMP/$name/beat-$role")
        [ "$n2" -gt "$n1" ] || fail "$name: $role does not beat ($n1 -> $n2)"
    done
}

# case NAME VICTIM SYSCALL [DUMP FLAGS...]: VICTIM is root, a or c.
run_case() {
    local name=$1 victim=$2 nr=$3
    shift 3
    mkdir -p "$TMP/$name"
    start "$name" "$WORKLOAD" "$TMP/$name" || return
    local root=${READY[1]} a=${READY[2]} c=${READY[3]}
    local b
    b=$(cat /proc/$a/task/$a/children | tr -d ' ')
    PIDS+=("$b")
    local target=$root
    [ "$victim" = a ] && target=$a
    [ "$victim" = c ] && target=$c
    local t0=$SECONDS
    CRYO_TEST_KILL_TRACEE=$nr:$target timeout 20 "$CRYO" dump -t "$root" -D "$TMP/$name/img" "$@" \
        >"$TMP/$name/dump.out" 2>"$TMP/$name/dump.err"
    local rc=$? took=$((SECONDS - t0))
    local err
    err=$(cat "$TMP/$name/dump.err")
    if [ $rc = 124 ]; then
        fail "$name: dump hung (killed by timeout after 20 s)"
    elif [ $rc = 0 ]; then
        fail "$name: dump succeeded with process $target killed"
    elif [ "$took" -gt 5 ]; then
        fail "$name: dump took $took s to fail"
    elif [ "$(wc -l <"$TMP/$name/dump.err")" != 1 ] || ! grep -q "process $target died" "$TMP/$name/dump.err"; then
        fail "$name: error is not one line naming process $target: $err"
    else
        ok "$name: failed in ${took}s: $err"
    fi
    [ -e "$TMP/$name/img/manifest.json" ] && fail "$name: an image was committed"
    # The victim is gone (a zombie until its parent reaps it at most).
    finished "$target" || fail "$name: process $target survived its SIGKILL"
    [ "$victim" = root ] && { wait "$root"; } 2>/dev/null # (no "Killed" notice from bash)
    case $victim in
    root) runs_on "$name" "$a" a; runs_on "$name" "$b" b; runs_on "$name" "$c" c ;;
    a) runs_on "$name" "$root" root; runs_on "$name" "$b" b; runs_on "$name" "$c" c ;;
    c) runs_on "$name" "$root" root; runs_on "$name" "$a" a; runs_on "$name" "$b" b ;;
    esac
}

# mmap (9): the scratch page, the first remote syscall in a process.
run_case root-mmap root 9
run_case a-mmap a 9
run_case c-mmap-leave c 9 --leave-running
run_case root-mmap-leave root 9 --leave-running
# rt_sigaction (13): signal actions, read with the scratch page mapped (cannot be unmapped
# from a dead process: no second line about it).
run_case root-sigaction root 13
run_case a-sigaction-leave a 13 --leave-running

finish
