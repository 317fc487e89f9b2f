# Shared steps of the task-state checkpoint tests (cr_signals.sh, cr_timers.sh, cr_attrs.sh,
# cr_shared_mem.sh): run a workload with only stdio open, dump it with the cryo CLI, restore it
# detached, ask it to verify itself (SIGUSR1) and read its verdict. Sourced, not run.
set -u
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
BUILD=${CRYO_BUILD:-$(cd "$(dirname "$0")/../../build" && pwd)}
CRYO=${CRYO:-$BUILD/src/cryo}
[ -x "$CRYO" ] || { echo "FAIL: build cryo first"; exit 1; }

TMP=$(mktemp -d "/tmp/$(basename "$0" .sh).XXXXXX")
PIDS=()
cleanup() {
    exec 2>/dev/null
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    { wait; } 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }
ok() { echo "ok: $*"; }
# gone PID: waits until no process has this pid.
gone() { for _ in $(seq 300); do [ -e /proc/$1 ] || return 0; sleep 0.02; done; return 1; }

# start NAME WORKLOAD ARGS...: runs it in $TMP/NAME with stdout in $TMP/NAME/out; sets READY to
# the words of its "ready" line (READY[1] is the root pid).
start() {
    local name=$1
    shift
    mkdir -p "$TMP/$name"
    (
        for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
        cd "$TMP/$name" && exec "$@" >"$TMP/$name/out" 2>&1 </dev/null
    ) &
    PIDS+=("$!")
    for _ in $(seq 300); do
        if grep -q "^ready" "$TMP/$name/out" 2>/dev/null; then
            read -r -a READY < <(grep "^ready" "$TMP/$name/out")
            PIDS+=("${READY[@]:1}")
            return 0
        fi
        sleep 0.02
    done
    fail "$name: workload not ready: $(cat "$TMP/$name/out")"
    return 1
}

# dump_restore NAME: dumps READY[1]'s tree into $TMP/NAME/img, waits for every pid of READY to
# go, restores detached.
dump_restore() {
    local name=$1
    "$CRYO" dump -t "${READY[1]}" -D "$TMP/$name/img" || { fail "$name: dump failed"; return 1; }
    for p in "${READY[@]:1}"; do gone "$p" || { fail "$name: pid $p still there after dump"; return 1; }; done
    "$CRYO" restore -D "$TMP/$name/img" -d || { fail "$name: restore failed"; return 1; }
}

# verify NAME: SIGUSR1 to the restored root, waits for it to finish, checks "verify ok".
verify() {
    local name=$1
    kill -USR1 "${READY[1]}"
    gone "${READY[1]}" || { fail "$name: did not finish after SIGUSR1"; return 1; }
    grep -q "^verify ok" "$TMP/$name/out" && ok "$name: $(grep '^verify ok' "$TMP/$name/out")" \
        || fail "$name: $(grep -v '^ready' "$TMP/$name/out")"
}
