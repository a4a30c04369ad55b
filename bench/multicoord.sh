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
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "${1:-${TSS_BUILD:-$ROOT/build}}" && pwd) || exit 1
CTL=$BUILD/tssctl
. "$ROOT/tests/integration/lib.sh" # free_port, wait_until
. "$ROOT/tests/integration/pg_lib.sh"
if ! pg_installed; then
    echo "bench/multicoord.sh: SKIP: PostgreSQL 15 server not installed ($PGBIN/initdb); run make deps" >&2
    exit 0
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tss-bench-mc-XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
    done
    pg_cleanup rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench/multicoord.sh: $*" >&2; for f in "$WORK"/*.log; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done; exit 1; }
n_conn() { timeout 10 "$CTL" --config "$WORK/$1" status --json 2>/dev/null | grep -o '"connected":true' | wc -l; }
both_connected() { [ "$(n_conn opA.yaml)" = 3 ] && [ "$(n_conn opB.yaml)" = 3 ]; }
for b in tssctl tss-keystore tss-coordinator tss-party tss-bench; do
    [ -x "$BUILD/$b" ] || die "$BUILD/$b missing (make all)"
done
LEVEL=${BENCH_LOG_LEVEL:-notice}
cd "$WORK" || exit 1

pg_init tss-bench-pg || die "mktemp failed"
pg_create || die "PostgreSQL did not start: $(tail -n 5 "$PGDIR"/*.log)"
DB=postgres sql "CREATE DATABASE tssd" >/dev/null || die "CREATE DATABASE failed"
pg_passfile

echo "bench/multicoord.sh: setting up PostgreSQL, 2 coordinators and 3 parties in $WORK" >&2
"$CTL" pki init-ca --out ca --days 90 >/dev/null 2>>pki.log || die "pki init-ca failed"
"$CTL" pki issue --ca ca --identity urn:tssd:coordinator --out coord --ip 127.0.0.1 --days 90 >/dev/null 2>>pki.log || die "pki issue failed"
"$CTL" pki issue --ca ca --identity urn:tssd:operator:bench --out op --days 90 >/dev/null 2>>pki.log || die "pki issue failed"
printf 'bench passphrase (throwaway)\n' > pass; chmod 600 pass
for i in 1 2 3; do
    "$CTL" pki issue --ca ca --identity "urn:tssd:party:$i" --out "p$i" --days 90 >/dev/null 2>>pki.log || die "pki issue failed"
    "$BUILD/tss-keystore" init --dir "$WORK/ks$i" --party-id "$i" --kdf interactive \
        --passphrase-file pass > "id$i" 2>>ks.log || die "keystore init failed"
done
PA=$(free_port) PB=$(free_port)
for c in A B; do
    port=$PA; [ "$c" = B ] && port=$PB
    {
        echo "listen: [127.0.0.1:$port]"
        echo "tls: {cert: $WORK/coord/cert.pem, key: $WORK/coord/key.pem, ca: $WORK/ca/ca.pem}"
        echo "parties:"
        for i in 1 2 3; do echo "  - {id: $i, identity: \"urn:tssd:party:$i\"}"; done
        echo "operators:"
        echo "  - {name: bench, identity: \"urn:tssd:operator:bench\"}"
        echo "state_dir: $WORK/cstate$c"
        echo "limits: {max_sessions: 64, max_queued: 1024, max_connections: 512}"
        echo "timeouts: {heartbeat: 1s, handshake: 20s, idle: 30s, round: 5s, queue: 20s}"
        echo "log_level: $LEVEL"
        pg_storage "coord-$c" 2s
    } > "coord$c.yaml"
    printf 'coordinator: {address: [127.0.0.1:%s]}\ntls: {cert: %s/op/cert.pem, key: %s/op/key.pem, ca: %s/ca/ca.pem}\ntimeouts: {connect: 3s, request: 60s}\n' \
        "$port" "$WORK" "$WORK" "$WORK" > "op$c.yaml"
done
for i in 1 2 3; do
    {
        echo "party_id: $i"
        echo "keystore: {dir: $WORK/ks$i, passphrase: {file: $WORK/pass}}"
        echo "coordinators: [{address: [127.0.0.1:$PA]}, {address: [127.0.0.1:$PB]}]"
        echo "tls: {cert: $WORK/p$i/cert.pem, key: $WORK/p$i/key.pem, ca: $WORK/ca/ca.pem}"
        echo "peers:"
        for j in 1 2 3; do [ "$j" = "$i" ] || echo "  - {id: $j, identity: \"$(cat "id$j")\"}"; done
        echo "limits: {max_sessions: 32}"
        echo "timeouts: {heartbeat: 1s, connect: 2s, round: 5s, backoff_initial: 200ms, backoff_max: 1s}"
        echo "state_dir: $WORK/pstate$i"
        echo "log_level: $LEVEL"
    } > "party$i.yaml"
done
"$BUILD/tss-coordinator" --config coordA.yaml 2>>coordA.log & PIDS+=("$!")
sleep 1 # A applies the schema migration first
"$BUILD/tss-coordinator" --config coordB.yaml 2>>coordB.log & PIDS+=("$!")
for i in 1 2 3; do "$BUILD/tss-party" --config "party$i.yaml" 2>>"party$i.log" & PIDS+=("$!"); done
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
