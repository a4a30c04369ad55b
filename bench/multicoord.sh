#!/usr/bin/env bash
# Throughput with one and with two coordinators (issue 18; `make bench` runs
# it): a throw-away PostgreSQL 15 cluster, coordinators A and B on it, three
# parties connected to both (config `coordinators:`), 2-of-3; then
# `tss-bench --suite multicoord`: full and presigned signing at the same
# concurrency, all workers on A, then half on A and half on B (same parties,
# same run). Prints JSON (also written to $BUILD/bench-multicoord.json) and a
# table. Skips (exit 0, says so) when PostgreSQL 15 is not installed. Every
# process started here is killed on exit; every wait is bounded.
#
# Usage: bash bench/multicoord.sh [BUILD_DIR]
# Env: BENCH_MC_CONCURRENCY (8), BENCH_MC_PER_WORKER (10), BENCH_LOG_LEVEL (notice).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_NAME=multicoord
bench_build "${1:-}"
PGBIN=${TSS_PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
    echo "bench/multicoord.sh: SKIP: PostgreSQL 15 server not installed ($PGBIN/initdb); run make deps" >&2
    exit 0
fi
bench_workdir mc
PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/tss-bench-pg-XXXXXX")
chmod 755 "$PGDIR"
AS=()
if [ "$(id -u)" = 0 ]; then AS=(runuser -u nobody --); chown nobody "$PGDIR"; fi
cleanup() {
    bench_stop
    "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w -t 20 stop >/dev/null 2>&1
    rm -rf "$WORK" "$PGDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
both_connected() { connected_is "$WORK/opA.yaml" 3 && connected_is "$WORK/opB.yaml" 3; }
bench_need
LEVEL=${BENCH_LOG_LEVEL:-notice}
cd "$WORK" || exit 1

PGPORT=$(free_port)
PGPW=bench-$RANDOM$RANDOM
printf '%s\n' "$PGPW" > "$PGDIR/pw"; chmod 644 "$PGDIR/pw"
"${AS[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U tssd --pwfile="$PGDIR/pw" --auth=scram-sha-256 \
    -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1 || die "initdb failed"
"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 30 \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=''" start >/dev/null 2>&1 || die "PostgreSQL did not start"
PGPASSWORD=$PGPW psql -h "$PGDIR" -p "$PGPORT" -U tssd -d postgres -Atqc "CREATE DATABASE tssd" >/dev/null 2>&1 \
    || die "CREATE DATABASE failed"
printf '%s\n' "$PGPW" > pgpass; chmod 600 pgpass

echo "bench/multicoord.sh: setting up PostgreSQL, 2 coordinators and 3 parties in $WORK" >&2
bench_pki
PA=$(free_port) PB=$(free_port)
for c in A B; do
    port=$PA; [ "$c" = B ] && port=$PB
    {
        bench_coord_yaml "$port" "$WORK/cstate$c" "{max_sessions: 64, max_queued: 1024, max_connections: 512}" \
            "{heartbeat: 1s, handshake: 20s, idle: 30s, round: 5s, queue: 20s}"
        echo "storage: {backend: postgresql, conninfo: \"host=$PGDIR port=$PGPORT dbname=tssd user=tssd\", password: {file: $WORK/pgpass}, name: coord-$c, timeout: 2s}"
    } > "coord$c.yaml"
    bench_op_config "op$c.yaml" "$port" 60s
done
bench_party_configs "coordinators: [{address: [127.0.0.1:$PA]}, {address: [127.0.0.1:$PB]}]" 32
bench_start_coord coordA.yaml coordA.log
sleep 1 # A applies the schema migration first
bench_start_coord coordB.yaml coordB.log
bench_start_parties
wait_until 30 both_connected || die "the parties did not connect to both coordinators within 30 s"

CONC=${BENCH_MC_CONCURRENCY:-8} PER=${BENCH_MC_PER_WORKER:-10}
echo "bench/multicoord.sh: running tss-bench --suite multicoord (concurrency $CONC, $PER signs each)" >&2
timeout 600 "$BUILD/tss-bench" --suite multicoord --op-config opA.yaml --op-config2 opB.yaml \
    --json --concurrency "$CONC" --per-worker "$PER" > mc.json 2>mc.err
RC=$?
grep -q '"multicoord":' mc.json || die "tss-bench --suite multicoord produced nothing (exit $RC): $(cat mc.err)"
[ -s mc.err ] && cat mc.err >&2
cp mc.json "$BUILD/bench-multicoord.json"
cat mc.json
rate() { grep -o "\"$1\":{\"one_coordinator\":{[^}]*},\"two_coordinators\":{[^}]*}" mc.json | grep -o "\"$2\":{[^}]*}" | grep -o '"sig_per_s":[0-9.]*' | cut -d: -f2; }
p50() { grep -o "\"$1\":{\"one_coordinator\":{[^}]*},\"two_coordinators\":{[^}]*}" mc.json | grep -o "\"$2\":{[^}]*}" | grep -o '"p50_ms":[0-9.]*' | cut -d: -f2; }
printf '%-20s %18s %18s\n' "signing ($CONC workers)" "one coordinator" "two coordinators"
printf '%-20s %12s sig/s %12s sig/s\n' full "$(rate full one_coordinator)" "$(rate full two_coordinators)"
printf '%-20s %15s ms %15s ms\n' "  p50" "$(p50 full one_coordinator)" "$(p50 full two_coordinators)"
printf '%-20s %12s sig/s %12s sig/s\n' presigned "$(rate presigned one_coordinator)" "$(rate presigned two_coordinators)"
printf '%-20s %15s ms %15s ms\n' "  p50" "$(p50 presigned one_coordinator)" "$(p50 presigned two_coordinators)"
exit "$RC"
