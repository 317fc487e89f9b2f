#!/bin/bash
# DoS containment: a CPU hog is held to its quota (--cpus), and the quota alone is what keeps
# a neighbour's CPU-bound loop at >= 90% of the throughput it has alone (a ratio measured
# here). A control proves the point: the same hog without a quota takes a clear share.
#
# Why this shape. A quota caps a cgroup from above; CFS otherwise shares CPUs between cgroups
# by weight (cpu.shares). So the neighbour loses to a capped hog at most what the quota lets
# the hog run, and the test must leave it nothing else to lose:
# - The neighbour wants the whole machine (one spinning thread per CPU) and nobody is pinned.
#   A single-threaded neighbour proves nothing on 2 CPUs: with equal weights group fairness
#   alone leaves it about one CPU, quota or not (measured: 4-thread hog unpinned, --cpus 1:
#   0.86 with the quota and 0.86 without). Both pinned to one CPU, equal weights give the
#   neighbour 1 - quota at best (the earlier version of this test needed --cpu-shares 2 on
#   the hog to pass: the weight protected the neighbour, not the quota).
# - The hog spins 2 threads per CPU at --cpus 0.025 per CPU (2.5% of the machine): the
#   neighbour should keep ~97%. The control is the same hog, same weight, without a quota:
#   CFS gives the two groups about half the machine each, ~0.5 (asserted <= 0.75).
# - Each container is its own cgroup at the top of the hierarchy (linux.cgroupsPath "/ID"),
#   all three with --cpu-shares 262144 (the maximum, 256x the default). The weights are equal,
#   so they favour neither side; they keep the host's other work from deciding the figures
#   (measured with load 16 from builds: the neighbour alone got ~75% of the machine at 20480
#   and the capped ratio swung down to 0.91 in one run; ~90% at 262144). The cost: the host's
#   other work gets a few % of the CPUs for the test's ~50 s. Under cryo's
#   default parent (/cryo, weight 1024) every container shares one weight against the
#   host's sessions: on a shared machine with parallel builds the neighbour then gets ~0.3
#   CPU alone, and even a 0.1 CPU hog takes a third of that.
# - The host is noisy (a neighbouring CI run can spoil a measurement: one round measured 0.51
#   with the capped hog): the three conditions (neighbour alone, with the uncapped hog, with the
#   capped hog) run in interleaved rounds, the order rotating; the hogs not in a condition
#   are frozen (`cryo pause`). Each round's ratios are taken against that round's solo
#   figure, and the medians over the 7 rounds are asserted (3 spoilt rounds are tolerated).
# Knobs (for bench/dos.sh and experiments): DOS_CPU_ROUNDS (7), DOS_CPU_SECONDS (1.5),
# DOS_CPU_SHARES (262144), DOS_CPU_QUOTA_PER_CPU (0.025), DOS_CPU_NEIGHBOUR_THREADS (nproc),
# DOS_CPU_DEBUG=1 logs the neighbour's CPU time per measurement.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers/dos_lib.sh"

cpus_online=$(nproc)
[ "$cpus_online" -ge 2 ] || { log "skipped: needs 2 CPUs"; exit 77; }
seconds=${DOS_CPU_SECONDS:-1.5}
rounds=${DOS_CPU_ROUNDS:-7}
shares=${DOS_CPU_SHARES:-262144}
neighbour_threads=${DOS_CPU_NEIGHBOUR_THREADS:-$cpus_online}
hog_threads=$((2 * cpus_online))
quota=$(awk -v n="$cpus_online" -v f="${DOS_CPU_QUOTA_PER_CPU:-0.025}" 'BEGIN {printf "%.2f", n * f}')
quota_mcpu=$(awk -v q="$quota" 'BEGIN {printf "%d", q * 1000 + 0.5}')

neighbour=$(new_id)
dos_bundle "$TEST_TMP/$neighbour" sleep 600
spec_edit "$TEST_TMP/$neighbour" '.linux.cgroupsPath = $p' --arg p "/$neighbour"
run_cmd cryo run -d --bundle "$TEST_TMP/$neighbour" --cpu-shares "$shares" "$neighbour"
assert_eq 0 "$STATUS" "run the neighbour (stderr: $ERR)"
defer "cryo delete --force $neighbour >/dev/null 2>&1 || true"

neighbour_cpuacct=$(cgroup_dir "$(container_pid "$neighbour")" cpuacct)

# start_hog ID RUN_ARGS...: the hog, frozen until a condition needs it.
start_hog() {
    local id=$1
    shift
    dos_bundle "$TEST_TMP/$id" /dos_hog spin 0 "$hog_threads"
    spec_edit "$TEST_TMP/$id" '.linux.cgroupsPath = $p' --arg p "/$id"
    run_cmd cryo run -d --bundle "$TEST_TMP/$id" --cpu-shares "$shares" "$@" "$id"
    assert_eq 0 "$STATUS" "run hog $id (stderr: $ERR)"
    defer "cryo delete --force $id >/dev/null 2>&1 || true"
    cryo pause "$id" || fail "pause hog $id"
}
free_hog=$(new_id)
start_hog "$free_hog"
capped_hog=$(new_id)
start_hog "$capped_hog" --cpus "$quota"

# spin_neighbour: iterations of the neighbour's loop in $seconds of wall time.
spin_neighbour() {
    local out
    out=$(cryo exec "$neighbour" /dos_hog spin "$seconds" "$neighbour_threads") || fail "the neighbour's loop failed"
    awk '{print $2}' <<< "$out"
}
# measure CONDITION: the neighbour's figure with that condition's hog running (none: alone).
measure() {
    local hog=
    case $1 in
        free) hog=$free_hog ;;
        capped) hog=$capped_hog ;;
    esac
    if [ -n "$hog" ]; then
        cryo resume "$hog" || fail "resume hog $hog"
        sleep 0.3 # let the load balancer spread the hog's threads
    fi
    local u0 u1 n
    u0=$(cat "$neighbour_cpuacct/cpuacct.usage")
    n=$(spin_neighbour)
    u1=$(cat "$neighbour_cpuacct/cpuacct.usage")
    [ -n "${DOS_CPU_DEBUG:-}" ] && log "$1: $n iterations, neighbour cpu $(((u1 - u0) / 1000000)) ms"
    echo "$n"
    if [ -n "$hog" ]; then cryo pause "$hog" || fail "pause hog $hog"; fi
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

conditions=(solo free capped)
: > "$TEST_TMP/free.ratios"
: > "$TEST_TMP/capped.ratios"
for ((r = 0; r < rounds; r++)); do
    declare -A figure=()
    for ((c = 0; c < 3; c++)); do
        condition=${conditions[$(((r + c) % 3))]}
        figure[$condition]=$(measure "$condition")
    done
    free_ratio=$(awk -v a="${figure[solo]}" -v w="${figure[free]}" 'BEGIN {printf "%.3f", w / a}')
    capped_ratio=$(awk -v a="${figure[solo]}" -v w="${figure[capped]}" 'BEGIN {printf "%.3f", w / a}')
    echo "$free_ratio" >> "$TEST_TMP/free.ratios"
    echo "$capped_ratio" >> "$TEST_TMP/capped.ratios"
    log "round $((r + 1)): neighbour alone ${figure[solo]}, with the uncapped hog ${figure[free]} ($free_ratio), with the hog at --cpus $quota ${figure[capped]} ($capped_ratio)"
    unset figure
done
free_median=$(median < "$TEST_TMP/free.ratios")
capped_median=$(median < "$TEST_TMP/capped.ratios")
log "median of $rounds rounds, neighbour's throughput against alone: uncapped hog RATIO $free_median, hog at --cpus $quota RATIO $capped_median"

# The capped hog alone for 2 s: its rate over that window, and its limit, from beancounters.
cryo resume "$capped_hog" || fail "resume hog $capped_hog"
cryo beancounters "$capped_hog" > /dev/null
sleep 2
bc=$(cryo beancounters "$capped_hog" --format json)
mcpu=$(jq -r '.[0].resources[] | select(.resource == "cpu") | .held' <<< "$bc")
throttled=$(jq -r '.[0].resources[] | select(.resource == "cpu") | .failcnt' <<< "$bc")
limit=$(jq -r '.[0].resources[] | select(.resource == "cpu") | .limit' <<< "$bc")
log "capped hog alone for 2s: cpu held $mcpu mcpu (limit $limit), throttled periods $throttled"
assert_eq "$quota_mcpu" "$limit" "the capped hog's cpu limit in beancounters (mcpu)"
# Held to its quota: the rate over a 2 s window, 10% (or 10 mcpu) slack for accounting edges.
max_mcpu=$(awk -v q="$quota_mcpu" 'BEGIN {s = q * 0.1; if (s < 10) s = 10; printf "%d", q + s}')
[ "$mcpu" -le "$max_mcpu" ] || fail "the capped hog used $mcpu mcpu, above its $quota_mcpu mcpu quota"
[ "$throttled" -gt 0 ] || fail "the capped hog was never throttled"

awk -v r="$capped_median" 'BEGIN {exit !(r >= 0.90)}' \
    || fail "with the hog held to --cpus $quota the neighbour kept only $capped_median of its throughput (< 0.90)"
# The control: without the quota the same hog (same weight) takes a clear share, so it is the
# quota that protects the neighbour above. ~0.5 expected; 0.75 leaves room for a noisy host.
awk -v r="$free_median" 'BEGIN {exit !(r <= 0.75)}' \
    || fail "control: without a quota the hog left the neighbour $free_median of its throughput (expected <= 0.75): the test cannot tell what protects it"

for id in "$capped_hog" "$free_hog" "$neighbour"; do
    cryo delete --force "$id" || fail "delete $id"
done
