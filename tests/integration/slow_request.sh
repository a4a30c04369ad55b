#!/usr/bin/env bash
# An operator waiting for a slow answer is not idle: the coordinator's
# timeouts.idle (2 s here) must not close an operator connection while a
# request of it is still running (it used to: a keygen on a loaded machine
# outlasting timeouts.idle ended in "the coordinator closed the connection"
# instead of its result). A presign of 300 takes longer than that while the
# parties heartbeat every second; it must complete.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT

cluster_setup 3 20s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
sed -i 's/{heartbeat: 1s, handshake: 2s, idle: 4s, round: 20s}/{heartbeat: 1s, handshake: 2s, idle: 2s, round: 20s}/' coord.yaml
grep -q 'idle: 2s' coord.yaml || { not_ok "coordinator config edited" "$(cat coord.yaml)"; finish; exit 1; }
if cluster_start; then ok "coordinator and 3 parties connected"; else
    not_ok "coordinator and 3 parties connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi
expect_exit 0 "keygen 2-of-3" "$CTL" --config op.yaml keygen --key-id k --threshold 2 --json

t0=$(date +%s%N)
timeout 120 "$CTL" --config op.yaml presign --key-id k --count 300 --json >slow.out 2>slow.err
rc=$?; ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" = 0 ] && ok "a presign of 300 completes (${ms} ms, longer than timeouts.idle: $([ "$ms" -gt 2000 ] && echo yes || echo no))" \
    || not_ok "a presign of 300 completes" "exit $rc after ${ms} ms" "$(cat slow.err)"
! grep -q "closed the connection" slow.err && ok "the operator was not dropped while it waited" \
    || not_ok "the operator was not dropped while it waited" "$(cat slow.err)"
! grep -q "operator:alice.*idle: no frame" coord.log \
    && ok "the coordinator did not close the waiting operator as idle" \
    || not_ok "the coordinator did not close the waiting operator as idle" "$(grep idle coord.log | tail -3)"
finish
