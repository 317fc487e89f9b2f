#!/bin/bash
# bench/density.sh: memory per container when N containers run the same busybox binary.
#
#   bench/density.sh [-n N] [--rounds R]   (as root; N defaults to 100, R to 3)
#
# Scenarios, in one run on the same busybox root file system, each container running
# `sleep` (one process per container):
#   cryo-image    cryo run -d --image: every container an overlay of the one image layer
#   cryo-shared   cryo on one shared rootfs directory (reference: the runtime alone)
#   crun-shared   crun on one shared rootfs directory
#   crun-copies   crun on N separate copies of the rootfs (no sharing)
# Figures: global deltas of /proc/meminfo (Slab, PageTables, AnonPages, Cached, KernelStack)
# between before and after starting the N containers, divided by N; the busybox binary's
# pages: fincore of the file(s) backing it, and the physical pages (pagemap PFNs) behind the
# executable mapping of two containers' processes, with their /proc/kpagecount map counts.
# The busybox files' page cache is dropped (fadvise DONTNEED) before each baseline, so Cached
# counts what the N containers bring in. Global figures include whatever else the machine
# does meanwhile: each sample is the median of 5 readings, the scenarios take turns in R
# rounds and each figure is the median over the rounds; per-process figures (VmPTE, RssAnon
# from /proc/PID/status) are printed too, since they do not see the rest of the machine.
# Environment: CRYO (default build/src/cryo, or build-img-snap/src/cryo), BENCH_DIR (scratch).
# crun 1.8 needs a cgroup v1 hugetlb hierarchy on this hybrid host: mounted for the run if
# missing (as bench/run.sh does) and unmounted at the end.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
n=100
rounds=3
while [ $# -gt 0 ]; do
    case $1 in
        -n) n=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        -h|--help) sed -n '2,25s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "bench/density.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "bench/density.sh: run as root" >&2; exit 1; }
if [ -z "${CRYO:-}" ]; then
    for candidate in "$src/build/src/cryo" "$src/build-img-snap/src/cryo" "$src/build-img/src/cryo"; do
        [ -x "$candidate" ] && { CRYO=$candidate; break; }
    done
fi
[ -x "${CRYO:-}" ] || { echo "bench/density.sh: no cryo binary (set CRYO)" >&2; exit 1; }
CRYO=$(readlink -f "$CRYO")
CRUN=$(command -v crun || true)
for tool in jq python3 fincore; do
    command -v $tool >/dev/null || { echo "bench/density.sh: $tool is missing" >&2; exit 1; }
done

work=$(mktemp -d "${BENCH_DIR:-/tmp}/cryo-density.XXXXXX")
export CRYO_STORE=$work/store
tag="dens$$"
hugetlb_mounted=0
cleanup() {
    set +e
    local root id
    for root in "$work"/state-*; do
        [ -d "$root" ] || continue
        case $root in
            *crun*) for id in $("$CRUN" --root "$root" list -q 2>/dev/null); do "$CRUN" --root "$root" delete --force "$id" >/dev/null 2>&1; done ;;
            *) for id in $("$CRYO" --root "$root" list -q 2>/dev/null); do "$CRYO" --root "$root" delete --force "$id" >/dev/null 2>&1; done ;;
        esac
    done
    "$CRYO" image rm bb >/dev/null 2>&1
    if [ $hugetlb_mounted = 1 ]; then
        umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb &&
            echo "note: unmounted the cgroup v1 hugetlb hierarchy mounted for crun"
    fi
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# --- the busybox root file system, its image and the bundles -----------------------------------
"$src/scripts/make-bundle.sh" --runtime /nonexistent "$work/base" sleep 100000 >/dev/null
jq '.process.terminal = false' "$work/base/config.json" > "$work/config.json"
tar --numeric-owner -C "$work/base/rootfs" -cf "$work/rootfs.tar" .
"$CRYO" image import bb "$work/rootfs.tar" >/dev/null
layer=$("$CRYO" image inspect bb | jq -r '.layers[0].digest' | sed 's/^sha256://')
lower_busybox=$CRYO_STORE/layers/$layer/rootfs/bin/busybox
mkdir -p "$work/cfg/rootfs" && cp "$work/config.json" "$work/cfg/config.json" # --image: config only
mkdir -p "$work/shared" && cp -a "$work/base/rootfs" "$work/shared/rootfs" && cp "$work/config.json" "$work/shared/"

# crun output never goes to a pipe we wait on: a detached container would hold it open.
crun_probe() {
    "$CRUN" --root "$work/state-crun-probe" run -d --bundle "$work/shared" "$tag-probe" </dev/null >/dev/null 2>"$work/probe-err" || true
    "$CRUN" --root "$work/state-crun-probe" delete --force "$tag-probe" >/dev/null 2>&1 || true
    probe_err=$(cat "$work/probe-err")
}
if [ -n "$CRUN" ]; then
    mkdir -p "$work/state-crun-probe"
    crun_probe
    if [[ $probe_err == *"hybrid mode"* ]] && [ ! -e /sys/fs/cgroup/hugetlb ]; then
        mkdir /sys/fs/cgroup/hugetlb
        mount -t cgroup -o hugetlb none /sys/fs/cgroup/hugetlb
        hugetlb_mounted=1
        echo "note: crun refuses this host as it is ($probe_err); mounted a cgroup v1 hugetlb hierarchy for the run"
        crun_probe
    fi
    if [ -n "$probe_err" ]; then
        echo "note: crun fails here ($probe_err): crun scenarios left out" >&2
        CRUN=
    fi
fi

# --- measuring ---------------------------------------------------------------------------------
fields=(Slab PageTables AnonPages Cached KernelStack)
# One line "Slab PageTables AnonPages Cached KernelStack" in KiB, each the median of 5 readings.
meminfo() {
    local i
    for i in 1 2 3 4 5; do
        awk '/^(Slab|PageTables|AnonPages|Cached|KernelStack):/ {v[$1] = $2}
             END {print v["Slab:"], v["PageTables:"], v["AnonPages:"], v["Cached:"], v["KernelStack:"]}' /proc/meminfo
        sleep 0.2
    done | python3 -c '
import sys, statistics
rows = [list(map(int, l.split())) for l in sys.stdin if l.strip()]
print(" ".join(str(int(statistics.median(c))) for c in zip(*rows)))'
}

# Drops the clean page cache of the given files (written ones are synced first).
evict() {
    sync
    python3 - "$@" <<'PY'
import os, sys
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
}

# Pages of a file in the page cache (fincore's RES in pages).
cached_pages() { fincore --bytes --noheadings --raw --output PAGES "$@" | awk '{s += $1} END {print s + 0}'; }

# pfns PID_A PID_B: physical pages behind the executable busybox mapping of two processes.
pfns() {
    python3 - "$@" <<'PY'
import struct, sys
def frames(pid):
    out = {}
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            parts = line.split()
            if len(parts) < 6 or "busybox" not in parts[5] or "x" not in parts[1]:
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            pagemap.seek(start // 4096 * 8)
            data = pagemap.read((end - start) // 4096 * 8)
            for i in range(len(data) // 8):
                entry = struct.unpack_from("<Q", data, i * 8)[0]
                if entry >> 63:  # present
                    out[start + i * 4096] = entry & ((1 << 55) - 1)
    return out
a, b = frames(sys.argv[1]), frames(sys.argv[2])
common = [va for va in a if va in b]
same = [va for va in common if a[va] == b[va]]
counts = []
with open("/proc/kpagecount", "rb") as kpc:
    for va in same:
        kpc.seek(a[va] * 8)
        counts.append(struct.unpack("<Q", kpc.read(8))[0])
lo = min(counts) if counts else 0
print(f"{len(a)} {len(b)} {len(same)} {lo}")
PY
}

declare -A result
scenario() { # NAME RUNTIME ARGS_FN ROUND
    local name=$1 runtime=$2 make_args=$3 round=$4
    local root=$work/state-$name i before after start end pids=() id
    mkdir -p "$root"
    local busyboxes=()
    case $name in
        cryo-image) busyboxes=("$lower_busybox") ;;
        crun-copies)
            for i in $(seq 1 "$n"); do busyboxes+=("$work/copies/$i/rootfs/bin/busybox"); done ;;
        *) busyboxes=("$work/shared/rootfs/bin/busybox") ;;
    esac
    evict "${busyboxes[@]}"
    before=$(meminfo)
    start=$(date +%s%N)
    for i in $(seq 1 "$n"); do
        id=$tag-$name-$i
        $make_args "$i"
        "$runtime" --root "$root" run -d "${run_args[@]}" "$id" </dev/null >/dev/null 2>"$work/err" || {
            echo "bench/density.sh: $name: $runtime run $id failed: $(cat "$work/err")" >&2
            return 1
        }
    done
    end=$(date +%s%N)
    sleep 2
    after=$(meminfo)
    local pid_a pid_b
    pid_a=$("$runtime" --root "$root" state "$tag-$name-1" | jq .pid)
    pid_b=$("$runtime" --root "$root" state "$tag-$name-$n" | jq .pid)
    local running=0 pid pte=0 anon=0 value
    for i in $(seq 1 "$n"); do
        read -r status pid < <("$runtime" --root "$root" state "$tag-$name-$i" | jq -r '"\(.status) \(.pid)"')
        [ "$status" = running ] || continue
        running=$((running + 1))
        # Per process, immune to the rest of the machine: page tables and anonymous memory.
        value=$(awk '/^VmPTE:/ {p = $2} /^RssAnon:/ {a = $2} END {print p + 0, a + 0}' "/proc/$pid/status")
        pte=$((pte + ${value% *}))
        anon=$((anon + ${value#* }))
    done
    result[$name.proc_pte]=$pte
    result[$name.proc_anon]=$anon
    result[$name.running]=$running
    result[$name.start_ms]=$(( (end - start) / 1000000 ))
    result[$name.cached_pages]=$(cached_pages "${busyboxes[@]}")
    result[$name.pfns]=$(pfns "$pid_a" "$pid_b")
    read -r -a b <<< "$before"
    read -r -a a <<< "$after"
    for i in "${!fields[@]}"; do
        result[$name.${fields[$i]}.$round]=$(( a[i] - b[i] ))
    done
    case $name in
        cryo-image) result[$name.disk_kib]=$(du -skx "$root" | cut -f1) ;;
        crun-copies) result[$name.disk_kib]=$(du -sk "$work/copies" | cut -f1) ;;
        *) result[$name.disk_kib]=0 ;;
    esac
    for i in $(seq 1 "$n"); do
        "$runtime" --root "$root" delete --force "$tag-$name-$i" >/dev/null 2>&1 || true
    done
}

cryo_image_args() { run_args=(--bundle "$work/cfg" --image bb); }
shared_args() { run_args=(--bundle "$work/shared"); }
copy_args() { run_args=(--bundle "$work/copies/$1"); }

names=(cryo-image cryo-shared)
if [ -n "$CRUN" ]; then
    names+=(crun-shared crun-copies)
    mkdir -p "$work/copies"
    for i in $(seq 1 "$n"); do
        mkdir -p "$work/copies/$i"
        cp -a "$work/base/rootfs" "$work/copies/$i/rootfs"
        cp "$work/config.json" "$work/copies/$i/"
    done
fi
for round in $(seq 1 "$rounds"); do
    scenario cryo-image "$CRYO" cryo_image_args "$round"
    scenario cryo-shared "$CRYO" shared_args "$round"
    if [ -n "$CRUN" ]; then
        scenario crun-shared "$CRUN" shared_args "$round"
        scenario crun-copies "$CRUN" copy_args "$round"
    fi
    echo "round $round of $rounds done" >&2
done
# The median over the rounds of each meminfo figure.
for name in "${names[@]}"; do
    for f in "${fields[@]}"; do
        values=()
        for round in $(seq 1 "$rounds"); do values+=("${result[$name.$f.$round]}"); done
        result[$name.$f]=$(printf '%s\n' "${values[@]}" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}')
        result[$name.$f.all]="${values[*]}"
    done
done

# --- report ------------------------------------------------------------------------------------
busybox_kib=$(( $(stat -c %s "$lower_busybox") / 1024 ))
echo
echo "density: $n containers each running busybox sleep; busybox is $busybox_kib KiB; per-container KiB = global /proc/meminfo delta / $n (median of $rounds rounds; last round for the other columns)"
printf '%-12s %8s %8s %8s %8s %8s %9s %9s %8s %12s %s\n' scenario Slab PgTables Anon Cached KStack total running start_s "disk_KiB/ct" "busybox: cached pages | PFNs A,B,same | min kpagecount"
for name in "${names[@]}"; do
    total=0
    row=()
    for f in "${fields[@]}"; do
        v=${result[$name.$f]}
        total=$((total + v))
        row+=("$(awk -v v="$v" -v n="$n" 'BEGIN {printf "%.1f", v / n}')")
    done
    read -r pa pb same mincount <<< "${result[$name.pfns]}"
    result[$name.total]=$total
    printf '%-12s %8s %8s %8s %8s %8s %9s %9s %8s %12s %s\n' "$name" "${row[@]}" \
        "$(awk -v v="$total" -v n="$n" 'BEGIN {printf "%.1f", v / n}')" "${result[$name.running]}/$n" \
        "$(awk -v v="${result[$name.start_ms]}" 'BEGIN {printf "%.1f", v / 1000}')" \
        "$(awk -v v="${result[$name.disk_kib]}" -v n="$n" 'BEGIN {printf "%.1f", v / n}')" \
        "${result[$name.cached_pages]} | $pa,$pb,$same | $mincount"
done
echo
echo "per process (from /proc/PID/status, not disturbed by other work on the machine), KiB per container:"
printf '%-12s %8s %8s %22s\n' scenario VmPTE RssAnon "busybox cache/ct KiB"
for name in "${names[@]}"; do
    printf '%-12s %8s %8s %22s\n' "$name" \
        "$(awk -v v="${result[$name.proc_pte]}" -v n="$n" 'BEGIN {printf "%.1f", v / n}')" \
        "$(awk -v v="${result[$name.proc_anon]}" -v n="$n" 'BEGIN {printf "%.1f", v / n}')" \
        "$(awk -v v="${result[$name.cached_pages]}" -v n="$n" 'BEGIN {printf "%.1f", v * 4 / n}')"
done
echo
echo "global deltas of each round (KiB, all containers):"
for name in "${names[@]}"; do
    line="  $name:"
    for f in "${fields[@]}"; do line+=" $f=[${result[$name.$f.all]}]"; done
    echo "$line"
done
ratio() { awk -v a="${result[$1.total]}" -v b="${result[$2.total]}" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
# AnonPages and Cached swing by gigabytes while others compile on the machine; the robust
# total takes them from the containers' own processes (RssAnon, VmPTE) and from the busybox
# files' page cache (fincore), and Slab and KernelStack from the global medians.
echo
echo "robust total per container (KiB) = Slab + KernelStack (global medians) + VmPTE + RssAnon (per process) + busybox page cache / $n:"
for name in "${names[@]}"; do
    result[$name.robust]=$(awk -v s="${result[$name.Slab]}" -v k="${result[$name.KernelStack]}" -v p="${result[$name.proc_pte]}" \
        -v a="${result[$name.proc_anon]}" -v c="${result[$name.cached_pages]}" -v n="$n" 'BEGIN {printf "%.1f", (s + k + p + a + c * 4) / n}')
    printf '  %-12s %8s\n' "$name" "${result[$name.robust]}"
done
robust_ratio() { awk -v a="${result[$1.robust]}" -v b="${result[$2.robust]}" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
echo "robust ratios:"
echo "  cryo-image / cryo-shared  = $(robust_ratio cryo-image cryo-shared)"
if [ -n "$CRUN" ]; then
    echo "  cryo-image / crun-shared  = $(robust_ratio cryo-image crun-shared)   (goal: <= 1)"
    echo "  cryo-image / crun-copies  = $(robust_ratio cryo-image crun-copies)   (goal: clearly < 1)"
fi
echo
echo "ratios of the global-delta totals per container (noisy, see above):"
echo "  cryo-image / cryo-shared  = $(ratio cryo-image cryo-shared)"
if [ -n "$CRUN" ]; then
    echo "  cryo-image / crun-shared  = $(ratio cryo-image crun-shared)   (goal: <= 1)"
    echo "  cryo-image / crun-copies  = $(ratio cryo-image crun-copies)   (goal: clearly < 1)"
    echo "  crun-copies / crun-shared = $(ratio crun-copies crun-shared)"
fi
echo "busybox page cache: cryo-image holds ${result[cryo-image.cached_pages]} pages of the one lower file;" \
     "crun-copies ${result[crun-copies.cached_pages]:-?} pages over $n copies"
