#!/bin/sh
# Measures `wsa-relay ingest` in lines per second while the database grows from empty: the
# generated log is fed in slices, one ingest run per slice, so a slowdown as the indexes
# grow shows as a falling rate per slice. Generating a slice is not counted.
#
# usage: bench/ingest.sh --relay PATH --gen PATH [--rows N] [--slice M] [--max-seconds T]
#                        [--seed S] [--work DIR] [--keep] [--drop-caches]
#   --rows N         stop after N rows (default 10000000)
#   --slice M        lines per slice and ingest run (default 1000000)
#   --max-seconds T  stop after the slice that takes the ingest time past T seconds (default: none)
#   --work DIR       folder for the database and the slice (default: a new one under /tmp)
#   --keep           keep the work folder (the database) afterwards
#   --drop-caches    empty the kernel's page cache before each slice is generated (root
#                    only): on the virtual machine of bench/RESULTS.md, system time per
#                    line grows as the page cache fills, whatever the database's size
# Every run must account for every line: read = stored + warned + rejected + skipped, with
# nothing rejected or skipped; otherwise the script stops with status 1.
set -eu

relay= gen= rows=10000000 slice=1000000 max_s=0 seed=1 work= keep=0 drop=0
start=1700000000 rate=2000
while [ $# -gt 0 ]; do
    case $1 in
    --relay) relay=$2; shift 2 ;;
    --gen) gen=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --slice) slice=$2; shift 2 ;;
    --max-seconds) max_s=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --drop-caches) drop=1; shift ;;
    *) echo "ingest.sh: unknown argument '$1' (see the head of $0)" >&2; exit 2 ;;
    esac
done
for n in "$rows" "$slice" "$max_s" "$seed"; do
    case $n in
    '' | *[!0-9]*) echo "ingest.sh: expected a whole number, got '$n'" >&2; exit 2 ;;
    esac
done
if [ -z "$relay" ] || [ -z "$gen" ] || [ ! -x "$relay" ] || [ ! -x "$gen" ]; then
    echo "ingest.sh: --relay and --gen must name the built wsa-relay and wsa-gen" >&2
    exit 2
fi
if [ "$slice" -lt 1 ] || [ "$rows" -lt 1 ]; then
    echo "ingest.sh: --rows and --slice must be at least 1" >&2
    exit 2
fi
if [ -z "$work" ]; then
    work=$(mktemp -d /tmp/wsa-bench-ingest.XXXXXX)
else
    mkdir -p "$work"
fi
db=$work/bench.db
log=$work/slice.log
rm -f "$db" "$db-wal" "$db-shm"
cleanup() {
    rm -f "$log"
    if [ "$keep" -eq 0 ]; then
        rm -f "$db" "$db-wal" "$db-shm"
        rmdir "$work" 2>/dev/null || true
    fi
}
trap cleanup EXIT

now() { date +%s.%N; }

echo "# slice rows_before rows_after seconds lines_per_s db_bytes"
total=0 k=0 spent=0
while [ "$total" -lt "$rows" ]; do
    n=$slice
    [ $((rows - total)) -lt "$n" ] && n=$((rows - total))
    # Each slice continues the log's time where the previous one ended, with its own seed.
    t0=$(awk -v s="$start" -v d="$total" -v r="$rate" 'BEGIN { printf "%d", s + d / r }')
    if [ "$drop" -eq 1 ]; then
        sync
        if ! echo 3 >/proc/sys/vm/drop_caches; then
            echo "ingest.sh: --drop-caches: cannot write /proc/sys/vm/drop_caches (not root?)" >&2
            exit 1
        fi
    fi
    "$gen" --lines "$n" --seed $((seed + k)) --start "$t0" --rate "$rate" >"$log"
    a=$(now)
    out=$(WSA_RELAY_LOG_LEVEL=warn "$relay" ingest --db "$db" "$log")
    b=$(now)
    # The one result line: read=.. stored=.. warned=.. rejected=.. skipped=..
    set -- $(echo "$out" | sed -n 's/^read=\([0-9]*\) stored=\([0-9]*\) warned=\([0-9]*\) rejected=\([0-9]*\) skipped=\([0-9]*\)$/\1 \2 \3 \4 \5/p')
    if [ $# -ne 5 ]; then
        echo "ingest.sh: no counts from wsa-relay ingest: $out" >&2
        exit 1
    fi
    if [ "$1" -ne "$n" ] || [ $(($2 + $3 + $4 + $5)) -ne "$1" ] || [ "$4" -ne 0 ] || [ "$5" -ne 0 ]; then
        echo "ingest.sh: slice $k of $n lines did not all store: $out" >&2
        exit 1
    fi
    size=$(($(stat -c %s "$db") + $(stat -c %s "$db-wal" 2>/dev/null || echo 0)))
    line=$(awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN { d = b - a; if (d <= 0) d = 1e-6; printf "%.2f %.0f", d, n / d }')
    echo "$k $total $((total + n)) $line $size"
    spent=$(awk -v s="$spent" -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", s + b - a }')
    total=$((total + n))
    k=$((k + 1))
    if [ "$max_s" -gt 0 ] && awk -v s="$spent" -v m="$max_s" 'BEGIN { exit !(s >= m) }'; then
        break
    fi
done
awk -v t="$total" -v s="$spent" -v z="$size" 'BEGIN {
    printf "# rows=%d ingest_seconds=%.1f mean_lines_per_s=%.0f db_bytes=%.0f (%.1f bytes/row)\n",
        t, s, t / s, z, z / t }'
