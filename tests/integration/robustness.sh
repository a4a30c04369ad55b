#!/usr/bin/env bash
# Robustness across real daemons on 127.0.0.1.
# (a) A malicious party: party 3 runs the real party code linked with
#     tests/integration/evil_party.c (-Wl,--wrap=tss_dconn_send, built here,
#     never part of a production binary), which flips one byte in one outgoing
#     PROTOCOL_MSG. Keygen and signing with it must abort naming party 3 (in
#     tssctl's answer and the coordinator's log), and an unnamed-quorum sign
#     must still succeed with the honest parties.
# (b) `tss-demo --serve`: start it, run the tssctl command it prints against
#     it, SIGTERM it, and check every process it started is gone.
# Every process is killed by the EXIT trap; every wait is bounded.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
dead() { ! kill -0 "$1" 2>/dev/null; }
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
since() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null; }
log_has() { since "$1" "$2" | grep -Eq -- "$3"; }
# expect_log NAME FILE MARK REGEX [SECONDS]
expect_log() {
    if wait_until "${5:-5}" log_has "$2" "$3" "$4"; then ok "$1"; else
        not_ok "$1" "no /$4/ in $2 since line $3:" "$(since "$2" "$3" | tail -n 15)"; fi
}
DEMO_PID=""
cleanup_all() {
    if [ -n "$DEMO_PID" ]; then
        pkill -KILL -P "$DEMO_PID" 2>/dev/null # the demo's own children, by parent pid
        kill -KILL "$DEMO_PID" 2>/dev/null
    fi
    cluster_cleanup
}
trap cleanup_all EXIT

for b in tss-coordinator tss-party tssctl tss-keystore tss-demo; do
    if [ ! -x "$BUILD/$b" ]; then not_ok "binary $b built" "missing $BUILD/$b"; finish; exit 1; fi
done

# ---- (a) a party that tampers with its messages ---------------------------------------------------
EVIL=$WORK/tss-party-evil
if build_evil_party "$EVIL" 2>"$WORK/evil.err"; then
    ok "build the tampering party (real party objects + --wrap=tss_dconn_send)"
else
    not_ok "build the tampering party" "$(cat "$WORK/evil.err")"; finish; exit 1
fi

cluster_setup 3 3s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
start_evil() { # start_evil NTH: party 3 as the tampering party
    EVIL_NTH=$1 "$EVIL" --config "$WORK/party3.yaml" 2>>"$WORK/party3.log" &
    P3=$!; PIDS+=("$P3")
}
start_coord; start_party 1; start_party 2; start_evil 1
if wait_until 20 connected_is 3; then ok "cluster with a tampering party 3 connected"; else
    not_ok "cluster with a tampering party 3 connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi

MARK=$(lines coord.log)
expect_exit 76 "keygen with a tampering party fails" timeout 30 "$CTL" --config op.yaml keygen --key-id bad --threshold 2 --json
expect_match "tssctl names party 3 as the culprit (keygen)" "$OUT" '"culprit":3'
expect_log "coordinator log names party 3 (keygen)" coord.log "$MARK" 'failed \(.*culprit party=3\)'
expect_match "evil party really tampered" "$(cat party3.log)" 'evil_party: flipped a byte'
if grep -Eq 'aborted \(misbehaviour, culprit party=3\)|aborted \(.*culprit party=3\)' party1.log party2.log; then
    ok "an honest party aborts naming party 3"; else
    not_ok "an honest party aborts naming party 3" "$(tail -n 5 party1.log party2.log)"; fi
# A flipped byte in transit is indistinguishable from the relay's doing: the
# abort says so (reason relay-or-party), and nobody is banned for it.
if grep -Eq 'aborted \(relay-or-party, culprit party=3\).*the coordinator or party 3' party1.log party2.log; then
    ok "the abort names the coordinator or party 3"; else
    not_ok "the abort names the coordinator or party 3" "$(grep aborted party1.log party2.log | tail -n 4)"; fi

# An honest party 3 for the key generation, then a tampering one for signing.
stop_pid "$P3"
start_party 3
wait_until 20 connected_is 3 || true
expect_exit 0 "keygen with an honest party 3" timeout 30 "$CTL" --config op.yaml keygen --key-id k --threshold 2 --json
stop_pid "$P3"
wait_until 10 connected_is 2 || true
start_evil 1
if wait_until 20 connected_is 3; then ok "tampering party 3 reconnected"; else not_ok "tampering party 3 reconnected"; fi
MARK=$(lines coord.log)
expect_exit 76 "sign with named signers 1,3 and a tampering party 3 fails" \
    timeout 30 "$CTL" --config op.yaml sign --key-id k --message tampered --signers 1,3 --json
expect_match "tssctl names party 3 as the culprit (sign)" "$OUT" '"culprit":3'
expect_log "coordinator log names party 3 (sign)" coord.log "$MARK" 'failed \(.*culprit party=3\)'
expect_exit 0 "sign without named signers succeeds without the culprit" \
    timeout 30 "$CTL" --config op.yaml sign --key-id k --message "honest quorum" --json
expect_match "the quorum that signed excludes party 3" "$OUT" '"signers":\[1,2\]'
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait_until 5 dead "$p" || kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
PIDS=()

# ---- (b) tss-demo --serve ---------------------------------------------------------------------------
DPORT=$(free_port)
mkdir -p "$WORK/demo"
(cd "$WORK/demo" && MPC_TSS_COORDINATOR_URL="https://127.0.0.1:$DPORT" MPC_TSS_STATE_DIR="$WORK/demo/state" \
    MPC_TSS_MESSAGE="robustness" exec "$BUILD/tss-demo" --serve >"$WORK/demo.out" 2>&1) &
DEMO_PID=$!
demo_ready() { grep -q 'Cluster running' "$WORK/demo.out"; }
if wait_until 60 demo_ready; then ok "tss-demo --serve brings the cluster up"; else
    not_ok "tss-demo --serve brings the cluster up" "$(tail -n 20 "$WORK/demo.out")"; fi
CHILDREN=$(pgrep -P "$DEMO_PID" | tr '\n' ' ')
if [ "$(echo "$CHILDREN" | wc -w)" -ge 4 ]; then ok "tss-demo runs the coordinator and the parties as processes"; else
    not_ok "tss-demo runs the coordinator and the parties as processes" "children: $CHILDREN"; fi
SIGN_CMD=$(grep -E '^ +[^ ]*/tssctl --config [^ ]+ sign ' "$WORK/demo.out" | head -n 1 | sed 's/^ *//')
if [ -n "$SIGN_CMD" ]; then
    # The printed line, run as printed (its words split by the shell).
    expect_exit 0 "the printed tssctl sign command works" timeout 30 bash -c "$SIGN_CMD --json"
    expect_match "it prints a verified signature" "$OUT" '"verified":true'
else
    not_ok "tss-demo prints a tssctl sign command line" "$(cat "$WORK/demo.out")"
fi
STATUS_CMD=$(grep -E '^ +[^ ]*/tssctl --config [^ ]+ status' "$WORK/demo.out" | head -n 1 | sed 's/^ *//')
expect_exit 0 "the printed tssctl status command works" timeout 15 bash -c "$STATUS_CMD"
kill -TERM "$DEMO_PID"
if wait_until 15 dead "$DEMO_PID"; then ok "tss-demo exits on SIGTERM"; else not_ok "tss-demo exits on SIGTERM"; fi
wait "$DEMO_PID"; RC=$?
if [ "$RC" = 0 ]; then ok "tss-demo exit status 0 after SIGTERM"; else not_ok "tss-demo exit status 0 after SIGTERM" "exit $RC" "$(tail -n 5 "$WORK/demo.out")"; fi
left=""
for c in $CHILDREN; do alive "$c" && left="$left $c"; done
if [ -z "$left" ]; then ok "every process of the demo is gone"; else
    not_ok "every process of the demo is gone" "still alive:$left"; fi
expect_match "the demo says it stopped the daemons" "$(cat "$WORK/demo.out")" 'stopping the daemons'
DEMO_PID=""
finish
