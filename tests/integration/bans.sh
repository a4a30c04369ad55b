#!/usr/bin/env bash
# Bans across concurrent sessions, over real daemons on 127.0.0.1 (2-of-3).
# Party 3 is the real party code linked with tests/integration/evil_party.c in
# EVIL_MODE=ote: every signing OT-extension message it sends is authentic but
# fails the receiver's consistency check (a ban). Its first one is held back
# (EVIL_HOLD) until 16 concurrent sessions with party 1 (8 sign, 8 presign)
# are open, so all 16 are in flight before any check runs.
#  (a) party 1 evaluates exactly one check against party 3 (the one that
#      bans it); the 15 other sessions abort naming party 3 without a check;
#      every request fails naming party 3; no honest party bans an honest
#      one; a later session with party 3 is refused at once.
#  (b) disk full: party 2's keys directory is made unwritable (chattr +i as
#      root, chmod 500 otherwise); party 2 bans party 3, cannot persist it,
#      and refuses every session of the key ("ban for party 3 not yet on
#      disk"); once writable, the next request persists it and signs; after a
#      restart the ban is still there.
# Every process is killed by the EXIT trap; every wait is bounded.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
since() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null; }
count_since() { since "$1" "$2" | grep -Ec -- "$3"; }
LOCKED=""
unlock_keys() {
    [ -n "$LOCKED" ] || return 0
    if [ "$(id -u)" = 0 ]; then chattr -i "$LOCKED" 2>/dev/null; else chmod 700 "$LOCKED"; fi
    LOCKED=""
}
lock_keys() { # lock_keys DIR: new files cannot be created in DIR
    if [ "$(id -u)" = 0 ]; then chattr +i "$1" || return 1; else chmod 500 "$1" || return 1; fi
    LOCKED=$1
}
trap 'unlock_keys; cluster_cleanup' EXIT

for b in tss-coordinator tss-party tssctl tss-keystore; do
    if [ ! -x "$BUILD/$b" ]; then not_ok "binary $b built" "missing $BUILD/$b"; finish; exit 1; fi
done
EVIL=$WORK/tss-party-evil
if build_evil_party "$EVIL" 2>"$WORK/evil.err"; then ok "build the OT-tampering party"; else
    not_ok "build the OT-tampering party" "$(cat "$WORK/evil.err")"; finish; exit 1; fi

cluster_setup 3 20s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
# Party 3 blocks while it holds its first message: the coordinator must not
# drop it as idle or unresponsive (liveness) meanwhile.
sed -i 's/idle: 4s/idle: 30s, liveness: 30s/' coord.yaml
HOLD=$WORK/hold
start_coord; start_party 1; start_party 2
EVIL_MODE=ote EVIL_HOLD=$HOLD EVIL_HOLD_MAX_MS=20000 "$EVIL" --config "$WORK/party3.yaml" 2>>"$WORK/party3.log" &
P3=$!; PIDS+=("$P3")
if wait_until 20 connected_is 3; then ok "cluster with an OT-tampering party 3 connected"; else
    not_ok "cluster with an OT-tampering party 3 connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi
# Key generation has no OT extension: party 3 takes part honestly.
expect_exit 0 "keygen with party 3" timeout 60 "$CTL" --config op.yaml keygen --key-id kb --threshold 2 --json

# ---- (a) 16 concurrent sessions, one check ----------------------------------------------------------
N=16
M1=$(lines party1.log); M2=$(lines party2.log)
touch "$HOLD"
CPIDS=()
for i in $(seq 1 $N); do
    if [ $((i % 2)) = 0 ]; then
        timeout 60 "$CTL" --config op.yaml sign --key-id kb --message "probe $i" --signers 1,3 \
            --no-presign --json >"$WORK/sign$i.out" 2>&1 </dev/null &
    else
        timeout 60 "$CTL" --config op.yaml presign --key-id kb --count 1 --signers 1,3 \
            --json >"$WORK/sign$i.out" 2>&1 </dev/null &
    fi
    CPIDS+=("$!")
done
started() { [ "$(count_since party1.log "$M1" 'kind=(sign|presign) key=kb (path=[^ ]+ )?parties=2 threshold=2 coordinator=.*: starting')" -ge "$N" ]; }
if wait_until 18 started; then ok "party 1 has $N sign/presign sessions with party 3 open at once"; else
    not_ok "party 1 has $N sign/presign sessions with party 3 open at once" \
        "$(count_since party1.log "$M1" 'starting') started"; fi
rm -f "$HOLD"
for p in "${CPIDS[@]}"; do wait "$p"; done
fails=0
for i in $(seq 1 $N); do grep -q '"culprit":3' "$WORK/sign$i.out" || fails=$((fails + 1)); done
if [ "$fails" = 0 ]; then ok "all $N requests fail naming party 3"; else
    not_ok "all $N requests fail naming party 3" "$fails did not:" "$(cat "$WORK/sign1.out")"; fi
expect_match "party 3 really tampered" "$(cat party3.log)" 'evil_party: tampered OT-extension message'
checks=$(count_since party1.log "$M1" 'OT-extension consistency check failed')
if [ "$checks" = 1 ]; then ok "party 1 evaluated one failing check against party 3, not $N"; else
    not_ok "party 1 evaluated one failing check against party 3, not $N" "$checks failed checks logged"; fi
aborted=$(count_since party1.log "$M1" 'aborted \(misbehaviour, culprit party=3\): party 1: party 3 is banned for key kb')
presign_aborted=$(count_since party1.log "$M1" 'kind=presign key=kb aborted \(misbehaviour, culprit party=3\)')
if [ "$presign_aborted" -ge 1 ]; then ok "presign sessions are among those aborted"; else
    not_ok "presign sessions are among those aborted"; fi
if [ "$aborted" = $((N - 1)) ]; then ok "the $((N - 1)) other in-flight sessions abort naming party 3 (banned)"; else
    not_ok "the $((N - 1)) other in-flight sessions abort naming party 3 (banned)" "$aborted did" \
        "$(since party1.log "$M1" | grep aborted | tail -n 5)"; fi
expect_match "party 1 persisted the ban at once" "$(since party1.log "$M1")" 'key=kb: ban of party 3 is on disk'
if grep -Eq 'party [12] failed an OT/RVOLE check' party1.log party2.log party3.log; then
    not_ok "no party bans an honest party" "$(grep -E 'party [12] failed' party*.log)"; else
    ok "no party bans an honest party"; fi
# A later session with party 3 is refused at once, naming it.
T0=$SECONDS
expect_exit 76 "a later sign with party 3 is refused" timeout 30 "$CTL" --config op.yaml sign --key-id kb \
    --message later --signers 1,3 --no-presign --json
expect_match "... naming party 3 as banned" "$OUT$ERR" 'party 3 is banned for key kb'
[ $((SECONDS - T0)) -le 5 ] && ok "... at once (no round timeout)" || not_ok "... at once (no round timeout)" "$((SECONDS - T0)) s"

# ---- (b) a ban that cannot be written ----------------------------------------------------------------
if lock_keys "$WORK/pstate2/keys"; then ok "party 2's keys directory made unwritable"; else
    not_ok "party 2's keys directory made unwritable"; finish; exit 1; fi
M2=$(lines party2.log)
expect_exit 76 "sign 2,3: party 2 bans party 3" timeout 30 "$CTL" --config op.yaml sign --key-id kb \
    --message full --signers 2,3 --no-presign --json
expect_match "... naming party 3" "$OUT" '"culprit":3'
expect_match "party 2 logs that the ban is not on disk" "$(since party2.log "$M2")" \
    'key=kb: ban for party 3 not yet on disk: .*holds in memory'
expect_exit 76 "sign 1,2 is refused while the ban is not on disk" timeout 30 "$CTL" --config op.yaml sign \
    --key-id kb --message refused --signers 1,2 --no-presign --json
expect_match "... saying why" "$OUT$ERR" 'ban for party 3 not yet on disk'
unlock_keys
expect_exit 0 "once writable, the next request persists the ban and signs (1,2)" timeout 30 "$CTL" \
    --config op.yaml sign --key-id kb --message recovered --signers 1,2 --no-presign --json
expect_match "... a verified signature" "$OUT" '"verified":true'
expect_match "party 2 logs the ban on disk" "$(since party2.log "$M2")" 'key=kb: the pending ban is now on disk'
stop_pid "$P2"
start_party 2
wait_until 20 connected_is 3 || true
expect_exit 76 "after a restart party 2 still refuses party 3" timeout 30 "$CTL" --config op.yaml sign \
    --key-id kb --message restarted --signers 2,3 --no-presign --json
expect_match "... from the ban on disk" "$OUT$ERR" 'party 3 is banned for key kb'
if grep -Eq 'party [12] failed an OT/RVOLE check' party1.log party2.log party3.log; then
    not_ok "still no party bans an honest party"; else ok "still no party bans an honest party"; fi
finish
