#!/bin/bash
# bench/run.sh: cryo against crun and runc (from Debian), measured in the same run on the same
# busybox bundle, printed as a table with ratios and the mission's goals.
#
#   bench/run.sh [-n RUNS] [--rounds R]      (as root)
#
# Figures: `run` of /bin/true (median), create/start/state/delete each (median), peak RSS of
# `run` (median of wait4 ru_maxrss), 50 detached containers started then `delete --force`d
# (total time of each half), and the machine's memcpy and disk write bandwidth (bench/bandwidth).
# Runtimes take turns in R rounds so that load from other work on the machine hits all alike.
# Environment: CRYO (default: build/src/cryo, built Release if missing), BENCH_DIR (scratch).
#
# crun 1.8 refuses this kind of host ("cgroups in hybrid mode not supported") unless a cgroup
# v1 hugetlb hierarchy is mounted: the bench mounts one for its duration if needed, says so, and
# unmounts it at the end.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-50}
rounds=5
while [ $# -gt 0 ]; do
    case $1 in
        -n) runs=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        -h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "bench/run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: run as root" >&2; exit 1; }
per_round=$(( (runs + rounds - 1) / rounds ))

build=${BENCH_BUILD:-$src/build}
log=$(mktemp /tmp/cryo-bench-build.XXXXXX)
if ! { [ -f "$build/CMakeCache.txt" ] || cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCRYO_WERROR=OFF; } >"$log" 2>&1 ||
   ! cmake --build "$build" -j"$(nproc)" --target runbench bandwidth maxrss >"$log" 2>&1; then
    cat "$log" >&2
    echo "bench/run.sh: cannot build the bench helpers" >&2
    exit 1
fi
if [ -z "${CRYO:-}" ]; then
    CRYO=$build/src/cryo
    cmake --build "$build" -j"$(nproc)" --target cryo >"$log" 2>&1 || {
        echo "bench/run.sh: building cryo failed (tail of the log):" >&2
        tail -n 15 "$log" >&2
    }
fi
rm -f "$log"
runbench=$build/bench/runbench
maxrss=$build/bench/maxrss
bandwidth=$build/bench/bandwidth

declare -A bin
[ -x "$CRYO" ] && bin[cryo]=$(readlink -f "$CRYO")
command -v crun >/dev/null && bin[crun]=$(command -v crun)
command -v runc >/dev/null && bin[runc]=$(command -v runc)
runtimes=()
for rt in cryo crun runc; do
    [ -n "${bin[$rt]:-}" ] && runtimes+=("$rt")
done

work=$(mktemp -d "${BENCH_DIR:-/tmp}/cryo-bench.XXXXXX")
hugetlb_mounted=0
cleanup() {
    local rt id
    set +e
    for rt in "${runtimes[@]}"; do
        for id in $("${bin[$rt]}" --root "$work/state-$rt" list -q 2>/dev/null); do
            "${bin[$rt]}" --root "$work/state-$rt" delete --force "$id" >/dev/null 2>&1
        done
    done
    if [ $hugetlb_mounted = 1 ]; then
        umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb &&
            echo "note: unmounted the cgroup v1 hugetlb hierarchy the bench had mounted for crun"
    fi
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

"$src/scripts/make-bundle.sh" --runtime /nonexistent "$work/true" /bin/true
"$src/scripts/make-bundle.sh" --runtime /nonexistent "$work/sleep" /bin/sleep 1000
for rt in "${runtimes[@]}"; do mkdir -p "$work/state-$rt"; done

# crun needs a v1 hugetlb hierarchy on this hybrid host; probe it once.
if [ -n "${bin[crun]:-}" ]; then
    probe_err=$("${bin[crun]}" --root "$work/state-crun" run --bundle "$work/true" probe 2>&1 >/dev/null) || true
    "${bin[crun]}" --root "$work/state-crun" delete --force probe >/dev/null 2>&1 || true
    if [[ $probe_err == *"hybrid mode"* ]] && [ ! -e /sys/fs/cgroup/hugetlb ]; then
        mkdir /sys/fs/cgroup/hugetlb
        mount -t cgroup -o hugetlb none /sys/fs/cgroup/hugetlb
        hugetlb_mounted=1
        echo "note: crun refuses this host as it is ($probe_err);"
        echo "      mounted a cgroup v1 hugetlb hierarchy at /sys/fs/cgroup/hugetlb for the bench (removed at the end)"
        probe_err=$("${bin[crun]}" --root "$work/state-crun" run --bundle "$work/true" probe 2>&1 >/dev/null) || true
        "${bin[crun]}" --root "$work/state-crun" delete --force probe >/dev/null 2>&1 || true
    fi
    if [ -n "$probe_err" ]; then
        echo "note: crun still fails here ($probe_err): left out" >&2
        runtimes=("${runtimes[@]/crun}")
    fi
fi
if [ -n "${bin[cryo]:-}" ]; then
    probe_err=$("${bin[cryo]}" --root "$work/state-cryo" run --bundle "$work/true" probe 2>&1 >/dev/null) || true
    "${bin[cryo]}" --root "$work/state-cryo" delete --force probe >/dev/null 2>&1 || true
    if [ -n "$probe_err" ]; then
        echo "note: cryo fails to run the bundle ($probe_err): left out" >&2
        runtimes=("${runtimes[@]/cryo}")
    fi
fi
active=()
for rt in "${runtimes[@]}"; do [ -n "$rt" ] && active+=("$rt"); done
runtimes=("${active[@]}")
[ ${#runtimes[@]} -gt 0 ] || { echo "bench/run.sh: no runtime works here" >&2; exit 1; }

echo "cryo bench: ${runs} runs per figure in ${rounds} rounds, runtimes: ${runtimes[*]}"
for rt in "${runtimes[@]}"; do printf '  %-5s %s\n' "$rt" "${bin[$rt]}"; done
echo "  machine: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"

samples=$work/samples
# measure RT RUNBENCH-ARGS...: runs runbench; a failure (a runtime command exiting non-zero) is
# printed once and marks the runtime's figures of that invocation "fail" instead of ending
# the bench, so the other runtimes are still measured.
declare -A failed
measure() {
    local rt=$1 err
    shift
    [ -n "${failed[$rt]:-}" ] && return 0
    if ! err=$("$runbench" "$@" 2>&1 >/dev/null); then
        failed[$rt]=$err
        echo "note: $rt failed, its remaining figures are left out: $err" >&2
    fi
}
for round in $(seq 1 "$rounds"); do
    for rt in "${runtimes[@]}"; do
        r=${bin[$rt]}
        root=$work/state-$rt
        measure "$rt" -n "$per_round" -w 2 -o "$samples.$rt" \
            -- run "$r" --root "$root" run --bundle "$work/true" "run$round-{i}"
        measure "$rt" -n "$per_round" -w 1 -o "$samples.$rt" \
            -- create "$r" --root "$root" create --bundle "$work/true" "lc$round-{i}" \
            -- start "$r" --root "$root" start "lc$round-{i}" \
            -- @wait sh -c "until \"$r\" --root \"$root\" state lc$round-{i} | grep -q '\"stopped\"'; do :; done" \
            -- state "$r" --root "$root" state "lc$round-{i}" \
            -- delete "$r" --root "$root" delete "lc$round-{i}"
        for i in $(seq 1 "$(( (10 + rounds - 1) / rounds ))"); do
            "$maxrss" "$r" --root "$root" run --bundle "$work/true" "rss$round-$i" 2>&1 >/dev/null |
                sed -n 's/^maxrss_kib=/rss 0 /p' >> "$samples.$rt"
        done
    done
done

# 50 detached containers, started one after the other, then force-deleted: totals.
for rt in "${runtimes[@]}"; do
    [ -n "${failed[$rt]:-}" ] && continue
    r=${bin[$rt]}
    root=$work/state-$rt
    start_ns=$(date +%s%N)
    measure "$rt" -n 50 -w 0 -- d "$r" --root "$root" run -d --bundle "$work/sleep" "many-{i}"
    mid_ns=$(date +%s%N)
    measure "$rt" -n 50 -w 0 -- d "$r" --root "$root" delete --force "many-{i}"
    end_ns=$(date +%s%N)
    [ -n "${failed[$rt]:-}" ] && continue
    echo "start50 $(( (mid_ns - start_ns) / 1000 )) 0" >> "$samples.$rt"
    echo "delete50 $(( (end_ns - mid_ns) / 1000 )) 0" >> "$samples.$rt"
done

# figure RT METRIC: median of the samples (ms, or KiB for rss, or ms total for *50).
figure() {
    local file=$samples.$1 metric=$2
    [ -f "$file" ] || { echo ""; return; }
    case $metric in
        rss) awk '$1 == "rss" {print $3}' "$file" ;;
        start50|delete50) awk -v m="$metric" '$1 == m {print $2 / 1000}' "$file" ;;
        *) awk -v m="$metric" '$1 == m {print $2}' "$file" ;;
    esac | sort -g | awk '{v[NR] = $1} END {if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
ratio() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" != fail ] && [ "$2" != fail ] && awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}' || echo "-"; }
value() { [ "$1" = fail ] && { echo fail; return; }; [ -n "$1" ] && awk -v v="$1" -v u="$2" 'BEGIN {if (u == "MiB") printf "%.2f", v / 1024; else printf "%.2f", v}' || echo "-"; }

echo
printf '%-34s %9s %9s %9s %10s %10s %s\n' "figure" "cryo" "crun" "runc" "cryo/crun" "cryo/runc" "goal (cryo/crun)"
row() {
    local label=$1 metric=$2 unit=$3 goal=$4 c k r verdict=""
    c=$(figure cryo "$metric"); k=$(figure crun "$metric"); r=$(figure runc "$metric")
    [ -z "$c" ] && [ -n "${failed[cryo]:-}" ] && c=fail
    [ -z "$k" ] && [ -n "${failed[crun]:-}" ] && k=fail
    [ -z "$r" ] && [ -n "${failed[runc]:-}" ] && r=fail
    local ratio_crun ratio_runc
    ratio_crun=$(ratio "$c" "$k"); ratio_runc=$(ratio "$c" "$r")
    if [ "$ratio_crun" != "-" ]; then
        verdict=$(awk -v x="$ratio_crun" -v g="$goal" 'BEGIN {print (x <= g) ? "met" : "missed"}')
    fi
    printf '%-34s %9s %9s %9s %10s %10s <= %s %s\n' "$label ($unit)" "$(value "$c" "$unit")" "$(value "$k" "$unit")" \
        "$(value "$r" "$unit")" "$ratio_crun" "$ratio_runc" "$goal" "$verdict"
}
row "run /bin/true, median" run ms 0.90
row "create, median" create ms 1.00
row "start, median" start ms 1.00
row "state, median" state ms 1.00
row "delete, median" delete ms 1.00
row "peak RSS of run, median" rss MiB 1.00
row "start 50 detached, total" start50 ms 1.00
row "delete --force 50, total" delete50 ms 1.00

echo
bw=$("$bandwidth" --size 512 --dir "$work")
echo "machine bandwidth (same run): $bw"
[ $hugetlb_mounted = 1 ] && echo "note: crun figures were taken with a cgroup v1 hugetlb hierarchy mounted (crun needs it here)"
exit 0
