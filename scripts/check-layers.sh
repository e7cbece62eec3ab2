#!/usr/bin/env bash
# Prints every #include that points up the layers and exits 1 when there is one.
#
#   jobs/      commands, cli, the job runner         may include everything below
#   pipeline/  the distillation domain               may include index, stores, common
#   index/     embedders, FAISS, catalog, re-ranking may include stores, common
#   stores/    SQLite store, blob codec, SQL funcs   may include common
#   common/    util, text, JSON reader, HTTP, ...    may include libc and libraries only
#
# Tests, benchmarks and fuzz harnesses sit above everything and are not checked.
set -euo pipefail
cd "$(dirname "$0")/.."

rank() {
    case "$1" in
    common) echo 0 ;; stores) echo 1 ;; index) echo 2 ;; pipeline) echo 3 ;; jobs) echo 4 ;;
    *) echo -1 ;;
    esac
}

bad=0
while IFS= read -r file; do
    layer=${file%%/*}
    own=$(rank "$layer")
    [ "$own" -ge 0 ] || continue
    while IFS=: read -r line inc; do
        target=${inc%%/*}
        tr=$(rank "$target")
        if [ "$tr" -lt 0 ]; then
            echo "$file:$line: includes \"$inc\", which is in no layer"
            bad=1
        elif [ "$tr" -gt "$own" ]; then
            echo "$file:$line: $layer/ includes \"$inc\" from $target/, a layer above it"
            bad=1
        fi
    done < <(awk 'match($0, /^[ \t]*#[ \t]*include[ \t]+"[^"]+"/) {
                      s = substr($0, RSTART, RLENGTH); sub(/^[^"]*"/, "", s); sub(/"$/, "", s)
                      print FNR ":" s }' "$file")
done < <(git ls-files 'common/*' 'stores/*' 'index/*' 'pipeline/*' 'jobs/*' |
         grep -E '\.(c|h|cpp)$')

if [ "$bad" -ne 0 ]; then
    echo "check-layers: includes must point down (jobs > pipeline > index > stores > common)" >&2
    exit 1
fi
echo "check-layers: every include points down"
