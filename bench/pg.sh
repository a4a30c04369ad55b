#!/usr/bin/env bash
# Cost of the PostgreSQL storage back-end per signature (`make bench`; issue
# 18): the same 2-of-3 cluster on 127.0.0.1 with the coordinator on files,
# then on a throw-away PostgreSQL 15 (Unix socket, tests/integration/pg_lib.sh
# starts it). For each: BENCH_PG_RUNS sequential full signatures and as many
# presigned ones through tssctl; reports signatures per second, and from
# the coordinator's per-request log line ("storage N round trip(s) U us")
# the round trips per signature and the p50/p90 of their summed time.
# JSON on stdout and in $BUILD/bench-pg.json. Skips (exit 0, a SKIP line)
# without PostgreSQL. Every process is killed on exit.
#
# Usage: bash bench/pg.sh [BUILD_DIR]   Env: BENCH_PG_RUNS (default 40)
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TSS_BUILD=$(cd "${1:-${TSS_BUILD:-$ROOT/build}}" && pwd) || exit 1
RUNS=${BENCH_PG_RUNS:-40}
. "$ROOT/tests/lib.sh"
. "$ROOT/tests/integration/cluster.sh"
. "$ROOT/tests/integration/pg_lib.sh"
if ! pg_installed; then echo "SKIP bench/pg.sh: PostgreSQL 15 not installed"; exit 0; fi
pg_init tssd-pgbench
trap 'pg_cleanup cluster_cleanup' EXIT
die() { echo "bench/pg.sh: $*" >&2; tail -n 20 "$WORK"/coord.log >&2; exit 1; }

pg_create || die "PostgreSQL did not start: $(tail -n 5 "$PGDIR"/*.log)"
DB=postgres sql "CREATE DATABASE tssd" >/dev/null

cluster_setup 3 10s >/dev/null || die "cluster setup"
pg_passfile
cp "$WORK/coord.yaml" "$WORK/coord-files.yaml"
sed -i 's/^log_level: .*/log_level: info/' "$WORK/coord-files.yaml"
{ cat "$WORK/coord-files.yaml"; pg_storage bench; } > "$WORK/coord-pg.yaml"

now_ms() { date +%s%3N; }
# run BACKEND: keygen, RUNS full signs, presign RUNS, RUNS presigned signs.
run() {
    local b=$1 i t0 t1
    cp "$WORK/coord-$b.yaml" "$WORK/coord.yaml"
    rm -rf "$WORK/cstate"
    : > "$WORK/coord.log"
    start_coord
    local v
    for i in 1 2 3; do v=P$i; { [ -n "${!v:-}" ] && alive "${!v}"; } || start_party "$i"; done
    wait_until 30 connected_is 3 || die "$b: parties did not connect"
    "$CTL" --config "$WORK/op.yaml" keygen --key-id "bench-$b" --threshold 2 >/dev/null 2>&1 || die "$b: keygen"
    t0=$(now_ms)
    for i in $(seq 1 "$RUNS"); do
        "$CTL" --config "$WORK/op.yaml" sign --key-id "bench-$b" --no-presign --message "f $i" >/dev/null 2>&1 || die "$b: sign"
    done
    t1=$(now_ms); eval "FULL_$b=\$(( RUNS * 1000000 / (t1 - t0) ))"
    "$CTL" --config "$WORK/op.yaml" presign --key-id "bench-$b" --count "$RUNS" >/dev/null 2>&1 || die "$b: presign"
    t0=$(now_ms)
    for i in $(seq 1 "$RUNS"); do
        "$CTL" --config "$WORK/op.yaml" sign --key-id "bench-$b" --message "p $i" >/dev/null 2>&1 || die "$b: presigned sign"
    done
    t1=$(now_ms); eval "PRE_$b=\$(( RUNS * 1000000 / (t1 - t0) ))"
    stop_pid "$COORD"
    cp "$WORK/coord.log" "$WORK/coord-$b.log"
}
run files
run pg
# p50/p90 of the per-sign storage time (us) and the round trips.
stats() {
    grep -o 'request sign key=bench-pg: storage [0-9]* round trip(s) [0-9]* us' "$WORK/coord-pg.log" \
        | awk '{print $8, $5}' | sort -n > "$WORK/costs"
    local n; n=$(wc -l < "$WORK/costs")
    [ "$n" -gt 0 ] || die "no storage cost lines"
    P50=$(awk -v k=$(( (n + 1) / 2 )) 'NR == k {print $1}' "$WORK/costs")
    P90=$(awk -v k=$(( (n * 9 + 9) / 10 )) 'NR == k {print $1}' "$WORK/costs")
    TRIPS=$(awk '{print $2}' "$WORK/costs" | sort -n | awk -v k=$(( (n + 1) / 2 )) 'NR == k')
    N=$n
}
stats
fmt() { printf '%d.%03d' $(( $1 / 1000 )) $(( $1 % 1000 )); }
JSON="{\"bench\":\"pg\",\"runs\":$RUNS,\"files\":{\"full_per_s\":$(fmt "$FULL_files"),\"presigned_per_s\":$(fmt "$PRE_files")},\"postgresql\":{\"full_per_s\":$(fmt "$FULL_pg"),\"presigned_per_s\":$(fmt "$PRE_pg"),\"signatures\":$N,\"round_trips_p50\":$TRIPS,\"storage_us_p50\":$P50,\"storage_us_p90\":$P90}}"
echo "$JSON" | tee "$TSS_BUILD/bench-pg.json"
printf '%-12s %14s %18s\n' backend "full sign/s" "presigned sign/s"
printf '%-12s %14s %18s\n' files "$(fmt "$FULL_files")" "$(fmt "$PRE_files")"
printf '%-12s %14s %18s\n' postgresql "$(fmt "$FULL_pg")" "$(fmt "$PRE_pg")"
echo "postgresql: $TRIPS round trips per signature (p50), storage time p50 ${P50} us, p90 ${P90} us over $N signatures"
echo "(sequential tssctl processes, one TLS connection each: the rates include that cost equally)"
