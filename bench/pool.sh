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
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init pool pool "${1:-}"
bench_need
LEVEL=${BENCH_LOG_LEVEL:-info}
BENCH_COORD_TAIL="pool:
  rate: ${POOL_RATE:-1000}
  max_refill: ${POOL_MAX_REFILL:-8}
  interval: 100ms
  keys:
    - {key: pool, target: ${POOL_TARGET:-256}, low: ${POOL_LOW:-64}, high: ${POOL_HIGH:-512}}"
bench_cluster "{max_sessions: 64, max_queued: 1024, max_connections: 512}" \
    "{heartbeat: 1s, handshake: 20s, preauth: 20s, idle: 30s, round: 5s, queue: 20s}" 16

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
