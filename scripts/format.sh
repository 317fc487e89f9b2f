#!/bin/bash
# format.sh [--check] [FILE...]: clang-format (14, with the repo's .clang-format) over FILEs,
# default every tracked C++ file. --check changes nothing: it lists the files that differ and
# exits 1 if any does.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
command -v clang-format >/dev/null || { echo "format.sh: clang-format not installed (apt-get install clang-format)" >&2; exit 2; }
clang-format --dump-config >/dev/null || { echo "format.sh: clang-format rejects .clang-format" >&2; exit 2; }
if [ $# = 0 ]; then
    mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.hpp')
else
    files=("$@")
fi
differ=0
for f in "${files[@]}"; do
    if [ $check = 1 ]; then
        if ! clang-format "$f" | cmp -s "$f" -; then
            echo "$f"
            differ=$((differ + 1))
        fi
    else
        clang-format -i "$f"
    fi
done
if [ $check = 1 ] && [ $differ -gt 0 ]; then
    echo "format.sh: $differ of ${#files[@]} files differ from .clang-format" >&2
    exit 1
fi
exit 0
