#!/usr/bin/env bash
# An operator waiting for a slow answer is not idle: the coordinator's
# timeouts.idle (2 s here) must not close an operator connection while a
# request of it is still running (it used to: a keygen on a loaded machine
# outlasting timeouts.idle ended in "the coordinator closed the connection"
# instead of its result). A 3-of-3 sign with party 3 stopped runs until the
# round timeout (6 s): the operator gets the session's own error, not a
# dropped connection; once answered, the idle limit applies again.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT
[ -n "${SLOW_KEEP:-}" ] && trap 'cp "$WORK"/slow.err "$WORK"/coord.log "$SLOW_KEEP"/ 2>/dev/null; cluster_cleanup' EXIT

cluster_setup 3 6s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
# Liveness far beyond the round timeout, so only the round timeout ends the session.
sed -i 's/idle: 4s, round: 6s}/idle: 2s, round: 6s, liveness: 60s}/' coord.yaml
grep -q 'idle: 2s' coord.yaml || { not_ok "coordinator config edited" "$(cat coord.yaml)"; finish; exit 1; }
if cluster_start; then ok "coordinator and 3 parties connected"; else
    not_ok "coordinator and 3 parties connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi
expect_exit 0 "keygen 3-of-3" "$CTL" --config op.yaml keygen --key-id k --threshold 3 --json

kill -STOP "$P3"
t0=$SECONDS
timeout 40 "$CTL" --config op.yaml sign --key-id k --message "slow" --no-presign --json >slow.out 2>slow.err
rc=$?; took=$((SECONDS - t0))
kill -CONT "$P3"
[ "$rc" != 0 ] && [ "$took" -ge 5 ] && ok "the stalled sign fails after the round timeout (exit $rc, ${took}s)" \
    || not_ok "the stalled sign fails after the round timeout" "exit $rc after ${took}s" "$(cat slow.err)"
if grep -q "closed the connection" slow.err; then
    not_ok "the operator gets the session's error, not a closed connection" "$(cat slow.err)"
else
    ok "the operator gets the session's error, not a closed connection"
fi
! grep -q "operator.*idle: no frame" coord.log && ! grep -q "urn:tssd:operator:alice.*idle" coord.log \
    && ok "the coordinator did not close the waiting operator as idle" \
    || not_ok "the coordinator did not close the waiting operator as idle" "$(grep idle coord.log | tail -3)"
wait_until 15 connected_is 3 || not_ok "party 3 back" "$(status_json)"
expect_exit 0 "a 3-of-3 sign succeeds once party 3 runs again" \
    timeout 40 "$CTL" --config op.yaml sign --key-id k --message "fast" --json
finish
