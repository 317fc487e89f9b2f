#!/bin/bash
# process.rlimits are in effect inside: soft and hard RLIMIT_NOFILE, RLIMIT_CORE, RLIMIT_NPROC.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'echo "nofile $(ulimit -Sn) $(ulimit -Hn)"; echo "core $(ulimit -Sc) $(ulimit -Hc)"; grep "Max processes" /proc/self/limits'
spec_edit "$bundle" '.process.rlimits = [
    {type: "RLIMIT_NOFILE", soft: 777, hard: 888},
    {type: "RLIMIT_CORE", soft: 0, hard: 1024},
    {type: "RLIMIT_NPROC", soft: 300, hard: 400}]'
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run exit status (stderr: $ERR)"
assert_contains "$OUT" "nofile 777 888" "RLIMIT_NOFILE"
# ulimit -c counts 512-byte blocks in busybox sh: 1024 bytes = 2 blocks.
assert_contains "$OUT" "core 0 2" "RLIMIT_CORE"
nproc_line=$(printf '%s\n' "$OUT" | grep "Max processes")
assert_eq "300 400" "$(echo "$nproc_line" | awk '{print $3, $4}')" "RLIMIT_NPROC"
