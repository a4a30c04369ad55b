#!/usr/bin/env bash
# Liveness keeps working while an operator waits for an answer. A connection
# whose idle limit is held (an operator awaiting a reply, daemon/conn.h) has
# no deadline; its timer once got armed with due time 0 instead of being
# disarmed, fired at once on every loop turn and starved every other timer:
# the liveness probe never ran, and a sign with a stopped party waited for
# the round timeout (20 s) instead of failing after timeouts.liveness (2 s).
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT

cluster_setup 3 20s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
sed -i 's/idle: 4s, round: 20s}/idle: 60s, round: 20s, liveness: 2s}/' coord.yaml
grep -q 'liveness: 2s' coord.yaml || { not_ok "coordinator config edited" "$(cat coord.yaml)"; finish; exit 1; }
if cluster_start; then ok "coordinator and 3 parties connected"; else
    not_ok "coordinator and 3 parties connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi
expect_exit 0 "keygen 2-of-3" "$CTL" --config op.yaml keygen --key-id k --threshold 2 --json
kill -STOP "$P3"
t0=$SECONDS
timeout 40 "$CTL" --config op.yaml sign --key-id k --message "stalled" --signers 2,3 --no-presign --json \
    >stall.out 2>stall.err
rc=$?; took=$((SECONDS - t0))
kill -CONT "$P3"
[ "$rc" != 0 ] && [ "$took" -le 10 ] && ok "a sign with stopped party 3 fails within 10 s (${took}s, exit $rc)" \
    || not_ok "a sign with stopped party 3 fails within 10 s" "exit $rc after ${took}s" "$(cat stall.err)"
grep -q "unresponsive" stall.err && ok "the answer says party 3 is unresponsive" \
    || not_ok "the answer says party 3 is unresponsive" "$(cat stall.err)"
wait_until 15 connected_is 3 || not_ok "party 3 back" "$(status_json)"
expect_exit 0 "signing with parties 2,3 works again" timeout 40 "$CTL" --config op.yaml sign --key-id k \
    --message "back" --signers 2,3 --json
finish
