#!/bin/bash
# The five capability sets inside match the spec, and a dropped capability is really gone
# (sethostname needs CAP_SYS_ADMIN).
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'grep ^Cap /proc/self/status; hostname evil 2>/dev/null && echo "hostname changed" || echo "hostname refused"; chown 1:1 /tmp 2>/dev/null && echo "chown ok"; true'
# CAP_CHOWN=0, CAP_KILL=5, CAP_NET_BIND_SERVICE=10, CAP_SYS_ADMIN=21 (absent).
spec_edit "$bundle" '.process.capabilities = {
    bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
    effective: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
    permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
    inheritable: ["CAP_KILL"],
    ambient: ["CAP_KILL"]} | .process.noNewPrivileges = true'
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run exit status (stderr: $ERR)"
cap() { printf '%s\n' "$OUT" | awk -v k="$1:" '$1 == k {print $2}'; }
assert_eq 0000000000000421 "$(cap CapEff)" "CapEff"
assert_eq 0000000000000421 "$(cap CapPrm)" "CapPrm"
assert_eq 0000000000000421 "$(cap CapBnd)" "CapBnd"
assert_eq 0000000000000020 "$(cap CapInh)" "CapInh"
assert_eq 0000000000000020 "$(cap CapAmb)" "CapAmb"
assert_contains "$OUT" "hostname refused" "sethostname without CAP_SYS_ADMIN"
assert_contains "$OUT" "chown ok" "chown with CAP_CHOWN"

# Second container: no capabilities at all, so even chown is refused.
spec_edit "$bundle" '.process.capabilities = {bounding: [], effective: [], permitted: [], inheritable: [], ambient: []}'
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run exit status without caps (stderr: $ERR)"
assert_eq 0000000000000000 "$(cap CapEff)" "CapEff without caps"
assert_eq 0000000000000000 "$(cap CapBnd)" "CapBnd without caps"
assert_not_contains "$OUT" "chown ok" "chown without CAP_CHOWN"
