#!/bin/bash
# The spec's mounts are visible inside with their types and flags: /proc, /dev/pts, /dev/shm,
# /dev/mqueue, /sys read-only; the default devices exist; masked and readonly paths apply.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c '
    cat /proc/self/mountinfo
    echo "---"
    for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo "dev $d ok"; done
    echo > /sys/kernel/cryo_probe 2>/dev/null && echo "sys writable" || echo "sys write refused"
    echo hello > /dev/shm/x && cat /dev/shm/x
    echo "keys: $(wc -c < /proc/keys)"
    echo "acpi: $(ls -A /proc/acpi | wc -l)"
    echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo "proc sys writable" || echo "proc sys refused"
'
# Explicit masked and read-only paths, so the test does not depend on the default spec.
spec_edit "$bundle" '.linux.maskedPaths = ["/proc/keys", "/proc/acpi"] | .linux.readonlyPaths = ["/proc/sys"]'
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run exit status (stderr: $ERR)"

# mountinfo fields: 5 = mount point, 6 = per-mount options, after " - ": fstype.
mount_line() { printf '%s\n' "$OUT" | awk -v m="$1" '$5 == m' | tail -n 1; }
check_mount() {
    local point=$1 fstype=$2 line
    line=$(mount_line "$point")
    [ -n "$line" ] || fail "$point is not mounted inside (mountinfo: $OUT)"
    assert_contains "$line" " - $fstype " "$point type"
}
check_mount /proc proc
check_mount /dev tmpfs
check_mount /dev/pts devpts
check_mount /dev/shm tmpfs
check_mount /dev/mqueue mqueue
check_mount /sys sysfs
sys_opts=$(mount_line /sys | awk '{print $6}')
assert_contains ",$sys_opts," ",ro," "/sys mount options"
assert_contains "$OUT" "sys write refused" "/sys write"
for d in null zero full random urandom tty; do
    assert_contains "$OUT" "dev $d ok" "/dev/$d"
done
assert_contains "$OUT" "hello" "/dev/shm usable"
# A masked file reads empty, a masked directory is empty.
assert_contains "$OUT" "keys: 0" "masked /proc/keys"
assert_contains "$OUT" "acpi: 0" "masked /proc/acpi"
assert_contains "$OUT" "proc sys refused" "read-only /proc/sys"
# The container's root is its own rootfs, not the host's.
root_line=$(mount_line /)
[ -n "$root_line" ] || fail "no / in mountinfo inside"
