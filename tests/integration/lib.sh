# lib.sh: sourced by every integration test. Sourcing it checks for root (exit 77 otherwise),
# makes a private temp dir and state root for the test, and installs an EXIT trap that fails
# the test if anything it created is left behind (mounts, cgroups, processes, state dirs),
# then removes all of it.
#
# Environment: CRYO (runtime binary; ctest sets it; CRYO=/usr/sbin/runc checks a test's
# expectations against runc), CRYO_SOURCE (repo root), CRYO_BUILD (build dir).
#
# API for tests:
#   cryo ARGS...                 "$CRYO" --root "$ROOT" ARGS...
#   new_id                       prints a fresh container id unique to this test run
#   make_bundle DIR [ARGS...]    busybox bundle; process.args=ARGS, terminal false, hostname
#                                $TEST_HOSTNAME, env marker so leaked processes are found
#   spec_edit DIR JQ [JQARGS...] edits DIR/config.json in place with a jq filter
#   run_cmd CMD...               runs CMD, never fails; sets OUT, ERR, STATUS
#   assert_eq EXPECTED ACTUAL [WHAT]     assert_contains HAYSTACK NEEDLE [WHAT]
#   assert_not_contains HAYSTACK NEEDLE [WHAT]   assert_status N CMD...
#   assert_fails_with "message part" CMD...      non-zero exit, exactly one stderr line, part in it
#   wait_until SECONDS CMD...    polls CMD every 20 ms until it succeeds, else fails the test
#   container_pid ID / container_status ID       from `cryo state`
#   wait_status ID STATUS [SECONDS]              polls `cryo state` until STATUS
#   cgroup_dir PID CONTROLLER                    host cgroup directory of PID for CONTROLLER
#   fail MSG / log MSG
#   check_no_leaks               runs from the EXIT trap; callable mid-test too
#   watch_for_leaks ID...        more ids for check_no_leaks (ids a client chose)
#   defer CMD...                 teardown run at exit (LIFO) before the leak check

set -euo pipefail

CRYO_SOURCE=${CRYO_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
if [ -z "${CRYO:-}" ]; then
    for candidate in "$CRYO_SOURCE/build-test/src/cryo" "$CRYO_SOURCE/build/src/cryo"; do
        if [ -x "$candidate" ]; then CRYO=$candidate; break; fi
    done
fi
TEST_NAME=$(basename "${BASH_SOURCE[1]:-$0}" .sh)

log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }
fail() {
    printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
    exit 1
}

need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "[$TEST_NAME] skipped: needs root" >&2
        exit 77
    fi
}

need_root
# CI runs without standard input; a closed fd 0 would be reused by the next open and confuse
# the fd checks, so give the test a /dev/null stdin instead.
[ -e /proc/self/fd/0 ] || exec </dev/null
[ -n "${CRYO:-}" ] && [ -x "$CRYO" ] || fail "no cryo binary (set CRYO; tried build-test/ and build/)"
CRYO=$(readlink -f "$CRYO")
command -v jq >/dev/null || fail "jq is not installed (scripts/setup.sh installs it)"

# Everything the test makes lives under TEST_TMP; every id, hostname and marker contains
# TEST_TAG, which is how check_no_leaks recognises what this test left behind.
TEST_TAG="cryotest$$x" # the x ends the pid: cryotest12x never matches cryotest123x
TEST_TMP=$(mktemp -d "/tmp/cryo-it-$TEST_NAME.XXXXXX")
ROOT=$TEST_TMP/state
mkdir -p "$ROOT"
TEST_HOSTNAME="ct-${TEST_NAME//_/-}"
TEST_HOSTNAME=${TEST_HOSTNAME:0:63}
export CRYO_TEST_MARKER=$TEST_TAG
_ids_file=$TEST_TMP/.ids
: > "$_ids_file"

cryo() { "$CRYO" --root "$ROOT" "$@"; }

# More ids check_no_leaks looks for (ids chosen by a client, like podman's 64-hex ones).
LEAK_PATTERNS=()
watch_for_leaks() { LEAK_PATTERNS+=("$@"); }

# defer CMD...: runs CMD (eval'd) at exit, last deferred first, before the leak check; for
# the test's own teardown (stopping a daemon it started), which must run on failure too.
_deferred=()
defer() { _deferred+=("$*"); }

new_id() {
    local n
    n=$(($(wc -l < "$_ids_file") + 1))
    echo "$TEST_TAG-$n" >> "$_ids_file"
    echo "$TEST_TAG-$n"
}

spec_edit() {
    local dir=$1 filter=$2
    shift 2
    jq "$@" "$filter" "$dir/config.json" > "$dir/config.json.new"
    mv "$dir/config.json.new" "$dir/config.json"
}

make_bundle() {
    local dir=$1
    shift
    "$CRYO_SOURCE/scripts/make-bundle.sh" --runtime "$CRYO" --hostname "$TEST_HOSTNAME" "$dir" "$@" \
        || fail "make_bundle $dir failed"
    spec_edit "$dir" '.process.env = ((.process.env // []) | map(select(startswith("CRYO_TEST_MARKER=") | not)) + ["CRYO_TEST_MARKER=" + $m])' \
        --arg m "$TEST_TAG"
}

run_cmd() {
    local out_file=$TEST_TMP/.out err_file=$TEST_TMP/.err
    STATUS=0
    "$@" >"$out_file" 2>"$err_file" || STATUS=$?
    OUT=$(cat "$out_file")
    ERR=$(cat "$err_file")
}

assert_eq() {
    [ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

assert_contains() {
    case $1 in
        *"$2"*) ;;
        *) fail "${3:-output}: expected to contain '$2', got: '$1'" ;;
    esac
}

assert_not_contains() {
    case $1 in
        *"$2"*) fail "${3:-output}: expected not to contain '$2', got: '$1'" ;;
        *) ;;
    esac
}

assert_status() {
    local expected=$1
    shift
    run_cmd "$@"
    [ "$STATUS" = "$expected" ] || fail "$*: expected exit status $expected, got $STATUS (stderr: $ERR)"
}

# The bad-input rule: a non-zero exit and exactly one line on stderr that names the problem.
assert_fails_with() {
    local part=$1 lines
    shift
    run_cmd "$@"
    [ "$STATUS" != 0 ] || fail "$*: expected failure, got exit 0 (stdout: $OUT)"
    lines=$(printf '%s\n' "$ERR" | grep -c . || true)
    [ "$lines" = 1 ] || fail "$*: expected exactly one error line, got $lines: '$ERR'"
    local lower_err lower_part
    lower_err=$(printf '%s' "$ERR" | tr '[:upper:]' '[:lower:]')
    lower_part=$(printf '%s' "$part" | tr '[:upper:]' '[:lower:]')
    case $lower_err in
        *"$lower_part"*) ;;
        *) fail "$*: error should contain '$part', got: '$ERR'" ;;
    esac
}

wait_until() {
    local seconds=$1 deadline
    shift
    deadline=$(($(date +%s%N) + seconds * 1000000000))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s%N)" -lt "$deadline" ] || fail "timed out after ${seconds}s waiting for: $*"
        sleep 0.02
    done
}

container_pid() { cryo state "$1" | jq -r .pid; }
container_status() { cryo state "$1" | jq -r .status; }
_status_is() { [ "$(container_status "$1" 2>/dev/null)" = "$2" ]; }
wait_status() { wait_until "${3:-10}" _status_is "$1" "$2"; }

# cgroup_dir PID CONTROLLER: the host directory of PID's cgroup for CONTROLLER (v1 hierarchy
# if mounted, else the unified hierarchy).
cgroup_dir() {
    local pid=$1 controller=$2 path
    path=$(awk -F: -v c="$controller" '{n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3}' "/proc/$pid/cgroup")
    if [ -n "$path" ] && [ -d "/sys/fs/cgroup/$controller" ]; then
        echo "/sys/fs/cgroup/$controller$path"
    else
        path=$(awk -F: '$1 == "0" {print $3}' "/proc/$pid/cgroup")
        if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
            echo "/sys/fs/cgroup$path"
        else
            echo "/sys/fs/cgroup/unified$path"
        fi
    fi
}

# --- leak detection ----------------------------------------------------------------------------

# Prints one "leak: ..." line per thing this test left behind; returns 1 if there was any.
check_no_leaks() {
    local found=0 line pid self=$$ pattern
    local patterns=("$TEST_TAG" "${LEAK_PATTERNS[@]}")
    # Mounts: none under our temp dir or carrying one of our ids, in our mount namespace.
    for pattern in "${patterns[@]}"; do
        awk -v t="$TEST_TMP" -v g="$pattern" 'index($5, t) == 1 || index($5, g) || index($4, g) {print $5}' /proc/self/mountinfo
    done | sort -u > "$TEST_TMP/.mounts"
    while read -r line; do
        echo "leak: mount $line" >&2
        found=1
    done < "$TEST_TMP/.mounts"
    # Cgroups: no directory named after one of our ids in any hierarchy (v1 and unified).
    for pattern in "${patterns[@]}"; do
        while read -r line; do
            echo "leak: cgroup $line" >&2
            found=1
        done < <(find /sys/fs/cgroup/ -mindepth 2 -type d -name "*$pattern*" 2>/dev/null)
    done
    # Processes: anything carrying our marker in its environment (cryo itself, its helpers and
    # container processes get it) or living in a cgroup named after our ids. The glob is
    # expanded by this shell before grep runs, so grep never sees itself.
    grep -l -z -x "CRYO_TEST_MARKER=$TEST_TAG" /proc/[0-9]*/environ > "$TEST_TMP/.procs" 2>/dev/null || true
    for pattern in "${patterns[@]}"; do
        grep -l -F "$pattern" /proc/[0-9]*/cgroup >> "$TEST_TMP/.procs" 2>/dev/null || true
    done
    for pid in $(sed -n 's|^/proc/\([0-9]*\)/.*|\1|p' "$TEST_TMP/.procs" | sort -un); do
        [ "$pid" = "$self" ] && continue
        [ -d "/proc/$pid" ] || continue
        # Zombies of ours that the shell has not reaped yet are not leaks.
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && continue
        echo "leak: process $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-80))" >&2
        found=1
    done
    # State: nothing in our --root, nothing with our ids in the default root.
    for line in "$ROOT"/*; do
        [ -e "$line" ] || continue
        echo "leak: state dir $line" >&2
        found=1
    done
    for pattern in "${patterns[@]}"; do
        for line in /run/cryo/*"$pattern"*; do
            [ -e "$line" ] || continue
            echo "leak: state dir $line" >&2
            found=1
        done
    done
    return $found
}

# Removes whatever a failed test left, so one failure does not poison the machine.
_force_cleanup() {
    local id pid dir pattern
    local patterns=("$TEST_TAG" "${LEAK_PATTERNS[@]}")
    while read -r id; do
        [ -n "$id" ] || continue
        "$CRYO" --root "$ROOT" delete --force "$id" >/dev/null 2>&1 || true
    done < "$_ids_file"
    for pid in $(grep -l -z -x "CRYO_TEST_MARKER=$TEST_TAG" /proc/[0-9]*/environ 2>/dev/null | sed -n 's|^/proc/\([0-9]*\)/.*|\1|p'); do
        [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null || true
    done
    for pattern in "${patterns[@]}"; do
        # Thaw frozen leftovers so the kill lands and their cgroups can go.
        for dir in $(find /sys/fs/cgroup/freezer/ -mindepth 1 -type d -name "*$pattern*" 2>/dev/null); do
            echo THAWED > "$dir/freezer.state" 2>/dev/null || true
        done
        for pid in $(grep -l -F "$pattern" /proc/[0-9]*/cgroup 2>/dev/null | sed -n 's|^/proc/\([0-9]*\)/.*|\1|p'); do
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null || true
        done
    done
    sleep 0.2
    for pattern in "$TEST_TMP" "${patterns[@]}"; do
        awk -v g="$pattern" 'index($5, g) {print $5}' /proc/self/mountinfo
    done | sort -ru | while read -r dir; do
        umount -l "$dir" 2>/dev/null || true
    done
    for pattern in "${patterns[@]}"; do
        # Deepest first; a parent named after an id goes once its children are gone.
        find /sys/fs/cgroup/ -mindepth 2 -depth -type d -path "*$pattern*" -exec rmdir {} \; 2>/dev/null || true
        rm -rf /run/cryo/*"$pattern"* 2>/dev/null || true
    done
}

_on_exit() {
    local status=$? leaked=0
    trap - EXIT
    set +e
    local i
    for ((i = ${#_deferred[@]} - 1; i >= 0; i--)); do
        eval "${_deferred[$i]}" || echo "[$TEST_NAME] deferred cleanup failed: ${_deferred[$i]}" >&2
    done
    check_no_leaks || leaked=1
    if [ $leaked = 1 ]; then
        _force_cleanup
        echo "[$TEST_NAME] FAIL: the test left things behind (listed above)" >&2
    fi
    if ! rm -rf --one-file-system "$TEST_TMP" 2>/dev/null; then
        echo "[$TEST_NAME] FAIL: cannot remove $TEST_TMP" >&2
        leaked=1
    fi
    if [ $status = 0 ] && [ $leaked = 1 ]; then
        status=1
    fi
    [ $status = 0 ] && echo "[$TEST_NAME] PASS" >&2
    exit $status
}
trap _on_exit EXIT
# set -e ends a test at the first failing command; say which one.
trap 'echo "[$TEST_NAME] FAIL: line $LINENO: \`$BASH_COMMAND\` failed with status $?" >&2' ERR
