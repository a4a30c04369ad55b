#!/usr/bin/env bash
# Simulated WAN (issue 14, item 3): the coordinator and each of 3 parties in
# its own network namespace, every party one RTT (default 20 ms) from the
# coordinator over links that delay every packet (tests/integration/
# wanlink.c; this kernel has no sch_netem), real daemons over mutual TLS.
# Short on purpose (bench/wan.sh has the table for 0/5/20/80 ms and loss):
#   - a baseline at RTT 0 in the same run (the compute cost on this machine,
#     under whatever load it has right now), then the links are set to RTT;
#   - a keygen, 5 full signatures (after 5 warm-up), 6 presignatures and 6
#     presigned signatures, at RTT 0 and at RTT;
#   - lower bounds prove the delay is real and count rounds: keygen >= 4 RTT,
#     every full signature >= 3 RTT, a presigned one >= 1 RTT
#     (docs/PERFORMANCE.md "Rounds" says which message flights these are);
#   - upper bounds catch an extra round: full p50 <= 3.5 RTT + 10 ms, presigned
#     p50 <= 1.2 RTT + 5 ms (issue 14's bounds), each plus a slack of twice
#     the full-sign p50 measured at RTT 0 in this run, at least
#     WAN_TEST_SLACK_MS (150): on a machine shared by other builds the compute
#     of the same request varies 3x within a minute. These bounds catch gross
#     regressions only; the strict figures and the round counts from the
#     latency slope over 0..80 ms are in bench/wan.sh;
#   - every request completes and every signature verifies (tss-bench checks).
# The namespaces and the link process are removed by the EXIT trap, also on
# failure. Without root or network namespaces the test says so loudly and
# passes one "skipped" case.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/wan_lib.sh"
trap 'wan_cleanup; rm -rf "$WORK"' EXIT
trap 'exit 143' TERM INT # so that the EXIT trap runs when the runner kills the script

RTT=${WAN_TEST_RTT_MS:-20}
if ! why=$(wan_possible); then
    echo "SKIP: wan: $why" >&2
    echo "################################################################" >&2
    echo "# simulated-WAN test NOT RUN: $why" >&2
    echo "################################################################" >&2
    ok "simulated WAN skipped: $why"
    finish
    exit 0
fi

# Every step is bounded: setup 60 s, each tss-bench run WAN_E2E_TIMEOUT s.
WAN_E2E_TIMEOUT=60

if wan_setup 0 0 0 2>"$WORK/setup.err"; then ok "cluster up: 3 parties connected across namespaces"; else
    not_ok "cluster up" "$(cat "$WORK/setup.err")" "$(tail -n 5 "$WORK"/coord.log 2>/dev/null)"
    finish; exit 1
fi
cd "$WORK" || exit 1

# A party's traffic really crosses its link: the party namespace has no route
# to the coordinator except wan0.
route=$(ip netns exec "${WAN_NS}p1" ip route get 10.201.0.1 2>&1)
expect_match "party 1 reaches the coordinator only through its link" "$route" "dev wan0"

# connect_ms: the fastest of 5 TCP connects from party 1's namespace to the
# coordinator (a connect is one round trip; timed inside one bash, no fork).
connect_ms() {
    ip netns exec "${WAN_NS}p1" bash -c '
        best=
        for i in 1 2 3 4 5; do
            t0=$EPOCHREALTIME; exec 3<>"/dev/tcp/10.201.0.1/$1" || exit 1; t1=$EPOCHREALTIME; exec 3<&-
            d=$(( (${t1/./} - ${t0/./}) ))
            if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
        done
        echo $((best / 1000)).$(( (best % 1000) / 100 ))' _ "$WAN_PORT"
}

measure() { # LABEL: e2e run into $WORK/LABEL.json; sets K F50 FMIN P50 BAD NFAIL RC
    wan_e2e "$WORK/$1.json" 5 6 1 1
    RC=$?
    local j full pre
    j=$(cat "$WORK/$1.json" 2>/dev/null)
    full=$(json_obj "$WORK/$1.json" sign_full); pre=$(json_obj "$WORK/$1.json" sign_presigned)
    K=$(json_num "$j" keygen_ms); F50=$(json_num "$full" p50_ms); FMIN=$(json_num "$full" min_ms)
    P50=$(json_num "$pre" p50_ms); BAD=$(json_num "$j" bad_signatures)
    NFAIL=$(json_num "$(json_obj "$WORK/$1.json" throughput)" failed)
    PSTATE=$(printf '%s' "$pre" | grep -o '"state":"[^"]*"' | cut -d'"' -f4)
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 <= b + 0) }'; }

measure base
if [ "$RC" = 0 ] && [ "$PSTATE" = ok ]; then
    ok "baseline at RTT 0: keygen ${K} ms, full p50 ${F50} ms, presigned p50 ${P50} ms"
else
    not_ok "baseline at RTT 0" "exit $RC, presigned $PSTATE" "$(cat "$WORK/base.json" "$WORK/base.json.err")"
fi
B_F50=${F50:-0} B_P50=${P50:-0}
C0=$(connect_ms)

wan_params $((RTT * 500)) 0 0
sleep 0.2
# The delay is in force, measured directly (not through the daemons' compute).
C1=$(connect_ms)
if le "$RTT" "$C1" && le "$C0" "$(awk -v r="$RTT" 'BEGIN { print r / 2 }')"; then
    ok "TCP connect party 1 -> coordinator: ${C0} ms at RTT 0, ${C1} ms at RTT $RTT"
else
    not_ok "link delay in force" "fastest TCP connect ${C0:-?} ms at RTT 0 (want < RTT/2), ${C1:-?} ms at RTT $RTT (want >= RTT)"
fi
measure wan
if [ "$RC" = 0 ] && [ "${BAD:-1}" = 0 ] && [ "${NFAIL:-1}" = 0 ] && [ "$PSTATE" = ok ]; then
    ok "RTT $RTT ms: every request completed, every signature verified"
else
    not_ok "RTT $RTT ms: every request completed" "exit $RC, bad ${BAD:-?}, failed ${NFAIL:-?}, presigned ${PSTATE:-?}" \
        "$(cat "$WORK/wan.json" "$WORK/wan.json.err")"
fi
echo "# RTT $RTT ms: keygen ${K} ms, full p50 ${F50} ms (min ${FMIN}), presigned p50 ${P50} ms" \
    "(baseline at RTT 0: full ${B_F50}, presigned ${B_P50})"

# Lower bounds: the delay is in force (each would fail with the links at 0).
if le "$((4 * RTT))" "$K"; then ok "keygen ${K} ms >= 4 RTT ($((4 * RTT)) ms)"; else
    not_ok "keygen >= 4 RTT" "keygen ${K:-?} ms < $((4 * RTT)) ms: is the link delay in force?"; fi
if le "$((3 * RTT))" "$FMIN"; then ok "every full signature >= 3 RTT (fastest ${FMIN} ms)"; else
    not_ok "full signature >= 3 RTT" "fastest ${FMIN:-?} ms < $((3 * RTT)) ms"; fi
if le "$RTT" "$P50"; then ok "presigned p50 ${P50} ms >= 1 RTT"; else
    not_ok "presigned >= 1 RTT" "p50 ${P50:-?} ms < $RTT ms"; fi

# Upper bounds: issue 14's figures plus the slack.
SLACK=$(awk -v b="$B_F50" -v m="${WAN_TEST_SLACK_MS:-150}" 'BEGIN { s = 2 * b; if (s < m) s = m; printf "%.1f", s }')
FULL_MAX=$(awk -v r="$RTT" -v s="$SLACK" 'BEGIN { printf "%.1f", 3.5 * r + 10 + s }')
PRE_MAX=$(awk -v r="$RTT" -v s="$SLACK" 'BEGIN { printf "%.1f", 1.2 * r + 5 + s }')
if le "$F50" "$FULL_MAX"; then ok "full p50 ${F50} ms <= 3.5 RTT + 10 ms + slack ${SLACK} ms (${FULL_MAX} ms)"; else
    not_ok "full p50 within 3.5 RTT + 10 ms + slack ${SLACK} ms" "${F50:-?} ms > ${FULL_MAX} ms: an extra round trip?"; fi
if le "$P50" "$PRE_MAX"; then ok "presigned p50 ${P50} ms <= 1.2 RTT + 5 ms + slack ${SLACK} ms (${PRE_MAX} ms)"; else
    not_ok "presigned p50 within 1.2 RTT + 5 ms + slack ${SLACK} ms" "${P50:-?} ms > ${PRE_MAX} ms: an extra round trip?"; fi

# Cleanup works: the trap removes what wan_setup made (checked here by doing it).
wan_cleanup
left=$(ip netns list 2>/dev/null | grep -c "^$WAN_NS" || true)
if [ "$left" = 0 ] && ! kill -0 "$WAN_LINK_PID" 2>/dev/null; then ok "namespaces and link process removed"; else
    not_ok "namespaces removed" "$left namespaces of $WAN_NS left"; fi
finish
