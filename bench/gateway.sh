#!/usr/bin/env bash
# The application API's overhead (`make bench` runs it): a 2-of-3 cluster on
# 127.0.0.1 (as bench/e2e.sh) plus tss-gateway, then in the same run
#   native:  `tss-bench --suite e2e` over the mutual-TLS operator channel;
#   gateway: `tss-bench --suite gateway`, JSON-RPC eth_signTransaction over
#            HTTPS (client certificate, kept-alive connections): sequential
#            full signing p50/p99, presigned p50/p99, throughput at
#            concurrency 16.
# The overhead ratio is gateway p50 / native p50 - 1 (required <= 15%).
# JSON in $BUILD/bench-gateway.json and a table. Every process started here
# is killed on exit; every wait is bounded.
#
# Usage: bash bench/gateway.sh [BUILD_DIR]   (default $TSS_BUILD or ./build)
# Env: BENCH_RUNS (sequential signs, default 100), BENCH_CONCURRENCY (16),
#      BENCH_PER_WORKER (25), BENCH_PRESIGN (100), BENCH_LOG_LEVEL (notice).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init gateway gw "${1:-}"
bench_need tss-gateway
LEVEL=${BENCH_LOG_LEVEL:-notice}
bench_cluster "{max_sessions: 128}" "{heartbeat: 1s, handshake: 2s, idle: 10s, round: 5s}" 128 \
    '  - {name: gateway, identity: "urn:tssd:operator:gateway"}' "rate_limit: {operator_rate: 0}"

bench_issue urn:tssd:operator:gateway gwop
bench_issue urn:tssd:client:bench client
bench_issue urn:tssd:operator:web web --ip 127.0.0.1
GP=$(free_port)
cat > gw.yaml <<EOG
listen: [127.0.0.1:$GP]
tls: {cert: $WORK/web/cert.pem, key: $WORK/web/key.pem, ca: $WORK/ca/ca.pem}
coordinator:
  address: [127.0.0.1:$PORT]
  tls: {cert: $WORK/gwop/cert.pem, key: $WORK/gwop/key.pem, ca: $WORK/ca/ca.pem}
chain_id: 1
clients:
  - {name: bench, keys: [gw], methods: [eth_signTransaction]}
timeouts: {sign: 60s}
audit_dir: $WORK/gwaudit
log_level: $LEVEL
EOG
"$BUILD/tss-gateway" --config gw.yaml 2>>gw.log & PIDS+=("$!")

echo "bench/gateway.sh: native: tss-bench --suite e2e (operator channel)" >&2
timeout 120 "$BUILD/tss-bench" --suite e2e --op-config op.yaml --json --threshold 2 \
    --runs "${BENCH_RUNS:-100}" --concurrency "${BENCH_CONCURRENCY:-16}" \
    --per-worker "${BENCH_PER_WORKER:-25}" --presign "${BENCH_PRESIGN:-100}" \
    > native.json 2>native.err || die "tss-bench --suite e2e failed: $(cat native.err)"

"$CTL" --config op.yaml keygen --key-id gw --threshold 2 --json > kg.json 2>>ctl.log || die "keygen failed"
ADDR=$(grep -o '"address":"[^"]*"' kg.json | cut -d'"' -f4)
export GW_HOST=127.0.0.1 GW_PORT=$GP GW_CA=$WORK/ca/ca.pem GW_CERT=$WORK/client/cert.pem \
    GW_KEY=$WORK/client/key.pem GW_FROM=$ADDR GW_CHAIN=1 GW_KEY_ID=gw
# The gateway's key cache refreshes every 2 s: wait until it has key gw
# (the native run made the first key).
gw_ready() { grep -q 'keys: 2 key' gw.log; }
wait_until 20 gw_ready || die "the gateway did not load the keys"
echo "bench/gateway.sh: gateway: sequential full signing" >&2
GW_MODE=seq GW_RUNS=5 timeout 120 "$BUILD/tss-bench" --suite gateway >/dev/null 2>gw-warm.err || die "gateway warm-up failed: $(cat gw-warm.err)"
# Paired: each gateway request is followed by a native one (same key, same
# connection reuse), so a loaded machine slows both alike.
GW_OP_CONFIG=$WORK/op.yaml GW_MODE=seq GW_RUNS=${BENCH_RUNS:-100} timeout 300 "$BUILD/tss-bench" --suite gateway > gw-full.json 2>gw.err \
    || die "gateway full signing failed: $(cat gw.err)"
echo "bench/gateway.sh: gateway: presigned signing" >&2
"$CTL" --config op.yaml presign --key-id gw --count $((2 * ${BENCH_PRESIGN:-100})) >/dev/null 2>>ctl.log || die "presign failed"
GW_OP_CONFIG=$WORK/op.yaml GW_MODE=seq GW_RUNS=${BENCH_PRESIGN:-100} timeout 300 "$BUILD/tss-bench" --suite gateway > gw-pre.json 2>>gw.err \
    || die "gateway presigned signing failed: $(cat gw.err)"
echo "bench/gateway.sh: gateway: throughput" >&2
GW_MODE=tput GW_CONC=${BENCH_CONCURRENCY:-16} GW_PER=${BENCH_PER_WORKER:-25} timeout 300 \
    "$BUILD/tss-bench" --suite gateway > gw-tput.json 2>>gw.err || die "gateway throughput failed: $(cat gw.err)"

obj() { grep -o "\"$2\":{[^{}]*}" "$1" | head -n 1 | sed "s/^\"$2\"://"; }
field() { printf '%s' "$1" | grep -o "\"$2\":[0-9.]*" | head -n 1 | cut -d: -f2; }
NF50=$(field "$(cat gw-full.json)" native_p50_ms); NF99=$(field "$(cat gw-full.json)" native_p99_ms)
NP50=$(field "$(cat gw-pre.json)" native_p50_ms); NP99=$(field "$(cat gw-pre.json)" native_p99_ms)
NT=$(field "$(obj native.json throughput)" sig_per_s)
GF50=$(field "$(cat gw-full.json)" p50_ms); GF99=$(field "$(cat gw-full.json)" p99_ms)
GP50=$(field "$(cat gw-pre.json)" p50_ms); GP99=$(field "$(cat gw-pre.json)" p99_ms)
GT=$(field "$(cat gw-tput.json)" sig_per_s)
ovh() { awk -v g="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", (g / n - 1) * 100; else print "n/a" }'; }
OF=$(ovh "$GF50" "$NF50"); OP=$(ovh "$GP50" "$NP50")
printf '{"native":{"full_p50_ms":%s,"full_p99_ms":%s,"presigned_p50_ms":%s,"presigned_p99_ms":%s,"sig_per_s":%s},' \
    "${NF50:-null}" "${NF99:-null}" "${NP50:-null}" "${NP99:-null}" "${NT:-null}" > "$BUILD/bench-gateway.json"
printf '"gateway":{"full_p50_ms":%s,"full_p99_ms":%s,"presigned_p50_ms":%s,"presigned_p99_ms":%s,"sig_per_s":%s},' \
    "${GF50:-null}" "${GF99:-null}" "${GP50:-null}" "${GP99:-null}" "${GT:-null}" >> "$BUILD/bench-gateway.json"
printf '"overhead_pct":{"full_p50":%s,"presigned_p50":%s,"required_max":15},"host":{"cpus":%s}}\n' \
    "$OF" "$OP" "$(nproc)" >> "$BUILD/bench-gateway.json"
cat "$BUILD/bench-gateway.json"
echo
printf '%-34s %12s %12s %10s\n' "2-of-3 on 127.0.0.1 ($(nproc) CPUs)" native gateway overhead
printf '%-34s %12s %12s %9s%%\n' "full sign p50 (ms)" "$NF50" "$GF50" "$OF"
printf '%-34s %12s %12s\n' "full sign p99 (ms)" "$NF99" "$GF99"
printf '%-34s %12s %12s %9s%%\n' "presigned sign p50 (ms)" "$NP50" "$GP50" "$OP"
printf '%-34s %12s %12s\n' "presigned sign p99 (ms)" "$NP99" "$GP99"
printf '%-34s %12s %12s\n' "throughput, concurrency ${BENCH_CONCURRENCY:-16} (sig/s)" "$NT" "$GT"
echo "(JSON: $BUILD/bench-gateway.json; required: overhead <= 15% at p50)"
