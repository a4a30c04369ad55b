#!/usr/bin/env bash
# Two active coordinators on one PostgreSQL database serving one cluster
# (issue 18; docs/OPERATIONS.md "High availability"), real processes: a
# throw-away PostgreSQL 15 cluster (initdb in a temporary directory, run as
# "nobody" when this script runs as root, Unix socket only), coordinators A
# and B, three parties connected to both over mTLS (config `coordinators:`).
#  - every party is connected to both coordinators at once;
#  - a key made through A signs through B and one made through B through A;
#    a keygen through B of A's key id is refused;
#  - concurrent presigned and full signing through both (clients list both
#    addresses), a presign batch on B meanwhile; A killed with SIGKILL
#    mid-load and restarted: every request succeeds (the clients fail over to
#    B), every returned signature verifies, has exactly one audit row, no
#    presignature id is handed out twice (ledger, audit, every party's log),
#    no session id is used twice (database, party logs), and the parties
#    serve A again after its restart;
#  - keygen is not repeated on another coordinator when its coordinator dies
#    mid-request: the error says the outcome is unknown.
# Skips loudly when PostgreSQL 15 is not installed (make deps installs it).
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/cluster.sh"
. "$ROOT/tests/integration/pg_lib.sh"

pg_skip_unless_installed multicoord.sh
cluster_need_binaries

# ---- the database (tests/integration/pg_lib.sh, Unix socket only) ---------------------------
pg_test_cluster tssd-pg

cluster_verifier # $VS and check_sig (cluster.sh)
json_field() { local re="\"$2\":\"([^\"]*)\""; [[ $1 =~ $re ]] && echo "${BASH_REMATCH[1]}"; }

# ---- two coordinators, three parties connected to both ---------------------------------------
cluster_setup 3 5s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
sed -i 's/^operators:/operators:\n  - {name: gateway, identity: "urn:tssd:operator:gateway"}/' coord.yaml
echo "rate_limit: {operator_rate: 0}" >> coord.yaml
"$CTL" pki issue --ca ca --days 30 --identity urn:tssd:operator:gateway --out gwop >/dev/null 2>>pki.log
"$CTL" pki issue --ca ca --days 30 --identity urn:tssd:operator:web --out web --ip 127.0.0.1 >/dev/null 2>>pki.log
pg_passfile
PA=$PORT PB=$(free_port)
cp coord.yaml coordA.yaml; pg_storage coord-a 2s >> coordA.yaml
sed -e "s#listen: .*#listen: [127.0.0.1:$PB]#" -e "s#state_dir: .*#state_dir: $WORK/cstateB#" \
    coord.yaml > coordB.yaml; pg_storage coord-b 2s >> coordB.yaml
for i in 1 2 3; do
    sed -i "s#^coordinator: .*#coordinators: [{address: [127.0.0.1:$PA]}, {address: [127.0.0.1:$PB]}]#" party$i.yaml
done
mkop() { sed "s#^coordinator: .*#coordinator: {address: [$1]}#" op.yaml > "$2"; }
mkop "127.0.0.1:$PA" opA.yaml
mkop "127.0.0.1:$PB" opB.yaml
mkop "127.0.0.1:$PA, 127.0.0.1:$PB" opAB.yaml
mkop "127.0.0.1:$PB, 127.0.0.1:$PA" opBA.yaml

start_a() { "$BUILD/tss-coordinator" --config "$WORK/coordA.yaml" 2>>"$WORK/coordA.log" & CA=$!; PIDS+=("$CA"); }
start_b() { "$BUILD/tss-coordinator" --config "$WORK/coordB.yaml" 2>>"$WORK/coordB.log" & CB=$!; PIDS+=("$CB"); }
n_conn() { "$CTL" --config "$1" status --json 2>/dev/null | grep -o '"connected":true' | wc -l; }
both_connected() { [ "$(n_conn opA.yaml)" = 3 ] && [ "$(n_conn opB.yaml)" = 3 ]; }
start_a
wait_until 30 port_open "$PA" || true # A applies the schema migration first
start_b
wait_until 30 port_open "$PB" || true
for i in 1 2 3; do start_party "$i"; done
if wait_until 40 both_connected; then ok "every party is connected to both coordinators"; else
    not_ok "every party is connected to both coordinators" "A: $(n_conn opA.yaml) B: $(n_conn opB.yaml)" \
        "$(tail -n 5 party1.log coordA.log coordB.log)"; finish; exit 1; fi
grep -q 'connected to coordinator=.*(2 of 2)' party1.log && ok "party log names each coordinator" \
    || not_ok "party log names each coordinator" "$(grep connected party1.log)"

# ---- keys shared through the registry ----------------------------------------------------------
expect_exit 0 "keygen ka through A" "$CTL" --config opA.yaml keygen --key-id ka --threshold 2 --json
PUBA=$(json_field "$OUT" publicKey)
expect_exit 0 "keygen kb through B" "$CTL" --config opB.yaml keygen --key-id kb --threshold 2 --json
PUBB=$(json_field "$OUT" publicKey)
expect_exit 76 "keygen of A's key id through B is refused" "$CTL" --config opB.yaml keygen --key-id ka --threshold 2 --json
expect_exit 0 "A's key signs through B" "$CTL" --config opB.yaml sign --key-id ka --message "cross 1" --json
check_sig "... and verifies" "$OUT" "$PUBA"
expect_exit 0 "B's key signs through A" "$CTL" --config opA.yaml sign --key-id kb --message "cross 2" --json
check_sig "... and verifies" "$OUT" "$PUBB"
expect_exit 0 "presign 6 for ka through A" "$CTL" --config opA.yaml presign --key-id ka --count 6 --json
expect_exit 0 "presign 6 for kb through B" "$CTL" --config opB.yaml presign --key-id kb --count 6 --json
# B learns of presignatures recorded through A when it re-reads the ledger
# (about once a second): wait until it lists them, then sign through B.
b_sees_ka() { [ "$("$CTL" --config opB.yaml keys --key-id ka --json 2>/dev/null | grep -o '"presignatures":[0-9]*' | cut -d: -f2)" -ge 1 ] 2>/dev/null; }
wait_until 15 b_sees_ka || not_ok "B lists the presignatures A made" "$("$CTL" --config opB.yaml keys --key-id ka --json 2>&1)"
expect_exit 0 "B hands out a presignature A made" "$CTL" --config opB.yaml sign --key-id ka --message "cross 3" --json
expect_match "... presigned" "$OUT" '"presigned":true'
check_sig "... and verifies" "$OUT" "$PUBA"

# tss-gateway in front, listing A then B.
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
GP=$(free_port) PP=$(free_port)
cat > gw.yaml <<EOG
listen: [127.0.0.1:$GP]
plain_listen: [127.0.0.1:$PP]
tls: {cert: $WORK/web/cert.pem, key: $WORK/web/key.pem, ca: $WORK/ca/ca.pem}
coordinator:
  address: [127.0.0.1:$PA, 127.0.0.1:$PB]
  tls: {cert: $WORK/gwop/cert.pem, key: $WORK/gwop/key.pem, ca: $WORK/ca/ca.pem}
chain_id: 31337
clients:
  - {name: app, certificate: false, token_sha256: [$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)], keys: [kb], methods: ["*"]}
timeouts: {sign: 60s}
audit_dir: $WORK/gwaudit
log_level: info
EOG
"$BUILD/tss-gateway" --config gw.yaml 2>>gw.log & GW=$!; PIDS+=("$GW")
gw_sign() { curl -s -m 70 -H "Authorization: Bearer $TOKEN" -d "{\"data\":\"0x$1\"}" "http://127.0.0.1:$PP/api/v1/eth1/sign/kb"; }
gw_ready() { [[ $(gw_sign 00) =~ ^0x[0-9a-f]{130}$ ]]; }
if wait_until 20 gw_ready; then ok "tss-gateway signs through A"; else
    not_ok "tss-gateway signs through A" "$(gw_sign 00)" "$(tail -n 5 gw.log)"; fi

# ---- load on both, A killed mid-load and restarted ---------------------------------------------------
: > signs.out
load() { # NAME OPCONFIG KEY COUNT [--no-presign]
    local i
    for i in $(seq 1 "$4"); do
        "$CTL" --config "$2" sign --key-id "$3" --message "load $1 $i" --json ${5:-} >>"signs.$1" 2>>signs.err </dev/null
        echo "exit=$? key=$3" >>"signs.$1"
    done
}
LOADS=()
load a opAB.yaml ka 5 & LOADS+=("$!"); PIDS+=("$!")
load b opBA.yaml kb 5 & LOADS+=("$!"); PIDS+=("$!")
load c opAB.yaml kb 3 --no-presign & LOADS+=("$!"); PIDS+=("$!")
load d opBA.yaml ka 3 --no-presign & LOADS+=("$!"); PIDS+=("$!")
"$CTL" --config opB.yaml presign --key-id ka --count 3 --json >presign.out 2>&1 </dev/null & PRE=$!; PIDS+=("$PRE")
: > gw.out
gw_load() { local i; for i in $(seq 1 40); do [ -f gw.stop ] && break; echo "$(gw_sign "$(printf '%04x' "$i")")" >>gw.out; done; }
gw_load & GWL=$!; PIDS+=("$GWL")
done_sigs() { cat signs.? 2>/dev/null | grep -c '"verified":true'; }
wait_until 60 bash -c "[ \$(cat signs.? 2>/dev/null | grep -c '\"verified\":true') -ge 3 ]"
kill -KILL "$CA" 2>/dev/null && ok "coordinator A killed (SIGKILL) mid-load after $(done_sigs) signature(s)" \
    || not_ok "coordinator A killed mid-load" "not running"
wait "$CA" 2>/dev/null
expect_exit 74 "status --all while A is down" "$CTL" --config opAB.yaml status --all --json
expect_match "... A's line: not answering" "$OUT" "^\\{\"coordinator\":\"127.0.0.1:$PA\",\"status\":null,\"error\":"
expect_match "... B's line: its view, parties connected" "$OUT" "^\\{\"coordinator\":\"127.0.0.1:$PB\",\"status\":\\{.*\"connected\":true"
MA=$(lines coordA.log)
start_a
expect_log "coordinator A restarted on the database" coordA.log "$MA" 'storage: postgresql' 15
for p in "${LOADS[@]}" "$PRE"; do wait "$p" 2>/dev/null; done
touch gw.stop; wait "$GWL" 2>/dev/null
N_GW=$(grep -c . gw.out); N_GWOK=$(grep -cE '^0x[0-9a-f]{128}(1b|1c)$' gw.out)
[ "$N_GW" -ge 2 ] && [ "$N_GW" = "$N_GWOK" ] && ok "tss-gateway: all $N_GW signatures across the kill returned" \
    || not_ok "tss-gateway: every signature across the kill returned" "$N_GWOK of $N_GW" "$(grep -vE '^0x' gw.out | head -3)" "$(tail -n 8 gw.log)"
grep -q "connected to coordinator=127.0.0.1:$PB" gw.log && ok "tss-gateway failed over to B" \
    || not_ok "tss-gateway failed over to B" "$(tail -n 8 gw.log)"
cat signs.a signs.b signs.c signs.d > signs.out
N_REQ=$(grep -c '^exit=' signs.out)
N_FAIL=$(grep '^exit=' signs.out | grep -vc '^exit=0 ')
[ "$N_REQ" = 16 ] && [ "$N_FAIL" = 0 ] && ok "all $N_REQ signing requests succeeded across the kill" \
    || not_ok "all signing requests succeeded across the kill" "$N_REQ requests, $N_FAIL failed" "$(tail -n 20 signs.err)"
grep -q 'failed mid-request.*retrying on the next coordinator\|trying the next one' signs.err \
    && ok "a client failed over to the other coordinator" \
    || not_ok "a client failed over to the other coordinator" "$(tail -n 10 signs.err)"
if wait_until 30 both_connected; then ok "the parties serve the restarted coordinator again"; else
    not_ok "the parties serve the restarted coordinator again" "A: $(n_conn opA.yaml)" "$(tail -n 5 coordA.log)"; fi
expect_exit 0 "the restarted A signs B's key" "$CTL" --config opA.yaml sign --key-id kb --message "after restart" --json
check_sig "... and verifies" "$OUT" "$PUBB"
echo "$OUT" >> signs.out

# Every returned signature: verifies under its key, exactly one audit row.
# One query: the session of every ok sign audit row, with its row count.
sql "SELECT substring(body from '\"session\":\"([0-9a-f]+)\"') AS s, count(*) FROM audit WHERE body LIKE '%\"request\":\"sign\"%' AND body LIKE '%\"outcome\":\"ok\"%' GROUP BY s" > audit_sessions
audit_rows() { local n; n=$(grep "^$1|" audit_sessions | cut -d'|' -f2); echo "${n:-0}"; }
n_ok=0 bad=0 prev=
while IFS= read -r line; do
    case $line in
    *'"verified":true'*) prev=$line; continue ;;
    exit=0\ key=*) [ -n "$prev" ] || continue; key=${line#*key=} ;;
    *) prev=; continue ;;
    esac
    n_ok=$((n_ok + 1))
    pub=$PUBA; [ "$key" = kb ] && pub=$PUBB
    sid=$(json_field "$prev" session)
    rows=$(audit_rows "$sid")
    [ "$rows" = 1 ] || { bad=$((bad + 1)); echo "    session $sid: $rows audit rows"; }
    eth=$(json_field "$prev" ethereum); digest=$(json_field "$prev" digest)
    "$VS" "$pub" "$digest" "$eth" >/dev/null 2>&1 || { bad=$((bad + 1)); echo "    session $sid: does not verify under $key"; }
    prev=
done < signs.out
[ "$n_ok" = 16 ] && [ "$bad" = 0 ] && ok "$n_ok signatures returned under load: each verifies and has exactly one audit row" \
    || not_ok "every returned signature verifies and has one audit row" "$n_ok checked, $bad bad"

# No presignature handed out twice: the ledger, the audit rows, each party's log.
DUPDB=$(sql "SELECT encode(id,'hex') FROM presigs GROUP BY id HAVING count(*) > 1")
[ -z "$DUPDB" ] && ok "ledger: every presignature id recorded once" || not_ok "ledger: every presignature id recorded once" "$DUPDB"
DUPAUD=$(sql "SELECT substring(body from '\"presignId\":\"([0-9a-f]+)\"') AS p FROM audit WHERE body LIKE '%\"presignId\"%' GROUP BY p HAVING count(*) > 1")
N_AUD=$(sql "SELECT count(*) FROM audit WHERE body LIKE '%\"presignId\"%'")
[ -z "$DUPAUD" ] && [ "$N_AUD" -ge 1 ] && ok "audit: $N_AUD presigned signatures, no presignature id twice" \
    || not_ok "audit: no presignature id twice" "dup: $DUPAUD, rows: $N_AUD"
NOTUSED=$(sql "SELECT count(*) FROM audit a WHERE body LIKE '%\"presignId\"%' AND NOT EXISTS (SELECT 1 FROM presigs p WHERE encode(p.id,'hex') = substring(a.body from '\"presignId\":\"([0-9a-f]+)\"') AND p.state = 'used')")
[ "$NOTUSED" = 0 ] && ok "audit: every presignature used is 'used' in the ledger" \
    || not_ok "audit: every presignature used is 'used' in the ledger" "$NOTUSED not"
for i in 1 2 3; do
    d=$(grep -o 'presign_id=[0-9a-f]*' "party$i.log" | sort | uniq -d | head -3)
    n=$(grep -c 'presign_id=' "party$i.log")
    [ -z "$d" ] && ok "party $i: $n presigned session(s), no presignature id asked for twice" \
        || not_ok "party $i: no presignature id asked for twice" "$d"
    d=$(grep -o 'session=[0-9a-f]* kind=[a-z_-]* key=[^ ]* path=[^ ]* parties' "party$i.log" | cut -d' ' -f1 | sort | uniq -d | head -3)
    [ -z "$d" ] && ok "party $i: no session id started twice" || not_ok "party $i: no session id started twice" "$d"
    grep -q 'refused.*session id' "party$i.log" && not_ok "party $i: no session id refused as reused" "$(grep 'refused.*session id' "party$i.log" | head -3)" \
        || ok "party $i: no session id refused as reused"
done
BOTH=$(grep -h -o 'coordinator=127.0.0.1:[0-9]*: starting' party1.log | sort -u | wc -l)
[ "$BOTH" = 2 ] && ok "party 1 ran sessions of both coordinators" || not_ok "party 1 ran sessions of both coordinators" "$BOTH"
USEDBY=$(sql "SELECT count(DISTINCT used_by) FROM presigs WHERE state = 'used'")
[ "$USEDBY" = 2 ] && ok "ledger: presignatures claimed by both coordinators" \
    || not_ok "ledger: presignatures claimed by both coordinators" "$(sql "SELECT used_by, count(*) FROM presigs GROUP BY used_by")"

# ---- a coordinator without a quorum refuses before starting: the client moves on ----------------
PC=$(free_port)
sed -e "s#listen: .*#listen: [127.0.0.1:$PC]#" -e "s#state_dir: .*#state_dir: $WORK/cstateC#" \
    -e "s#name: coord-b#name: coord-c#" coordB.yaml > coordC.yaml
"$BUILD/tss-coordinator" --config "$WORK/coordC.yaml" 2>>"$WORK/coordC.log" & CC=$!; PIDS+=("$CC")
wait_until 30 port_open "$PC" || true
mkop "127.0.0.1:$PC, 127.0.0.1:$PB" opCB.yaml
expect_exit 0 "C (no party connected) refuses, the client signs through B" "$CTL" --config opCB.yaml sign --key-id ka --message "via C then B" --json
expect_match "... saying why it moved on" "$ERR" "coordinator 127.0.0.1:$PC refused before starting"
check_sig "... and the signature verifies" "$OUT" "$PUBA"
stop_pid "$CC"

# ---- keygen is not repeated on another coordinator -------------------------------------------------
# The parties stopped: A takes the keygen and never answers within the
# client's 2 s; the client must not run it again on B.
sed -e 's/request: 60s/request: 2s/' opAB.yaml > opAB_short.yaml
for i in 1 2 3; do v=P$i; kill -STOP "${!v}"; done
expect_exit 74 "keygen whose coordinator went silent mid-request fails" "$CTL" --config opAB_short.yaml keygen --key-id kc --threshold 2 --json
expect_match "... saying the outcome is unknown and it was not retried" "$ERR" 'outcome is unknown and keygen is not retried'
for i in 1 2 3; do v=P$i; kill -CONT "${!v}"; done
[ "$(sql "SELECT count(*) FROM keys WHERE key_id = 'kc' AND created_by = 'coord-b'")" = 0 ] \
    && ok "... and B never ran it" || not_ok "... and B never ran it" "$(sql "SELECT key_id, created_by FROM keys")"

finish
