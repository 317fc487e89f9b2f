#!/bin/bash
# Page files of a process tree filled in the background (checkpoint/pages_fill.h): the fills of
# several processes are in flight while the next ones are mapped, and each is checked before
# its process is touched again. Workload: tests/cr/cr_tree.c (root, child A, grandchild B,
# child C; restored in the manifest's order, root first). Cases:
#  1. a flipped byte in the page file of B (not the root: its fill was in flight with the
#     others'): the restore fails naming that file's checksum, and no process of the tree is
#     left (the root has threads: its leader is reaped only after they are);
#  2. a truncated page file of C: a clear error naming it, nothing left;
#  3. the intact image then restores, every process beats on and verifies its memory.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_tree
source "$(dirname "$0")/cr_tree_lib.sh"

start_tree

"$CRYO" dump -t "$ROOT" -D "$TMP/img" || fail "dump failed"
{ wait "$ROOT"; } 2>/dev/null
for p in "${ALL[@]}"; do gone "$p" || fail "pid $p still there after dump"; done
[ "$(jq -r '.pids[0]' "$TMP/img/manifest.json")" = "$ROOT" ] || fail "the manifest does not list the root first"

# damage NAME FILE HOW WANT: restore of a damaged copy must fail with WANT and leave nothing.
damage() {
    local name=$1 file=$2 how=$3 want=$4 msg p
    rm -rf "$TMP/$name"; cp -a "$TMP/img" "$TMP/$name"
    local pages=$TMP/$name/$file
    local size
    size=$(stat -c %s "$pages")
    case $how in
    flip) printf '\xff' | dd of="$pages" bs=1 seek=$((size / 2 + 100)) conv=notrunc status=none ;;
    truncate) truncate -s $((size / 2 / 4096 * 4096)) "$pages" ;;
    esac
    msg=$("$CRYO" restore -D "$TMP/$name" -d 2>&1) && { fail "$name: restore of a damaged image succeeded"; return; }
    echo "$msg" | grep -q "$want" && ok "$name: $msg" || fail "$name: message: $msg"
    for p in "${ALL[@]}"; do gone "$p" || fail "$name: pid $p left after the failed restore"; done
}
damage flip-b "pages-$B.img" flip "pages-$B.img: checksum mismatch"
damage truncate-c "pages-$C.img" truncate "pages-$C.img: size is"

"$CRYO" restore -D "$TMP/img" -d || fail "restore of the intact image failed"
check_tree_runs
finish
