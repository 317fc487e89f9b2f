#!/bin/bash
# Checkpoint/restore of process attributes (tests/cr/cr_attrs.c) through the cryo CLI:
# personality, umask, names of the process and of a thread, nice and scheduling policy per
# thread, capability sets (bounding, permitted, effective, inheritable, ambient), no_new_privs,
# dumpable, child subreaper; a child running as uid 1000 with capabilities kept across the uid
# change and a parent-death signal. /proc status lines must match before and after, and each
# process checks itself. Part 2: a zombie child comes back as a zombie with its exit status.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_attrs

snapshot() { # what /proc shows of every process and thread
    for p in "$@"; do
        echo "$p $(grep -E '^(Cap|NoNewPrivs|Umask|Uid|Gid|Groups)' "/proc/$p/status" | tr -s '\t\n' '  ')"
        echo "$p personality $(cat "/proc/$p/personality")"
        ps -L -o tid=,cls=,ni=,comm= -p "$p"
    done
}

if start attrs "$WORKLOAD" "$TMP/attrs/beat"; then
    before=$(snapshot "${READY[@]:1}")
    if dump_restore attrs; then
        after=$(snapshot "${READY[@]:1}")
        [ "$before" = "$after" ] && ok "status, personality, threads' policy/nice/name as before" \
            || fail "differs: before [$before] after [$after]"
        verify attrs
    fi
fi

if start zombie "$WORKLOAD" "$TMP/zombie/beat" zombie; then
    Z=${READY[3]}
    before=$(snapshot "${READY[1]}"; ps -o pid=,ppid=,pgid=,sid=,stat= -p "$Z")
    if dump_restore zombie; then
        after=$(snapshot "${READY[1]}"; ps -o pid=,ppid=,pgid=,sid=,stat= -p "$Z")
        [ "$before" = "$after" ] && ok "zombie $Z back as a zombie of ${READY[1]}" \
            || fail "zombie differs: before [$before] after [$after]"
        verify zombie
    fi
fi
finish
