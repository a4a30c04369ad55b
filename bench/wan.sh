#!/usr/bin/env bash
# Simulated-WAN benchmark (issue 14, `make bench`): a 2-of-3 cluster of real
# daemons over mutual TLS, the coordinator and each party in its own network
# namespace, every party RTT away from the coordinator (tests/integration/
# wan_lib.sh, links by tests/integration/wanlink.c). For RTT 0 / 5 / 20 / 80 ms
# and for 20 ms with 1% loss each way: keygen latency, full-signing p50/p99,
# presigned p50/p99 (tss-bench --suite e2e in the coordinator's namespace, a
# new key per row), and the round counts that latency = rounds x RTT + compute
# implies (slope between the 0 and 80 ms rows). JSON in $BUILD/bench-wan.json,
# then a table. Needs root (ip netns, /dev/net/tun); otherwise it says so and
# exits 0 with {"wan":"skipped"}.
#
# Usage: bash bench/wan.sh [BUILD_DIR]
# Env: WAN_RTTS ("0 5 20 80"), WAN_RUNS (sequential full signs per row, 20),
#      WAN_PRESIGN (presigned signs per row, 10), WAN_LOSS_PPM (10000 = 1%).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_DIE_TAIL=15
bench_wan_init wan "${1:-}"

bench_need
if ! why=$(wan_possible); then
    echo "bench/wan.sh: SKIPPED, no simulated WAN here: $why" >&2
    echo '{"wan":"skipped","reason":"'"$why"'"}' > "$BUILD/bench-wan.json"
    exit 0
fi
RTTS=${WAN_RTTS:-0 5 20 80}
RUNS=${WAN_RUNS:-20} PRE=${WAN_PRESIGN:-10} LOSS=${WAN_LOSS_PPM:-10000}
echo "bench/wan.sh: setting up namespaces, links and a 2-of-3 cluster in $WORK" >&2
wan_setup 0 0 0 || die "setup failed"

ROWS=() # "label rtt_ms loss_ppm keygen full50 full99 pre50 pre99 failed"
row() { # LABEL RTT_MS LOSS_PPM
    local label=$1 rtt=$2 loss=$3 out="$WORK/row-$1.json" full pre kg f50 f99 p50 p99 bad
    wan_params $((rtt * 500)) 0 "$loss"
    sleep 0.2
    echo "bench/wan.sh: row $label (RTT $rtt ms, loss $loss ppm)" >&2
    wan_e2e "$out" "$RUNS" "$PRE" 2 2
    local rc=$?
    grep -q '"e2e":' "$out" || die "row $label: tss-bench produced nothing (exit $rc): $(cat "$out.err")"
    full=$(json_obj "$out" sign_full); pre=$(json_obj "$out" sign_presigned)
    kg=$(json_num "$(cat "$out")" keygen_ms)
    f50=$(json_num "$full" p50_ms); f99=$(json_num "$full" p99_ms)
    p50=$(json_num "$pre" p50_ms); p99=$(json_num "$pre" p99_ms)
    bad=$(json_num "$(json_obj "$out" throughput)" failed)
    [ "$rc" = 0 ] || bad="${bad:-0}+exit$rc"
    ROWS+=("$label $rtt $loss $kg $f50 $f99 $p50 $p99 ${bad:-0}")
}
for r in $RTTS; do row "rtt$r" "$r" 0; done
row "rtt20loss" 20 "$LOSS"
kill -TERM "$WAN_LINK_PID"; wait "$WAN_LINK_PID" 2>/dev/null; WAN_LINK_PID=""

# Rounds = slope of latency over RTT between the first and last plain rows.
first=(${ROWS[0]}) last=(${ROWS[$((${#ROWS[@]} - 2))]})
slope() { awk -v a="$1" -v b="$2" -v r0="$3" -v r1="$4" 'BEGIN { if (r1 > r0) printf "%.2f", (b - a) / (r1 - r0); else print 0 }'; }
KG_R=$(slope "${first[3]}" "${last[3]}" "${first[1]}" "${last[1]}")
FULL_R=$(slope "${first[4]}" "${last[4]}" "${first[1]}" "${last[1]}")
PRE_R=$(slope "${first[6]}" "${last[6]}" "${first[1]}" "${last[1]}")
{
    printf '{"wan":{"cluster":"2-of-3 daemons, one network namespace each, mTLS, user-space links (wanlink)",'
    printf '"runs":%s,"presign":%s,"rows":[' "$RUNS" "$PRE"
    sep=""
    for r in "${ROWS[@]}"; do
        set -- $r
        printf '%s{"label":"%s","rtt_ms":%s,"loss_ppm":%s,"keygen_ms":%s,"sign_full_p50_ms":%s,"sign_full_p99_ms":%s,"sign_presigned_p50_ms":%s,"sign_presigned_p99_ms":%s,"failed":"%s"}' \
            "$sep" "$1" "$2" "$3" "${4:-0}" "${5:-0}" "${6:-0}" "${7:-0}" "${8:-0}" "$9"
        sep=","
    done
    printf '],"rounds_from_slope":{"keygen":%s,"sign_full":%s,"sign_presigned":%s},' "$KG_R" "$FULL_R" "$PRE_R"
    printf '"targets_at_20ms":{"sign_full_p50_ms":%s,"sign_presigned_p50_ms":%s},' "$((35 * 2 + 10))" "$((12 * 2 + 5))"
    printf '"link_stats":"%s"}}\n' "$(tr '\n' ';' < "$WORK/wan.stats" 2>/dev/null)"
} > "$BUILD/bench-wan.json"
cat "$BUILD/bench-wan.json"
echo
printf '%-14s %8s %9s %10s %10s %10s %10s %7s\n' "row" "loss" "keygen" "full p50" "full p99" "pre p50" "pre p99" "failed"
for r in "${ROWS[@]}"; do
    set -- $r
    printf '%-14s %8s %9s %10s %10s %10s %10s %7s\n' "RTT $2 ms" "$(awk -v l="$3" 'BEGIN { printf "%.1f%%", l / 10000 }')" "$4" "$5" "$6" "$7" "$8" "$9"
done
echo "rounds (slope ms/RTT between RTT ${first[1]} and ${last[1]} ms): keygen $KG_R, full sign $FULL_R, presigned $PRE_R"
echo "issue 14 at RTT 20 ms: full p50 <= 80 ms (3.5 x RTT + 10), presigned p50 <= 29 ms (1.2 x RTT + 5)"
echo "(JSON: $BUILD/bench-wan.json)"
for r in "${ROWS[@]}"; do set -- $r; [ "$9" = 0 ] || exit 1; done
exit 0
