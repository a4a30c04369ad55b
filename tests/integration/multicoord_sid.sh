#!/usr/bin/env bash
# A party's one-time guarantees hold across coordinators (issue 18), real
# daemons on 127.0.0.1, 2-of-3, file store: parties connected to coordinator
# A (honest) and coordinator B, the real coordinator linked with
# tests/integration/evil_coord.c so that every session it starts reuses the
# session id of a session A ran before (a coordinator replaying another's
# session id). B knows A's key (its public registry file copied over).
#  - every party refuses B's session ("session id already used at this
#    party"), nobody is banned;
#  - A's connection and sessions are untouched: A signs afterwards, with a
#    presignature it made just before B connected: the parties did not list
#    it to B's reconciliation (B, which knows the key but has no record of
#    it, would have had it deleted as an orphan);
#  - a tssctl listing B then A does not move the refused sign to A (B ran a
#    session: the refusal is an answer, not a failover case).
# Every process is killed by the EXIT trap; every wait is bounded.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT

cluster_need_binaries
build_evil_coord_checked # $EVILC

cluster_setup 3 5s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
PA=$PORT PB=$(free_port)
sed -e "s#listen: .*#listen: [127.0.0.1:$PB]#" -e "s#state_dir: .*#state_dir: $WORK/cstateB#" \
    coord.yaml > coordB.yaml
for i in 1 2 3; do
    sed -i "s#^coordinator: .*#coordinators: [{address: [127.0.0.1:$PA]}, {address: [127.0.0.1:$PB]}]#" party$i.yaml
done
sed "s#^coordinator: .*#coordinator: {address: [127.0.0.1:$PB]}#" op.yaml > opB.yaml
sed "s#^coordinator: .*#coordinator: {address: [127.0.0.1:$PB, 127.0.0.1:$PA]}#" op.yaml > opBA.yaml
n_conn() { "$CTL" --config "$1" status --json 2>/dev/null | grep -o '"connected":true' | wc -l; }

if cluster_start; then ok "coordinator A and three parties (B not started yet)"; else
    not_ok "coordinator A and three parties" "$(tail -n 10 coord.log party1.log)"; finish; exit 1; fi
expect_exit 0 "keygen ka through A" "$CTL" --config op.yaml keygen --key-id ka --threshold 2 --json
expect_exit 0 "sign through A" "$CTL" --config op.yaml sign --key-id ka --message "through A" --json
SID=$(printf '%s' "$OUT" | grep -o '"session":"[0-9a-f]*"' | cut -d'"' -f4)
[ ${#SID} = 32 ] && ok "A's session id: $SID" || not_ok "A's session id" "$OUT"

expect_exit 0 "presign 3 through A" "$CTL" --config op.yaml presign --key-id ka --count 3 --signers 1,2 --json
mkdir -p cstateB/keys && chmod 700 cstateB && cp cstate/keys/ka.json cstateB/keys/
EVIL_SID=$SID "$EVILC" --config "$WORK/coordB.yaml" 2>>"$WORK/coordB.log" & CB=$!; PIDS+=("$CB")
if wait_until 30 bash -c "[ \$('$CTL' --config '$WORK/opB.yaml' status --json 2>/dev/null | grep -o '\"connected\":true' | wc -l) = 3 ]"; then
    ok "every party is connected to A and to B"
else
    not_ok "every party is connected to A and to B" "$(tail -n 10 coordB.log party1.log)"; finish; exit 1
fi
[ "$(n_conn op.yaml)" = 3 ] && ok "... and still to A" || not_ok "... and still to A" "$(n_conn op.yaml)"

M=()
for i in 1 2 3; do M[$i]=$(lines party$i.log); done
expect_exit 76 "B replaying A's session id: the sign is refused" "$CTL" --config opB.yaml sign --key-id ka --message "through B" --json
refused=0
for i in 1 2 3; do
    since party$i.log "${M[$i]}" | grep -q "session=$SID.*coordinator=127.0.0.1:$PB" || continue
    since party$i.log "${M[$i]}" | grep -q 'session id already used at this party' && refused=$((refused + 1))
done
[ "$refused" -ge 2 ] && ok "the signers refused the id A used ($refused parties)" \
    || not_ok "the signers refused the id A used" "$(for i in 1 2 3; do since party$i.log "${M[$i]}" | tail -n 3; done)"
if grep -Eq 'banned|ban list' party1.log party2.log party3.log; then
    not_ok "nobody is banned for B's replay" "$(grep -E 'banned|ban list' party*.log)"
else ok "nobody is banned for B's replay"; fi
expect_exit 76 "a refusal after B ran a session is an answer: not moved to A" "$CTL" --config opBA.yaml sign --key-id ka --message "B then A" --json
[ "$(n_conn op.yaml)" = 3 ] && ok "A kept every party connected" || not_ok "A kept every party connected" "$(n_conn op.yaml)"
# B knows the key but not A's presignatures: had the parties listed them to
# B, B would have named them orphans. They were held back (stored through
# another coordinator moments ago), so A's stock is intact.
for i in 1 2; do
    if grep -q "key=ka: 0 presignatures listed to coordinator=127.0.0.1:$PB (3 just made through another coordinator held back)" party$i.log; then
        ok "party $i held A's 3 new presignatures back from B's reconciliation"
    else not_ok "party $i held A's new presignatures back from B" "$(grep -E 'listed to|reconciliation' party$i.log)"; fi
done
grep -q 'reconciliation with the coordinator deleted [1-9]' party1.log party2.log \
    && not_ok "no presignature deleted" "$(grep 'reconciliation' party1.log party2.log)" || ok "no presignature deleted"
expect_exit 0 "A still signs, with a presignature it made" "$CTL" --config op.yaml sign --key-id ka --message "A again" --json
expect_match "... presigned and verified" "$OUT" '"presigned":true,"verified":true'
finish
