#!/usr/bin/env bash
# Durable refusal of a reused coordinator session id, over real daemons on
# 127.0.0.1 (2-of-2). The coordinator is the real one linked with
# tests/integration/evil_coord.c, which makes every SESSION_START carry the
# same 16-byte session id (a relay replaying a session id). The keygen (first
# use) succeeds; every later session is refused by the parties ("session id
# already used at this party"), also after a party restart (the id is in
# sids/wire-sessions.log, fsynced before the first message left); with the
# honest coordinator again the key signs.
# Every process is killed by the EXIT trap; every wait is bounded.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
since() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null; }
trap cluster_cleanup EXIT

cluster_need_binaries
build_evil_coord_checked # $EVILC

cluster_setup 2 5s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
SID=5e55104d5e55104d5e55104d5e55104d
start_evil_coord() {
    EVIL_SID=$SID "$EVILC" --config "$WORK/coord.yaml" 2>>"$WORK/coord.log" &
    COORD=$!; PIDS+=("$COORD")
}
start_evil_coord; start_party 1; start_party 2
if wait_until 20 connected_is 2; then ok "cluster with the replaying coordinator connected"; else
    not_ok "cluster with the replaying coordinator connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi

expect_exit 0 "keygen (first use of the session id) succeeds" \
    timeout 60 "$CTL" --config op.yaml keygen --key-id kr --threshold 2 --json
if grep -q "session=$SID" party1.log; then ok "the keygen ran under the fixed session id"; else
    not_ok "the keygen ran under the fixed session id" "$(grep session= party1.log | tail -n 3)"; fi
for i in 1 2; do
    if [ -s "$WORK/pstate$i/sids/wire-sessions.log" ]; then ok "party $i recorded the session id"; else
        not_ok "party $i recorded the session id" "$(ls -la "$WORK/pstate$i/sids" 2>&1)"; fi
done

M1=$(lines party1.log)
expect_exit 76 "sign under the reused session id fails" \
    timeout 60 "$CTL" --config op.yaml sign --key-id kr --message replayed --json
if grep -q 'session id already used at this party' coord.log; then
    ok "the coordinator logs the parties' refusal"; else
    not_ok "the coordinator logs the parties' refusal" "$(tail -n 5 coord.log)"; fi
if since party1.log "$M1" | grep -q 'session id already used at this party'; then
    ok "party 1 refused the reused session id"; else
    not_ok "party 1 refused the reused session id" "$(since party1.log "$M1" | tail -n 5)"; fi

# A restart keeps refusing it.
stop_pid "$P1"
start_party 1
if wait_until 20 connected_is 2; then ok "party 1 restarted"; else not_ok "party 1 restarted"; fi
M1=$(lines party1.log)
expect_exit 76 "after a restart: sign under the reused session id fails" \
    timeout 60 "$CTL" --config op.yaml sign --key-id kr --message "replayed again" --json
if since party1.log "$M1" | grep -q 'session id already used at this party'; then
    ok "restarted party 1 still refuses the session id"; else
    not_ok "restarted party 1 still refuses the session id" "$(since party1.log "$M1" | tail -n 5)"; fi
if grep -Eq 'banned|ban list' party1.log party2.log; then
    not_ok "nobody is banned for the coordinator's replay" "$(grep -E 'banned|ban list' party*.log)"; else
    ok "nobody is banned for the coordinator's replay"; fi

# The honest coordinator: fresh session ids, the key signs.
stop_pid "$COORD"
start_coord
if wait_until 20 connected_is 2; then ok "honest coordinator connected"; else not_ok "honest coordinator connected"; fi
expect_exit 0 "sign with the honest coordinator succeeds" \
    timeout 60 "$CTL" --config op.yaml sign --key-id kr --message honest --json
finish
