#!/usr/bin/env bash
# M-of-K approvals (issue 16) with real daemons: a 2-of-3 cluster whose
# parties reach the coordinator through the malicious relay
# (tests/integration/evil_relay.c), every party enforcing a policy whose rule
# needs 2 approvals from {alice, bob, carol} (sealed keys made by
# `tssctl approver-keygen`, pinned in each party's config):
#   - no approval / one approval: refused ("0 of 2" / "1 of 2 required");
#   - two approvals: signed;
#   - the relay replays those approvals with a later request, before and
#     after every party restarts: refused ("nonce already used (replay)");
#   - the relay turns one approver's approval into two from that approver:
#     refused ("approver already counted");
#   - the relay forges an approval: refused ("bad signature");
#   - approvals for another request, an expired one, an unknown approver:
#     refused with the reason;
#   - through tss-gateway (JSON-RPC eth_signTransaction with Tssd-Approval
#     headers): two approvals sign, one is refused, a garbled header is a 400;
#   - rotation: a new key pinned under bob by SIGHUP; the old key stops counting.
# Every refusal: exit 76, nothing signed, both signers named with the reason.
# Every process is killed by the EXIT trap; every wait is bounded.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT

for b in tss-coordinator tss-party tssctl tss-keystore tss-gateway libtss.a; do
    if [ ! -e "$BUILD/$b" ]; then not_ok "$b built" "missing $BUILD/$b"; finish; exit 1; fi
done
RELAY=$WORK/evil_relay
if gcc -std=gnu11 -D_GNU_SOURCE -O1 -I"$ROOT" -I"$BUILD/gen" -DWOLFSSL_OPTIONS_IGNORE_SYS \
    -Wall -Wextra -Werror -o "$RELAY" "$ROOT/tests/integration/evil_relay.c" "$BUILD/libtss.a" \
    -lsecp256k1 -lsodium -lwolfssl -lyaml -lsystemd -ljansson -lpthread -lm 2>"$WORK/relay.err"; then
    ok "build the malicious relay"
else
    not_ok "build the malicious relay" "$(cat "$WORK/relay.err")"; finish; exit 1
fi

cluster_setup 3 3s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
printf 'approver passphrase\n' > apass; chmod 600 apass
keygen() { # NAME DIR -> the pin line
    "$CTL" approver-keygen --name "$1" --out "$2" --kdf interactive --passphrase-file apass 2>>akeys.log |
        grep 'public_key:' | sed 's/.*public_key: //'
}
PIN_A=$(keygen alice akeys) PIN_B=$(keygen bob akeys) PIN_C=$(keygen carol akeys) PIN_D=$(keygen dave akeys)
[ -n "$PIN_A" ] && [ -n "$PIN_B" ] && [ -n "$PIN_C" ] && ok "approver keys made" || { not_ok "approver keys" "$(cat akeys.log)"; finish; exit 1; }
TO=0x3535353535353535353535353535353535353535
cat > policy.yaml <<YAML
version: 1
rules:
  - name: treasury-approved
    keys: [treasury]
    types: [tx]
    chain_ids: [1]
    approvals:
      m: 2
      approvers: [alice, bob, carol]
YAML
RPORT=$(free_port)
pins() { # BOB_PIN
    printf 'approvals:\n  clock_skew: 0s\n  approvers:\n'
    printf '    - {name: alice, public_key: "%s"}\n    - {name: bob, public_key: "%s"}\n    - {name: carol, public_key: "%s"}\n' "$PIN_A" "$1" "$PIN_C"
}
for i in 1 2 3; do
    sed -i "s/^coordinator: .*/coordinator: {address: [127.0.0.1:$RPORT]}/" "party$i.yaml"
    echo "policy_file: $WORK/policy.yaml" >> "party$i.yaml"
    cp "party$i.yaml" "party$i.base"
    { cat "party$i.base"; pins "$PIN_B"; } > "party$i.yaml"
done
expect_exit 0 "tss-party --check accepts the pins and the rule" "$BUILD/tss-party" --config party1.yaml --check
sed 's/approvers: \[alice, bob, carol\]/approvers: [alice, bob, carla]/' policy.yaml > typo.yaml
{ cat party1.base | sed "s|policy_file: .*|policy_file: $WORK/typo.yaml|"; pins "$PIN_B"; } > typo-party.yaml
expect_exit 78 "--check refuses a rule naming an approver not pinned" "$BUILD/tss-party" --config typo-party.yaml --check
expect_match "... naming rule and approver" "$ERR" "rule treasury-approved: approver 'carla' is not pinned"

# The gateway's operator identity, before the coordinator starts.
sed -i 's/^operators:/operators:\n  - {name: gateway, identity: "urn:tssd:operator:gateway"}/' coord.yaml
"$CTL" pki issue --ca ca --days 30 --identity urn:tssd:operator:gateway --out gwop >/dev/null 2>>pki.log
"$CTL" pki issue --ca ca --days 30 --identity urn:tssd:operator:web --out web --ip 127.0.0.1 >/dev/null 2>>pki.log
: > scenario
start_coord
"$RELAY" --dir "$WORK" --listen "$RPORT" --upstream "$PORT" --parties 3 --scenario "$WORK/scenario" \
    2>>"$WORK/relay.log" &
PIDS+=("$!")
for i in 1 2 3; do start_party "$i"; done
if wait_until 30 connected_is 3; then ok "three parties connected through the relay"; else
    not_ok "three parties connected" "$(tail -n 20 relay.log coord.log party1.log)"; finish; exit 1; fi
SEQ=0
set_scenario() { SEQ=$((SEQ + 1)); { echo "# $SEQ"; printf '%s\n' "$1" | tr ';' '\n'; } > scenario.tmp; mv scenario.tmp scenario; }
expect_exit 0 "keygen treasury (2-of-3)" timeout 60 "$CTL" --config op.yaml keygen --key-id treasury --threshold 2 --json
ADDR=$(printf '%s' "$OUT" | grep -o '"address":"0x[0-9a-fA-F]*"' | cut -d'"' -f4)

tx() { # FILE VALUE NONCE
    printf '{"type":2,"chainId":1,"nonce":%s,"maxPriorityFeePerGas":"1","maxFeePerGas":"2","gasLimit":21000,"to":"%s","value":"%s","data":"0x"}\n' \
        "$3" "$TO" "$2" > "$1"
}
approve() { # WHO TXFILE OUT [EXPIRES]
    "$CTL" approve --key "akeys/$1.approver" --passphrase-file apass --key-id treasury --tx "$2" \
        --expires-in "${4:-1h}" --out "$3" 2>>approve.log
}
# list OUT FILE...: the wire approval list (policy/approval.h) of approval files.
list() {
    local out=$1 f h; shift
    { printf '%02x' $#
      for f in "$@"; do
          h=$(grep -o '"approval":"[0-9a-f]*"' "$f" | cut -d'"' -f4)
          printf '%04x%s' $((${#h} / 2)) "$h"
      done; } | xxd -r -p > "$out"
}
tx t1.json 100 1
tx t2.json 200 2
tx t3.json 300 3
sign() { "$CTL" --config op.yaml sign-tx --key-id treasury --tx "$1" --signers 1,2 --no-presign --json "${@:2}" >op.out 2>op.err </dev/null; }
refused() { # NAME REGEX TXFILE [--approval F]...
    local name=$1 re=$2 i n1 n2; shift 2
    n1=$(wc -l < party1.log) n2=$(wc -l < party2.log)
    sign "$@"
    local rc=$?
    if [ "$rc" = 76 ] && ! grep -q '"raw"' op.out; then ok "$name: refused, nothing signed"
    else not_ok "$name: refused, nothing signed" "exit $rc" "$(cat op.out op.err)"; fi
    expect_match "$name: the answer names both signers and the reason" "$(cat op.out)" \
        "party [12] policy: .*$re.*party [12] policy"
    # The answer is cut at a few hundred bytes: each party's own log has its whole reason.
    for i in 1 2; do
        eval "n=\$n$i"
        tail -n +"$((n + 1))" "party$i.log" | grep -Eq "policy: tx REFUSED: .*$re" &&
            ok "$name: party $i refused it, naming the reason" ||
            not_ok "$name: party $i refused it" "$(tail -n +"$((n + 1))" "party$i.log" | grep -E 'policy|approvals' | tail -n 3)"
    done
}

# ---- M-1 refused, M accepted ------------------------------------------------------------
approve alice t1.json a1.json && approve bob t1.json b1.json && approve carol t1.json c1.json &&
    ok "alice, bob and carol approve t1" || not_ok "approve t1" "$(cat approve.log)"
refused "no approvals" 'approvals: 0 of 2 required' t1.json
refused "one approval (M-1)" 'approvals: 1 of 2 required' t1.json --approval a1.json
sign t1.json --approval a1.json --approval b1.json
rc=$?
[ "$rc" = 0 ] && grep -q '"raw":"0x02' op.out && ok "two approvals (M): signed" || not_ok "two approvals: signed" "exit $rc" "$(cat op.out op.err)"
for i in 1 2; do
    grep -q "key=treasury approvals: 2 of 2 approvals from alice,bob; nonces recorded" "party$i.log" &&
        ok "party $i counted alice and bob and recorded the nonces" || not_ok "party $i recorded" "$(grep approvals "party$i.log" | tail -n 3)"
done
list ab1.apv a1.json b1.json

# ---- a malicious relay --------------------------------------------------------------------
set_scenario "approvals sess=0 file=$WORK/ab1.apv"
refused "the relay replays the used approvals" 'alice: nonce already used \(replay\); bob: nonce already used \(replay\)' t1.json --approval c1.json
grep -q "other approvals" relay.log && ok "... the relay did substitute them" || not_ok "... the relay substituted" "$(tail -n 5 relay.log)"
set_scenario ""
refused "the operator resends used approvals" 'nonce already used' t1.json --approval a1.json --approval b1.json
approve alice t1.json a2.json && approve alice t1.json a3.json
list aa.apv a2.json a3.json
set_scenario "approvals sess=0 file=$WORK/aa.apv"
refused "the relay makes one approver count twice" 'approvals: 1 of 2 required \(alice: approver already counted\)' t1.json --approval a2.json
approve bob t1.json b2.json
h=$(grep -o '"approval":"[0-9a-f]*"' b2.json | cut -d'"' -f4)
last=${h: -2}; flip=$(printf '%02x' $(( 0x$last ^ 1 )))
sed "s/\"approval\":\"$h\"/\"approval\":\"${h%??}$flip\"/" b2.json > b2-forged.json
list forged.apv a2.json b2-forged.json
set_scenario "approvals sess=0 file=$WORK/forged.apv"
refused "the relay forges bob's approval" 'bob: bad signature' t1.json --approval a2.json
printf '\x02\x00\x05abcde' > junk.apv
set_scenario "approvals sess=0 file=$WORK/junk.apv"
refused "the relay sends a malformed list" 'malformed list' t1.json --approval a2.json
set_scenario ""

# ---- wrong request, expired, unknown approver ----------------------------------------------
approve alice t2.json a-t2.json && approve bob t2.json b-t2.json
refused "approvals for another request" 'for another request' t3.json --approval a-t2.json --approval b-t2.json
approve alice t2.json a-exp.json 1s && approve bob t2.json b-exp.json 1s
sleep 2
refused "expired approvals" 'alice: expired; bob: expired' t2.json --approval a-exp.json --approval b-exp.json
"$CTL" approve --key akeys/dave.approver --passphrase-file apass --key-id treasury --tx t2.json --out d-t2.json 2>>approve.log
refused "an approver no party pins" 'dave: unknown approver' t2.json --approval a-t2.json --approval d-t2.json
# a2 and b2 were refused above (not counted), so they are still good for t1: two fresh ones sign.
tx t1b.json 100 11
approve alice t1b.json a1b.json && approve carol t1b.json c1b.json
sign t1b.json --approval a1b.json --approval c1b.json && ok "alice and carol approve: signed" || not_ok "alice+carol" "$(cat op.out op.err)"

# ---- through the gateway: approvals as Tssd-Approval headers ----------------------------------------
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
GPORT=$(free_port)
cat > gw.yaml <<EOG
plain_listen: [127.0.0.1:$GPORT]
tls: {cert: $WORK/web/cert.pem, key: $WORK/web/key.pem, ca: $WORK/ca/ca.pem}
coordinator:
  address: [127.0.0.1:$PORT]
  tls: {cert: $WORK/gwop/cert.pem, key: $WORK/gwop/key.pem, ca: $WORK/ca/ca.pem}
chain_id: 1
clients:
  - {name: wallet, certificate: false, token_sha256: [$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)], keys: [treasury], methods: ["*"]}
timeouts: {request: 5s, idle: 10s, sign: 30s}
audit_dir: $WORK/gwaudit
EOG
"$BUILD/tss-gateway" --config gw.yaml 2>>gw.log &
PIDS+=("$!")
GW="http://127.0.0.1:$GPORT/"
rpc() { # BODY [curl args...]: response body in $OUT, HTTP status in $CODE
    local body=$1; shift
    OUT=$(curl -s -m 40 -w '\n%{http_code}' -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" -d "$body" "$@" "$GW" 2>&1)
    CODE=$(printf '%s' "$OUT" | tail -n 1); OUT=$(printf '%s' "$OUT" | sed '$d')
}
accounts_ok() { rpc '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}'; printf '%s' "$OUT" | grep -qi "$ADDR"; }
if wait_until 20 accounts_ok; then ok "gateway up"; else not_ok "gateway up" "$OUT" "$(tail -n 10 gw.log)"; fi
tx t5.json 500 5
approve alice t5.json a5.json && approve carol t5.json c5.json
hexof() { grep -o '"approval":"[0-9a-f]*"' "$1" | cut -d'"' -f4; }
T5='{"jsonrpc":"2.0","id":5,"method":"eth_signTransaction","params":[{"type":"0x2","chainId":"0x1","nonce":"0x5","maxPriorityFeePerGas":"0x1","maxFeePerGas":"0x2","gas":"0x5208","to":"'$TO'","value":"0x1f4","data":"0x","from":"'$ADDR'"}]}'
rpc "$T5" -H "Tssd-Approval: $(hexof a5.json)"
expect_match "gateway, one approval: refused naming the rule" "$OUT" '"error":.*approvals: 1 of 2 required'
rpc "$T5" -H "Tssd-Approval: zz$(hexof a5.json)"
[ "$CODE" = 400 ] && ok "gateway: a garbled Tssd-Approval header is a 400" || not_ok "garbled header: 400" "$CODE $OUT"
rpc "$T5" -H "Tssd-Approval: 0x$(hexof a5.json)" -H "Tssd-Approval: $(hexof c5.json)"
expect_match "gateway, two approvals in headers: signed" "$OUT" '"result":"0x02'
rpc "$T5" -H "Tssd-Approval: $(hexof a5.json)" -H "Tssd-Approval: $(hexof c5.json)"
expect_match "gateway, the same approvals again: refused as a replay" "$OUT" '"error":.*nonce already used'

# ---- durable across restarts ------------------------------------------------------------------
for i in 1 2 3; do eval "stop_pid \$P$i"; done
for i in 1 2 3; do start_party "$i"; done
wait_until 30 connected_is 3 && ok "parties restarted" || not_ok "parties restarted" "$(tail -n 5 party1.log)"
set_scenario "approvals sess=0 file=$WORK/ab1.apv"
refused "after a restart the relay's replay is still refused" 'alice: nonce already used \(replay\)' t1.json --approval c1.json
set_scenario ""
for i in 1 2; do
    [ -f "pstate$i/approval-nonces" ] && [ "$(stat -c %a "pstate$i/approval-nonces")" = 600 ] &&
        ok "party $i keeps pstate$i/approval-nonces (0600)" || not_ok "party $i nonce record" "$(ls -l pstate$i)"
done

# ---- rotation: a new key for bob, pinned by SIGHUP ---------------------------------------------
PIN_B2=$(keygen bob akeys2)
for i in 1 2 3; do { cat "party$i.base"; pins "$PIN_B2"; } > "party$i.yaml"; eval "kill -HUP \$P$i"; done
for i in 1 2 3; do wait_until 10 grep -q "reload: policy .* now in force" "party$i.log" || not_ok "party $i reloaded" "$(tail -n 3 party$i.log)"; done
tx t4.json 400 4
approve alice t4.json a4.json && approve bob t4.json b4-old.json
refused "bob's old key after rotation" 'bob: bad signature' t4.json --approval a4.json --approval b4-old.json
"$CTL" approve --key akeys2/bob.approver --passphrase-file apass --key-id treasury --tx t4.json --out b4.json 2>>approve.log
sign t4.json --approval a4.json --approval b4.json && ok "bob's new key counts" || not_ok "bob's new key" "$(cat op.out op.err)"
finish
