# helpers/dos_lib.sh: shared by the DoS containment tests (dos_*.sh), sourced after lib.sh.
#   dos_bundle DIR ARGS...   busybox bundle with /dos_hog (helpers/dos_hog.c, built static)
#   bc_field ID RESOURCE FIELD   one number of `cryo beancounters ID --format json`
#                                ("null" when unlimited / not counted)
#   fork_loop_ms N           wall ms for N `sh -c true` forks+execs on the host
#   neighbour_fork_loop_ms ID N   the same inside container ID (through cryo exec)

dos_bundle() {
    local dir=$1
    shift
    make_bundle "$dir" "$@"
    if [ ! -x "$TEST_TMP/dos_hog" ]; then
        cc -static -O2 -pthread -o "$TEST_TMP/dos_hog" "$CRYO_SOURCE/tests/integration/helpers/dos_hog.c" \
            || fail "cannot build helpers/dos_hog.c"
    fi
    cp "$TEST_TMP/dos_hog" "$dir/rootfs/dos_hog"
}

bc_field() {
    cryo beancounters "$1" --format json | jq -r --arg r "$2" --arg f "$3" \
        '.[0].resources[] | select(.resource == $r) | .[$f]'
}

_now_ms() { echo $(($(date +%s%N) / 1000000)); }

fork_loop_ms() {
    local n=$1 start i
    start=$(_now_ms)
    for ((i = 0; i < n; i++)); do sh -c true; done
    echo $(($(_now_ms) - start))
}

neighbour_fork_loop_ms() {
    local id=$1 n=$2 start
    start=$(_now_ms)
    cryo exec "$id" sh -c "i=0; while [ \$i -lt $n ]; do sh -c true || exit 1; i=\$((i+1)); done" \
        || fail "the neighbour $id cannot fork"
    echo $(($(_now_ms) - start))
}
