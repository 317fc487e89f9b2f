# Shared by the tests on tests/cr/cr_tree.c's tree (sourced after lib.sh and `workload cr_tree`).
# start_tree: starts the tree and sets ROOT (3 threads), A (own process group), B (A's child),
# C (own session) and ALL. check_tree_runs: after a restore, every process beats on and
# verifies its memory, threads and children.
start_tree() {
    start tree "$WORKLOAD" "$TMP" || finish
    ROOT=${READY[1]} A=${READY[2]} C=${READY[3]}
    B=$(cat /proc/$A/task/$A/children | tr -d ' ')
    ALL=("$ROOT" "$A" "$B" "$C")
    PIDS+=("$B")
}

check_tree_runs() {
    local role n1 n2
    for role in root a b c; do
        n1=$(wc -l <"$TMP/beat-$role"); sleep 0.15; n2=$(wc -l <"$TMP/beat-$role")
        [ "$n2" -gt "$n1" ] || fail "$role does not beat after restore"
    done
    verify tree "$ROOT"
    for role in a b c; do
        grep -q "^ok" "$TMP/result-$role" 2>/dev/null && ok "$role: $(cat "$TMP/result-$role")" \
            || fail "$role: $(cat "$TMP/result-$role" 2>/dev/null)"
    done
}
