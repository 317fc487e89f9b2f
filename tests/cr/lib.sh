# lib.sh: sourced by every tests/cr/*.sh checkpoint/restore test (not a test itself: the
# tests/CMakeLists.txt glob skips lib.sh). Sourcing it checks for root (exit 77 otherwise),
# locates cryo and the workload binaries, makes the private temp dir $TMP and installs an EXIT
# trap that kills every pid the test recorded in PIDS, runs the deferred commands and removes
# $TMP. Unlike tests/integration/lib.sh it does not `set -e`: a cr test records failures with
# `fail` and goes on to its next case, then ends with `finish`.
#
# Environment: CRYO (cryo binary; ctest sets it), CRYO_BUILD (build dir; default build/).
#
# Variables: BUILD, CRYO, CR_BIN (where the tests/cr workloads are built), DRIVER (the engine
# driver cr_driver), TEST_NAME, TMP, PIDS (killed at exit), FAILED, PID, READY.
#
# API for tests:
#   need NAME...            fails the test unless each binary is built: "cryo", or a program
#                           of tests/cr ("cr_driver", "cr_tree", ...)
#   workload NAME           need NAME, then WORKLOAD=$CR_BIN/NAME
#   fail MSG / ok MSG / note MSG     a failure (the test goes on, exit status 1 at finish)
#   finish                  prints PASS when nothing failed; exits with FAILED
#   defer CMD...            teardown (eval'd) run at exit, last deferred first, before $TMP goes
#   wait_for SECONDS CMD... polls CMD every 20 ms until it succeeds; returns 1 on timeout
#   gone PID                waits (6 s) until no process has this pid
#   finished PID            waits (10 s) until PID is gone or a zombie (its parent reaps it)
#   spawn NAME CMD...       runs CMD in the background in a session of its own (setsid) with
#                           only stdio open (inherited fds closed), cwd and output in $TMP/NAME
#                           (stdout+stderr: $TMP/NAME/out), stdin /dev/null; sets PID, adds it
#                           to PIDS. SPAWN_SETSID=0: CMD stays in this shell's group and session
#   wait_ready NAME         waits (6 s) for a "ready PID..." line in $TMP/NAME/out; sets READY
#                           to its words (READY[1] is the root pid) and adds the pids to PIDS
#   start NAME CMD...       spawn + wait_ready; PID is READY[1]
#   dump_restore NAME [DUMP FLAGS...]   cryo dump -t READY[1] into $TMP/NAME/img, waits for
#                           every pid of READY to go, cryo restore -d
#   verify NAME [PID]       SIGUSR1 to PID (default READY[1]), waits for it to finish and for
#                           its "verify ..." line; passes on "verify ok"
#   refused NAME REGEX CMD...   CMD must fail with exactly one line on stderr, matching the
#                           extended REGEX (kept in $TMP/NAME/refused.err); ok or fail
#   ns_holder KIND          a `sleep` alone in a new namespace of KIND (ipc, net, uts); sets
#                           PID (in PIDS); exits the test if the namespace did not come

set -u
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
# CI runs without standard input: give workloads a /dev/null stdin rather than a closed fd 0.
[ -e /proc/self/fd/0 ] || exec </dev/null

BUILD=${CRYO_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build" 2>/dev/null && pwd)}
CRYO=${CRYO:-$BUILD/src/cryo}
CR_BIN=$BUILD/tests/cr
DRIVER=$CR_BIN/cr_driver
TEST_NAME=$(basename "$0" .sh)
FAILED=0
PIDS=()
_deferred=()

fail() { echo "FAIL: $*"; FAILED=1; }
ok() { echo "ok: $*"; }
note() { echo "NOTE: $*"; }
finish() {
    [ "$FAILED" = 0 ] && echo "PASS: $TEST_NAME"
    exit "$FAILED"
}
defer() { _deferred+=("$*"); }

need() {
    local name path
    for name in "$@"; do
        case $name in
        cryo) path=$CRYO ;;
        *) path=$CR_BIN/$name ;;
        esac
        [ -x "$path" ] || { echo "FAIL: build $name first ($path)"; exit 1; }
    done
}
workload() {
    need "$1"
    WORKLOAD=$CR_BIN/$1
}

TMP=$(mktemp -d "/tmp/$TEST_NAME.XXXXXX")
_cleanup() {
    exec 2>/dev/null # no job notices for the workloads killed here
    local p i
    for p in "${PIDS[@]}"; do kill -9 "$p"; done
    { wait; } 2>/dev/null
    for ((i = ${#_deferred[@]} - 1; i >= 0; i--)); do eval "${_deferred[i]}"; done
    rm -rf "$TMP"
}
trap _cleanup EXIT

wait_for() {
    local tries=$(($1 * 50))
    shift
    while ((tries-- > 0)); do
        "$@" && return 0
        sleep 0.02
    done
    return 1
}
_absent() { [ ! -e "/proc/$1" ]; }
_done() { [ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
gone() { wait_for 6 _absent "$1"; }
finished() { wait_for 10 _done "$1"; }

spawn() {
    local name=$1
    shift
    mkdir -p "$TMP/$name"
    (
        # Close every inherited fd above 2 (a test harness may leak some): the image must hold
        # only what the workload opened.
        for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
        # Its own session and group, as a daemon: a job of this shell would need --shell-job
        # (cr_shell_job tests that). setsid(1) does not fork here (no group leader).
        local own=(setsid)
        [ "${SPAWN_SETSID:-1}" = 0 ] && own=()
        cd "$TMP/$name" && exec "${own[@]}" "$@" >"$TMP/$name/out" 2>&1 </dev/null
    ) &
    PID=$!
    PIDS+=("$PID")
}

_has_ready() { grep -q "^ready" "$1" 2>/dev/null; }
wait_ready() {
    local out=$TMP/$1/out
    if ! wait_for 6 _has_ready "$out"; then
        fail "$1: workload not ready: $(cat "$out" 2>/dev/null)"
        return 1
    fi
    read -r -a READY < <(grep "^ready" "$out")
    PIDS+=("${READY[@]:1}")
}

start() {
    spawn "$@" || return 1
    wait_ready "$1" || return 1
    PID=${READY[1]}
}

dump_restore() {
    local name=$1 p
    shift
    "$CRYO" dump -t "${READY[1]}" -D "$TMP/$name/img" "$@" || { fail "$name: dump failed"; return 1; }
    for p in "${READY[@]:1}"; do gone "$p" || { fail "$name: pid $p still there after dump"; return 1; }; done
    "$CRYO" restore -D "$TMP/$name/img" -d || { fail "$name: restore failed"; return 1; }
}

_has_verdict() { grep -q "^verify" "$1" 2>/dev/null; }
verify() {
    local name=$1 pid=${2:-${READY[1]}} out=$TMP/$1/out
    kill -USR1 "$pid"
    finished "$pid" && wait_for 2 _has_verdict "$out" || { fail "$name: no verdict after SIGUSR1: $(cat "$out")"; return 1; }
    if grep -q "^verify ok" "$out"; then
        ok "$name: $(grep '^verify ok' "$out")"
    else
        fail "$name: $(grep -v '^ready' "$out")"
        return 1
    fi
}

refused() {
    local name=$1 pattern=$2 err
    shift 2
    mkdir -p "$TMP/$name"
    err=$TMP/$name/refused.err
    if "$@" 2>"$err"; then
        fail "$name: succeeded: $*"
        return 1
    fi
    if [ "$(wc -l <"$err")" = 1 ] && grep -Eq "$pattern" "$err"; then
        ok "$name: refused: $(cat "$err")"
    else
        fail "$name: refusal: $(cat "$err")"
        return 1
    fi
}

_other_ns() { [ "$(readlink "/proc/$1/ns/$2")" != "$(readlink "/proc/self/ns/$2")" ]; }
ns_holder() {
    local kind=$1 flag
    case $kind in
    ipc) flag=-i ;;
    net) flag=-n ;;
    uts) flag=-u ;;
    *) fail "ns_holder: unknown namespace kind $kind"; exit 1 ;;
    esac
    unshare "$flag" sleep 600 &
    PID=$!
    PIDS+=("$PID")
    wait_for 2 _other_ns "$PID" "$kind" || { fail "holder did not get its own $kind namespace"; exit 1; }
}
