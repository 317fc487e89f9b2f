#!/bin/bash
# Robust mutexes and pthread_join across a checkpoint (the workload tests/cr/cr_robust.c):
# every thread's robust futex list (set_robust_list(2)) and clear_child_tid
# (set_tid_address(2)) are kernel state that a restore must register again, in each thread,
# the leader included. Without them a thread that exits holding a robust mutex leaves it
# unmarked (the next locker hangs instead of getting EOWNERDEAD) and pthread_join of it hangs.
# The workload holds 3 robust mutexes (the leader one, two holder threads one each) and has a
# waiter blocked on one of them; its child process holds a process-shared one. After SIGUSR1
# the holders, the child process and then the leader exit without unlocking. It checks get_robust_list and PR_GET_TID_ADDRESS of every thread against the
# values before the checkpoint, EOWNERDEAD + pthread_mutex_consistent for each dead owner's
# mutex, and that every pthread_join returns; every wait is bounded (3 s).
#   kill      dump, restore -d, verify the restored process.
#   left      dump --leave-running: the original runs the scenario unharmed; then the image
#             restores and the restored process runs it too.
#   twice     dump, restore, dump the restored process again, restore, verify: the second
#             image holds the registrations the first restore made.
#   image     the image holds each thread's robust list and clear_child_tid as the workload
#             printed them (process-PID.json), and `cryo checkpoint inspect --format json`
#             shows the robust lists.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_robust

# begin NAME: the workload, out of this shell's job table (bash would print a job notice for
# the original that the dump kills).
begin() {
    start "$1" "$WORKLOAD" || return 1
    disown "$PID" 2>/dev/null
    return 0
}

# check NAME PID [LABEL]: SIGUSR1, then the verdict (the scenario takes well under 20 s even
# when every bounded wait times out) and the process's end.
check() {
    local name=$1 pid=$2 out=$TMP/$1/out label=${3:-$1}
    kill -USR1 "$pid"
    if ! wait_for 20 _has_verdict "$out"; then
        fail "$label: no verdict: $(grep -v '^thread' "$out")"
        return 1
    fi
    finished "$pid" || fail "$label: pid $pid still running after its verdict"
    if grep -q "^verify ok" "$out"; then
        ok "$label: $(grep '^verify' "$out")"
    else
        fail "$label: $(grep '^verify' "$out")"
    fi
}

name=kill
if begin $name && dump_restore $name; then
    check $name "$PID"
fi

name=left
if begin $name; then
    size=$(stat -c %s "$TMP/$name/out")
    if "$CRYO" dump -t "$PID" -D "$TMP/$name/img" --leave-running; then
        check $name "$PID" "$name original"
        gone "$PID" || fail "$name: original still there"
        # The restored process writes on at the dumped offset of its output file.
        truncate -s "$size" "$TMP/$name/out"
        if "$CRYO" restore -D "$TMP/$name/img" -d; then
            check $name "$PID" "$name restored"
        else
            fail "$name: restore failed"
        fi
    else
        fail "$name: dump --leave-running failed"
    fi
fi

name=twice
if begin $name && dump_restore $name; then
    rm -rf "$TMP/$name/img"
    dump_restore $name && check $name "$PID"
fi

# The image's threads, "TID HEAD LENGTH TID_ADDRESS" from the process metadata (the codec's
# robust_list and clear_child_tid keys), against what each thread itself saw.
name=image
if begin $name && "$CRYO" dump -t "$PID" -D "$TMP/$name/img" --leave-running; then
    want=$(awk '/^thread/ { printf "%d %d %d %d\n", $3, strtonum($5), $6, strtonum($8) }' "$TMP/$name/out" | sort)
    got=$(jq -r '.threads[] | "\(.tid) \(.task.robust_list.head // 0) \(.task.robust_list.length // 0) \(.clear_child_tid)"' \
        "$TMP/$name/img/process-$PID.json" "$TMP/$name/img/process-${READY[2]}.json" | sort)
    if [ "$(echo "$want" | wc -l)" = 6 ] && [ "$want" = "$got" ]; then
        ok "$name: robust lists and tid addresses of 6 threads (2 processes) in the image"
    else
        fail "$name: image has '$(echo $got)', the workload registered '$(echo $want)'"
    fi
    # And as cryo checkpoint inspect shows them.
    want=$(echo "$want" | cut -d' ' -f1-3)
    got=$("$CRYO" checkpoint inspect "$TMP/$name/img" --format json |
        jq -r '.processes[].task.threads[] | "\(.tid) \(.robust_list.head // 0) \(.robust_list.length // 0)"' | sort)
    [ "$want" = "$got" ] && ok "$name: inspect shows the robust lists" ||
        fail "$name: inspect shows '$(echo $got)', the workload registered '$(echo $want)'"
    check $name "$PID"
fi

finish
