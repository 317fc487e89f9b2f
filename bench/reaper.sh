# bench/reaper.sh, sourced by the checkpoint benches (cr.sh, cr_trivial.sh), with $src set to
# the source tree. under_reaper "$0" "$@" re-runs the calling script under a reaper (the
# `--reap` mode of bench/cr_bench_workload.c: a child subreaper that reaps every orphan) unless
# it already runs under one. This machine's pid 1 does not reap orphans, and a killed or
# restored tree's processes must be gone before their pids can be restored again.
under_reaper() {
    if [ -z "${CR_BENCH_REAPER:-}" ]; then
        local reaper
        reaper=$(mktemp /tmp/cr-bench-reaper.XXXXXX)
        cc -O2 -pthread -iquote "$src/tests/cr" -o "$reaper" "$src/bench/cr_bench_workload.c" || exit 1
        CR_BENCH_REAPER=$reaper exec "$reaper" --reap bash "$@"
    fi
    rm -f "$CR_BENCH_REAPER" # it runs on, deleted
}
