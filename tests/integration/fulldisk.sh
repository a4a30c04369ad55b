#!/usr/bin/env bash
# A full disk under party 1 (issue 11, finding 7): its state directory is a
# small tmpfs (needs root; skipped otherwise), unmounted by the EXIT trap.
#  - the sid log is filled to 16 bytes short of a page, the tmpfs is filled,
#    and a sign fails cleanly: the append is cut short (a torn record) and
#    refused, the party stays up; a second attempt while full fails too;
#  - after space is freed the next sign succeeds without a restart (the
#    log is re-verified and its torn tail dropped);
#  - a presign batch that runs out of space part-way exits 75 with JSON
#    saying how many were made;
#  - after a restart the sid log verifies and holds exactly the ids of the
#    signs that succeeded and of the presign sessions started (none lost,
#    none twice; the failed signs' ids were never acknowledged).
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
MNT=
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

for b in tss-coordinator tss-party tssctl tss-keystore; do
    if [ ! -x "$BUILD/$b" ]; then not_ok "binary $b built" "missing $BUILD/$b"; finish; exit 1; fi
done
cluster_setup 3 5s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
mkdir -p "$WORK/pstate1"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=4m,mode=0700 tss-fulldisk "$WORK/pstate1" 2>/dev/null; then
    ok "# skip: cannot mount a tmpfs (needs root)"; finish; exit 0
fi
MNT=$WORK/pstate1
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
log_has() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null | grep -Eq -- "$3"; }
expect_log() {
    if wait_until 5 log_has "$2" "$3" "$4"; then ok "$1"; else
        not_ok "$1" "no /$4/ in $2 since line $3:" "$(tail -n +"$(($3 + 1))" "$2" | tail -n 15)"; fi
}
sign() { "$CTL" --config op.yaml sign --key-id k --message "m$RANDOM$RANDOM" --signers 1,2 --no-presign --json; }
fill() { dd if=/dev/zero of="$MNT/filler" bs=4k status=none 2>/dev/null; chmod 600 "$MNT/filler"; }
SIDS=$MNT/sids/k.sids
size() { stat -c %s "$1" 2>/dev/null || echo 0; }

if cluster_start; then ok "2-of-3: all parties connected"; else
    not_ok "2-of-3: all parties connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi
expect_exit 0 "keygen" "$CTL" --config op.yaml keygen --key-id k --threshold 2 --json
# 84 signs: the sid log is then 48 + 84 * 48 = 4080 bytes, so the next
# record crosses into a new page (which a full tmpfs cannot give).
GOOD=0
while [ "$(size "$SIDS")" -le $((4080 - 8 * 48)) ]; do
    B=()
    for _ in 1 2 3 4 5 6 7 8; do sign >/dev/null 2>&1 & B+=("$!"); done
    wait "${B[@]}"
    [ "$SECONDS" -lt 120 ] || break
done
while [ "$(size "$SIDS")" -lt 4080 ] && [ "$SECONDS" -lt 150 ]; do sign >/dev/null 2>&1; done
[ "$(size "$SIDS")" = 4080 ] && ok "sid log at 4080 bytes (84 records)" || not_ok "sid log at 4080 bytes (84 records)" "$(size "$SIDS")"
GOOD=84
fill
M=$(lines party1.log)
expect_exit 76 "sign with the disk full fails" sign
expect_log "party 1 reports the failed append" party1.log "$M" 'append to .*sids/k\.sids failed: No space left on device'
[ "$(size "$SIDS")" = 4096 ] && ok "the failed append left a torn record (16 bytes)" || not_ok "the failed append left a torn record (16 bytes)" "$(size "$SIDS")"
alive "$P1" && ok "party 1 is still running" || not_ok "party 1 is still running"
expect_exit 76 "a second sign while full fails too" sign
rm -f "$MNT/filler"
expect_exit 0 "after freeing space the next sign succeeds (no restart)" sign
GOOD=$((GOOD + 1))
[ "$(size "$SIDS")" = $((48 + GOOD * 48)) ] && ok "torn tail dropped, record on a boundary" || not_ok "torn tail dropped, record on a boundary" "$(size "$SIDS")"
! grep -q 'restart to recover' party1.log && ok "no 'restart to recover'" || not_ok "no 'restart to recover'" "$(grep 'restart to recover' party1.log | tail -1)"

# ---- presign batch stopped part-way by a full disk --------------------------------------------------
expect_exit 0 "presign 1 (creates presig/k/)" "$CTL" --config op.yaml presign --key-id k --count 1 --signers 1,2 --json
fill
# Two free pages: room for two more sealed presignatures (one page each).
dd if=/dev/zero of="$MNT/filler" bs=4k count=0 seek=$(( $(size "$MNT/filler") / 4096 - 2 )) status=none
expect_exit 75 "presign --count 5 stops part-way: exit 75" "$CTL" --config op.yaml presign --key-id k --count 5 --signers 1,2 --json
expect_match "JSON says partial, 5 requested, 2 made" "$OUT" '"requested":5,"presigned":2,"partial":true'
rm -f "$MNT/filler"
expect_exit 0 "presign works again once space is free" "$CTL" --config op.yaml presign --key-id k --count 1 --signers 1,2 --json

# ---- after a restart, the log verifies and holds exactly the successful signs ---------------------
stop_pid "$P1"; start_party 1
wait_until 20 connected_is 3 && ok "party 1 restarts" || not_ok "party 1 restarts" "$(tail -5 party1.log)"
expect_exit 0 "sign after the restart" sign
GOOD=$((GOOD + 1))
# Presign sessions claim a sid too (before any output): count those started.
NP=$(grep -c 'kind=presign key=k .*starting' party1.log)
[ "$(size "$SIDS")" = $((48 + (GOOD + NP) * 48)) ] && ok "sid log holds exactly the $GOOD successful signs and $NP presign sessions" \
    || not_ok "sid log holds exactly the $GOOD successful signs and $NP presign sessions" "$(size "$SIDS")"
! grep -Eq 'integrity check|is damaged' party1.log && ok "no integrity error" || not_ok "no integrity error" "$(grep -E 'integrity|damaged' party1.log | tail -2)"
finish
