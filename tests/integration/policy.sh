#!/usr/bin/env bash
# Party-enforced signing policy (issue 16) with real daemons: a 2-of-3
# cluster whose parties reach the coordinator through the malicious relay
# (tests/integration/evil_relay.c, passive unless a scenario says otherwise),
# every party enforcing the same policy file:
#   - tssctl policy check: allow / refuse (exit 77) naming the rule, offline;
#   - an allowed transaction is signed (tssctl checks the sender);
#   - the relay swaps `to`, raises the value, or strips the content (a raw
#     digest): every honest signer refuses, nothing is signed, the answer
#     names each refusing party and the rule, and each party's decision log
#     has the refusal;
#   - a plain `sign --digest` (raw) for a policy key is refused by default;
#   - the window limit holds, also after every party restarts;
#   - concurrent requests racing a count limit: each party allows exactly L;
#   - SIGHUP reloads a valid policy and keeps the old one on a bad file;
#     --check names file:line:col of a bad policy.
#   - wall-clock steps back and forward under running parties and across
#     restarts (no faketime on the machine: a tss-party built here with
#     -DTSS_POLICY_TEST_CLOCK reads a wall-clock offset from a file; that
#     code is compiled only into this test binary);
#   - every honest signer computes the digest itself (a digest altered beside
#     unchanged content is refused) and a refused presigned request leaves
#     the parties' presignatures in place.
# Every process is killed by the EXIT trap; every wait is bounded.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT
json_field() { printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }

for b in tss-coordinator tss-party tssctl tss-keystore libtss.a; do
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

CLOCKP=$WORK/tss-party-clock
if gcc -std=gnu11 -D_GNU_SOURCE -O1 -I"$ROOT" -I"$BUILD/gen" -DWOLFSSL_OPTIONS_IGNORE_SYS -DTSS_POLICY_TEST_CLOCK \
    -Wall -Wextra -Werror -c "$ROOT/daemon/party/policy_gate.c" -o "$WORK/policy_gate_clock.o" 2>"$WORK/clock.err" &&
    gcc -o "$CLOCKP" $(ls "$BUILD"/obj/daemon/party/*.o | grep -v '/policy_gate\.o$') "$WORK/policy_gate_clock.o" \
        "$BUILD/libtss.a" -lsecp256k1 -lsodium -lwolfssl -lyaml -lsystemd -ljansson -lhttp_parser -lpthread -lm \
        2>>"$WORK/clock.err"; then
    ok "build the test-clock party"
else
    not_ok "build the test-clock party" "$(cat "$WORK/clock.err")"; finish; exit 1
fi

cluster_setup 3 3s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
TO_OK=0x3535353535353535353535353535353535353535
TO_BAD=0x3636363636363636363636363636363636363636
cat > policy.yaml <<YAML
version: 1
rules:
  - name: treasury-daily
    keys: [treasury]
    types: [tx]
    chain_ids: [1]
    to_allow: ['$TO_OK']
    max_value: '1000'
    window: 24h
    window_max_value: '2500'
  - name: ops-burst
    keys: [ops]
    types: [eip191]
    window: 1h
    window_max_count: 2
  - name: clock
    keys: [clk]
    types: [eip191]
    window: 1h
    window_max_count: 1
YAML
RPORT=$(free_port)
for i in 1 2 3; do
    sed -i "s/^coordinator: .*/coordinator: {address: [127.0.0.1:$RPORT]}/" "party$i.yaml"
    echo "policy_file: $WORK/policy.yaml" >> "party$i.yaml"
done
# Parties 2 and 3 run the test-clock build throughout (party 1 the
# production binary); the offset file starts at 0.
echo 0 > "$WORK/offset"
start_party() {
    local bin=$BUILD/tss-party
    [ "$1" = 1 ] || bin=$CLOCKP
    TSS_TEST_WALL_OFFSET_FILE=$WORK/offset "$bin" --config "$WORK/party$1.yaml" 2>>"$WORK/party$1.log" &
    eval "P$1=\$!"; PIDS+=("$!")
}
: > scenario
start_coord
"$RELAY" --dir "$WORK" --listen "$RPORT" --upstream "$PORT" --parties 3 --scenario "$WORK/scenario" \
    2>>"$WORK/relay.log" &
PIDS+=("$!")
for i in 1 2 3; do start_party "$i"; done
if wait_until 30 connected_is 3; then ok "three parties with a policy connected through the relay"; else
    not_ok "three parties connected" "$(tail -n 20 relay.log coord.log party1.log)"; finish; exit 1; fi
SEQ=0
set_scenario() { SEQ=$((SEQ + 1)); { echo "# $SEQ"; printf '%s\n' "$1" | tr ';' '\n'; } > scenario.tmp; mv scenario.tmp scenario; }

expect_exit 0 "keygen treasury (2-of-3)" timeout 60 "$CTL" --config op.yaml keygen --key-id treasury --threshold 2 --json
expect_exit 0 "keygen ops (2-of-3)" timeout 60 "$CTL" --config op.yaml keygen --key-id ops --threshold 2 --json

# tx FILE VALUE TO NONCE: an EIP-1559 transaction file.
tx() {
    printf '{"type":2,"chainId":1,"nonce":%s,"maxPriorityFeePerGas":"1","maxFeePerGas":"2","gasLimit":21000,"to":"%s","value":"%s","data":"0x"}\n' \
        "$4" "$3" "$2" > "$1"
}
# content FILE TXFILE: the request content encoding (policy/request.h) of a transaction.
content() {
    local u len
    u=$("$CTL" tx-hash "$2" --json | grep -o '"unsigned":"0x[0-9a-f]*"' | cut -d'"' -f4)
    u=${u#0x}
    len=$(printf '%08x' $((${#u} / 2)))
    printf '0102%s%s' "$len" "$u" | xxd -r -p > "$1"
}
tx ok.json 1000 "$TO_OK" 1
tx swapped.json 1000 "$TO_BAD" 1
tx raised.json 2000 "$TO_OK" 1
content swapped.req swapped.json
content raised.req raised.json

# ---- offline --------------------------------------------------------------------------------------
expect_exit 0 "policy check: the allowed transaction" "$CTL" policy check policy.yaml --key-id treasury --tx ok.json
expect_match "policy check names the rule" "$OUT" '^allow: rule treasury-daily allows it'
expect_exit 77 "policy check: swapped to is refused (77)" "$CTL" policy check policy.yaml --key-id treasury --tx swapped.json --json
expect_match "policy check --json names rule and reason" "$OUT" '"decision":"refuse".*rule treasury-daily: to 0x3636363636363636363636363636363636363636 not on to_allow'
expect_exit 77 "policy check: a raw digest is refused by default" "$CTL" policy check policy.yaml --key-id treasury --digest "$(printf '%064d' 7)"
expect_match "... because raw is not listed" "$OUT" 'request type raw not allowed'
printf 'version: 1\nrules:\n  - name: a\n    keys: [k]\n    max_value: lots\n' > bad-policy.yaml
expect_exit 78 "policy check: a bad policy file is a configuration error" "$CTL" policy check bad-policy.yaml --key-id k --message hi
expect_match "... naming file:line:col" "$ERR" 'bad-policy.yaml:5:16: rules\[0\].max_value'

# ---- through the coordinator ------------------------------------------------------------------------
expect_exit 0 "sign-tx within the policy is signed" timeout 60 "$CTL" --config op.yaml sign-tx --key-id treasury --tx ok.json --signers 1,2 --no-presign --json
expect_match "... and the signed transaction is printed" "$OUT" '"raw":"0x02'

refused() { # NAME SCENARIO TX-FILE REGEX
    set_scenario "$2"
    "$CTL" --config op.yaml sign-tx --key-id treasury --tx "$3" --signers 1,2 --no-presign --json >op.out 2>op.err </dev/null
    local rc=$?
    if [ "$rc" = 76 ] && grep -q '"code":"UNAUTHORIZED"' op.out && ! grep -q '"raw"' op.out; then
        ok "$1: refused, nothing signed"
    else not_ok "$1: refused, nothing signed" "exit $rc" "$(cat op.out op.err)"; fi
    expect_match "$1: the answer names both parties and the rule" "$(cat op.out)" "party 1 policy: .*$4.*party 2 policy: .*$4|party 2 policy: .*$4.*party 1 policy: .*$4"
}
refused "relay swaps to" "content sess=0 file=$WORK/swapped.req" ok.json 'treasury-daily: to 0x3636[0-9a-f]* not on to_allow'
grep -q "telling party 1 another request content" relay.log && ok "... the relay did swap it" || not_ok "... the relay did swap it" "$(tail -n 5 relay.log)"
refused "relay raises the value" "content sess=0 file=$WORK/raised.req" ok.json 'treasury-daily: value 2000 wei > max_value 1000'
refused "relay sends a raw digest" "raw sess=0" ok.json 'request type raw not allowed'
# The relay changes only the digest beside unchanged content: the party
# computes the digest itself and refuses before anything runs (both signers
# are lied to: a signer that allows is charged, fail-closed, see OPERATIONS).
set_scenario "digest sess=0 to=1;digest sess=0 to=2"
"$CTL" --config op.yaml sign-tx --key-id treasury --tx ok.json --signers 1,2 --no-presign >op.out 2>op.err </dev/null
rc=$?
[ "$rc" != 0 ] && ok "relay alters the digest beside the content: not signed (exit $rc)" || not_ok "digest altered: not signed" "$(cat op.out)"
for i in 1 2; do
    wait_until 10 grep -q "not the digest of the request content" "party$i.log" && ok "... party $i names the mismatch" \
        || not_ok "... party $i names the mismatch" "$(tail -n 3 "party$i.log")"
done
# A refused request does not consume the party's presignature.
set_scenario ""
expect_exit 0 "presign 1 for treasury (signers 1,2)" timeout 60 "$CTL" --config op.yaml presign --key-id treasury --count 1 --signers 1,2
npre() { ls "pstate$1/presig/treasury/" 2>/dev/null | grep -c '\.presig$'; }
before1=$(npre 1) before2=$(npre 2)
set_scenario "content sess=0 file=$WORK/swapped.req"
"$CTL" --config op.yaml sign-tx --key-id treasury --tx ok.json --signers 1,2 >op.out 2>op.err </dev/null
grep -q "refused by policy" op.err && ok "presigned path: refused by policy" || not_ok "presigned path: refused" "$(cat op.out op.err)"
[ "$before1" = 1 ] && [ "$(npre 1)" = 1 ] && [ "$(npre 2)" = 1 ] && ok "... and both parties still hold their presignature" \
    || not_ok "... presignatures kept" "before $before1/$before2 after $(npre 1)/$(npre 2)"
set_scenario ""
for i in 1 2; do
    if grep -rq '"decision":"refuse","rule":"","reason":"no rule allows it: rule treasury-daily: value 2000' "pstate$i/policy-log"; then
        ok "party $i logged the refusal in its decision log"
    else not_ok "party $i logged the refusal" "$(cat pstate$i/policy-log/* 2>&1 | tail -n 3)"; fi
done
expect_exit 76 "sign --digest (raw) for a policy key: refused" timeout 60 "$CTL" --config op.yaml sign --key-id treasury --digest "$(printf '%064d' 9)" --signers 2,3 --no-presign
expect_match "... by both signers, naming raw" "$ERR" 'refused by policy: party [23] policy: .*raw not allowed.*; party [23] policy'

# ---- window: 1000 signed so far; 2500 per 24 h --------------------------------------------------
tx ok2.json 1000 "$TO_OK" 2
tx ok3.json 1000 "$TO_OK" 3
expect_exit 0 "second 1000 within the window" timeout 60 "$CTL" --config op.yaml sign-tx --key-id treasury --tx ok2.json --signers 1,2 --no-presign
expect_exit 76 "third 1000 exceeds window_max_value 2500" timeout 60 "$CTL" --config op.yaml sign-tx --key-id treasury --tx ok3.json --signers 1,2 --no-presign
expect_match "... naming the window" "$ERR" 'window limit: 2000 wei already spent'
for i in 1 2 3; do eval "stop_pid \$P$i"; done
for i in 1 2 3; do start_party "$i"; done
wait_until 30 connected_is 3 && ok "parties restarted" || not_ok "parties restarted" "$(tail -n 5 party1.log)"
expect_exit 76 "after a restart of every party the window still holds" timeout 60 "$CTL" --config op.yaml sign-tx --key-id treasury --tx ok3.json --signers 1,2 --no-presign
expect_match "... from the durable state" "$ERR" 'window limit: 2000 wei already spent'
# Each party counts what it signed: party 3 has signed nothing, party 1 is
# at 2000, so the quorum {1,3} is refused by party 1 alone (N*L/t bound).
expect_exit 76 "quorum {1,3}: party 1 refuses, party 3 alone cannot sign" timeout 60 "$CTL" --config op.yaml sign-tx --key-id treasury --tx ok3.json --signers 1,3 --no-presign
expect_match "... the answer names only party 1" "$ERR" '^[^;]*refused by policy: party 1 policy: [^;]*window limit[^;]*$'

# ---- concurrent requests racing a count limit (2 per hour per party) --------------------------
PIDS_SIGN=()
for k in 1 2 3 4 5; do
    timeout 60 "$CTL" --config op.yaml sign --key-id ops --message "burst $k" --hash eip191 --signers 2,3 --no-presign >"burst$k.out" 2>&1 </dev/null &
    PIDS_SIGN+=("$!")
done
signed=0
for p in "${PIDS_SIGN[@]}"; do wait "$p" && signed=$((signed + 1)); done
[ "$signed" -ge 1 ] && [ "$signed" -le 2 ] && ok "5 racing requests: $signed signed (at most 2)" || not_ok "racing requests" "$signed signed" "$(cat burst*.out)"
for i in 2 3; do
    n=$(cat pstate$i/policy-log/* | grep -c '"decision":"allow","rule":"ops-burst"')
    [ "$n" = 2 ] && ok "party $i allowed exactly 2 under ops-burst" || not_ok "party $i allowed exactly 2" "$n allowed"
done

# ---- wall-clock steps: parties 2 and 3 run the test-clock build --------------------------------
restart_clock() { for i in 2 3; do eval "stop_pid \$P$i"; done; for i in 2 3; do start_party "$i"; done
    wait_until 30 connected_is 3; }
clk_sign() { timeout 60 "$CTL" --config op.yaml sign --key-id clk --message "$1" --hash eip191 --signers 2,3 --no-presign >clk.out 2>&1 </dev/null; }
expect_exit 0 "keygen clk (2-of-3)" timeout 60 "$CTL" --config op.yaml keygen --key-id clk --threshold 2
clk_sign "first" && ok "clock: the first request in the hour is signed" || not_ok "clock: first" "$(cat clk.out)"
echo $((-2 * 3600 * 1000)) > offset
clk_sign "after a step back" && not_ok "clock: step back 2 h while running: still refused" "$(cat clk.out)" \
    || { grep -q "window_max_count 1" clk.out && ok "clock: step back 2 h while running: still refused" || not_ok "clock: step back refused for the window" "$(cat clk.out)"; }
echo $((2 * 3600 * 1000)) > offset
clk_sign "after a step forward" && not_ok "clock: step forward 2 h while running: still refused (monotonic)" "$(cat clk.out)" \
    || ok "clock: step forward 2 h while running: still refused (monotonic)"
echo $((-2 * 3600 * 1000)) > offset
restart_clock
clk_sign "restart behind" && not_ok "clock: restart with the clock 2 h behind: still refused" "$(cat clk.out)" \
    || { grep -q "window_max_count 1" clk.out && ok "clock: restart with the clock 2 h behind: still refused" || not_ok "clock: restart behind" "$(cat clk.out)"; }
echo $((2 * 3600 * 1000)) > offset
restart_clock
clk_sign "restart ahead" && ok "clock: restart with the clock 2 h ahead: the window has passed (documented)" \
    || not_ok "clock: restart ahead opens the next window" "$(cat clk.out)"

# ---- reload ------------------------------------------------------------------------------------------
cp policy.yaml policy.good
cp bad-policy.yaml policy.yaml
kill -HUP "$P1"
wait_until 10 grep -q "policy .* NOT reloaded" party1.log && ok "SIGHUP with a bad policy keeps the old one" || not_ok "bad reload" "$(tail -n 5 party1.log)"
expect_exit 78 "tss-party --check names the bad policy file" "$BUILD/tss-party" --config party1.yaml --check
expect_match "... file:line:col" "$ERR" 'policy.yaml:5:16'
sed 's/window_max_count: 2/window_max_count: 5/' policy.good > policy.yaml
for i in 2 3; do eval "kill -HUP \$P$i"; done
wait_until 10 grep -q "reload: policy .* now in force" party3.log && ok "SIGHUP reloads a valid policy" || not_ok "reload" "$(tail -n 5 party3.log)"
expect_exit 0 "the raised count limit is in force" timeout 60 "$CTL" --config op.yaml sign --key-id ops --message "after reload" --hash eip191 --signers 2,3 --no-presign
finish
