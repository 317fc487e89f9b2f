#!/bin/bash
# A shell job (tests/cr/cr_tree, tests/cr/cr_memory started from this shell, in its process
# group and session, not in sessions of their own): 1. `cryo dump` without --shell-job is
# refused in one line naming the process and the session led from outside the tree, and
# the tree runs on untraced. 2. With --shell-job it is dumped; restored from the same shell
# every pid, parent, group and session is as before (the root is back in this shell's group
# and session; its children keep the group and session they lead) and every process checks
# itself. 3. Restored by a cryo in a new session (setsid), the root joins the restoring
# caller's group and session, as CRIU's restore --shell-job does.
source "$(dirname "$0")/lib.sh"
need cryo cr_memory
workload cr_tree
ids() { ps -o pid=,ppid=,pgid=,sid= -p "$1" | tr -s ' '; }

SPAWN_SETSID=0
if start job "$WORKLOAD" "$TMP/job"; then
    ROOT=${READY[1]} A=${READY[2]} C=${READY[3]}
    B=$(tr -d ' ' </proc/$A/task/$A/children)
    PIDS+=("$B")
    my_sid=$(ps -o sid= -p $$ | tr -d ' ')
    [ "$(ps -o sid= -p "$ROOT" | tr -d ' ')" = "$my_sid" ] || fail "the workload is not in this shell's session"

    # 1. Refused without --shell-job.
    refused job "^cryo: dump $ROOT: process $ROOT is in session $my_sid whose leader is not in the dumped tree \(a shell job\): needs --shell-job$" \
        "$CRYO" dump -t "$ROOT" -D "$TMP/job/refused"
    [ -e "$TMP/job/refused" ] && fail "a refused dump left an image"
    for p in "$ROOT" "$A" "$B" "$C"; do
        grep -q "TracerPid:[[:space:]]*0" "/proc/$p/status" || fail "pid $p traced after a refused dump"
    done

    # 2. --shell-job, restored from this shell: everything as before.
    before=$(for p in "$ROOT" "$A" "$B" "$C"; do ids "$p"; done)
    "$CRYO" dump -t "$ROOT" -D "$TMP/job/img" --shell-job || fail "dump --shell-job failed"
    for p in "$ROOT" "$A" "$B" "$C"; do gone "$p" || fail "pid $p still there after dump"; done
    if "$CRYO" restore -D "$TMP/job/img" -d; then
        after=$(for p in "$ROOT" "$A" "$B" "$C"; do ids "$p"; done)
        # The root's parent is whoever reaped cryo's child (not this shell any more).
        strip_root_ppid() { sed '1s/^\( *[0-9]*\) [0-9]*/\1 P/'; }
        [ "$(echo "$before" | strip_root_ppid)" = "$(echo "$after" | strip_root_ppid)" ] \
            && ok "pids, groups and sessions as before: $(echo $after)" \
            || fail "differs: before [$before] after [$after]"
        verify job "$ROOT"
        for role in a b c; do
            grep -q "^ok" "$TMP/job/result-$role" 2>/dev/null || fail "$role: $(cat "$TMP/job/result-$role" 2>/dev/null)"
        done
    else
        fail "restore of the shell job failed"
    fi
fi

# 3. Restored by a cryo in a session of its own: the root joins that session and group.
if start alone "$CR_BIN/cr_memory" 4 "$TMP/alone/beat"; then
    "$CRYO" dump -t "$PID" -D "$TMP/alone/img" --shell-job || fail "alone: dump --shell-job failed"
    gone "$PID" || fail "alone: still there after dump"
    setsid "$CRYO" restore -D "$TMP/alone/img" -d &
    caller=$!
    wait "$caller" || fail "alone: restore failed"
    read -r group session < <(ps -o pgid=,sid= -p "$PID")
    [ "$group $session" = "$caller $caller" ] \
        && ok "alone: restored into the restoring cryo's group and session ($group $session)" \
        || fail "alone: group and session [$group $session], restoring cryo was $caller"
    verify alone
fi
finish
