#!/bin/bash
# bench/rss_breakdown.sh [CRYO]: where the peak RSS of `cryo run` of /bin/true goes. Runs it
# under bench/rss_probe and prints, for the cryo process (at exit) and the container init
# (just before its exec), VmHWM and the resident kB of each mapping (file and permissions),
# anonymous part alongside. Run as root; CRYO defaults to build/src/cryo.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cryo=${1:-${CRYO:-$src/build/src/cryo}}
probe=${RSS_PROBE:-$(dirname "$(dirname "$cryo")")/bench/rss_probe}
[ -x "$probe" ] || { echo "rss_breakdown.sh: $probe missing (build the rss_probe target)" >&2; exit 1; }
work=$(mktemp -d /tmp/cryo-rss.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
"$src/scripts/make-bundle.sh" --runtime /nonexistent "$work/true" /bin/true >/dev/null
mkdir "$work/out"
"$probe" "$work/out" "$cryo" --root "$work/state" run --bundle "$work/true" rss-breakdown

table() {
    awk '
    /^[0-9a-f]+-[0-9a-f]+ / { key = ($6 == "" ? "[anon]" : $6) " " $2; next }
    /^Rss:/ { rss[key] += $2; total += $2 }
    /^Anonymous:/ { anon[key] += $2; tanon += $2 }
    END {
        for (k in rss) if (rss[k] > 0) printf "  %6d kB  (anon %4d)  %s\n", rss[k], anon[k], k
        printf "  %6d kB  (anon %4d)  total\n", total, tanon
    }' "$1" | sort -rn
}
cd "$work/out"
parent=$(ls ./*.exit.smaps | sort -t/ -k2 -n | head -1)
parent=${parent%.exit.smaps}
echo "cryo run (pid ${parent#./}), at exit: $(grep VmHWM "$parent.exit.status" | tr -s ' \t' ' ')"
table "$parent.exit.smaps"
for f in ./*.exec.1.smaps; do
    pid=${f%.exec.1.smaps}
    [ "$pid" = "$parent" ] && continue
    echo "container init (pid ${pid#./}), before its exec: $(grep VmHWM "$pid.exec.1.status" | tr -s ' \t' ' ')"
    table "$f"
done
