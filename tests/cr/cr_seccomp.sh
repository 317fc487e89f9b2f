#!/bin/bash
# Checkpoint/restore of seccomp state (tests/cr/cr_seccomp.c) through the cryo CLI: a root
# with filters A and K (K kills the process on syscalls that only cryo makes in it) and a
# second thread with its own filters B and L (3001 instructions) on top, a child that inherited A and K and added C with TSYNC on both of its threads (and holds no CAP_SYS_ADMIN nor
# no_new_privs), and a child in strict mode. The Seccomp/Seccomp_filters/NoNewPrivs lines of
# every thread must match before and after; the restored tree dumped again (--leave-running)
# must give the same seccomp records; and each process checks that blocked syscalls fail with
# the same errno, others work, and TSYNC still sees which threads share a chain. Part 2: a
# filter with a user-space notifier (listener closed, or held by the process) is refused in
# one line naming the process, and the process runs on.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_seccomp

seccomp_lines() { # per thread of each pid
    local p t
    for p in "$@"; do
        for t in $(ls "/proc/$p/task" | sort -n); do
            echo "$p/$t $(grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' "/proc/$p/task/$t/status" | tr -s '\t\n' '  ')"
        done
    done
}
records() { # the seccomp part of one process's image metadata
    jq -S -c '{ filters: .task.seccomp_filters, threads: [.threads[].task.seccomp] }' "$1/process-$2.json"
}

if start seccomp "$WORKLOAD"; then
    ROOT=${READY[1]} CHILD=${READY[2]} STRICT=${READY[3]}
    before=$(seccomp_lines "$ROOT" "$CHILD" "$STRICT")
    # What the workload set up, as /proc shows it: root [A,K] and [A,K,B,L], child [A,K,C]
    # twice, strict.
    expected="$(printf '%s\n' "2 2" "2 4" "2 3" "2 3" "1 0")"
    got=$(echo "$before" | sed -E 's/.*Seccomp: ([0-9]) Seccomp_filters: ([0-9]+).*/\1 \2/')
    [ "$got" = "$expected" ] || fail "workload set-up differs: [$before]"
    if dump_restore seccomp; then
        after=$(seccomp_lines "$ROOT" "$CHILD" "$STRICT")
        [ "$before" = "$after" ] && ok "Seccomp, Seccomp_filters, NoNewPrivs of every thread as before" \
            || fail "differs: before [$before] after [$after]"
        if "$CRYO" dump -t "$ROOT" -D "$TMP/seccomp/again" --leave-running; then
            for p in "$ROOT" "$CHILD" "$STRICT"; do
                a=$(records "$TMP/seccomp/img" "$p") b=$(records "$TMP/seccomp/again" "$p")
                [ "$a" = "$b" ] && ok "process $p: same seccomp records when dumped again" \
                    || fail "process $p: seccomp records differ: [$a] vs [$b]"
            done
            text=$("$CRYO" checkpoint inspect "$TMP/seccomp/again")
            case $text in
            *"seccomp filters 0 1 2 3"*"3001 instructions"*"seccomp strict"*) ok "inspect shows the chains and strict mode" ;;
            *) fail "inspect: $text" ;;
            esac
            log=$(jq -c '[.task.seccomp_filters[].log]' "$TMP/seccomp/again/process-$ROOT.json")
            [ "$log" = "[true,false,false,false]" ] && ok "SECCOMP_FILTER_FLAG_LOG kept on A only" \
                || fail "log flags of the root's filters: $log"
        else
            fail "dump of the restored tree failed"
        fi
        verify seccomp
    fi
fi

# name, argument, what the one-line refusal must say
for c in "notif notif USER_NOTIF" "listener notif-listener seccomp notify"; do
    read -r name arg reason <<<"$c"
    start "$name" "$WORKLOAD" "$arg" || continue
    if err=$("$CRYO" dump -t "$PID" -D "$TMP/$name/img" 2>&1); then
        fail "$name: dump of a process with a user-notif filter succeeded"
    else
        case $err in
        *"process $PID"*"$reason"*) ok "$name: refused: $err" ;;
        *) fail "$name: refusal does not name the process and the reason: $err" ;;
        esac
    fi
    [ -e "/proc/$PID" ] || fail "$name: process $PID gone after the refused dump"
    [ "$(grep -c . <<<"$err")" = 1 ] || fail "$name: refusal is not one line: $err"
    verify "$name"
done
finish
