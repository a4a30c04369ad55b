#!/usr/bin/env bash
# Sustained signing with the presignature pool refilling in the background
# (issue 14 item 1; `make bench` runs it): a 2-of-3 cluster of real daemons on
# 127.0.0.1 as in bench/e2e.sh, whose coordinator keeps a pool for key "pool"
# (target POOL_TARGET, low POOL_LOW, high POOL_HIGH, at most POOL_MAX_REFILL
# refills at once); after keygen and the initial fill, `tss-bench --suite
# pool` signs from POOL_CONCURRENCY persistent operator connections for
# POOL_SECONDS (presignatures allowed, each signature verified) while the
# pool refills. Reports throughput, presigned and full counts with their
# p50/p99, and the stock before and after; JSON in $BUILD/bench-pool.json
# plus a table. Every process started here is killed on exit; every wait is
# bounded.
#
# Usage: bash bench/pool.sh [BUILD_DIR]   (default $TSS_BUILD or ./build)
# Env: POOL_SECONDS (60), POOL_CONCURRENCY (32), POOL_TARGET (256), POOL_LOW (64),
#      POOL_HIGH (512), POOL_RATE (1000/s), POOL_MAX_REFILL (8), BENCH_LOG_LEVEL (info).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "${1:-${TSS_BUILD:-$ROOT/build}}" && pwd) || exit 1
CTL=$BUILD/tssctl
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tss-bench-pool-XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench/pool.sh: $*" >&2; for f in "$WORK"/*.log; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done; exit 1; }

free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
    echo 0
}
wait_until() {
    local deadline=$((SECONDS + $1)); shift
    while [ "$SECONDS" -lt "$deadline" ]; do "$@" && return 0; sleep 0.1; done
    "$@"
}
all_connected() {
    [ "$(timeout 10 "$CTL" --config "$WORK/op.yaml" status --json 2>/dev/null | grep -o '"connected":true' | wc -l)" = 3 ]
}

for b in tssctl tss-keystore tss-coordinator tss-party tss-bench; do
    [ -x "$BUILD/$b" ] || die "$BUILD/$b missing (make all)"
done
LEVEL=${BENCH_LOG_LEVEL:-info}
cd "$WORK" || exit 1
echo "bench/pool.sh: setting up a 2-of-3 cluster in $WORK" >&2
"$CTL" pki init-ca --out ca --days 90 >/dev/null 2>>pki.log || die "pki init-ca failed"
"$CTL" pki issue --ca ca --identity urn:tssd:coordinator --out coord --ip 127.0.0.1 --days 90 >/dev/null 2>>pki.log || die "pki issue failed"
"$CTL" pki issue --ca ca --identity urn:tssd:operator:bench --out op --days 90 >/dev/null 2>>pki.log || die "pki issue failed"
printf 'bench passphrase (throwaway)\n' > pass; chmod 600 pass
for i in 1 2 3; do
    "$CTL" pki issue --ca ca --identity "urn:tssd:party:$i" --out "p$i" --days 90 >/dev/null 2>>pki.log || die "pki issue failed"
    "$BUILD/tss-keystore" init --dir "$WORK/ks$i" --party-id "$i" --kdf interactive \
        --passphrase-file pass > "id$i" 2>>ks.log || die "keystore init failed"
done
PORT=$(free_port)
{
    echo "listen: [127.0.0.1:$PORT]"
    echo "tls: {cert: $WORK/coord/cert.pem, key: $WORK/coord/key.pem, ca: $WORK/ca/ca.pem}"
    echo "parties:"
    for i in 1 2 3; do echo "  - {id: $i, identity: \"urn:tssd:party:$i\"}"; done
    echo "operators:"
    echo "  - {name: bench, identity: \"urn:tssd:operator:bench\"}"
    echo "state_dir: $WORK/cstate"
    echo "limits: {max_sessions: 64, max_queued: 1024, max_connections: 512}"
    echo "timeouts: {heartbeat: 1s, handshake: 20s, preauth: 20s, idle: 30s, round: 5s, queue: 20s}"
    echo "log_level: $LEVEL"
    echo "pool:"
    echo "  rate: ${POOL_RATE:-1000}"
    echo "  max_refill: ${POOL_MAX_REFILL:-8}"
    echo "  interval: 100ms"
    echo "  keys:"
    echo "    - {key: pool, target: ${POOL_TARGET:-256}, low: ${POOL_LOW:-64}, high: ${POOL_HIGH:-512}}"
} > coord.yaml
for i in 1 2 3; do
    {
        echo "party_id: $i"
        echo "keystore: {dir: $WORK/ks$i, passphrase: {file: $WORK/pass}}"
        echo "coordinator: {address: [127.0.0.1:$PORT]}"
        echo "tls: {cert: $WORK/p$i/cert.pem, key: $WORK/p$i/key.pem, ca: $WORK/ca/ca.pem}"
        echo "peers:"
        for j in 1 2 3; do [ "$j" = "$i" ] || echo "  - {id: $j, identity: \"$(cat "id$j")\"}"; done
        echo "limits: {max_sessions: 16}"
        echo "timeouts: {heartbeat: 1s, connect: 2s, round: 5s, backoff_initial: 200ms, backoff_max: 1s}"
        echo "state_dir: $WORK/pstate$i"
        echo "log_level: $LEVEL"
    } > "party$i.yaml"
done
printf 'coordinator: {address: [127.0.0.1:%s]}\ntls: {cert: %s/op/cert.pem, key: %s/op/key.pem, ca: %s/ca/ca.pem}\ntimeouts: {connect: 3s, request: 30s}\n' \
    "$PORT" "$WORK" "$WORK" "$WORK" > op.yaml

"$BUILD/tss-coordinator" --config coord.yaml 2>>coord.log & PIDS+=("$!")
for i in 1 2 3; do "$BUILD/tss-party" --config "party$i.yaml" 2>>"party$i.log" & PIDS+=("$!"); done
wait_until 30 all_connected || die "the parties did not connect within 30 s"

stock() { "$CTL" --config op.yaml keys --key-id pool --json 2>/dev/null | grep -o '"presignatures":[0-9]*' | cut -d: -f2; }
full_stock() { [ "$(stock)" -ge "${POOL_TARGET:-256}" ] 2>/dev/null; }
"$CTL" --config op.yaml keygen --key-id pool --threshold 2 --json > keygen.json 2>&1 || die "keygen failed: $(cat keygen.json)"
T0=$SECONDS
wait_until 300 full_stock || die "the pool did not reach its target within 300 s (stock $(stock))"
FILL_S=$((SECONDS - T0))
echo "bench/pool.sh: pool filled to $(stock) in ${FILL_S} s; signing for ${POOL_SECONDS:-60} s at concurrency ${POOL_CONCURRENCY:-32}" >&2
timeout $(( ${POOL_SECONDS:-60} + 120 )) "$BUILD/tss-bench" --suite pool --op-config op.yaml --json \
    --concurrency "${POOL_CONCURRENCY:-32}" --seconds "${POOL_SECONDS:-60}" > pool.json 2>pool.err
RC=$?
grep -q '"pool":' pool.json || die "tss-bench --suite pool produced nothing (exit $RC): $(cat pool.err)"
REFILLS=$(grep -c 'operator=(pool)' coord.log)
PSZ=$(find pstate1/presig/pool -name '*.presig' -printf '%s\n' 2>/dev/null | head -n 1)
BODY=$(sed -e 's/^{//' -e 's/}$//' pool.json)
printf '{%s,"initial_fill_s":%s,"refill_sessions_started":%s,"presig_file_bytes":%s,"host":{"cpus":%s,"kernel":"%s"},"targets":{"sustained_sig_per_s":{"required":300}}}\n' \
    "$BODY" "$FILL_S" "$REFILLS" "${PSZ:-0}" "$(nproc)" "$(uname -r)" > "$BUILD/bench-pool.json"
cat "$BUILD/bench-pool.json"
f() { grep -o "\"$1\":[0-9.]*" pool.json | head -n 1 | cut -d: -f2; }
echo
printf '%-48s %12s\n' "pool, 2-of-3 on 127.0.0.1 ($(nproc) CPUs)" value
printf '%-48s %12s\n' "initial fill to target $(f stock_start) (s)" "$FILL_S"
printf '%-48s %12s  %s\n' "sustained sig/s, concurrency $(f concurrency), $(f seconds) s" "$(f sig_per_s)" \
    "$(awk -v v="$(f sig_per_s)" 'BEGIN { if (v >= 300) print "meets required (300)"; else print "MISSES required (300)" }')"
printf '%-48s %12s\n' "  presigned / full" "$(f presigned) / $(f full)"
printf '%-48s %12s\n' "  presigned p50 / p99 (ms)" "$(f presigned_p50_ms) / $(f presigned_p99_ms)"
printf '%-48s %12s\n' "  full p50 / p99 (ms)" "$(f full_p50_ms) / $(f full_p99_ms)"
printf '%-48s %12s\n' "  stock at start / end" "$(f stock_start) / $(f stock_end)"
printf '%-48s %12s\n' "  failed / bad signatures" "$(f failed) / $(f bad_signatures)"
echo "(JSON: $BUILD/bench-pool.json)"
exit "$RC"
