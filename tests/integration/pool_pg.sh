#!/usr/bin/env bash
# The presignature pool (issue 14 item 1) on the PostgreSQL storage back-end
# (issue 18), real processes: a throw-away PostgreSQL 15 cluster as in
# pg.sh, one coordinator on it and three parties over mTLS on 127.0.0.1.
#  - the pool fills a key to its target; the ledger holds exactly that many
#    'ready' rows; a sign takes one (presigned) and it is 'used' once;
#  - presignatures older than max_age are retired through the store: their
#    rows become 'used' (never handed out) and their files are deleted on
#    every party holding them; the pool makes new ones.
# Skips loudly when PostgreSQL 15 is not installed (make deps installs it).
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/cluster.sh"
. "$ROOT/tests/integration/pg_lib.sh"

pg_skip_unless_installed pool_pg.sh
cluster_need_binaries

PG_TLS=1 # as pg.sh starts it
pg_test_cluster tssd-pg

cluster_verifier # $VS, json_field, check_sig (cluster.sh)
stock() { "$CTL" --config op.yaml keys --key-id "$1" --json 2>/dev/null | grep -o '"presignatures":[0-9]*' | cut -d: -f2; }
stock_is() { [ "$(stock "$1")" = "$2" ]; }
ready_is() { [ "$(sql "SELECT count(*) FROM presigs WHERE key_id = '$1' AND state = 'ready'")" = "$2" ]; }

cluster_setup 3 5s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
sed -i 's/idle: 4s/idle: 20s/' coord.yaml
pg_passfile
{
    pg_storage coord-a 2s
    echo "pool:"
    echo "  interval: 200ms"
    echo "  keys:"
    echo "    - {key: kp, target: 3, low: 1}"
    echo "    - {key: kr, target: 2, low: 0, max_age: 4s, signers: [1, 3]}"
} >> coord.yaml
if cluster_start; then ok "coordinator on PostgreSQL with a pool: all parties connected"; else
    not_ok "coordinator on PostgreSQL with a pool: all parties connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi

expect_exit 0 "keygen kp" "$CTL" --config op.yaml keygen --key-id kp --threshold 2 --json
PUB=$(json_field "$OUT" publicKey)
if wait_until 20 stock_is kp 3; then ok "the pool fills kp to 3"; else not_ok "the pool fills kp to 3" "stock $(stock kp)"; fi
ready_is kp 3 && ok "the ledger holds 3 ready rows" || not_ok "the ledger holds 3 ready rows" "$(sql "SELECT state, count(*) FROM presigs WHERE key_id = 'kp' GROUP BY state")"
expect_exit 0 "sign with kp" "$CTL" --config op.yaml sign --key-id kp --message "pg pool" --json
expect_match "presigned" "$OUT" '"presigned":true'
check_sig "the signature verifies" "$OUT" "$PUB"
[ "$(sql "SELECT count(*) FROM presigs WHERE key_id = 'kp' AND state = 'used'")" = 1 ] \
    && ok "one row used" || not_ok "one row used" "$(sql "SELECT state, count(*) FROM presigs WHERE key_id = 'kp' GROUP BY state")"

expect_exit 0 "keygen kr (max_age 4s, signers 1,3)" "$CTL" --config op.yaml keygen --key-id kr --threshold 2 --json
PUBR=$(json_field "$OUT" publicKey)
if wait_until 20 ready_is kr 2; then ok "kr filled to 2 in the ledger"; else not_ok "kr filled to 2 in the ledger" "$(sql "SELECT state, count(*) FROM presigs WHERE key_id = 'kr' GROUP BY state")"; fi
first=$(sql "SELECT encode(id, 'hex') FROM presigs WHERE key_id = 'kr' ORDER BY seq LIMIT 2")
have_first() { for id in $first; do [ -f "pstate1/presig/kr/$id.presig" ] && [ -f "pstate3/presig/kr/$id.presig" ] || return 1; done; }
if wait_until 5 have_first; then ok "parties 1 and 3 hold kr's first two"; else
    not_ok "parties 1 and 3 hold kr's first two" "$first" "$(ls pstate1/presig/kr pstate3/presig/kr 2>&1)"; fi
used_first() { for id in $first; do [ "$(sql "SELECT state FROM presigs WHERE id = decode('$id', 'hex')")" = used ] || return 1; done; }
if wait_until 20 used_first; then ok "after max_age their rows are 'used' (retired through the store)"; else
    not_ok "after max_age their rows are 'used'" "$(sql "SELECT encode(id, 'hex'), state FROM presigs WHERE key_id = 'kr'")"; fi
gone() { for id in $first; do [ ! -e "pstate1/presig/kr/$id.presig" ] && [ ! -e "pstate3/presig/kr/$id.presig" ] || return 1; done; }
if wait_until 10 gone; then ok "and their files are gone on every party"; else
    not_ok "and their files are gone on every party" "$(ls pstate1/presig/kr pstate3/presig/kr)"; fi
grep -Eq 'key=kr: [0-9]+ presignature\(s\) older than pool max_age retired' coord.log \
    && ok "the coordinator logs the retirement" || not_ok "the coordinator logs the retirement" "$(grep kr coord.log | tail -3)"
newer() { [ "$(sql "SELECT count(*) FROM presigs WHERE key_id = 'kr' AND state = 'ready'")" -ge 1 ]; }
if wait_until 15 newer; then ok "the pool makes new ones"; else not_ok "the pool makes new ones" "$(sql "SELECT state, count(*) FROM presigs WHERE key_id = 'kr' GROUP BY state")"; fi
expect_exit 0 "sign with kr" "$CTL" --config op.yaml sign --key-id kr --message "after retire" --json
check_sig "kr signature verifies" "$OUT" "$PUBR"
for id in $first; do
    ! grep -q "presignature $id marked used" coord.log && ok "retired ${id:0:8} was never handed out" \
        || not_ok "retired ${id:0:8} was never handed out" "$(grep "$id" coord.log)"
done
finish
