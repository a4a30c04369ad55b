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

PGBIN=${TSS_PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ] || ! command -v psql >/dev/null; then
    echo "SKIP pool_pg.sh: PostgreSQL 15 server not installed ($PGBIN/initdb); run make deps"
    finish; exit 0
fi
for b in tss-coordinator tss-party tssctl tss-keystore; do
    if [ ! -x "$BUILD/$b" ]; then not_ok "binary $b built" "missing $BUILD/$b"; finish; exit 1; fi
done

# The database lives outside $WORK (0700, root's): the server runs as nobody.
PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/tssd-pg-XXXXXX")
chmod 755 "$PGDIR"
AS=()
if [ "$(id -u)" = 0 ]; then AS=(runuser -u nobody --); chown nobody "$PGDIR"; fi
PGPORT=$(free_port)
# TLS for the 127.0.0.1 listener: a CA and a server certificate for
# 127.0.0.1 made with tssctl pki (the key readable by the server user only).
"$BUILD/tssctl" pki init-ca --out "$PGDIR/dbca" --days 30 >/dev/null 2>&1
"$BUILD/tssctl" pki issue --ca "$PGDIR/dbca" --identity urn:tssd:coordinator --out "$PGDIR/dbtls" \
    --ip 127.0.0.1 --days 30 >/dev/null 2>&1
"$BUILD/tssctl" pki init-ca --out "$PGDIR/otherca" --days 30 >/dev/null 2>&1
chmod 600 "$PGDIR/dbtls/key.pem"
[ "$(id -u)" = 0 ] && chown -R nobody "$PGDIR/dbtls"
chmod 755 "$PGDIR/dbtls"
pg_stop() { "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m "${1:-fast}" -w -t 20 stop >/dev/null 2>&1; }
pg_start() {
    "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 30 \
        -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$PGDIR/dbtls/cert.pem -c ssl_key_file=$PGDIR/dbtls/key.pem" \
        start >/dev/null 2>&1
}
cleanup() { pg_stop immediate; cluster_cleanup; rm -rf "$PGDIR"; }
trap cleanup EXIT

PGPW=pg-test-$RANDOM$RANDOM
printf '%s\n' "$PGPW" > "$PGDIR/pw"; chmod 644 "$PGDIR/pw"
if "${AS[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U tssd --pwfile="$PGDIR/pw" --auth=scram-sha-256 \
        -E UTF8 --no-sync >"$PGDIR/initdb.log" 2>&1 && pg_start; then
    ok "throw-away PostgreSQL 15 cluster started (socket $PGDIR, port $PGPORT)"
else
    not_ok "throw-away PostgreSQL 15 cluster started" "$(tail -n 20 "$PGDIR"/*.log)"; finish; exit 1
fi
rm -f "$PGDIR/pw"
export PGPASSWORD=$PGPW # for this script's psql only; the coordinator reads a 0600 file
sql() { psql -h "$PGDIR" -p "$PGPORT" -U tssd -d "${DB:-tssd}" -Atqc "$1" 2>&1; }
DB=postgres sql "CREATE DATABASE tssd" >/dev/null

VS=$WORK/verify_sig
gcc -O1 -o "$VS" "$ROOT/tests/integration/verify_sig.c" -lsecp256k1 2>"$WORK/vs.err" \
    || not_ok "build the independent verifier" "$(cat "$WORK/vs.err")"
json_field() { printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
check_sig() {
    local eth digest out
    eth=$(json_field "$2" ethereum); digest=$(json_field "$2" digest)
    if [ -n "$eth" ] && out=$("$VS" "$3" "$digest" "$eth" 2>&1); then ok "$1"; else
        not_ok "$1" "verify_sig: ${out:-no signature}" "$2"; fi
}
stock() { "$CTL" --config op.yaml keys --key-id "$1" --json 2>/dev/null | grep -o '"presignatures":[0-9]*' | cut -d: -f2; }
stock_is() { [ "$(stock "$1")" = "$2" ]; }
ready_is() { [ "$(sql "SELECT count(*) FROM presigs WHERE key_id = '$1' AND state = 'ready'")" = "$2" ]; }

cluster_setup 3 5s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
sed -i 's/idle: 4s/idle: 20s/' coord.yaml
printf '%s\n' "$PGPW" > pgpass; chmod 600 pgpass
{
    echo "storage: {backend: postgresql, conninfo: \"host=$PGDIR port=$PGPORT dbname=tssd user=tssd\", password: {file: $WORK/pgpass}, name: coord-a, timeout: 2s}"
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
