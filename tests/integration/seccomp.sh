#!/bin/bash
# A seccomp profile that makes mkdir/mkdirat fail with EPERM: mkdir fails inside, other file
# operations still work, and the same command works without the profile.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'mkdir /tmp/x 2>&1 && echo "mkdir ok" || echo "mkdir failed"; touch /tmp/y && echo "touch ok"; grep ^Seccomp: /proc/self/status'
spec_edit "$bundle" '.linux.seccomp = {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run exit status (stderr: $ERR)"
assert_contains "$OUT" "mkdir failed" "mkdir under the profile"
assert_contains "$OUT" "Operation not permitted" "mkdir errno"
assert_contains "$OUT" "touch ok" "other syscalls under the profile"
assert_contains "$OUT" "Seccomp:	2" "seccomp filter mode"
[ ! -e "$bundle/rootfs/tmp/x" ] || fail "/tmp/x was created despite the profile"

# Control: without the profile the same mkdir succeeds.
spec_edit "$bundle" 'del(.linux.seccomp)'
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run exit status without seccomp (stderr: $ERR)"
assert_contains "$OUT" "mkdir ok" "mkdir without the profile"
