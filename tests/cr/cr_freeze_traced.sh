#!/bin/bash
# The freeze refuses a tree one of whose threads another tracer holds, in one line naming the
# thread, its process and the tracer, and every other process of the tree runs on: thawed, not
# traced, beating; the outside tracer keeps its tracee. (freeze.cpp asks who traces a thread
# only once PTRACE_SEIZE said EPERM, not by reading every thread's status beforehand.)
#   grandchild  B, the last process the walk reaches, is held by a python3 tracer
#               (PTRACE_SEIZE, the tracee runs on): root, A and C were already frozen.
#   thread      a non-leader thread of the root (3 threads) is held: the refusal comes with
#               the root's leader already seized.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_tree
command -v python3 >/dev/null || { fail "python3 is needed"; finish; }

cat >"$TMP/tracer.py" <<'PY'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_SEIZE = 0x4206
tid = int(sys.argv[1])
if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
    print("seize failed: errno %d" % ctypes.get_errno(), flush=True)
    sys.exit(1)
print("ready", os.getpid(), flush=True)
time.sleep(60)
PY

# untraced_running NAME PID ROLE [SKIP]: every thread of PID but SKIP (the outside tracer's)
# untraced and not stopped, ROLE beating.
untraced_running() {
    local name=$1 pid=$2 role=$3 skip=${4:-} t n1 n2
    for t in /proc/$pid/task/*; do
        [ "${t##*/}" = "$skip" ] && continue
        grep -q "TracerPid:.0$" "$t/status" || fail "$name: thread ${t##*/} of $pid still traced"
        case $(awk '/^State:/ {print $2}' "$t/status") in t | T) fail "$name: thread ${t##*/} of $pid left stopped" ;; esac
    done
    n1=$(wc -l <"$TMP/$name/beat-$role"); sleep 0.2; n2=$(wc -l <"$TMP/$name/beat-$role")
    [ "$n2" -gt "$n1" ] && ok "$name: $role ($pid) untraced and beating" || fail "$name: $role does not beat ($n1 -> $n2)"
}

# run_case NAME WHICH: WHICH is b (grandchild B's leader) or thread (a non-leader thread of the root).
run_case() {
    local name=$1 which=$2 root a c b victim pid tracer
    mkdir -p "$TMP/$name"
    start "$name" "$WORKLOAD" "$TMP/$name" || return
    root=${READY[1]} a=${READY[2]} c=${READY[3]}
    b=$(tr -d ' ' </proc/$a/task/$a/children)
    PIDS+=("$b")
    if [ "$which" = b ]; then
        pid=$b victim=$b
    else
        pid=$root victim=$(ls /proc/$root/task | grep -vx "$root" | head -1)
    fi
    start "$name-tracer" python3 "$TMP/tracer.py" "$victim" || { fail "$name: tracer did not start"; return; }
    tracer=${READY[1]}
    grep -q "TracerPid:[[:space:]]*$tracer$" "/proc/$pid/task/$victim/status" || fail "$name: thread $victim not traced by $tracer"
    refused "$name" "^cryo: dump $root: freeze tree of $root: thread $victim of process $pid is already traced by $tracer$" \
        "$CRYO" dump -t "$root" -D "$TMP/$name/img"
    [ -e "$TMP/$name/img" ] && fail "$name: an image was left at $TMP/$name/img"
    grep -q "TracerPid:[[:space:]]*$tracer$" "/proc/$pid/task/$victim/status" \
        && ok "$name: thread $victim still traced by its own tracer" || fail "$name: thread $victim lost its tracer"
    untraced_running "$name" "$root" root "$victim"
    untraced_running "$name" "$a" a
    untraced_running "$name" "$c" c
    [ "$which" = b ] || untraced_running "$name" "$b" b
    kill "$tracer"
    finished "$tracer" || fail "$name: tracer did not exit"
    # Let go by its tracer, the victim runs on too, and the whole tree still verifies.
    wait_for 2 grep -q "TracerPid:.0$" "/proc/$pid/task/$victim/status" || fail "$name: $victim still traced after its tracer exited"
    verify "$name" "$root"
}

run_case grandchild b
run_case thread thread
finish
