# Sourced helper (not a test): a throw-away PostgreSQL 15 cluster for the
# tests and benches on the coordinator's PostgreSQL storage (pg.sh,
# pool_pg.sh, multicoord.sh, bench/pg.sh, bench/multicoord.sh). initdb in a
# temporary directory outside $WORK (0700, root's: the server runs as
# "nobody" when the caller is root), role tssd with a random password
# (scram-sha-256), Unix socket in that directory; with PG_TLS=1 also a TLS
# listener on 127.0.0.1 for sslmode=verify-full checks.
# Needs free_port (tests/integration/lib.sh or the caller's own); PG_TLS=1
# needs $BUILD/tssctl.
#
#   pg_installed [psql]      0 when the server binaries (and psql) exist
#   pg_skip_unless_installed NAME   a test's loud SKIP (exit 0) without them
#   pg_init PREFIX           PGDIR (mktemp PREFIX-XXXXXX), AS, PGPORT, PGPW;
#                            with PG_TLS=1 $PGDIR/dbca, dbtls, otherca
#   pg_create                initdb and start; 1 on failure ($PGDIR/*.log)
#   pg_start, pg_stop [MODE] the server (pg_stop's default mode: fast)
#   pg_cleanup [CMD...]      for the EXIT trap: stop (immediate), run CMD,
#                            remove $PGDIR
#   sql QUERY                psql as tssd on ${DB:-tssd}, -Atq, errors inline
#   pg_passfile              $WORK/pgpass (0600) holding the password
#   pg_storage NAME [TIMEOUT] a coordinator `storage:` line on database tssd
#   pg_test_cluster PREFIX   for a test (after cluster.sh): pg_init, the EXIT
#                            trap, pg_create as a check (not_ok ends the test),
#                            PGPASSWORD for the test's psql, database tssd
PGBIN=${TSS_PGBIN:-/usr/lib/postgresql/15/bin}
PGDIR=

pg_installed() {
    [ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] || return 1
    [ "${1:-}" != psql ] || command -v psql >/dev/null
}

pg_skip_unless_installed() {
    pg_installed psql && return 0
    echo "SKIP $1: PostgreSQL 15 server not installed ($PGBIN/initdb); run make deps"
    finish; exit 0
}

pg_init() {
    PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/$1-XXXXXX") || return 1
    chmod 755 "$PGDIR"
    AS=()
    if [ "$(id -u)" = 0 ]; then AS=(runuser -u nobody --); chown nobody "$PGDIR"; fi
    PGPORT=$(free_port)
    PGPW=pg-test-$RANDOM$RANDOM
    [ "${PG_TLS:-0}" = 1 ] || return 0
    # TLS for the 127.0.0.1 listener: a CA and a server certificate for
    # 127.0.0.1 made with tssctl pki (the key readable by the server user
    # only), and another CA that must be refused.
    "$BUILD/tssctl" pki init-ca --out "$PGDIR/dbca" --days 30 >/dev/null 2>&1
    "$BUILD/tssctl" pki issue --ca "$PGDIR/dbca" --identity urn:tssd:coordinator --out "$PGDIR/dbtls" \
        --ip 127.0.0.1 --days 30 >/dev/null 2>&1
    "$BUILD/tssctl" pki init-ca --out "$PGDIR/otherca" --days 30 >/dev/null 2>&1
    chmod 600 "$PGDIR/dbtls/key.pem"
    [ "$(id -u)" = 0 ] && chown -R nobody "$PGDIR/dbtls"
    chmod 755 "$PGDIR/dbtls"
}

pg_stop() { "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m "${1:-fast}" -w -t 20 stop >/dev/null 2>&1; }
pg_start() {
    local listen="-c listen_addresses=''"
    [ "${PG_TLS:-0}" = 1 ] && listen="-c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$PGDIR/dbtls/cert.pem -c ssl_key_file=$PGDIR/dbtls/key.pem"
    "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 30 \
        -o "-p $PGPORT -k $PGDIR $listen" start >/dev/null 2>&1
}

pg_create() {
    printf '%s\n' "$PGPW" > "$PGDIR/pw"; chmod 644 "$PGDIR/pw" # read by initdb as nobody
    "${AS[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U tssd --pwfile="$PGDIR/pw" --auth=scram-sha-256 \
        -E UTF8 --no-sync >"$PGDIR/initdb.log" 2>&1 && pg_start
    local rc=$?
    rm -f "$PGDIR/pw"
    return $rc
}

pg_cleanup() {
    [ -n "$PGDIR" ] || { "$@"; return; }
    pg_stop immediate
    "$@"
    rm -rf "$PGDIR"
}

# The password goes to psql only; the coordinators read $WORK/pgpass.
sql() { PGPASSWORD=$PGPW psql -h "$PGDIR" -p "$PGPORT" -U tssd -d "${DB:-tssd}" -Atqc "$1" 2>&1; }

pg_passfile() { printf '%s\n' "$PGPW" > "$WORK/pgpass"; chmod 600 "$WORK/pgpass"; }

pg_storage() {
    echo "storage: {backend: postgresql, conninfo: \"host=$PGDIR port=$PGPORT dbname=tssd user=tssd\", password: {file: $WORK/pgpass}, name: $1${2:+, timeout: $2}}"
}

pg_test_cluster() {
    pg_init "$1"
    trap 'pg_cleanup cluster_cleanup' EXIT
    if pg_create; then
        ok "throw-away PostgreSQL 15 cluster started (socket $PGDIR, port $PGPORT)"
    else
        not_ok "throw-away PostgreSQL 15 cluster started" "$(tail -n 20 "$PGDIR"/*.log)"; finish; exit 1
    fi
    export PGPASSWORD=$PGPW # as the tests always had it; the coordinators read their 0600 file
    DB=postgres sql "CREATE DATABASE tssd" >/dev/null
}
