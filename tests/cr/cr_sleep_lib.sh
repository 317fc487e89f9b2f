# cr_sleep_lib.sh: sourced by cr_sleep.sh and cr_sleep_stopped.sh (after lib.sh), which drive
# the same workload (tests/cr/cr_sleep.c: one thread per blocking call, a "result CALL RET
# ERRNO ELAPSED_MS" line each, "done" at the end). Not a test (the tests glob skips *_lib.sh).

S=5000 # each call's time (ms)
T=1000 # slack for a loaded host (ms)

now_ms() { echo $(($(date +%s%N) / 1000000)); }
_results() { grep -q "^done" "$1" 2>/dev/null; }
max() { echo $(($1 > $2 ? $1 : $2)); }

# expect NAME CALL WANT LO HI: the result line of CALL must read WANT ("RET ERRNO") with an
# elapsed time in [LO, HI] ms.
expect() {
    local name=$1 call=$2 want=$3 lo=$4 hi=$5 line ret err ms
    line=$(grep "^result $call " "$TMP/$name/out") || { fail "$name $call: no result"; return; }
    read -r _ _ ret err ms <<<"$line"
    if [ "$ret $err" != "$want" ]; then
        fail "$name $call: returned $ret ($err) after $ms ms, expected $want"
    elif [ "$ms" -lt "$lo" ] || [ "$ms" -gt "$hi" ]; then
        fail "$name $call: ended after $ms ms, expected $lo..$hi"
    else
        ok "$name $call: $want after $ms ms ($lo..$hi)"
    fi
}
