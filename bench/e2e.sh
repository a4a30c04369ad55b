#!/usr/bin/env bash
# End-to-end benchmark over real daemons on 127.0.0.1 (`make bench` runs it):
# a 2-of-3 cluster (coordinator + 3 parties, mutual TLS, as in
# tests/integration/cluster.sh), then `tss-bench --suite e2e` (C client over
# daemon/client.h with persistent connections: keygen, sequential full
# signing p50/p99, throughput at concurrency 16, presigned signing) and, in the
# same run, the in-process per-party signing time (`--suite mpc --cases 3x2`)
# for the ratio; then `tss-bench --suite overload`: goodput and p50/p99 at
# concurrency 8/32/128 with the admission policy (parties at the default
# limits.max_sessions 16, the coordinator at its default 64; issue 11 asks
# that goodput at 128 stays >= 90% of the best level, with no request
# failing). The coordinator's handshake deadline is 20 s here: 128 clients
# connect at once on a small machine, and max_connections is 512 so that 128
# operator connections fit beside the room kept for parties. Prints JSON
# (also written to $BUILD/bench-e2e.json) and a table. Every process started
# here is killed on exit; every wait is bounded.
#
# Usage: bash bench/e2e.sh [BUILD_DIR]   (default $TSS_BUILD or ./build)
# Env: BENCH_RUNS (sequential signs, default 200), BENCH_CONCURRENCY (16),
#      BENCH_PER_WORKER (25), BENCH_PRESIGN (100), BENCH_LOG_LEVEL (info),
#      BENCH_LEVELS (8,32,128), BENCH_LEVEL_REQUESTS (600 per level).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init e2e e2e "${1:-}"
bench_need
LEVEL=${BENCH_LOG_LEVEL:-info}
bench_cluster "{max_sessions: 64, max_queued: 1024, max_connections: 512}" \
    "{heartbeat: 1s, handshake: 20s, idle: 30s, round: 5s, queue: 20s}" 16

echo "bench/e2e.sh: running tss-bench --suite e2e (client over daemon/client.h)" >&2
timeout 90 "$BUILD/tss-bench" --suite e2e --op-config op.yaml --json --threshold 2 \
    --runs "${BENCH_RUNS:-200}" --concurrency "${BENCH_CONCURRENCY:-16}" \
    --per-worker "${BENCH_PER_WORKER:-25}" --presign "${BENCH_PRESIGN:-100}" \
    > e2e.json 2>e2e.err
E2E_RC=$?
grep -q '"e2e":' e2e.json || die "tss-bench --suite e2e produced nothing (exit $E2E_RC): $(cat e2e.err)"
[ -s e2e.err ] && cat e2e.err >&2
echo "bench/e2e.sh: running tss-bench --suite overload (concurrency ${BENCH_LEVELS:-8,32,128})" >&2
timeout 300 "$BUILD/tss-bench" --suite overload --op-config op.yaml --json --threshold 2 \
    --levels "${BENCH_LEVELS:-8,32,128}" --requests "${BENCH_LEVEL_REQUESTS:-600}" \
    > overload.json 2>overload.err
OVL_RC=$?
grep -q '"overload":' overload.json || die "tss-bench --suite overload produced nothing (exit $OVL_RC): $(cat overload.err)"
cat overload.err >&2
CULPRIT_LINES=$(grep -Ec 'culprit party=[1-9]|retrying without party' coord.log)
BUSY_LINES=$(grep -c 'is busy' coord.log)
# Stop the cluster before the in-process run so it has the CPUs to itself.
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
echo "bench/e2e.sh: running tss-bench --suite mpc --cases 3x2 (in-process, same run)" >&2
timeout 60 "$BUILD/tss-bench" --suite mpc --cases 3x2 --runs 5 --json > mpc.json 2>mpc.err \
    || die "tss-bench --suite mpc failed: $(cat mpc.err)"

num() { grep -o "\"$2\":[-0-9.]*" "$1" | head -n 1 | cut -d: -f2; }
# The object after "KEY": in FILE (flat objects only).
obj() { grep -o "\"$2\":{[^{}]*}" "$1" | head -n 1 | sed "s/^\"$2\"://"; }
FULL50=$(obj e2e.json sign_full | grep -o '"p50_ms":[0-9.]*' | cut -d: -f2)
FULL99=$(obj e2e.json sign_full | grep -o '"p99_ms":[0-9.]*' | cut -d: -f2)
PRE=$(obj e2e.json sign_presigned)
PRESTATE=$(printf '%s' "$PRE" | grep -o '"state":"[^"]*"' | cut -d'"' -f4)
PRE50=$(printf '%s' "$PRE" | grep -o '"p50_ms":[0-9.]*' | cut -d: -f2)
PRE99=$(printf '%s' "$PRE" | grep -o '"p99_ms":[0-9.]*' | cut -d: -f2)
TPUT=$(obj e2e.json throughput | grep -o '"sig_per_s":[0-9.]*' | cut -d: -f2)
CONC=$(obj e2e.json throughput | grep -o '"concurrency":[0-9]*' | cut -d: -f2)
KG=$(num e2e.json keygen_ms)
INPROC=$(num mpc.json sign_ms_per_party)
INPRE=$(num mpc.json online_ms_per_party)
RATIO=$(awk -v a="$FULL50" -v b="$INPROC" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }')
E2E_BODY=$(sed -e 's/^{//' -e 's/}$//' e2e.json)
OVL_BODY=$(sed -e 's/^{//' -e 's/}$//' overload.json)
{
    printf '{%s,%s,"overload_log":{"culprit_lines":%s,"busy_lines":%s},' "$E2E_BODY" "$OVL_BODY" \
        "$CULPRIT_LINES" "$BUSY_LINES"
    printf '"in_process_3x2":%s,"ratio_full_p50_vs_in_process_sign_per_party":%s,' \
        "$(cat mpc.json)" "$RATIO"
    printf '"host":{"cpus":%s,"kernel":"%s"},"targets":{"sign_full_p50_ms":{"required":10,"aim":5},' \
        "$(nproc)" "$(uname -r)"
    printf '"sign_presigned_p50_ms":{"required":4,"aim":2},"sig_per_s":{"required":150,"aim":300},'
    printf '"overload_last_vs_best":{"required":0.9}}}\n'
} > "$BUILD/bench-e2e.json"
cat "$BUILD/bench-e2e.json"

verdict() { # value op required aim
    awk -v v="$1" -v op="$2" -v r="$3" -v a="$4" 'BEGIN {
        if (v == "") { print "n/a"; exit }
        if (op == "<=") { if (v <= a) print "meets aim"; else if (v <= r) print "meets required"; else print "MISSES required" }
        else { if (v >= a) print "meets aim"; else if (v >= r) print "meets required"; else print "MISSES required" } }'
}
echo
printf '%-40s %12s %12s  %s\n' "end-to-end, 2-of-3 on 127.0.0.1 ($(nproc) CPUs)" value "req / aim" verdict
printf '%-40s %12s %12s\n' "keygen latency (ms)" "$KG" ""
printf '%-40s %12s %12s  %s\n' "full sign p50 (ms)" "$FULL50" "10 / 5" "$(verdict "$FULL50" "<=" 10 5)"
printf '%-40s %12s %12s\n' "full sign p99 (ms)" "$FULL99" ""
if [ "$PRESTATE" = ok ]; then
    printf '%-40s %12s %12s  %s\n' "presigned sign p50 (ms)" "$PRE50" "4 / 2" "$(verdict "$PRE50" "<=" 4 2)"
    printf '%-40s %12s %12s\n' "presigned sign p99 (ms)" "$PRE99" ""
else
    printf '%-40s %12s %12s  %s\n' "presigned sign p50 (ms)" "n/a" "4 / 2" "not measurable yet: $(printf '%s' "$PRE" | grep -o '"note":"[^"]*"' | cut -d'"' -f4)"
fi
printf '%-40s %12s %12s  %s\n' "throughput at concurrency $CONC (sig/s)" "$TPUT" "150 / 300" "$(verdict "$TPUT" ">=" 150 300)"
printf '%-40s %12s\n' "in-process sign per party, 3x2 (ms)" "$INPROC"
printf '%-40s %12s\n' "in-process online (presigned) per party" "$INPRE"
printf '%-40s %12s\n' "ratio full p50 / in-process per party" "$RATIO"
echo
printf '%-40s %12s %10s %10s %8s\n' "overload (parties take 16, coordinator 64)" "sig/s" "p50 ms" "p99 ms" "failed"
grep -o '{"concurrency":[^}]*}' overload.json | while IFS= read -r lvl; do
    f() { printf '%s' "$lvl" | grep -o "\"$1\":[0-9.]*" | head -n 1 | cut -d: -f2; }
    printf '%-40s %12s %10s %10s %8s\n' "  concurrency $(f concurrency)" "$(f sig_per_s)" "$(f p50_ms)" "$(f p99_ms)" "$(f failed)"
done
LVB=$(num overload.json last_vs_best)
OVL_FAILED=$(grep -o '"failed":[0-9]*' overload.json | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }')
printf '%-40s %12s %12s  %s\n' "goodput at the last level / best" "$LVB" "0.9" \
    "$(awk -v v="$LVB" -v f="$OVL_FAILED" 'BEGIN { if (f > 0) print "MISSES: " f " requests failed"; else if (v >= 0.9) print "meets required"; else print "MISSES required" }')"
printf '%-40s %12s\n' "coordinator log: culprit/retry lines" "$CULPRIT_LINES"
printf '%-40s %12s\n' "coordinator log: busy answers" "$BUSY_LINES"
echo "(JSON: $BUILD/bench-e2e.json)"
# The benchmark reports; it fails only if it could not measure (or a signature was wrong).
[ "$E2E_RC" = 0 ] || exit "$E2E_RC"
exit "$OVL_RC"
