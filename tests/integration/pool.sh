#!/usr/bin/env bash
# The self-refilling presignature pool (issue 14 item 1) across real daemons
# on 127.0.0.1 (2-of-3):
#  - the pool fills a key to its target after keygen, and no further; the
#    stock shows in `tssctl status` (text and JSON);
#  - signing takes presignatures while the stock is above the low mark
#    without refilling (hysteresis), and refills to target once it falls to
#    low; the whole stock never exceeds high;
#  - a key without a pool signs in full and says why (response JSON and
#    text, audit log); --no-presign still forces full signing and says so;
#  - concurrent signing and a coordinator killed (SIGKILL) while a refill
#    runs: every signature verifies, no presignature id is marked used twice
#    by the coordinator, no party's spent log holds an id twice, no party
#    is ever offered a consumed presignature;
#  - presignatures older than max_age are retired: marked used by the
#    coordinator and their files deleted on every party, then replaced.
# Every process is killed by the EXIT trap.
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
json_field() { printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
check_sig() {
    local eth digest out
    eth=$(json_field "$2" ethereum); digest=$(json_field "$2" digest)
    if [ -n "$eth" ] && out=$("$VS" "$3" "$digest" "$eth" 2>&1); then ok "$1"; else
        not_ok "$1" "verify_sig: ${out:-no signature}" "$2"; fi
}
stock() { "$CTL" --config op.yaml keys --key-id "$1" --json 2>/dev/null | grep -o '"presignatures":[0-9]*' | cut -d: -f2; }
stock_is() { [ "$(stock "$1")" = "$2" ]; }
# files KEY PARTY: presignature files the party holds for the key.
files() { find "pstate$2/presig/$1" -name '*.presig' 2>/dev/null | wc -l; }
# spent_dups PARTY KEY: ids recorded twice in the party's spent log (48-byte
# header, then 48-byte records whose first 32 bytes are the id).
spent_dups() {
    local f="pstate$1/presig/$2/spent.log"
    [ -f "$f" ] || return 0
    tail -c +49 "$f" | od -An -v -tx1 -w48 | cut -c1-96 | sort | uniq -d
}
spent_count() {
    local f="pstate$1/presig/$2/spent.log"
    [ -f "$f" ] || { echo 0; return; }
    echo $(( ($(stat -c %s "$f") - 48) / 48 ))
}

cluster_setup 3 5s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
# An operator's connection waiting for a keygen behind refills is idle meanwhile.
sed -i 's/idle: 4s/idle: 20s/' coord.yaml
cat >> coord.yaml <<'EOF'
pool:
  rate: 20
  max_refill: 2
  interval: 200ms
  keys:
    - {key: kp, target: 6, low: 2, high: 8}
    - {key: kr, target: 2, low: 0, max_age: 5s, signers: [1, 3]}
EOF
if cluster_start; then ok "2-of-3: all parties connected"; else
    not_ok "2-of-3: all parties connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi
grep -q 'presignature pool: default target 0 (low 0), 2 key entries, rate 20/s' coord.log \
    && ok "the coordinator logs its pool configuration" || not_ok "the coordinator logs its pool configuration" "$(head -5 coord.log)"

# ---- fills to target after keygen, no further ------------------------------------------------------
expect_exit 0 "keygen kp" "$CTL" --config op.yaml keygen --key-id kp --threshold 2 --json
PUB=$(json_field "$OUT" publicKey)
# kr (retired after max_age), then kn (no pool) are made meanwhile.
"$CTL" --config op.yaml keygen --key-id kr --threshold 2 --json > keygen-kr.json 2>&1 &
KGR=$!
( wait_until 30 grep -q publicKey keygen-kr.json; "$CTL" --config op.yaml keygen --key-id kn --threshold 2 --json ) > keygen-kn.json 2>&1 &
KGN=$!
if wait_until 20 stock_is kp 6; then ok "the pool fills kp to its target (6) on its own"; else
    not_ok "the pool fills kp to its target (6) on its own" "stock $(stock kp)" "$(grep -i pool coord.log | tail -5)"; fi
sleep 0.6
expect_match "and no further" "$(stock kp)" '^6$'
n=$(grep -c '"request":"presign","key":"kp".*"outcome":"ok"' cstate/audit/audit-*.log)
[ "$n" = 6 ] && ok "each refill is audited (6 records)" || not_ok "each refill is audited (6 records)" "$n records"
grep -q '"operator":"(pool)","request":"presign"' cstate/audit/audit-*.log \
    && ok "refills are audited under the operator (pool)" || not_ok "refills are audited under the operator (pool)" "$(grep presign cstate/audit/audit-*.log | head -2)"
total=0; for i in 1 2 3; do total=$((total + $(files kp "$i"))); done
[ "$total" = 12 ] && ok "the parties hold 2 x 6 presignature files" || not_ok "the parties hold 2 x 6 presignature files" "$total"
expect_exit 0 "status --json" "$CTL" --config op.yaml status --json
expect_match "status JSON shows the stock per key" "$OUT" '"keys":\[.*\{"keyId":"kp","threshold":2,"parties":3,"presignatures":6\}\]'
expect_exit 0 "status (text)" "$CTL" --config op.yaml status
expect_match "status text shows the stock per key" "$OUT" '^kp +2-of-3 +6$'

wait "$KGR" && ok "keygen kr (max_age 5s, signers 1,3)" || not_ok "keygen kr" "$(cat keygen-kr.json)"
# kr's first two presignatures (its record keeps every line: never compacted this small).
wait_until 20 stock_is kr 2
first=$(grep '^+ ' cstate/presig/kr.log | awk '{print $2}' | head -2)
[ "$(printf '%s\n' "$first" | grep -c .)" = 2 ] && ok "kr was filled (2 presignatures)" || not_ok "kr was filled" "$(cat cstate/presig/kr.log)"
have_first() { for id in $first; do [ -f "pstate1/presig/kr/$id.presig" ] && [ -f "pstate3/presig/kr/$id.presig" ] || return 1; done; }
if wait_until 5 have_first; then ok "parties 1 and 3 (the pool's fixed signers) hold both"; else
    not_ok "parties 1 and 3 (the pool's fixed signers) hold both" "$(ls pstate1/presig/kr pstate3/presig/kr)"; fi

# ---- use above low: no refill; at low: refill to target ---------------------------------------------
for k in 1 2 3; do
    expect_exit 0 "sign $k with a presignature" "$CTL" --config op.yaml sign --key-id kp --message "pool $k" --json
    expect_match "sign $k: presigned" "$OUT" '"presigned":true,"verified"'
    check_sig "sign $k verifies independently" "$OUT" "$PUB"
done
sleep 0.6
expect_match "stock 3 is above low (2): no refill yet" "$(stock kp)" '^3$'
expect_exit 0 "sign 4 takes the stock to low" "$CTL" --config op.yaml sign --key-id kp --message "pool 4" --json
expect_match "sign 4: presigned" "$OUT" '"presigned":true'
if wait_until 20 stock_is kp 6; then ok "at low the pool refills to target"; else
    not_ok "at low the pool refills to target" "stock $(stock kp)"; fi

# ---- no pool: full signing says why; --no-presign ----------------------------------------------------
wait "$KGN" && ok "keygen kn (no pool)" || not_ok "keygen kn (no pool)" "$(cat keygen-kn.json)"
PUBN=$(json_field "$(cat keygen-kn.json)" publicKey)
expect_exit 0 "sign with kn" "$CTL" --config op.yaml sign --key-id kn --message nopool --json
expect_match "response: full signing, fallback named" "$OUT" '"presigned":false,"fallback":"no presignature ready \(pool empty\)"'
check_sig "the full signature verifies" "$OUT" "$PUBN"
expect_exit 0 "sign with kn (text)" "$CTL" --config op.yaml sign --key-id kn --message nopool2
expect_match "text: mode says full signing and why" "$OUT" '^mode: +full signing \(no presignature ready \(pool empty\)\)'
grep -q '"request":"sign","key":"kn".*"detail":"full signing: no presignature ready (pool empty)".*"presigned":0' cstate/audit/audit-*.log \
    && ok "the audit log says full signing and why" || not_ok "the audit log says full signing and why" "$(grep '"key":"kn"' cstate/audit/audit-*.log | tail -1)"
[ "$(stock kn)" = 0 ] && ok "a key without a pool is not refilled" || not_ok "a key without a pool is not refilled" "$(stock kn)"
expect_exit 0 "sign kp --no-presign" "$CTL" --config op.yaml sign --key-id kp --message np --no-presign --json
expect_match "--no-presign: full, and says so" "$OUT" '"presigned":false,"fallback":"full signing requested \(no-presign\)"'
expect_match "--no-presign leaves the stock" "$(stock kp)" '^6$'

# ---- concurrency and a coordinator killed mid-refill ------------------------------------------------
run_batch() { # run_batch TAG COUNT: COUNT concurrent signs, results in batch-TAG-i.json
    local i pids=()
    for i in $(seq 1 "$2"); do
        timeout 60 "$CTL" --config op.yaml sign --key-id kp --message "$1 $i" --json > "batch-$1-$i.json" 2>"batch-$1-$i.err" &
        pids+=("$!")
    done
    BATCH_FAIL=0
    for i in "${pids[@]}"; do wait "$i" || BATCH_FAIL=$((BATCH_FAIL + 1)); done
}
batch_verify() { # batch_verify TAG COUNT NAME: every signature verified by tssctl, two independently too
    local i bad=0
    for i in $(seq 1 "$2"); do grep -q '"verified":true' "batch-$1-$i.json" || bad=$((bad + 1)); done
    for i in 1 "$2"; do
        "$VS" "$PUB" "$(json_field "$(cat "batch-$1-$i.json")" digest)" \
            "$(json_field "$(cat "batch-$1-$i.json")" ethereum)" >/dev/null 2>&1 || bad=$((bad + 1))
    done
    [ "$bad" = 0 ] && ok "$3" || not_ok "$3" "$bad signature(s) do not verify"
}
run_batch c1 12
[ "$BATCH_FAIL" = 0 ] && ok "12 concurrent signs succeed" || not_ok "12 concurrent signs succeed" "$BATCH_FAIL failed: $(cat batch-c1-*.err | head -3)"
batch_verify c1 12 "12 concurrent signatures verify"
pre=$(cat batch-c1-*.json | grep -c '"presigned":true')
[ "$pre" -ge 1 ] && ok "concurrent signs used the pool ($pre presigned)" || not_ok "concurrent signs used the pool" "none presigned"
# Drain to low, then kill the coordinator while the refill runs.
MC=$(lines coord.log)
for k in 1 2 3 4 5 6; do
    s=$(stock kp); [ "${s:-0}" -le 2 ] && break
    "$CTL" --config op.yaml sign --key-id kp --message "drain $k" --json >/dev/null 2>&1
done
if wait_until 10 log_has coord.log "$MC" 'kind=presign key=kp .*operator=\(pool\): starting'; then
    kill -KILL "$COORD"; wait "$COORD" 2>/dev/null
    ok "coordinator killed (SIGKILL) while a refill session runs"
else
    not_ok "a refill started after draining" "$(tail -n +"$MC" coord.log | tail -5)"
fi
start_coord
if wait_until 20 connected_is 3; then ok "parties reconnect to the restarted coordinator"; else
    not_ok "parties reconnect to the restarted coordinator" "$(tail -n 10 coord.log)"; fi
# While the parties reconnect one by one, stock that needs a party not yet
# back is not usable, so the restarted pool may refill with those present
# and end above target; high (8) still caps it (OPERATIONS "Presignature pool").
stock_refilled() { local s; s=$(stock kp); [ "${s:-0}" -ge 6 ] && [ "$s" -le 8 ]; }
if wait_until 20 stock_refilled; then ok "the restarted coordinator refills kp to target..high ($(stock kp))"; else
    not_ok "the restarted coordinator refills kp to target..high" "stock $(stock kp)"; fi
run_batch c2 12
[ "$BATCH_FAIL" = 0 ] && ok "12 concurrent signs after the restart succeed" || not_ok "12 concurrent signs after the restart succeed" "$BATCH_FAIL failed: $(cat batch-c2-*.err | head -3)"
batch_verify c2 12 "and verify"
used=$(grep -o 'presignature [0-9a-f]\{64\} marked used' coord.log | awk '{print $2}')
nused=$(printf '%s\n' "$used" | grep -c .)
dups=$(printf '%s\n' "$used" | sort | uniq -d)
presigned_total=$(cat batch-*.json | grep -c '"presigned":true')
[ -z "$dups" ] && ok "no presignature id was handed out twice ($nused handed out)" || not_ok "no presignature id was handed out twice" "$dups"
[ "$presigned_total" -le "$nused" ] && ok "every presigned signature took its own id" || not_ok "every presigned signature took its own id" "$presigned_total presigned, $nused ids"
for i in 1 2 3; do
    d=$(spent_dups "$i" kp)
    [ -z "$d" ] && ok "party $i: no id twice in its spent log ($(spent_count "$i" kp) records)" || not_ok "party $i: no id twice in its spent log" "$d"
done
! grep -q 'already consumed' party*.log && ok "no party was ever offered a consumed presignature" \
    || not_ok "no party was ever offered a consumed presignature" "$(grep 'already consumed' party*.log | head -3)"
s=$(stock kp); [ "${s:-99}" -le 8 ] && ok "the stock never exceeds high (now $s)" || not_ok "the stock never exceeds high" "$s"

# ---- retirement after max_age --------------------------------------------------------------------
[ "$(files kr 2)" = 0 ] && ok "party 2 (not in the pool's signer set) holds none" || not_ok "party 2 holds none" "$(files kr 2)"
if wait_until 15 log_has coord.log 0 'key=kr: [0-9]+ presignature\(s\) older than pool max_age retired'; then
    ok "the coordinator retires kr's presignatures after max_age"; else
    not_ok "the coordinator retires kr's presignatures after max_age" "$(tail -n 5 coord.log)"; fi
gone() { for id in $first; do [ ! -e "pstate1/presig/kr/$id.presig" ] && [ ! -e "pstate3/presig/kr/$id.presig" ] || return 1; done; }
if wait_until 10 gone; then ok "the retired presignatures' files are gone on every party"; else
    not_ok "the retired presignatures' files are gone on every party" "$(ls pstate1/presig/kr pstate3/presig/kr)"; fi
for id in $first; do
    grep -q "^- $id " cstate/presig/kr.log && ok "${id:0:8} is marked used in the coordinator's record" \
        || not_ok "${id:0:8} is marked used in the coordinator's record" "$(cat cstate/presig/kr.log)"
done
expect_log_since() { if wait_until 10 log_has "$2" "$3" "$4"; then ok "$1"; else not_ok "$1" "$(tail -n 5 "$2")"; fi; }
expect_log_since "party 1 deletes them at the coordinator's request" party1.log 0 'key=kr: reconciliation with the coordinator deleted [1-9][0-9]* orphaned'
newer() { local n; n=$(grep '^+ ' cstate/presig/kr.log | awk '{print $2}' | grep -cvxF "$first"); [ "$n" -ge 1 ]; }
if wait_until 15 newer; then ok "the pool replaces retired presignatures with new ones"; else
    not_ok "the pool replaces retired presignatures with new ones" "$(cat cstate/presig/kr.log)"; fi
expect_exit 0 "sign with kr" "$CTL" --config op.yaml sign --key-id kr --message retired --json
PUBR=$(json_field "$("$CTL" --config op.yaml keys --key-id kr --json)" publicKey)
check_sig "kr signature verifies" "$OUT" "$PUBR"
for id in $first; do
    ! grep -q "presignature $id marked used" coord.log && ok "retired ${id:0:8} was never handed out" \
        || not_ok "retired ${id:0:8} was never handed out" "$(grep "$id" coord.log)"
done
finish
