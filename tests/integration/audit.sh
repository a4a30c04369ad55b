#!/usr/bin/env bash
# Audit log and per-operator rate limits over real daemons on 127.0.0.1
# (2-of-3, issue 11 finding 4):
#  - while a second operator ("chatty") floods KEYS and STATUS over two
#    persistent connections, signing keeps at least 30% of its quiet rate
#    (tss-bench --suite chatty; bench/chatty.sh reports the real figure), and
#    the flood is refused with "rate limit exceeded for operator chatty;
#    retry after N ms" (answered, connection kept);
#  - the audit log (state_dir/audit/) rotates by size into chained segments;
#    `tssctl audit verify --dir` passes on the live log and after a restart,
#    and fails (exit 65, naming file and line) on a copy with one byte
#    flipped, a record removed, or a segment removed;
#  - an old unchained audit.log is left in place and named in the log.
# Every process is killed by the EXIT trap; every wait is bounded.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT

for b in tss-coordinator tss-party tssctl tss-keystore tss-bench; do
    if [ ! -x "$BUILD/$b" ]; then not_ok "binary $b built" "missing $BUILD/$b"; finish; exit 1; fi
done

cluster_setup 3 5s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
"$CTL" pki issue --ca ca --identity urn:tssd:operator:chatty --out chatty --days 30 >/dev/null 2>>pki.log
sed -e "s#$WORK/op/#$WORK/chatty/#g" op.yaml > chatty.yaml
sed -i -e 's#^  - {name: alice, identity: "urn:tssd:operator:alice"}$#&\n  - {name: chatty, identity: "urn:tssd:operator:chatty"}#' coord.yaml
# The signer stays far below its bucket; the flood (thousands a second) does not.
printf 'rate_limit: {operator_rate: 150, operator_burst: 150}\naudit: {rotate_size: 32KiB, sync_interval: 1s}\n' >> coord.yaml
mkdir -p cstate && chmod 700 cstate
printf '{"time":"2025-01-01T00:00:00.000Z","operator":"old","request":"keys"}\n' > cstate/audit.log

if cluster_start; then ok "2-of-3: all parties connected"; else
    not_ok "2-of-3: all parties connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi
grep -q 'audit.log is a legacy unchained log' coord.log && ok "a legacy audit.log is named at start" \
    || not_ok "a legacy audit.log is named at start" "$(grep -i audit coord.log)"
[ "$(cat cstate/audit.log)" = '{"time":"2025-01-01T00:00:00.000Z","operator":"old","request":"keys"}' ] \
    && ok "the legacy audit.log is left untouched" || not_ok "the legacy audit.log is left untouched"

# ---- signing while a chatty operator floods ------------------------------------------------------
SECS=${AUDIT_TEST_SECONDS:-4}
timeout $((SECS * 2 + 90)) "$BUILD/tss-bench" --suite chatty --op-config op.yaml --chatty-config chatty.yaml \
    --seconds "$SECS" --concurrency 4 --flooders 2 --json > chatty.json 2> chatty.err &
BENCH=$!; PIDS+=("$BENCH")
# While the flood runs, tssctl as the chatty operator is refused too (its
# bucket is drained), with the message and exit 76, for KEYS and STATUS.
KEYS_REFUSED="" STATUS_REFUSED=""
while alive "$BENCH" && { [ -z "$KEYS_REFUSED" ] || [ -z "$STATUS_REFUSED" ]; }; do
    if [ -z "$KEYS_REFUSED" ]; then
        timeout 20 "$CTL" --config chatty.yaml keys >/dev/null 2>tssctl.err
        [ $? = 76 ] && grep -q 'rate limit exceeded for operator chatty; retry after [0-9]* ms' tssctl.err \
            && KEYS_REFUSED=$(cat tssctl.err)
    fi
    if [ -z "$STATUS_REFUSED" ]; then
        timeout 20 "$CTL" --config chatty.yaml status >/dev/null 2>tssctl.err
        [ $? = 76 ] && grep -q 'rate limit exceeded for operator chatty; retry after [0-9]* ms' tssctl.err \
            && STATUS_REFUSED=$(cat tssctl.err)
    fi
    sleep 0.1
done
wait "$BENCH"
rc=$?
[ -n "$KEYS_REFUSED" ] && ok "tssctl keys over the limit: exit 76 with the message" \
    || not_ok "tssctl keys over the limit: exit 76 with the message" "$(cat tssctl.err)"
[ -n "$STATUS_REFUSED" ] && ok "tssctl status over the limit: exit 76 with the message" \
    || not_ok "tssctl status over the limit: exit 76 with the message" "$(cat tssctl.err)"
echo "# $KEYS_REFUSED"
echo "# $STATUS_REFUSED"
J=$(cat chatty.json)
[ "$rc" = 0 ] && ok "chatty benchmark ran (no signing failure)" || not_ok "chatty benchmark ran (no signing failure)" "exit $rc" "$J" "$(cat chatty.err)"
num() { printf '%s' "$J" | grep -o "\"$1\":[0-9.]*" | head -1 | cut -d: -f2; }
QUIET=$(printf '%s' "$J" | grep -o '"quiet":{"sig_per_s":[0-9.]*' | grep -o '[0-9.]*$')
BUSY=$(printf '%s' "$J" | grep -o '"chatty":{"sig_per_s":[0-9.]*' | grep -o '[0-9.]*$')
RATIO=$(num ratio); LIMITED=$(num rate_limited); SERVED=$(num served)
echo "# quiet ${QUIET:-?} sig/s, with the flood ${BUSY:-?} sig/s, ratio ${RATIO:-?}; flood served ${SERVED:-?}, rate-limited ${LIMITED:-?}"
awk -v r="${RATIO:-0}" 'BEGIN { exit !(r >= 0.30) }' && ok "signing keeps >= 30% of its quiet rate under the flood" \
    || not_ok "signing keeps >= 30% of its quiet rate under the flood" "$J"
[ "${LIMITED:-0}" -gt 0 ] 2>/dev/null && ok "the chatty operator is rate-limited" \
    || not_ok "the chatty operator is rate-limited" "$J"
expect_match "the refusal names the operator and when to retry" "$J" \
    '"refusal":"rate limit exceeded for operator chatty; retry after [0-9]+ ms"'
[ "${SERVED:-0}" -gt 0 ] 2>/dev/null && ok "the chatty operator is still served within its rate" \
    || not_ok "the chatty operator is still served within its rate" "$J"
expect_exit 0 "the signer is not limited by the chatty operator's bucket" \
    "$CTL" --config op.yaml keys --json

# ---- read-only requests are not fdatasync'd one by one --------------------------------------------
# (strace on the coordinator, when this host allows it: 40 KEYS requests may
# cost at most one sync per sync_interval (1s), never one each.)
if command -v strace >/dev/null 2>&1 && strace -qq -e trace=none true 2>/dev/null; then
    strace -f -qq -e trace=fdatasync -o strace.out -p "$COORD" 2>strace.err & ST=$!; PIDS+=("$ST")
    wait_until 5 test -e strace.out
    sleep 0.3
    t0=$SECONDS
    for b in 1 2 3 4 5; do
        K=()
        for i in 1 2 3 4 5 6 7 8; do timeout 30 "$CTL" --config op.yaml keys >/dev/null 2>&1 & K+=("$!"); done
        for j in "${K[@]}"; do wait "$j"; done
    done
    sleep 1.5
    kill -INT "$ST" 2>/dev/null; wait "$ST" 2>/dev/null
    SYNCS=$(grep -c 'fdatasync(' strace.out)
    echo "# 40 KEYS requests in $((SECONDS - t0))s: $SYNCS fdatasync call(s)"
    [ "$SYNCS" -lt 20 ] && ok "40 read-only requests cost fewer than 20 fdatasyncs ($SYNCS)" \
        || not_ok "40 read-only requests cost fewer than 20 fdatasyncs" "$SYNCS: $(head -5 strace.out)"
else
    ok "# skip fdatasync count: strace cannot attach here"
fi

# ---- the audit log ---------------------------------------------------------------------------------
sleep 1.5 # sync_interval (1s): read-only records reach the disk
NSEG=$(ls cstate/audit/audit-*.log 2>/dev/null | wc -l)
[ "$NSEG" -ge 2 ] && ok "the audit log rotated by size ($NSEG segments)" || not_ok "the audit log rotated by size" "$(ls -l cstate/audit)"
grep -q '"request":"rate-limited","refused":[1-9]' cstate/audit/audit-*.log && ok "refusals are audited as counts" \
    || not_ok "refusals are audited as counts" "$(grep -h chatty cstate/audit/*.log | tail -3)"
NRL=$(cat cstate/audit/audit-*.log | grep -c '"request":"rate-limited"')
[ "$NRL" -le $((SECONDS + 2)) ] && ok "at most one rate-limited record a second ($NRL for ${LIMITED:-?} refusals)" \
    || not_ok "at most one rate-limited record a second" "$NRL records in ${SECONDS}s"
grep -q '"operator":"chatty","request":"keys".*"outcome":"ok"' cstate/audit/audit-*.log \
    && ok "served read-only requests are audited" || not_ok "served read-only requests are audited"
grep -q '"operator":"alice","request":"sign".*"outcome":"ok"' cstate/audit/audit-*.log \
    && ok "signatures are audited" || not_ok "signatures are audited"
expect_exit 0 "tssctl audit verify passes on the live log" "$CTL" audit verify --dir cstate/audit
expect_match "verify reports the segments" "$OUT" "^audit log intact: $NSEG segment\\(s\\) 1\\.\\.$NSEG"

stop_pid "$COORD"
start_coord
wait_until 20 connected_is 3 && ok "coordinator restarted" || not_ok "coordinator restarted" "$(tail -5 coord.log)"
expect_exit 0 "a request after the restart" "$CTL" --config op.yaml keys --json
sleep 0.5
expect_exit 0 "the chain continues across the restart" "$CTL" audit verify --dir cstate/audit --json
expect_match "verify --json says intact" "$OUT" '"intact":true'

# The last hash the coordinator logged at exit anchors the chain: found in
# the live log, missing from a copy whose newest records were cut off.
ANCHOR=$(grep -o 'audit log closed at segment [0-9]*, last hash [0-9a-f]\{64\}' coord.log | tail -1 | grep -o '[0-9a-f]\{64\}$')
[ -n "$ANCHOR" ] && ok "the coordinator logs its last audit hash at exit" || not_ok "the coordinator logs its last audit hash at exit" "$(grep -i audit coord.log | tail -3)"
expect_exit 0 "verify --anchor finds the logged hash in the live log" "$CTL" audit verify --dir cstate/audit --anchor "$ANCHOR"
cp -r cstate/audit tail && F=$(ls tail/audit-*.log | tail -1)
L=$(grep -n "$ANCHOR" "$F" | head -1 | cut -d: -f1)
if [ -n "$L" ] && [ "$L" -gt 1 ]; then
    head -n $((L - 1)) "$F" > tail/x && mv tail/x "$F"
    expect_exit 0 "a tail cut at a record boundary passes without an anchor" "$CTL" audit verify --dir tail
    expect_exit 65 "... and fails against the anchor" "$CTL" audit verify --dir tail --anchor "$ANCHOR"
    expect_match "the error says records were cut" "$ERR" 'is not in the chain: records were cut from the end'
else
    not_ok "the anchor is a record of the newest segment" "line ${L:-none} of $F"
fi

# Tampered copies: one byte flipped, one record removed, one segment removed.
cp -r cstate/audit flip && F=$(ls flip/audit-*.log | head -1)
off=$(( $(stat -c %s "$F") / 2 ))
b=$(od -An -tu1 -j "$off" -N1 "$F" | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$F" bs=1 seek="$off" conv=notrunc 2>/dev/null
cmp -s "$F" "cstate/audit/$(basename "$F")" && not_ok "the copy was changed" || ok "the copy was changed"
expect_exit 65 "verify fails on a flipped byte" "$CTL" audit verify --dir flip
expect_match "the error names the file and line" "$ERR" "NOT intact: .*$(basename "$F"): line [0-9]+:"
cp -r cstate/audit cut && F=$(ls cut/audit-*.log | head -1)
sed -i '3d' "$F"
expect_exit 65 "verify fails on a removed record" "$CTL" audit verify --dir cut
expect_match "the removed record's line is named" "$ERR" "$(basename "$F"): line 3: hash does not match"
cp -r cstate/audit gap && rm "$(ls gap/audit-*.log | sed -n 2p)"
if [ "$NSEG" -ge 3 ]; then
    expect_exit 65 "verify fails on a removed segment" "$CTL" audit verify --dir gap
    expect_match "the gap is named" "$ERR" 'missing or reordered segment'
fi
expect_exit 65 "verify of files in the wrong order fails" "$CTL" audit verify \
    "$(ls cstate/audit/audit-*.log | sed -n 2p)" "$(ls cstate/audit/audit-*.log | sed -n 1p)"
expect_exit 64 "verify needs --dir or files" "$CTL" audit verify
finish
