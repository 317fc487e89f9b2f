#!/bin/bash
# DoS containment: a disk filler gets ENOSPC at its --disk-limit; `cryo beancounters` shows
# its diskspace at the limit; a neighbour container can still write, and the host file
# system does not hold the filler's data. Needs `run --image --disk-limit` (the image store's
# part): skipped (77) only while cryo answers that --disk-limit is "not supported yet".
. "$(dirname "$0")/lib.sh"

[ -f "$(dirname "$0")/image_lib.bash" ] || fail "image_lib.bash missing"
. "$(dirname "$0")/image_lib.bash"
[ -e /dev/loop-control ] || { echo "[$TEST_NAME] skipped: no /dev/loop-control" >&2; exit 77; }

import_busybox bb
bundle=$TEST_TMP/bundle
config_bundle "$bundle" sleep 600

filler=$(new_id)
run_cmd cryo run -d --bundle "$bundle" --image bb --disk-limit 16m "$filler"
if [ "$STATUS" != 0 ]; then
    case $ERR in
        *"not supported yet"*) echo "[$TEST_NAME] skipped: $ERR" >&2; exit 77 ;;
    esac
    fail "run --disk-limit (stderr: $ERR)"
fi
defer "cryo delete --force $filler >/dev/null 2>&1 || true"
neighbour=$(new_id)
run_cmd cryo run -d --bundle "$bundle" --image bb --disk-limit 16m "$neighbour"
assert_eq 0 "$STATUS" "run the neighbour (stderr: $ERR)"
defer "cryo delete --force $neighbour >/dev/null 2>&1 || true"

bc_field() {
    cryo beancounters "$1" --format json | jq -r --arg r "$2" --arg f "$3" \
        '.[0].resources[] | select(.resource == $r) | .[$f]'
}
assert_eq $((16 << 20)) "$(bc_field "$filler" diskspace limit)" "diskspace limit"
before=$(bc_field "$filler" diskspace held)

run_cmd cryo exec "$filler" dd if=/dev/zero of=/big bs=1M count=64
[ "$STATUS" != 0 ] || fail "writing 64 MiB under a 16 MiB limit succeeded"
assert_contains "$ERR" "No space left on device" "the filler's dd"
held=$(bc_field "$filler" diskspace held)
log "filler: diskspace held $before -> $held of limit $(bc_field "$filler" diskspace limit)"
[ "$held" -gt $((before + (8 << 20))) ] || fail "diskspace held $held did not grow by the filler's data"
[ "$held" -le $((16 << 20)) ] || fail "diskspace held $held above the limit"
[ -z "$(find "$ROOT" -xdev -name big)" ] || fail "the filler's file reached the state dir's file system"

run_cmd cryo exec "$neighbour" dd if=/dev/zero of=/four bs=1M count=4
assert_eq 0 "$STATUS" "the neighbour writes (stderr: $ERR)"
assert_eq "$((4 << 20))" "$(cryo exec "$neighbour" stat -c %s /four)" "the neighbour's file"
assert_eq running "$(container_status "$neighbour")" "neighbour status"

run_cmd cryo delete --force "$filler"
assert_eq 0 "$STATUS" "delete --force the filler (stderr: $ERR)"
run_cmd cryo delete --force "$neighbour"
assert_eq 0 "$STATUS" "delete --force the neighbour (stderr: $ERR)"
