# bench/lib.sh, sourced by the checkpoint benches (cr.sh, cr_restore.sh, cr_trivial.sh,
# freeze.sh, cr_container.sh, pagemap_scan.sh) with $src set to the source tree: their common
# set-up. Sourcing it sets BUILD (env CRYO_BUILD, default $src/build) and CRYO (env CRYO, default
# $BUILD/src/cryo). A script then calls bench_check, under_reaper if it needs one, bench_begin,
# and whichever of bench_workload / bench_bandwidth_tool it uses.
BUILD=${CRYO_BUILD:-$src/build}
CRYO=${CRYO:-$BUILD/src/cryo}

# bench_check [HINT]: exits 1 with a one-line message naming the script unless it runs as root
# and $CRYO is executable; HINT ("build it, Release") goes in parentheses after the missing path.
bench_check() {
    local me=bench/${0##*/}
    [ "$(id -u)" = 0 ] || { echo "$me: run as root" >&2; exit 1; }
    [ -x "$CRYO" ] || { echo "$me: no cryo at $CRYO${1:+ ($1)}" >&2; exit 1; }
}

# under_reaper "$0" "$@" re-runs the calling script under a reaper (the `--reap` mode of
# bench/cr_bench_workload.c: a child subreaper that reaps every orphan) unless it already runs
# under one. This machine's pid 1 does not reap orphans, and a killed or restored tree's
# processes must be gone before their pids can be restored again.
under_reaper() {
    if [ -z "${CR_BENCH_REAPER:-}" ]; then
        local reaper
        reaper=$(mktemp /tmp/cr-bench-reaper.XXXXXX)
        bench_compile_workload "$reaper" || exit 1
        CR_BENCH_REAPER=$reaper exec "$reaper" --reap bash "$@"
    fi
    rm -f "$CR_BENCH_REAPER" # it runs on, deleted
}

# bench_begin TAG: makes the work dir $work (${IMAGES:-/tmp}/cryo-bench-TAG.XXXXXX) and an empty
# array pids; on exit, bench_on_exit runs if the script defines it (its own cleanup: containers,
# a single $pid), then every pid in pids is killed (-9) and $work removed.
bench_begin() {
    work=$(mktemp -d "${IMAGES:-/tmp}/cryo-bench-$1.XXXXXX")
    pids=()
    trap bench_cleanup EXIT
}
bench_cleanup() {
    if declare -F bench_on_exit >/dev/null; then bench_on_exit; fi
    local p
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$work"
}

# bench_compile_workload OUT: bench/cr_bench_workload.c built as OUT.
bench_compile_workload() {
    cc -O2 -pthread -iquote "$src/tests/cr" -o "$1" "$src/bench/cr_bench_workload.c"
}
# bench_workload: sets W to bench/cr_bench_workload.c built into $work; fails if it does not build.
bench_workload() {
    W=$work/cr_bench_workload
    bench_compile_workload "$W"
}
# bench_spawn_workload ARGS...: starts "$W" ARGS in the background with stdio on /dev/null and
# none of this shell's other fds (a dump would have to handle them); $! is its pid.
bench_spawn_workload() {
    (
        for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
        exec "$W" "$@" </dev/null >/dev/null 2>&1
    ) &
}

# bench_bandwidth_tool: sets BW to $BUILD/bench/bandwidth if it is built, else to
# bench/bandwidth.cpp built into $work; fails if that does not build.
bench_bandwidth_tool() {
    BW=$BUILD/bench/bandwidth
    [ -x "$BW" ] && return 0
    c++ -O2 -std=c++20 -pthread -o "$work/bandwidth" "$src/bench/bandwidth.cpp" || return 1
    BW=$work/bandwidth
}
# bench_bandwidth: one run of $BW (1 GiB, two threads, its files in $work); prints its
# key=value line.
bench_bandwidth() { "$BW" --size 1024 --dir "$work" --threads 2; }
# bench_field KEY: the number after KEY= on stdin (bench_bandwidth's line).
bench_field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
