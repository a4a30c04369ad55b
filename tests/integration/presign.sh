#!/usr/bin/env bash
# Presigned signing across real daemons on 127.0.0.1 (2-of-3):
#  - tssctl presign makes K presignatures; the coordinator records them
#    durably (state_dir/presig/<key>.log) and `tssctl keys` shows the stock;
#  - tssctl sign uses one (one online round, "presigned":true) while the stock
#    lasts, then signs in full; --no-presign forces full signing; named
#    signers only take a presignature bound to exactly that set;
#  - the stock survives a coordinator restart, and an id marked used before
#    the restart is never handed out again;
#  - a party killed (SIGKILL) right after consuming a presignature and
#    restarted refuses it when a rolled-back coordinator record offers the
#    same id again; the request then falls back to full signing.
# Signatures are verified by tssctl and by an independent libsecp256k1
# verifier (verify_sig.c). Every process is killed by the EXIT trap.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT

for b in tss-coordinator tss-party tssctl tss-keystore; do
    if [ ! -x "$BUILD/$b" ]; then not_ok "binary $b built" "missing $BUILD/$b"; finish; exit 1; fi
done
VS=$WORK/verify_sig
if gcc -O1 -o "$VS" "$ROOT/tests/integration/verify_sig.c" -lsecp256k1 2>"$WORK/vs.err"; then
    ok "build the independent verifier"; else not_ok "build the independent verifier" "$(cat "$WORK/vs.err")"; fi

lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
log_has() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null | grep -Eq -- "$3"; }
# expect_log NAME FILE MARK REGEX: REGEX appears in FILE after line MARK (within 5 s).
expect_log() {
    if wait_until 5 log_has "$2" "$3" "$4"; then ok "$1"; else
        not_ok "$1" "no /$4/ in $2 since line $3:" "$(tail -n +"$(($3 + 1))" "$2" | tail -n 15)"; fi
}
json_field() { printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
check_sig() {
    local eth digest out
    eth=$(json_field "$2" ethereum); digest=$(json_field "$2" digest)
    if [ -n "$eth" ] && out=$("$VS" "$3" "$digest" "$eth" 2>&1); then ok "$1"; else
        not_ok "$1" "verify_sig: ${out:-no signature}" "$2"; fi
}
# stock KEY: the presignature count `tssctl keys` reports.
stock() { "$CTL" --config op.yaml keys --key-id "$1" --json 2>/dev/null | grep -o '"presignatures":[0-9]*' | cut -d: -f2; }
expect_stock() {
    local got; got=$(stock "$2")
    [ "$got" = "$3" ] && ok "$1" || not_ok "$1" "stock ${got:-?}, expected $3"
}

cluster_setup 3 3s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
if cluster_start; then ok "2-of-3: all parties connected"; else
    not_ok "2-of-3: all parties connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi
expect_exit 0 "keygen" "$CTL" --config op.yaml keygen --key-id kp --threshold 2 --json
PUB=$(json_field "$OUT" publicKey)
expect_stock "no presignatures after keygen" kp 0

# ---- stock, presigned signing, then full signing -------------------------------------------------
expect_exit 0 "presign --count 3 --signers 1,2" "$CTL" --config op.yaml presign --key-id kp --count 3 --signers 1,2 --json
expect_match "three presignatures made" "$OUT" '"presigned":3'
expect_stock "keys shows a stock of 3" kp 3
[ "$(grep -c '^+ [0-9a-f]\{64\} 1,2 [0-9a-f]\{32\}$' cstate/presig/kp.log 2>/dev/null)" = 3 ] \
    && ok "the coordinator recorded 3 presignatures durably" \
    || not_ok "the coordinator recorded 3 presignatures durably" "$(cat cstate/presig/kp.log 2>&1)"
for k in 1 2 3; do
    expect_exit 0 "sign $k with a presignature" "$CTL" --config op.yaml sign --key-id kp --message "pre $k" --json
    expect_match "sign $k: response says presigned, signers 1,2" "$OUT" '"signers":\[1,2\].*"presigned":true'
    check_sig "sign $k: verifies independently" "$OUT" "$PUB"
    expect_stock "sign $k: stock is $((3 - k))" kp $((3 - k))
done
[ "$(grep -c '^- [0-9a-f]\{64\} [0-9a-f]\{32\}$' cstate/presig/kp.log)" = 3 ] && ok "three ids marked used in the record" \
    || not_ok "three ids marked used in the record" "$(cat cstate/presig/kp.log)"
for i in 1 2; do
    [ "$(grep -c 'kind=sign-presigned key=kp ' "party$i.log")" = 3 ] && ok "party $i signed 3 times presigned" \
        || not_ok "party $i signed 3 times presigned" "$(grep -c 'kind=sign-presigned' "party$i.log")"
done
expect_exit 0 "sign with no stock left: full signing" "$CTL" --config op.yaml sign --key-id kp --message "full" --json
expect_match "response says full signing" "$OUT" '"presigned":false'
check_sig "full signature verifies" "$OUT" "$PUB"
expect_exit 0 "sign (text) shows the mode" "$CTL" --config op.yaml sign --key-id kp --message "text"
expect_match "text output says full signing" "$OUT" '^mode: +full signing'
grep -q '"request":"sign","key":"kp".*"outcome":"ok".*"presigned":1' cstate/audit/audit-*.log \
    && ok "audit log records presigned signing" || not_ok "audit log records presigned signing" "$(tail -3 cstate/audit/audit-*.log)"

# ---- --no-presign, named signers, coordinator restart ----------------------------------------------
expect_exit 0 "presign --count 2 --signers 2,3" "$CTL" --config op.yaml presign --key-id kp --count 2 --signers 2,3 --json
expect_exit 0 "sign --no-presign" "$CTL" --config op.yaml sign --key-id kp --message np --no-presign --json
expect_match "--no-presign signs in full" "$OUT" '"presigned":false'
expect_stock "--no-presign leaves the stock at 2" kp 2
expect_exit 0 "sign --signers 1,3 (no presignature for that set)" "$CTL" --config op.yaml sign --key-id kp --message s13 --signers 1,3 --json
expect_match "named signers 1,3: full signing" "$OUT" '"signers":\[1,3\].*"presigned":false'
expect_stock "the stock is still 2" kp 2
expect_exit 0 "sign --signers 2,3 uses the presignature for that set" "$CTL" --config op.yaml sign --key-id kp --message s23 --signers 2,3 --json
expect_match "named signers 2,3: presigned" "$OUT" '"signers":\[2,3\].*"presigned":true'
check_sig "presigned 2,3 signature verifies" "$OUT" "$PUB"
expect_stock "stock 1 before the restart" kp 1
stop_pid "$COORD" && ok "coordinator stops"
start_coord
if wait_until 20 connected_is 3; then ok "parties reconnect to the restarted coordinator"; else
    not_ok "parties reconnect to the restarted coordinator" "$(tail -n 10 coord.log)"; fi
expect_stock "the stock survives the coordinator restart" kp 1
expect_exit 0 "sign after the restart uses the last presignature" "$CTL" --config op.yaml sign --key-id kp --message restarted --json
expect_match "presigned after the restart" "$OUT" '"signers":\[2,3\].*"presigned":true'
check_sig "signature after the restart verifies" "$OUT" "$PUB"
expect_stock "stock 0" kp 0
expect_exit 0 "then full signing again" "$CTL" --config op.yaml sign --key-id kp --message after --json
expect_match "no presignature handed out twice" "$OUT" '"presigned":false'
! grep -q 'already consumed' party*.log && ok "no party was ever offered a consumed presignature" \
    || not_ok "no party was ever offered a consumed presignature" "$(grep 'already consumed' party*.log)"

# ---- a party killed right after consuming a presignature never reuses it ----------------------------
expect_exit 0 "keygen kc" "$CTL" --config op.yaml keygen --key-id kc --threshold 2 --json
PUBC=$(json_field "$OUT" publicKey)
expect_exit 0 "presign 1 for kc (signers 1,2)" "$CTL" --config op.yaml presign --key-id kc --count 1 --signers 1,2 --json
cp cstate/presig/kc.log kc.log.before
expect_exit 0 "presigned sign with kc" "$CTL" --config op.yaml sign --key-id kc --message crash --json
expect_match "kc signed presigned" "$OUT" '"presigned":true'
kill -KILL "$P1" "$P2"; wait "$P1" "$P2" 2>/dev/null
ok "parties 1 and 2 killed (SIGKILL) right after consuming"
start_party 1; start_party 2
if wait_until 20 connected_is 3; then ok "parties 1 and 2 restarted and reconnected"; else
    not_ok "parties 1 and 2 restarted and reconnected" "$(tail -n 5 party1.log)"; fi
# Roll the coordinator's record back (as a restored backup or a buggy
# coordinator would) so it offers the consumed id again.
stop_pid "$COORD"
cp kc.log.before cstate/presig/kc.log
M1=$(lines party1.log); M2=$(lines party2.log); MC=$(lines coord.log)
start_coord
wait_until 20 connected_is 3 || not_ok "parties reconnect" "$(tail -n 10 coord.log)"
expect_stock "the rolled-back record offers the presignature again" kc 1
expect_exit 0 "sign with the replayed presignature still succeeds" "$CTL" --config op.yaml sign --key-id kc --message replay --signers 1,2 --json
expect_match "by full signing, not with the consumed presignature" "$OUT" '"signers":\[1,2\].*"presigned":false'
check_sig "the fallback signature verifies" "$OUT" "$PUBC"
for i in 1 2; do
    expect_log "restarted party $i refuses the consumed presignature" "party$i.log" "$(eval echo \$M$i)" \
        'refused: presignature [0-9a-f]+ of key .kc. was already consumed'
done
expect_log "the coordinator falls back to full signing" coord.log "$MC" 'presigned signing refused.*full signing'
expect_stock "the replayed id is marked used again" kc 0
finish
