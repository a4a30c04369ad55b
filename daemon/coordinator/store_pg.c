/* The postgresql back-end of the coordinator's storage (store.h,
 * docs/STORAGE.md): one libpq connection, used synchronously from the loop
 * thread with every call bounded by storage.timeout (connect_timeout,
 * statement_timeout, tcp_user_timeout). Nothing secret is stored: keys are
 * the registry's public key files, presignatures are ids and signer sets.
 *
 * Down and back: a failed call marks the connection down with the reason;
 * new requests are refused with it (coord_pg_unavailable) and a reconnect is
 * tried at most once a second, so the service resumes without a restart. A
 * statement whose outcome is unknown (the connection broke under it) is
 * counted as failed: a claim then burns the presignature, an audit row
 * withholds the signature — both fail closed. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "daemon/coordinator/store_pg.h"
#include "keystore/passphrase.h"
#include "util/hex.h"
#include "util/log.h"

#define RETRY_MS 1000    /* between reconnect attempts while down */
#define CONNECT_WAIT_MS 200L /* longest the loop waits for a reconnect attempt */
#define SYNC_MS 1000     /* a key's ready presignatures are re-read this often */
#define MIGRATION_LOCK "7355608118" /* pg_advisory_xact_lock key: one migrator at a time */

struct coord_pg {
    PGconn *conn;
    tss_passphrase pw; /* secret memory; bytes NULL without a password */
    char name[65];
    char why[600];
    int64_t retry_at;
    const char *conninfo; /* the config's, for the connect thread */
    uint64_t timeout_ms;
    /* The connect thread (pg_ready): th_done, th_conn and th_why under mu. */
    pthread_t th;
    bool th_running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool th_done;
    PGconn *th_conn;
    char th_why[600];
    unsigned calls; /* round trips since the last coord_pg_cost_take */
    uint64_t us;
};

static uint64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void coord_pg_cost_take(coord *co, unsigned *calls, uint64_t *us) {
    *calls = co->pg->calls;
    *us = co->pg->us;
    co->pg->calls = 0;
    co->pg->us = 0;
}

/* ---- schema ------------------------------------------------------------------------------ */

/* Migration N brings the schema from version N-1 to N. Append only: a
 * released migration is never edited (docs/STORAGE.md). */
static const char *const migrations[COORD_PG_SCHEMA_VERSION] = {
    /* 1 */
    "CREATE TABLE keys ("
    "  key_id text PRIMARY KEY CHECK (length(key_id) BETWEEN 1 AND 64),"
    "  keyfile text NOT NULL,"
    "  created_by text NOT NULL,"
    "  created_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE presigs ("
    "  key_id text NOT NULL REFERENCES keys (key_id),"
    "  id bytea NOT NULL CHECK (length(id) = 32),"
    "  seq bigserial NOT NULL,"
    "  signers text NOT NULL,"
    "  path text NOT NULL DEFAULT '',"
    "  state text NOT NULL CHECK (state IN ('ready', 'used')),"
    "  created_by text NOT NULL,"
    "  created_at timestamptz NOT NULL DEFAULT now(),"
    "  used_by text,"
    "  used_at timestamptz,"
    "  PRIMARY KEY (key_id, id));"
    "CREATE INDEX presigs_ready ON presigs (key_id, seq) WHERE state = 'ready';"
    "CREATE TABLE audit ("
    "  seq bigserial PRIMARY KEY,"
    "  at timestamptz NOT NULL DEFAULT now(),"
    "  coordinator text NOT NULL,"
    "  operator text NOT NULL,"
    "  durable boolean NOT NULL,"
    "  body text NOT NULL,"
    "  source text UNIQUE,"
    "  chain_hash text);"
    "CREATE TABLE session_ids ("
    "  sid bytea PRIMARY KEY CHECK (length(sid) = 16),"
    "  coordinator text NOT NULL,"
    "  at timestamptz NOT NULL DEFAULT now());",
};

/* ---- connection ---------------------------------------------------------------------------- */

/* The reason new requests are refused: one line. */
static void set_down(struct coord_pg *g, const char *detail) {
    snprintf(g->why, sizeof g->why, "coordinator storage unavailable: %s", detail);
    size_t n = strlen(g->why);
    while (n && (g->why[n - 1] == '\n' || g->why[n - 1] == ' ')) g->why[--n] = '\0';
    for (char *c = g->why; *c; c++)
        if (*c == '\n' || *c == '\t') *c = ' ';
}

static void set_why(struct coord_pg *g, const char *what, const char *detail) {
    char d[600];
    snprintf(d, sizeof d, "%s: %s", what, detail);
    set_down(g, d);
}

/* Connect and configure the session: into *out, or the reason into why.
 * Touches nothing but its arguments (runs on the connect thread too). */
static bool connect_once(const char *conninfo, uint64_t ms, const char *password, PGconn **out,
                         char *why, size_t cap) {
    char ct[24], tut[24], st[96];
    snprintf(ct, sizeof ct, "%llu", (unsigned long long)(ms < 2000 ? 2 : (ms + 999) / 1000));
    snprintf(tut, sizeof tut, "%llu", (unsigned long long)ms);
    const char *kw[8], *val[8];
    size_t n = 0;
    /* dbname first: expanded as the conninfo string; later keywords win. */
    kw[n] = "dbname", val[n++] = conninfo;
    kw[n] = "connect_timeout", val[n++] = ct;
    kw[n] = "tcp_user_timeout", val[n++] = tut;
    kw[n] = "application_name", val[n++] = "tss-coordinator";
    if (password) kw[n] = "password", val[n++] = password;
    kw[n] = NULL, val[n] = NULL;
    PGconn *c = PQconnectdbParams(kw, val, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(why, cap, "cannot connect to the database: %s",
                 c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return false;
    }
    /* Bound every statement and every wait for a lock on the server too. */
    snprintf(st, sizeof st, "SET statement_timeout = %llu; SET lock_timeout = %llu",
             (unsigned long long)ms, (unsigned long long)ms);
    PGresult *res = PQexec(c, st);
    bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        snprintf(why, cap, "cannot configure the database session: %s", PQerrorMessage(c));
        PQfinish(c);
        return false;
    }
    *out = c;
    return true;
}

static void *connect_thread(void *arg) {
    struct coord_pg *g = arg;
    PGconn *c = NULL;
    char why[sizeof g->why];
    bool ok = connect_once(g->conninfo, g->timeout_ms, g->pw.bytes ? (const char *)g->pw.bytes : NULL,
                           &c, why, sizeof why);
    pthread_mutex_lock(&g->mu);
    g->th_conn = ok ? c : NULL;
    if (!ok) snprintf(g->th_why, sizeof g->th_why, "%s", why);
    g->th_done = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* Collect the connect thread's outcome once it is done. */
static tss_result join_connect(struct coord_pg *g) {
    pthread_join(g->th, NULL);
    g->th_running = false;
    if (g->th_conn) {
        g->conn = g->th_conn;
        g->th_conn = NULL;
        bool was_down = g->why[0] != '\0';
        g->why[0] = '\0';
        if (was_down) tss_log(LOG_NOTICE, "storage: database connection restored");
        return TSS_OK_RESULT;
    }
    set_down(g, g->th_why);
    g->retry_at = tss_now_ms() + RETRY_MS;
    tss_log(LOG_ERR, "%s (retrying every %d ms)", g->why, RETRY_MS);
    return tss_fail(TSS_E_IO, "%s", g->why);
}

/* A usable connection. A connection the server closed while idle is
 * noticed here, before a statement is sent on it. Reconnecting runs on a
 * helper thread (at most one attempt a second) so the loop never waits for
 * a connect timeout: it waits CONNECT_WAIT_MS at most for the attempt (a
 * database that is back answers within that), and refuses the request with
 * the last reason otherwise; a later request collects the connection. */
static tss_result pg_ready(coord *co) {
    struct coord_pg *g = co->pg;
    if (g->conn && PQstatus(g->conn) == CONNECTION_OK && PQconsumeInput(g->conn) &&
        PQstatus(g->conn) == CONNECTION_OK && PQtransactionStatus(g->conn) != PQTRANS_UNKNOWN)
        return TSS_OK_RESULT;
    if (g->conn) {
        set_why(g, "lost the database connection", PQerrorMessage(g->conn));
        PQfinish(g->conn);
        g->conn = NULL;
        g->retry_at = 0;
        tss_log(LOG_ERR, "%s; reconnecting", g->why);
    }
    if (!g->th_running) {
        if (tss_now_ms() < g->retry_at) return tss_fail(TSS_E_IO, "%s", g->why);
        g->th_done = false;
        if (pthread_create(&g->th, NULL, connect_thread, g) != 0) {
            g->retry_at = tss_now_ms() + RETRY_MS;
            return tss_fail(TSS_E_IO, "%s (cannot start the connect thread)", g->why);
        }
        g->th_running = true;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += CONNECT_WAIT_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g->mu);
    while (!g->th_done && pthread_cond_timedwait(&g->cv, &g->mu, &until) == 0) {
    }
    bool done = g->th_done;
    pthread_mutex_unlock(&g->mu);
    if (!done) return tss_fail(TSS_E_IO, "%s", g->why[0] ? g->why : "coordinator storage "
                               "unavailable: connecting to the database");
    return join_connect(g);
}

/* Run one statement; want: PGRES_TUPLES_OK or PGRES_COMMAND_OK. NULL on
 * failure with *r set (TSS_E_EXISTS: a unique constraint; TSS_E_IO: the
 * database is unreachable). */
static PGresult *pg_exec(coord *co, const char *sql, int n, const char *const *params,
                         ExecStatusType want, tss_result *r) {
    struct coord_pg *g = co->pg;
    *r = pg_ready(co);
    if (!tss_is_ok(*r)) return NULL;
    /* No parameters: the simple protocol, which takes several statements
     * (a migration). */
    uint64_t t0 = mono_us();
    PGresult *res = n ? PQexecParams(g->conn, sql, n, NULL, params, NULL, NULL, 0)
                      : PQexec(g->conn, sql);
    g->calls++;
    g->us += mono_us() - t0;
    if (res && PQresultStatus(res) == want) return res;
    char state[6] = ""; /* SQLSTATE, copied: it lives in res */
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (st) snprintf(state, sizeof state, "%s", st);
    char msg[400];
    snprintf(msg, sizeof msg, "%s", g->conn ? PQerrorMessage(g->conn) : "no connection");
    for (char *c = msg; *c; c++)
        if (*c == '\n') *c = ' ';
    PQclear(res);
    if (PQstatus(g->conn) != CONNECTION_OK) {
        set_why(g, "lost the database connection", msg);
        PQfinish(g->conn);
        g->conn = NULL;
        g->retry_at = 0; /* the next call reconnects at once */
        *r = tss_fail(TSS_E_IO, "%s", g->why);
    } else if (strcmp(state, "23505") == 0) { /* unique_violation */
        *r = tss_fail(TSS_E_EXISTS, "database: %s", msg);
    } else {
        *r = tss_fail(TSS_E_IO, "database statement failed: %s", msg);
    }
    return NULL;
}

static tss_result pg_command(coord *co, const char *sql, int n, const char *const *params) {
    tss_result r;
    PGresult *res = pg_exec(co, sql, n, params, PGRES_COMMAND_OK, &r);
    PQclear(res);
    return r;
}

tss_result coord_pg_begin(coord *co) { return pg_command(co, "BEGIN", 0, NULL); }
tss_result coord_pg_commit(coord *co) { return pg_command(co, "COMMIT", 0, NULL); }
void coord_pg_rollback(coord *co) {
    if (co->pg->conn) PQclear(PQexec(co->pg->conn, "ROLLBACK"));
}

static tss_result migrate(coord *co) {
    TSS_GUARD(coord_pg_begin(co));
    /* One migrator at a time: coordinators starting together wait here. */
    tss_result r;
    PGresult *res = pg_exec(co, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", 0, NULL,
                            PGRES_TUPLES_OK, &r);
    PQclear(res);
    res = NULL;
    if (tss_is_ok(r))
        r = pg_command(co,
                       "CREATE TABLE IF NOT EXISTS schema_version ("
                       "  version integer PRIMARY KEY,"
                       "  applied_at timestamptz NOT NULL DEFAULT now(),"
                       "  applied_by text NOT NULL)",
                       0, NULL);
    long have = 0;
    if (tss_is_ok(r))
        res = pg_exec(co, "SELECT coalesce(max(version), 0) FROM schema_version", 0, NULL,
                      PGRES_TUPLES_OK, &r);
    if (res) have = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (tss_is_ok(r) && have > COORD_PG_SCHEMA_VERSION)
        r = tss_fail(TSS_E_UNSUPPORTED,
                     "the database schema is version %ld, newer than this tss-coordinator knows "
                     "(%d): upgrade tss-coordinator (a downgrade of the schema is refused)",
                     have, COORD_PG_SCHEMA_VERSION);
    for (long v = have + 1; tss_is_ok(r) && v <= COORD_PG_SCHEMA_VERSION; v++) {
        r = pg_command(co, migrations[v - 1], 0, NULL);
        char ver[24];
        snprintf(ver, sizeof ver, "%ld", v);
        const char *p[2] = {ver, co->pg->name};
        if (tss_is_ok(r))
            r = pg_command(co, "INSERT INTO schema_version (version, applied_by) VALUES ($1, $2)",
                           2, p);
        if (tss_is_ok(r)) tss_log(LOG_NOTICE, "storage: database schema migrated to version %ld", v);
        else {
            char d[500];
            snprintf(d, sizeof d, "%s", tss_error_detail());
            r = tss_fail(r.err, "storage: migration to schema version %ld failed: %s", v, d);
        }
    }
    if (tss_is_ok(r)) r = coord_pg_commit(co);
    else coord_pg_rollback(co);
    return r;
}

/* ---- presignatures --------------------------------------------------------------------------- */

static void signers_text(char *out, size_t cap, const coord_presig *p) {
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < p->count && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%u", i ? "," : "", p->signers[i]);
}

/* One "ready" row back into a record; checked like a file record: the
 * signers are threshold-many ascending parties of the key. */
static tss_result parse_row(const key_entry *k, const char *hex, const char *signers,
                            const char *path, coord_presig *p) {
    memset(p, 0, sizeof *p);
    TSS_GUARD(tss_hex_decode(p->id, sizeof p->id, hex, "presignature id"));
    const char *s = signers;
    while (*s) {
        TSS_ENSURE(isdigit((unsigned char)*s) && p->count < TSS_WIRE_MAX_PARTIES, TSS_E_CORRUPT,
                   "bad signer list '%.80s'", signers);
        unsigned long v = strtoul(s, (char **)&s, 10);
        bool member = false;
        for (size_t i = 0; i < k->info.count; i++) member = member || k->info.parties[i] == v;
        TSS_ENSURE(member && (p->count == 0 || v > p->signers[p->count - 1]), TSS_E_CORRUPT,
                   "signer %lu is not an ascending party of the key", v);
        p->signers[p->count++] = (uint16_t)v;
        if (*s == ',') s++;
        else TSS_ENSURE(*s == '\0', TSS_E_CORRUPT, "bad signer list '%.80s'", signers);
    }
    TSS_ENSURE(p->count == k->info.threshold, TSS_E_CORRUPT, "%u signers, the key needs %u",
               p->count, k->info.threshold);
    if (*path) TSS_GUARD(tss_bip32_path_parse(&p->path, path));
    return TSS_OK_RESULT;
}

static int cmp_presig_id(const void *a, const void *b) {
    return memcmp(((const coord_presig *)a)->id, ((const coord_presig *)b)->id,
                  TSS_WIRE_PRESIGN_ID_LEN);
}

/* Replace the key's in-memory list by the database's ready rows. A row
 * already in memory keeps its made_ms (the pool's max_age counts from when
 * this process first saw it; daemon/coordinator/pool.h). */
static tss_result sync_presigs(coord *co, key_entry *k) {
    const char *p[1] = {k->info.key_id};
    tss_result r;
    PGresult *res = pg_exec(co,
                            "SELECT encode(id, 'hex'), signers, path FROM presigs "
                            "WHERE key_id = $1 AND state = 'ready' ORDER BY seq",
                            1, p, PGRES_TUPLES_OK, &r);
    if (!res) return r;
    coord_presig *seen = k->n_presigs ? malloc(k->n_presigs * sizeof *seen) : NULL;
    size_t n_seen = seen ? k->n_presigs : 0;
    if (seen) {
        memcpy(seen, k->presigs, n_seen * sizeof *seen);
        qsort(seen, n_seen, sizeof *seen, cmp_presig_id);
    }
    k->n_presigs = 0;
    k->info.presignatures = 0;
    for (int i = 0; tss_is_ok(r) && i < PQntuples(res); i++) {
        coord_presig ps;
        tss_result pr = parse_row(k, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                                  PQgetvalue(res, i, 2), &ps);
        if (!tss_is_ok(pr)) { /* never hand out a row that does not check */
            tss_log(LOG_ERR, "key=%s: presignature row %s skipped: %s", k->info.key_id,
                    PQgetvalue(res, i, 0), tss_error_detail());
            continue;
        }
        const coord_presig *old =
            n_seen ? bsearch(&ps, seen, n_seen, sizeof *seen, cmp_presig_id) : NULL;
        ps.made_ms = old ? old->made_ms : 0; /* 0: now (coord_presig_push) */
        r = coord_presig_push(k, &ps);
    }
    free(seen);
    PQclear(res);
    if (tss_is_ok(r)) k->store_synced_ms = tss_now_ms();
    return r;
}

/* ---- keys -------------------------------------------------------------------------------- */

static key_entry *adopt_row(coord *co, const char *key_id, const char *text) {
    tss_keyfile kf;
    unsigned version = 0;
    tss_result r = tss_keyfile_parse(text, strlen(text), key_id, &kf, &version);
    if (!tss_is_ok(r)) {
        char why[600];
        snprintf(why, sizeof why, "database row keys[%s]: %s", key_id, tss_error_detail());
        if (!tss_is_ok(coord_registry_mark_damaged(co, key_id, why)))
            tss_log(LOG_ERR, "%s", why);
        return NULL;
    }
    key_entry *k = NULL;
    if (!tss_is_ok(coord_registry_adopt(co, &kf, &k))) return coord_registry_find(co, key_id);
    if (!tss_is_ok(sync_presigs(co, k)))
        tss_log(LOG_WARNING, "key=%s: presignatures not read: %s", key_id, tss_error_detail());
    return k;
}

key_entry *coord_pg_key_find(coord *co, const char *key_id, bool force_sync) {
    key_entry *k = coord_registry_find(co, key_id);
    if (k) {
        if ((force_sync || tss_now_ms() - k->store_synced_ms >= SYNC_MS) &&
            !tss_is_ok(sync_presigs(co, k)))
            tss_log(LOG_WARNING, "key=%s: presignatures not re-read: %s", key_id,
                    tss_error_detail());
        return k;
    }
    if (coord_registry_damaged(co, key_id)) return NULL;
    const char *p[1] = {key_id};
    tss_result r;
    PGresult *res = pg_exec(co, "SELECT keyfile FROM keys WHERE key_id = $1", 1, p,
                            PGRES_TUPLES_OK, &r);
    if (!res) {
        tss_log(LOG_WARNING, "key=%s: cannot look it up: %s", key_id, tss_error_detail());
        return NULL;
    }
    if (PQntuples(res) == 1) k = adopt_row(co, key_id, PQgetvalue(res, 0, 0));
    PQclear(res);
    if (k) tss_log(LOG_INFO, "key=%s: read from the database (%zu presignature(s) ready)", key_id,
                   k->n_presigs);
    return k;
}

void coord_pg_refresh(coord *co) {
    tss_result r;
    PGresult *res = pg_exec(co, "SELECT key_id, keyfile FROM keys ORDER BY key_id", 0, NULL,
                            PGRES_TUPLES_OK, &r);
    if (!res) {
        tss_log(LOG_WARNING, "storage: key list not refreshed: %s", tss_error_detail());
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0);
        if (!coord_registry_find(co, id) && !coord_registry_damaged(co, id))
            (void)adopt_row(co, id, PQgetvalue(res, i, 1));
    }
    PQclear(res);
}

tss_result coord_pg_key_update(coord *co, const char *key_id, const char *text) {
    const char *p[2] = {key_id, text};
    tss_result r;
    PGresult *res = pg_exec(co, "UPDATE keys SET keyfile = $2 WHERE key_id = $1 RETURNING key_id",
                            2, p, PGRES_TUPLES_OK, &r);
    if (!res) return r;
    int rows = PQntuples(res);
    PQclear(res);
    TSS_ENSURE(rows == 1, TSS_E_NOT_FOUND, "key %s is not in the database", key_id);
    return TSS_OK_RESULT;
}

tss_result coord_pg_key_add(coord *co, const tss_keyfile *kf, const char *text, bool import) {
    const char *p[3] = {kf->info.key_id, text, import ? "migrated" : co->pg->name};
    tss_result r;
    PGresult *res = pg_exec(co,
                            "INSERT INTO keys (key_id, keyfile, created_by) VALUES ($1, $2, $3) "
                            "ON CONFLICT (key_id) DO NOTHING RETURNING key_id",
                            3, p, PGRES_TUPLES_OK, &r);
    if (!res) return r;
    int rows = PQntuples(res);
    PQclear(res);
    if (import) {
        if (rows == 1) return TSS_OK_RESULT;
        res = pg_exec(co, "SELECT keyfile = $2 FROM keys WHERE key_id = $1", 2, p,
                      PGRES_TUPLES_OK, &r);
        if (!res) return r;
        bool same = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        TSS_ENSURE(same, TSS_E_EXISTS,
                   "key %s is in the database already with a different key file", kf->info.key_id);
        return TSS_OK_RESULT;
    }
    TSS_ENSURE(rows == 1, TSS_E_EXISTS, "key %s is already registered (by another coordinator)",
               kf->info.key_id);
    key_entry *k = NULL;
    r = coord_registry_adopt(co, kf, &k);
    if (tss_is_ok(r)) k->store_synced_ms = tss_now_ms();
    return r;
}

/* ---- presignature ledger ------------------------------------------------------------------- */

static tss_result presig_insert(coord *co, const char *key_id, const coord_presig *ps,
                                const char *state, const char *by, bool import) {
    char hex[2 * TSS_WIRE_PRESIGN_ID_LEN + 1], signers[200], path[TSS_BIP32_PATH_TEXT_MAX];
    tss_hex_encode(hex, ps->id, sizeof ps->id);
    signers_text(signers, sizeof signers, ps);
    path[0] = '\0';
    if (ps->path.depth) tss_bip32_path_format(path, sizeof path, &ps->path);
    const char *p[6] = {key_id, hex, signers, path, state, by};
    /* An import never makes a used id ready again. */
    return pg_command(co,
                      import ? "INSERT INTO presigs (key_id, id, signers, path, state, created_by) "
                               "VALUES ($1, decode($2, 'hex'), $3, $4, $5, $6) "
                               "ON CONFLICT (key_id, id) DO UPDATE SET state = CASE WHEN "
                               "presigs.state = 'used' OR excluded.state = 'used' THEN 'used' "
                               "ELSE 'ready' END"
                             : "INSERT INTO presigs (key_id, id, signers, path, state, created_by) "
                               "VALUES ($1, decode($2, 'hex'), $3, $4, $5, $6)",
                      6, p);
}

tss_result coord_pg_presig_add(coord *co, key_entry *k, const coord_presig *p) {
    tss_result r = presig_insert(co, k->info.key_id, p, "ready", co->pg->name, false);
    if (r.err == TSS_E_EXISTS) return tss_fail(TSS_E_EXISTS, "presignature id already recorded");
    return r;
}

tss_result coord_pg_presig_import(coord *co, const char *key_id, const coord_presig *p,
                                  bool used) {
    return presig_insert(co, key_id, p, used ? "used" : "ready", "migrated", true);
}

tss_result coord_pg_presig_claim(coord *co, key_entry *k, const coord_presig *ps) {
    char hex[2 * TSS_WIRE_PRESIGN_ID_LEN + 1];
    tss_hex_encode(hex, ps->id, sizeof ps->id);
    const char *p[3] = {k->info.key_id, hex, co->pg->name};
    tss_result r;
    /* The compare-and-set: of two coordinators claiming one id, the second
     * UPDATE waits for the first's row lock, re-reads the row, finds it used
     * and returns no row. */
    PGresult *res = pg_exec(co,
                            "UPDATE presigs SET state = 'used', used_by = $3, used_at = now() "
                            "WHERE key_id = $1 AND id = decode($2, 'hex') AND state = 'ready' "
                            "RETURNING 1",
                            3, p, PGRES_TUPLES_OK, &r);
    if (!res) return r;
    int rows = PQntuples(res);
    PQclear(res);
    TSS_ENSURE(rows == 1, TSS_E_NOT_FOUND,
               "presignature %.16s... was claimed by another coordinator", hex);
    return TSS_OK_RESULT;
}

/* ---- audit and session ids ------------------------------------------------------------------ */

tss_result coord_pg_audit(coord *co, const char *op, bool durable, const char *body,
                          size_t len) {
    (void)len;
    const char *p[4] = {co->pg->name, op, durable ? "t" : "f", body};
    return pg_command(co,
                      "INSERT INTO audit (coordinator, operator, durable, body) "
                      "VALUES ($1, $2, $3, $4)",
                      4, p);
}

tss_result coord_pg_audit_import(coord *co, const char *body, size_t len, const char *source) {
    char *b = strndup(body, len);
    TSS_ENSURE(b != NULL, TSS_E_NOMEM, "no memory");
    /* The line is "<body> <hash>": keep the hash beside the body. */
    char *sp = strrchr(b, ' ');
    const char *hash = "";
    if (sp) {
        *sp = '\0';
        hash = sp + 1;
    }
    const char *p[4] = {co->pg->name, b, source, hash};
    tss_result r = pg_command(co,
                              "INSERT INTO audit (coordinator, operator, durable, body, source, "
                              "chain_hash) VALUES ($1, 'migrated', true, $2, $3, $4) "
                              "ON CONFLICT (source) DO NOTHING",
                              4, p);
    free(b);
    return r;
}

tss_result coord_pg_session_id(coord *co, const uint8_t sid[16]) {
    char hex[33];
    tss_hex_encode(hex, sid, 16);
    const char *p[2] = {hex, co->pg->name};
    tss_result r;
    PGresult *res = pg_exec(co,
                            "INSERT INTO session_ids (sid, coordinator) VALUES (decode($1, 'hex'), "
                            "$2) ON CONFLICT (sid) DO NOTHING RETURNING 1",
                            2, p, PGRES_TUPLES_OK, &r);
    if (!res) return r;
    int rows = PQntuples(res);
    PQclear(res);
    TSS_ENSURE(rows == 1, TSS_E_EXISTS, "session id %s was used before", hex);
    return TSS_OK_RESULT;
}

/* ---- open / close ------------------------------------------------------------------------- */

const char *coord_pg_unavailable(coord *co) {
    if (!co->pg) return "coordinator storage unavailable: not open";
    return tss_is_ok(pg_ready(co)) ? NULL : co->pg->why;
}

static tss_result load_all(coord *co) {
    tss_result r;
    PGresult *res = pg_exec(co, "SELECT key_id, keyfile FROM keys ORDER BY key_id", 0, NULL,
                            PGRES_TUPLES_OK, &r);
    if (!res) return r;
    size_t n = 0;
    for (int i = 0; i < PQntuples(res); i++)
        if (adopt_row(co, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1))) n++;
    PQclear(res);
    tss_log(LOG_INFO, "key registry: %zu key(s) in the database", n);
    return TSS_OK_RESULT;
}

/* The password from its configured source (0600 file or credential) into
 * guarded memory, NUL-terminated for libpq; nothing without a source. */
static tss_result read_password(const tss_coordinator_storage_config *sc, tss_passphrase *pw) {
    if (!sc->password.file && !sc->password.credential) return TSS_OK_RESULT;
    tss_passphrase_source src = {.kind = sc->password.file ? TSS_PASS_FILE : TSS_PASS_CREDENTIAL,
                                 .path = sc->password.file,
                                 .name = sc->password.credential};
    tss_result r = tss_passphrase_read(&src, NULL, false, pw);
    if (!tss_is_ok(r)) {
        char d[500];
        snprintf(d, sizeof d, "%s", tss_error_detail());
        return tss_fail(r.err, "storage.password: %s", d);
    }
    pw->bytes[pw->len] = '\0'; /* the buffer has room: TSS_PASSPHRASE_MAX + 2 */
    return TSS_OK_RESULT;
}

tss_result coord_pg_check(coord *co) {
    tss_passphrase pw = {NULL, 0};
    tss_result r = read_password(&co->cfg.storage, &pw);
    if (pw.bytes) tss_passphrase_free(&pw);
    return r;
}

tss_result coord_pg_open(coord *co, bool load) {
    const tss_coordinator_storage_config *sc = &co->cfg.storage;
    struct coord_pg *g = calloc(1, sizeof *g);
    TSS_ENSURE(g != NULL, TSS_E_NOMEM, "no memory");
    co->pg = g;
    if (sc->name) snprintf(g->name, sizeof g->name, "%s", sc->name);
    else if (gethostname(g->name, sizeof g->name - 1) != 0) snprintf(g->name, sizeof g->name, "?");
    TSS_GUARD(read_password(sc, &g->pw));
    g->conninfo = sc->conninfo;
    g->timeout_ms = sc->timeout;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    /* The first connection before the loop runs: a failure stops the start. */
    char why[sizeof g->why];
    if (!connect_once(g->conninfo, g->timeout_ms, g->pw.bytes ? (const char *)g->pw.bytes : NULL,
                      &g->conn, why, sizeof why)) {
        set_down(g, why);
        return tss_fail(TSS_E_IO, "%s", g->why);
    }
    TSS_GUARD(migrate(co));
    if (load) TSS_GUARD(load_all(co));
    tss_log(LOG_INFO, "storage: postgresql (schema version %d) as coordinator %s",
            COORD_PG_SCHEMA_VERSION, g->name);
    return TSS_OK_RESULT;
}

void coord_pg_close(coord *co) {
    struct coord_pg *g = co->pg;
    if (!g) return;
    if (g->th_running) {
        pthread_join(g->th, NULL); /* bounded by connect_timeout */
        PQfinish(g->th_conn);
    }
    if (g->conninfo) {
        pthread_mutex_destroy(&g->mu);
        pthread_cond_destroy(&g->cv);
    }
    if (g->conn) PQfinish(g->conn);
    if (g->pw.bytes) tss_passphrase_free(&g->pw);
    free(g);
    co->pg = NULL;
}
