/* The coordinator's side of the audit log (daemon/audit.h) and of the
 * per-operator rate limits (daemon/ratelimit.h).
 *
 * Group commit: coord_audit only queues a record. A record whose outcome
 * needs durability (a signature released, a key created, presignatures
 * recorded) schedules one flush at the end of the current loop batch, and
 * every reply queued in the meantime (coord_audit_reply) is sent only after
 * that flush's fdatasync. So each such request is answered only once its
 * record is on disk — as before — but a batch of them costs one fdatasync.
 * Records of read-only or refused requests never force a sync: they ride
 * along with the next durable batch, or the sync_interval timer writes and
 * syncs them. Replies are held in arrival order (no reordering on a
 * connection). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/coordinator/coord.h"
#include "daemon/coordinator/store.h"
#include "daemon/coordinator/store_pg.h"
#include "util/hex.h"
#include "util/log.h"

#define AUDIT_DIR "audit"
#define MAX_HELD 65536 /* replies waiting for one flush: bounded by requests in one batch */

struct coord_held_reply {
    peer *op; /* NULL once the operator has gone */
    tss_wire_type type;
    uint8_t *data;
    size_t len;
};

static void iso_now(char *out, size_t cap) {
    int64_t ms = tss_wall_ms();
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

static void send_held(coord *co) {
    /* Detach the list first: a send that fails may close a connection, whose
     * on_close clears .op of its entries here (coord_audit_operator_gone
     * scans co->sending too) or, in principle, queue new replies. */
    coord_held_reply *list = co->held;
    size_t n = co->n_held;
    co->held = NULL;
    co->n_held = co->cap_held = 0;
    co->sending = list;
    co->n_sending = n;
    for (size_t i = 0; i < n; i++) {
        peer *op = list[i].op;
        if (op && tss_dconn_is_open(op->conn) &&
            !tss_is_ok(tss_dconn_send(op->conn, list[i].type, list[i].data, list[i].len)))
            tss_log(LOG_WARNING, "cannot answer an operator: %s", tss_error_detail());
        free(list[i].data);
        list[i].data = NULL;
    }
    co->sending = NULL;
    co->n_sending = 0;
    free(list);
}

static void flush(coord *co, bool sync) {
    if (!co->audit) {
        send_held(co);
        return;
    }
    tss_result r = tss_audit_flush(co->audit, sync, tss_wall_ms());
    /* As before group commit: a failed audit write is logged (once a second
     * at most, it is retried every batch), the reply still goes. */
    if (!tss_is_ok(r)) {
        static int64_t last_ms = -1000000;
        static unsigned long failures;
        failures++;
        if (tss_now_ms() - last_ms >= 1000) {
            tss_log(LOG_ERR, "audit log write failed: %s (%lu failure(s))", tss_error_detail(),
                    failures);
            last_ms = tss_now_ms();
            failures = 0;
        }
    }
    send_held(co);
    if (tss_audit_has_pending(co->audit) || tss_audit_has_unsynced(co->audit)) {
        if (!co->audit_timer.armed &&
            !tss_is_ok(tss_timer_arm(co->loop, &co->audit_timer,
                                     tss_now_ms() + (int64_t)co->cfg.audit.sync_interval)))
            tss_log(LOG_ERR, "audit: cannot arm the sync timer: %s", tss_error_detail());
    }
}

static void on_flush_deferred(void *arg) {
    coord *co = arg;
    co->audit_flush_scheduled = false;
    flush(co, false);
}

static void on_audit_timer(void *arg) { flush(arg, true); }

static void schedule(coord *co) {
    bool now = co->n_held > 0 || (co->audit && tss_audit_needs_sync(co->audit));
    if (now && !co->audit_flush_scheduled) {
        if (tss_is_ok(tss_loop_defer(co->loop, on_flush_deferred, co))) {
            co->audit_flush_scheduled = true;
            return;
        }
        flush(co, false); /* cannot defer: flush in place */
        return;
    }
    if (!now && co->audit && tss_audit_has_pending(co->audit) && !co->audit_timer.armed &&
        !tss_is_ok(tss_timer_arm(co->loop, &co->audit_timer,
                                 tss_now_ms() + (int64_t)co->cfg.audit.sync_interval)))
        tss_log(LOG_ERR, "audit: cannot arm the sync timer: %s", tss_error_detail());
}

tss_result coord_audit_open(coord *co) {
    char dir[4200], legacy[4200];
    snprintf(dir, sizeof dir, "%s/" AUDIT_DIR, co->cfg.state_dir);
    snprintf(legacy, sizeof legacy, "%s/audit.log", co->cfg.state_dir);
    struct stat st;
    if (stat(legacy, &st) == 0)
        tss_log(LOG_NOTICE, "audit: %s is a legacy unchained log from an older version; it is "
                "kept as is (archive it); new records go to %s/", legacy, dir);
    tss_audit_options opt = {.rotate_size = co->cfg.audit.rotate_size,
                             .rotate_age_ms = co->cfg.audit.rotate_age};
    tss_timer_init(&co->audit_timer, on_audit_timer, co);
    TSS_GUARD(tss_audit_open(&co->audit, dir, &opt, tss_wall_ms()));
    uint8_t head[TSS_AUDIT_HASH_LEN];
    char hex[2 * TSS_AUDIT_HASH_LEN + 1];
    tss_audit_head(co->audit, head);
    tss_hex_encode(hex, head, sizeof head);
    tss_log(LOG_INFO, "audit log %s (segment %llu, last hash %s)", tss_audit_path(co->audit),
            (unsigned long long)tss_audit_segment(co->audit), hex);
    return TSS_OK_RESULT;
}

void coord_audit_close(coord *co) {
    if (co->loop) tss_timer_disarm(co->loop, &co->audit_timer);
    if (co->audit) {
        tss_result r = tss_audit_flush(co->audit, true, tss_wall_ms());
        if (!tss_is_ok(r)) tss_log(LOG_ERR, "audit log write failed: %s", tss_error_detail());
        uint8_t head[TSS_AUDIT_HASH_LEN];
        char hex[2 * TSS_AUDIT_HASH_LEN + 1];
        tss_audit_head(co->audit, head);
        tss_hex_encode(hex, head, sizeof head);
        tss_log(LOG_NOTICE, "audit log closed at segment %llu, last hash %s",
                (unsigned long long)tss_audit_segment(co->audit), hex);
    }
    for (size_t i = 0; i < co->n_held; i++) free(co->held[i].data);
    free(co->held);
    co->held = NULL;
    co->n_held = co->cap_held = 0;
    tss_audit_close(co->audit);
    co->audit = NULL;
}

/* Build the record and hand it to the back-end: the file log (group
 * commit, as above) or the database (store_pg.c: one INSERT, committed on
 * return). */
static tss_result audit_v(coord *co, const char *op, bool durable, const char *fmt, va_list ap) {
    char body[TSS_AUDIT_MAX_BODY], t[40];
    iso_now(t, sizeof t);
    int n = snprintf(body, sizeof body, "{\"type\":\"request\",\"time\":\"%s\",\"operator\":\"%s\",",
                     t, op);
    n += vsnprintf(body + n, sizeof body - (size_t)n - 1, fmt, ap);
    if ((size_t)n > sizeof body - 2) n = (int)sizeof body - 2;
    body[n++] = '}';
    body[n] = '\0';
    if (co->pg) return coord_pg_audit(co, op, durable, body, (size_t)n);
    if (!co->audit) return TSS_OK_RESULT;
    tss_result r = tss_audit_append(co->audit, body, (size_t)n, durable);
    schedule(co);
    return r;
}

void coord_audit(coord *co, const char *op, bool durable, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tss_result r = audit_v(co, op, durable, fmt, ap);
    va_end(ap);
    if (!tss_is_ok(r)) tss_log(LOG_ERR, "audit record dropped: %s", tss_error_detail());
}

tss_result coord_store_release(coord *co, const char *op, bool durable, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tss_result r = audit_v(co, op, durable, fmt, ap);
    va_end(ap);
    return r;
}

void coord_audit_reply(coord *co, peer *op, tss_wire_type type, const uint8_t *data, size_t len) {
    bool hold = co->n_held > 0 || (co->audit && tss_audit_needs_sync(co->audit));
    if (!hold) {
        if (op && tss_dconn_is_open(op->conn) &&
            !tss_is_ok(tss_dconn_send(op->conn, type, data, len)))
            tss_log(LOG_WARNING, "cannot answer an operator: %s", tss_error_detail());
        return;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (co->n_held == co->cap_held) {
        size_t cap = co->cap_held ? 2 * co->cap_held : 16;
        coord_held_reply *nh = cap <= MAX_HELD ? realloc(co->held, cap * sizeof *nh) : NULL;
        if (nh) {
            co->held = nh;
            co->cap_held = cap;
        }
    }
    if (!copy || co->n_held == co->cap_held) {
        free(copy);
        tss_log(LOG_ERR, "cannot hold an operator reply until the audit flush: flushing now");
        flush(co, false);
        if (op && tss_dconn_is_open(op->conn) &&
            !tss_is_ok(tss_dconn_send(op->conn, type, data, len)))
            tss_log(LOG_WARNING, "cannot answer an operator: %s", tss_error_detail());
        return;
    }
    memcpy(copy, data, len);
    co->held[co->n_held++] = (coord_held_reply){op, type, copy, len};
    schedule(co);
}

void coord_audit_operator_gone(coord *co, peer *op) {
    for (size_t i = 0; i < co->n_held; i++)
        if (co->held[i].op == op) co->held[i].op = NULL;
    for (size_t i = 0; i < co->n_sending; i++)
        if (co->sending[i].op == op) co->sending[i].op = NULL;
}

/* ---- rate limits -------------------------------------------------------------------------- */

bool coord_rate_admit(coord *co, peer *op, char *why, size_t cap) {
    const tss_tls_identity *id = tss_dconn_peer(op->conn);
    const char *name = id ? id->operator_name : "?";
    size_t i = 0;
    while (i < co->cfg.operator_count && strcmp(co->cfg.operators[i].name, name) != 0) i++;
    if (i == co->cfg.operator_count) return true; /* not configured: TLS refused it already */
    coord_op_rate *or = &co->op_rate[i];
    uint32_t retry;
    int64_t now = tss_now_ms();
    if (tss_bucket_take(&or->bucket, (uint32_t)co->cfg.rate_limit.operator_rate,
                        (uint32_t)co->cfg.rate_limit.operator_burst, now, &retry)) {
        /* Refusals not yet reported: at most one line and record a second. */
        if (or->refused && now - or->last_report_ms >= 1000) {
            tss_log(LOG_NOTICE, "operator=%s: %llu request(s) refused by the rate limit",
                    name, (unsigned long long)or->refused);
            coord_audit(co, name, false, "\"request\":\"rate-limited\",\"refused\":%llu",
                        (unsigned long long)or->refused);
            or->refused = 0;
            or->last_report_ms = now;
        }
        return true;
    }
    snprintf(why, cap, "rate limit exceeded for operator %s; retry after %u ms", name, retry);
    /* One log line and one audit record a second at most, with the count. */
    or->refused++;
    if (now - or->last_report_ms >= 1000) {
        tss_log(LOG_WARNING, "%s (%llu refused)", why, (unsigned long long)or->refused);
        coord_audit(co, name, false, "\"request\":\"rate-limited\",\"refused\":%llu",
                    (unsigned long long)or->refused);
        or->refused = 0;
        or->last_report_ms = now;
    }
    return false;
}
