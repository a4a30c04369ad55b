#!/usr/bin/env bash
# The coordinator on PostgreSQL (issue 18; docs/STORAGE.md), real processes:
# a throw-away PostgreSQL 15 cluster (initdb in a temporary directory, run as
# "nobody" when this script runs as root, Unix socket, password auth),
# one coordinator and three parties over mTLS on 127.0.0.1 (the database
# also listens on 127.0.0.1 with TLS for the verify-full checks).
#  - a file-store coordinator makes a key, presignatures and signs; then
#    `tss-coordinator --migrate-storage` copies keys, ready and used
#    presignatures and the audit history into the database, and the
#    coordinator on the database signs with the migrated key (never with a
#    used presignature);
#  - keygen, presign, presigned and full signing on the database: every
#    returned signature verifies and has exactly one audit row (by session);
#    every presignature handed out is 'used' once in the ledger;
#  - fail closed: a signature whose audit row the database refuses is not
#    released (the operator gets the reason; the withholding is audited);
#  - the database stopped mid-load: requests fail with the clear "storage
#    unavailable" error, no signature leaves without its audit row, and the
#    service resumes without a restart when the database returns;
#  - a second coordinator on the same database knows a key made through
#    the first (read through) and refuses a second keygen of its id;
#  - sslmode=verify-full to the database's 127.0.0.1 listener works with the
#    right CA and is refused with another;
#  - a database whose schema is newer than the binary is refused; a
#    password file readable by others is refused.
# Skips loudly when PostgreSQL 15 is not installed (make deps installs it).
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/cluster.sh"
. "$ROOT/tests/integration/pg_lib.sh"

# The coordinator under ASan+UBSan when built (make check builds it), as in
# faults.sh: a memory error in the storage code is a test failure.
COORDBIN=$BUILD/tss-coordinator
[ -x "$BUILD/asan/tss-coordinator" ] && COORDBIN=$BUILD/asan/tss-coordinator
start_coord() {
    "$COORDBIN" --config "$WORK/coord.yaml" 2>>"$WORK/coord.log" &
    COORD=$!; PIDS+=("$COORD")
}
pg_skip_unless_installed pg.sh
cluster_need_binaries

PG_TLS=1 # the database also listens on 127.0.0.1 with TLS (verify-full checks)
pg_test_cluster tssd-pg
DB=postgres sql "CREATE DATABASE newer" >/dev/null

cluster_verifier # $VS, json_field, check_sig (cluster.sh)
# audit_rows SESSION: audit rows of an ok sign in that session.
audit_rows() { sql "SELECT count(*) FROM audit WHERE body LIKE '%\"request\":\"sign\"%' AND body LIKE '%\"outcome\":\"ok\"%' AND body LIKE '%\"session\":\"$1\"%'"; }

cluster_setup 3 3s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
pg_passfile
STORAGE=$(pg_storage coord-a 2s)

# ---- 1. file store, then --migrate-storage ----------------------------------------------------
if cluster_start; then ok "file store: all parties connected"; else
    not_ok "file store: all parties connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi
expect_exit 0 "file store: keygen kf" "$CTL" --config op.yaml keygen --key-id kf --threshold 2 --json
PUBF=$(json_field "$OUT" publicKey)
expect_exit 0 "file store: presign 3" "$CTL" --config op.yaml presign --key-id kf --count 3 --signers 1,2 --json
expect_exit 0 "file store: sign (presigned)" "$CTL" --config op.yaml sign --key-id kf --message "before" --json
expect_match "file store: presigned" "$OUT" '"presigned":true'
USED_F=$(grep '^- ' cstate/presig/kf.log | cut -d' ' -f2)
stop_pid "$COORD"
AUDIT_LINES=$(cat cstate/audit/audit-*.log | wc -l)
echo "$STORAGE" >> coord.yaml
expect_exit 0 "tss-coordinator --migrate-storage" "$COORDBIN" --config coord.yaml --migrate-storage
expect_match "migration counts" "$OUT" "^migrated 1 key\(s\), 2 ready \+ 1 used presignature\(s\), $AUDIT_LINES audit record\(s\)$"
[ "$(sql "SELECT max(version) FROM schema_version")" = 1 ] && ok "schema_version is 1" \
    || not_ok "schema_version is 1" "$(sql "SELECT * FROM schema_version")"
[ "$(sql "SELECT state FROM presigs WHERE id = decode('$USED_F', 'hex')")" = used ] \
    && ok "the presignature used on files is 'used' in the database" \
    || not_ok "the presignature used on files is 'used' in the database" "$(sql "SELECT encode(id,'hex'), state FROM presigs")"
[ "$(sql "SELECT count(*) FROM audit WHERE source LIKE 'audit/%' AND chain_hash ~ '^[0-9a-f]{64}\$'")" = "$AUDIT_LINES" ] \
    && ok "audit history imported with its chain hashes" \
    || not_ok "audit history imported with its chain hashes" "$(sql "SELECT source, chain_hash FROM audit")"
expect_exit 0 "--migrate-storage again is idempotent" "$COORDBIN" --config coord.yaml --migrate-storage
[ "$(sql "SELECT count(*) FROM presigs WHERE state = 'ready'")" = 2 ] && ok "no used presignature made ready by a second run" \
    || not_ok "no used presignature made ready by a second run" "$(sql "SELECT encode(id,'hex'), state FROM presigs")"

# ---- 2. the coordinator on PostgreSQL ---------------------------------------------------------------
M=$(lines coord.log)
start_coord
expect_log "coordinator started on postgresql" coord.log "$M" 'storage: postgresql \(schema version 1\)' 15
alive "$COORD" || { not_ok "coordinator on postgresql running" "$(tail -n 20 coord.log)"; finish; exit 1; }
wait_until 20 connected_is 3 && ok "parties reconnected" || not_ok "parties reconnected" "$(tail -n 20 coord.log)"
for k in 1 2; do
    expect_exit 0 "migrated key signs ($k)" "$CTL" --config op.yaml sign --key-id kf --message "after $k" --json
    expect_match "migrated key: presigned ($k)" "$OUT" '"presigned":true'
    check_sig "migrated key: verifies ($k)" "$OUT" "$PUBF"
done
expect_exit 0 "stock exhausted: signs in full" "$CTL" --config op.yaml sign --key-id kf --message "after 3" --json
expect_match "full signing" "$OUT" '"presigned":false'
[ "$(sql "SELECT count(*) FROM presigs WHERE key_id = 'kf' AND state = 'ready'")" = 0 ] \
    && ok "ledger: every migrated presignature used once" || not_ok "ledger: every migrated presignature used once" "$(sql "SELECT encode(id,'hex'), state, used_by FROM presigs")"
[ "$(sql "SELECT count(*) FROM presigs WHERE key_id = 'kf' AND used_by = 'coord-a'")" = 2 ] \
    && ok "ledger: claims name the coordinator" || not_ok "ledger: claims name the coordinator" "$(sql "SELECT * FROM presigs")"

# A second coordinator on the same database, started before kp exists (no
# parties: they follow one coordinator here). It must know kp from the
# database when asked, not say "no key".
PORTB=$(free_port)
sed -e "s#state_dir: .*#state_dir: $WORK/cbstate#" -e "s#listen: .*#listen: [127.0.0.1:$PORTB]#" \
    -e "s#name: coord-a#name: coord-b#" coord.yaml > coordb.yaml
sed -e "s#127.0.0.1:$PORT#127.0.0.1:$PORTB#" op.yaml > opb.yaml
"$COORDBIN" --config "$WORK/coordb.yaml" 2>>"$WORK/coordb.log" & COORDB=$!; PIDS+=("$COORDB")
wait_until 15 port_open "$PORTB" && ok "second coordinator on the same database" \
    || not_ok "second coordinator on the same database" "$(tail -n 10 coordb.log)"
expect_exit 0 "keygen kp on the database" "$CTL" --config op.yaml keygen --key-id kp --threshold 2 --json
PUB=$(json_field "$OUT" publicKey)
[ "$(sql "SELECT count(*) FROM keys WHERE key_id = 'kp' AND created_by = 'coord-a'")" = 1 ] \
    && ok "key row written" || not_ok "key row written" "$(sql "SELECT key_id, created_by FROM keys")"
expect_exit 76 "keygen of an existing id is refused" "$CTL" --config op.yaml keygen --key-id kp --threshold 2 --json
expect_exit 0 "keys through the second coordinator" "$CTL" --config opb.yaml keys --json
expect_match "... lists kp, made through the first" "$OUT" '"keyId":"kp"'
expect_exit 76 "kp through the second coordinator" "$CTL" --config opb.yaml sign --key-id kp --message b --json
expect_match "... is known there (read from the database), only its parties are missing" "$OUT" 'fewer than 2 parties of key kp are connected'
expect_exit 76 "keygen of kp through the second coordinator is refused" "$CTL" --config opb.yaml keygen --key-id kp --threshold 2 --json
expect_match "... as existing" "$OUT" 'key kp already exists'
stop_pid "$COORDB" && ok "second coordinator stopped" || not_ok "second coordinator stopped"
expect_exit 0 "presign 6 on the database" "$CTL" --config op.yaml presign --key-id kp --count 6 --json
[ "$(sql "SELECT count(*) FROM presigs WHERE key_id = 'kp' AND state = 'ready'")" = 6 ] \
    && ok "six ready rows" || not_ok "six ready rows" "$(sql "SELECT * FROM presigs WHERE key_id = 'kp'")"

# ---- fail closed: an audit row that cannot be committed withholds the signature ------------------
# A constraint makes the database refuse exactly the audit row of one digest
# (every other statement of that request succeeds).
POISON=eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee
sql "ALTER TABLE audit ADD CONSTRAINT test_poison CHECK (body NOT LIKE '%\"digest\":\"$POISON\"%\"outcome\":\"ok\"%')" >/dev/null
expect_exit 76 "sign whose audit row is refused" "$CTL" --config op.yaml sign --key-id kp --digest "$POISON" --no-presign --json
expect_match "... is not released, naming why" "$OUT" 'signature not released: its audit record is not committed'
if printf '%s' "$OUT$ERR" | grep -q '"ethereum"\|"r":"'; then not_ok "... and no signature leaves" "$OUT"; else ok "... and no signature leaves"; fi
[ "$(sql "SELECT count(*) FROM audit WHERE body LIKE '%$POISON%\"outcome\":\"withheld\"%'")" = 1 ] \
    && ok "... the withholding is audited" || not_ok "... the withholding is audited" "$(sql "SELECT body FROM audit ORDER BY seq DESC LIMIT 3")"
sql "ALTER TABLE audit DROP CONSTRAINT test_poison" >/dev/null
expect_exit 0 "the same digest signs once the row can be committed" "$CTL" --config op.yaml sign --key-id kp --digest "$POISON" --no-presign --json
check_sig "... and verifies" "$OUT" "$PUB"

# ---- 3. load, and the database stopped mid-load ----------------------------------------------------
: > signs.out
load() {
    local i
    for i in $(seq 1 "$1"); do
        "$CTL" --config op.yaml sign --key-id kp --message "load $2 $i" --json >>signs.out 2>>signs.err </dev/null
        echo "exit=$?" >>signs.out
    done
}
load 4 a & LOADA=$!; PIDS+=("$LOADA")
load 4 b & LOADB=$!; PIDS+=("$LOADB")
wait_until 60 bash -c "[ \$(grep -c '\"verified\":true' signs.out) -ge 2 ]"
M=$(lines coord.log)
pg_stop fast && ok "database stopped mid-load" || not_ok "database stopped mid-load" "$(tail -5 "$PGDIR/server.log")"
expect_exit 76 "sign while the database is down fails" "$CTL" --config op.yaml sign --key-id kp --message "down" --json
expect_match "... with the clear error" "$OUT$ERR" 'coordinator storage unavailable'
expect_exit 76 "keygen while the database is down fails" "$CTL" --config op.yaml keygen --key-id kq --threshold 2 --json
expect_match "... with the clear error" "$OUT$ERR" 'coordinator storage unavailable'
alive "$COORD" && ok "coordinator still running" || not_ok "coordinator still running" "$(tail -n 20 coord.log)"
wait "$LOADA" "$LOADB" 2>/dev/null
pg_start && ok "database restarted" || not_ok "database restarted" "$(tail -5 "$PGDIR/server.log")"
resumed() { "$CTL" --config op.yaml sign --key-id kp --message "resumed" --json >resumed.out 2>&1; }
if wait_until 15 resumed; then ok "service resumes without a restart"; else
    not_ok "service resumes without a restart" "$(cat resumed.out)" "$(tail -n 10 coord.log)"; fi
expect_log "reconnect logged" coord.log "$M" 'database connection restored' 5
cat resumed.out >> signs.out

# Every signature returned verifies and has exactly one audit row.
n_ok=0 bad=0
while IFS= read -r line; do
    case $line in *'"verified":true'*) ;; *) continue ;; esac
    n_ok=$((n_ok + 1))
    sid=$(json_field "$line" session)
    [ "$(audit_rows "$sid")" = 1 ] || { bad=$((bad + 1)); echo "    session $sid: $(audit_rows "$sid") audit rows"; }
    check_sig "load signature $n_ok verifies" "$line" "$PUB" >/dev/null || bad=$((bad + 1))
done < signs.out
[ "$n_ok" -ge 3 ] && [ "$bad" = 0 ] && ok "$n_ok signatures returned: each verifies and has exactly one audit row" \
    || not_ok "signatures returned have one audit row each" "$n_ok ok, $bad bad" "$(cat signs.out signs.err | tail -20)"
ROWS=$(sql "SELECT count(*) FROM audit WHERE coordinator = 'coord-a' AND body LIKE '%\"request\":\"sign\",\"key\":\"kp\"%' AND body LIKE '%\"outcome\":\"ok\"%' AND body NOT LIKE '%$POISON%'")
[ "$ROWS" = "$n_ok" ] && ok "audit rows of ok signs = signatures returned ($ROWS)" \
    || not_ok "audit rows of ok signs = signatures returned" "rows $ROWS, returned $n_ok"
PRE=$(grep -c '"presigned":true' signs.out)
USED=$(sql "SELECT count(*) FROM presigs WHERE key_id = 'kp' AND state = 'used'")
[ "$USED" -ge "$PRE" ] && [ "$(sql "SELECT count(*) FROM presigs WHERE key_id = 'kp'")" = 6 ] \
    && ok "ledger: $PRE presigned signatures, $USED ids used, no row added or lost" \
    || not_ok "ledger consistent" "presigned $PRE used $USED" "$(sql "SELECT encode(id,'hex'), state FROM presigs WHERE key_id = 'kp'")"
HANDED=$(grep -o 'presignature [0-9a-f]\{64\} marked used' coord.log | sort)
DUP=$(printf '%s\n' "$HANDED" | uniq -d | head -3)
[ -n "$HANDED" ] && [ -z "$DUP" ] && ok "no presignature id handed out twice ($(printf '%s\n' "$HANDED" | wc -l) handed out)" \
    || not_ok "no presignature id handed out twice" "${DUP:-none handed out}"

# ---- 4. refused starts ----------------------------------------------------------------------------
DB=newer sql "CREATE TABLE schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL); INSERT INTO schema_version VALUES (2, now(), 'future')" >/dev/null
sed -e "s#dbname=tssd#dbname=newer#" -e "s#state_dir: .*#state_dir: $WORK/c2state#" -e "s#listen: .*#listen: [127.0.0.1:$(free_port)]#" coord.yaml > newer.yaml
expect_exit 65 "a newer schema is refused" timeout 20 "$COORDBIN" --config newer.yaml
expect_match "... naming the versions" "$ERR" 'schema is version 2, newer than this tss-coordinator knows \(1\)'
# TLS to the database: sslmode=verify-full against the right CA works (and
# the server sees an SSL connection); against another CA the start fails
# naming the certificate problem.
TLSCONN="host=127.0.0.1 port=$PGPORT dbname=tssd user=tssd sslmode=verify-full sslrootcert=$PGDIR/dbca/ca.pem"
sed -e "s#state_dir: .*#state_dir: $WORK/c4state#" -e "s#listen: .*#listen: [127.0.0.1:$(free_port)]#" \
    -e "s#conninfo: \"[^\"]*\"#conninfo: \"$TLSCONN\"#" -e "s#name: coord-a#name: coord-tls#" coord.yaml > tls.yaml
"$COORDBIN" --config "$WORK/tls.yaml" 2>>"$WORK/coordtls.log" & CT=$!; PIDS+=("$CT")
M=0
expect_log "sslmode=verify-full: the coordinator starts on TLS" coordtls.log "$M" 'storage: postgresql \(schema version 1\) as coordinator coord-tls' 20
[ "$(sql "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'tss-coordinator' AND a.client_addr IS NOT NULL")" = t ] \
    && ok "... and the database sees its connection as SSL" \
    || not_ok "... and the database sees its connection as SSL" "$(sql "SELECT a.client_addr, s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)")"
stop_pid "$CT"
sed -e "s#$PGDIR/dbca/ca.pem#$PGDIR/otherca/ca.pem#" -e "s#c4state#c5state#" tls.yaml > tlsbad.yaml
expect_exit 74 "sslmode=verify-full against another CA is refused" timeout 20 "$COORDBIN" --config tlsbad.yaml
expect_match "... naming the certificate problem" "$ERR" 'coordinator storage unavailable: cannot connect to the database: .*certificate verify failed'

chmod 644 pgpass
sed -e "s#state_dir: .*#state_dir: $WORK/c3state#" -e "s#listen: .*#listen: [127.0.0.1:$(free_port)]#" coord.yaml > loose.yaml
expect_exit 77 "a password file readable by others is refused" timeout 20 "$COORDBIN" --config loose.yaml
expect_match "... naming the fix" "$ERR" 'chmod 600'
expect_exit 78 "--check catches it too (before a reload)" "$COORDBIN" --config loose.yaml --check
expect_match "... naming the fix" "$ERR" 'storage.password: .*chmod 600'
chmod 600 pgpass
# Issue 17: a retirement is recorded in the keys row (the parties here keep
# their shares: allow_retire is off, so the answer is PENDING, exit 75).
expect_exit 75 "retire kp on the database" "$CTL" --config op.yaml retire --key-id kp --yes
expect_match "... parties refuse (allow_retire off)" "$OUT$ERR" 'refused: allow_retire is off'
[ "$(sql "SELECT keyfile LIKE '%\"retiredMs\": %' FROM keys WHERE key_id = 'kp'")" = t ] \
    && ok "... the keys row records it" || not_ok "... the keys row records it" "$(sql "SELECT keyfile FROM keys WHERE key_id = 'kp'")"
expect_exit 76 "... and kp no longer signs" "$CTL" --config op.yaml sign --key-id kp --message retired --json
stop_pid "$COORD" && ok "graceful stop on the database" || not_ok "graceful stop on the database" "$(tail -n 5 coord.log)"
wait "$COORD"; rc=$?
[ "$rc" = 0 ] && ok "... exit 0" || not_ok "... exit 0" "exit $rc" "$(tail -n 5 coord.log)"
grep -q "$PGPW" coord.log && not_ok "the password never appears in the log" || ok "the password never appears in the log"

if cat "$WORK"/coord*.log | grep -q 'AddressSanitizer\|runtime error:\|LeakSanitizer'; then
    not_ok "no sanitizer report in the coordinators' logs" "$(cat "$WORK"/coord*.log | grep -A5 'Sanitizer\|runtime error' | head -20)"
else ok "no sanitizer report in the coordinators' logs (${COORDBIN#$BUILD/})"; fi

finish
