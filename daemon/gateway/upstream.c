/* The coordinator link: one operator connection (urn:tssd:operator:<name>),
 * OP_REQUESTs multiplexed by request id, a heartbeat so the coordinator's
 * idle timeout never drops a quiet gateway, and a key cache refreshed with
 * OP_KEYS (addresses, presignature stock) and STATUS (parties connected)
 * every REFRESH_MS. A lost connection is re-established with capped
 * backoff on the next configured coordinator address (failover); the sign
 * and keys calls in flight are sent again, with the same request id, on the
 * new connection (a repeated sign runs a fresh session over the same digest:
 * it authorises nothing the first did not, and parties never reuse a
 * presignature or session id), still bounded by timeouts.sign; a sign that
 * arrives between the loss and the next connection waits for it. If no
 * coordinator answers within FAILOVER_WAIT_MS these fail; any other call
 * fails at once ("quorum unavailable" to the application). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <secp256k1.h>
#include <sodium.h>

#include "daemon/gateway/gw.h"
#include "mpc/bip32.h"
#include "util/hex.h"
#include "util/log.h"

#define REFRESH_MS 2000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define MAX_CALLS 4096 /* calls in flight: more are refused, not queued */
/* After a lost connection, sign calls wait this long for the next
 * coordinator (failover) instead of failing at once; beyond it, with no
 * coordinator reachable, they fail ("quorum unavailable"). */
#define FAILOVER_WAIT_MS 5000

struct gw_up_call {
    uint32_t id;
    int64_t deadline;
    gw_up_done fn;
    void *arg;
    bool internal; /* a key refresh, not an application's call */
    uint8_t *req;  /* the encoded OP_REQUEST, kept to resend after a failover */
    size_t req_len;
    bool resend;   /* safe to send again on another coordinator */
    bool sent;     /* on the current connection */
    gw_up_call *prev, *next;
};

typedef struct gw_up {
    gw *g;
    tss_dconn *conn;
    bool open;
    tss_dconn_limits lim;
    tss_timer reconnect, tick;
    int64_t backoff;
    size_t addr_idx;
    char addr[300];
    gw_up_call *calls;
    size_t n_calls;
    uint32_t next_id;
    int64_t lost_at; /* when an open connection was lost; 0 while connected or never */
    uint64_t hb_seq;
    bool status_pending, keys_pending;
} gw_up;

static void schedule_reconnect(gw_up *u);

bool gw_up_connected(const gw *g) { return g->up && g->up->open; }

static void unlink_call(gw_up *u, gw_up_call *c) {
    if (c->prev) c->prev->next = c->next;
    else u->calls = c->next;
    if (c->next) c->next->prev = c->prev;
    u->n_calls--;
}

static void call_free(gw_up_call *c) {
    free(c->req);
    free(c);
}

static void fail_all(gw_up *u, const char *why) {
    while (u->calls) {
        gw_up_call *c = u->calls;
        unlink_call(u, c);
        if (c->fn) c->fn(c->arg, NULL, why);
        call_free(c);
    }
}

/* The connection is gone: calls safe to repeat wait for the next one (their
 * deadline still runs); the others fail now. */
static void fail_unrepeatable(gw_up *u, const char *why) {
    for (gw_up_call *c = u->calls, *next; c; c = next) {
        next = c->next;
        c->sent = false;
        if (c->resend && c->fn && !c->internal) continue;
        unlink_call(u, c);
        if (c->fn) c->fn(c->arg, NULL, why);
        call_free(c);
    }
}

void gw_up_cancel(gw *g, gw_up_call *c) {
    (void)g;
    if (c) c->fn = NULL; /* the answer, when it comes, is dropped */
}

/* ---- the key cache ------------------------------------------------------------------ */

static void keys_done(void *arg, const tss_wire_op_response *resp, const char *err) {
    gw *g = arg;
    g->up->keys_pending = false;
    if (!resp || resp->status != 0) {
        tss_log(LOG_WARNING, "key refresh failed: %s", resp ? resp->text : err);
        return;
    }
    /* Every path any client lists (issue 15): each key with a chain code gets
     * a derived account per path, visible only to clients listing it. */
    size_t n_paths = 0;
    for (size_t c = 0; c < g->cfg.client_count; c++) n_paths += g->cfg.clients[c].path_count;
    size_t cap = resp->key_count * (1 + n_paths);
    gw_key *nk = calloc(cap ? cap : 1, sizeof *nk);
    if (!nk) return;
    size_t n = 0;
    for (size_t i = 0; i < resp->key_count; i++) {
        gw_key *k = &nk[n];
        secp256k1_pubkey p;
        size_t len = sizeof k->unc;
        k->info = resp->keys[i];
        if (!secp256k1_ec_pubkey_parse(secp256k1_context_static, &p, k->info.public_key,
                                       TSS_WIRE_POINT_LEN))
            continue;
        (void)secp256k1_ec_pubkey_serialize(secp256k1_context_static, k->unc, &len, &p,
                                            SECP256K1_EC_UNCOMPRESSED);
        if (!tss_is_ok(tss_eth_address_from_pubkey(k->addr, k->unc, sizeof k->unc)) ||
            !tss_is_ok(tss_eth_address_to_string(k->addr_s, k->addr)))
            continue;
        n++;
    }
    size_t roots = n;
    for (size_t i = 0; i < roots; i++) {
        if (!nk[i].info.has_chain_code) continue;
        tss_point X;
        if (!tss_is_ok(tss_pt_decode(&X, nk[i].info.public_key, "public key"))) continue;
        tss_bip32_node root, child;
        tss_bip32_root(&root, &X, nk[i].info.chain_code);
        for (size_t c = 0; c < g->cfg.client_count; c++)
            for (size_t j = 0; j < g->cfg.clients[c].path_count; j++) {
                tss_bip32_path p;
                if (!tss_is_ok(tss_bip32_path_parse(&p, g->cfg.clients[c].paths[j]))) continue;
                bool dup = false; /* the same path listed by several clients */
                for (size_t d = roots; d < n && !dup; d++)
                    dup = tss_bip32_path_eq(&nk[d].path, &p) &&
                          strcmp(nk[d].info.key_id, nk[i].info.key_id) == 0;
                if (dup) continue;
                if (!tss_is_ok(tss_bip32_derive(&child, NULL, &root, &p))) {
                    tss_log(LOG_WARNING, "key=%s: path %s gives an invalid child; skipped",
                            nk[i].info.key_id, g->cfg.clients[c].paths[j]);
                    continue;
                }
                gw_key *k = &nk[n];
                *k = nk[i];
                k->path = p;
                size_t len = sizeof k->unc;
                (void)secp256k1_ec_pubkey_serialize(secp256k1_context_static, k->unc, &len,
                                                    &child.key.pk, SECP256K1_EC_UNCOMPRESSED);
                if (!tss_is_ok(tss_eth_address_from_pubkey(k->addr, k->unc, sizeof k->unc)) ||
                    !tss_is_ok(tss_eth_address_to_string(k->addr_s, k->addr)))
                    continue;
                n++;
            }
    }
    if (n != g->n_keys) tss_log(LOG_NOTICE, "keys: %zu key(s) and derived account(s) available", n);
    free(g->keys);
    g->keys = nk;
    g->n_keys = n;
    g->keys_ms = tss_now_ms();
}

const gw_key *gw_key_by_address(const gw *g, const uint8_t addr[TSS_ETH_ADDRESS_LEN]) {
    for (size_t i = 0; i < g->n_keys; i++)
        if (memcmp(g->keys[i].addr, addr, TSS_ETH_ADDRESS_LEN) == 0) return &g->keys[i];
    return NULL;
}

const gw_key *gw_key_by_identifier(const gw *g, const char *ident) {
    size_t n = strlen(ident);
    if (n == 42 && strncmp(ident, "0x", 2) == 0) {
        uint8_t a[TSS_ETH_ADDRESS_LEN];
        if (tss_is_ok(tss_hex_decode(a, sizeof a, ident + 2, "address")))
            return gw_key_by_address(g, a);
        return NULL;
    }
    if (n == 130 && strncmp(ident, "0x", 2) == 0) {
        uint8_t xy[64];
        if (!tss_is_ok(tss_hex_decode(xy, sizeof xy, ident + 2, "public key"))) return NULL;
        for (size_t i = 0; i < g->n_keys; i++)
            if (memcmp(g->keys[i].unc + 1, xy, 64) == 0) return &g->keys[i];
        return NULL;
    }
    for (size_t i = 0; i < g->n_keys; i++)
        if (strcmp(g->keys[i].info.key_id, ident) == 0) return &g->keys[i];
    return NULL;
}

/* ---- the connection ------------------------------------------------------------------ */

static tss_result encode_op(gw_up *u, const tss_wire_op_request *rq, gw_up_call *c) {
    tss_writer w;
    tss_writer_init(&w, u->lim.max_frame);
    tss_result r = tss_wire_op_request_encode(&w, rq);
    if (tss_is_ok(r)) r = tss_writer_status(&w, "OP_REQUEST");
    if (tss_is_ok(r)) {
        c->req = malloc(w.len);
        if (!c->req) r = tss_fail(TSS_E_NOMEM, "no memory");
        else memcpy(c->req, w.data, w.len);
        c->req_len = w.len;
    }
    tss_writer_free(&w);
    return r;
}

static bool in_failover(const gw_up *u, int64_t now) {
    return !u->open && u->lost_at && now - u->lost_at < FAILOVER_WAIT_MS && !u->g->stopping;
}

tss_result gw_up_request(gw *g, tss_wire_op_request *rq, gw_up_done fn, void *arg,
                         gw_up_call **out) {
    gw_up *u = g->up;
    bool repeatable = rq->command == TSS_WIRE_OP_SIGN || rq->command == TSS_WIRE_OP_KEYS;
    /* Between a lost coordinator and the next: a sign waits for it. */
    bool wait = repeatable && fn && in_failover(u, tss_now_ms());
    TSS_ENSURE(u->open || wait, TSS_E_IO, "the coordinator is not connected");
    TSS_ENSURE(u->n_calls < MAX_CALLS, TSS_E_TOO_LARGE, "too many requests in flight");
    gw_up_call *c = calloc(1, sizeof *c);
    TSS_ENSURE(c != NULL, TSS_E_NOMEM, "no memory");
    do c->id = ++u->next_id; while (c->id == 0);
    rq->request_id = c->id;
    c->fn = fn;
    c->arg = arg;
    c->deadline = tss_now_ms() + (int64_t)g->cfg.timeouts.sign;
    c->resend = repeatable;
    tss_result r = encode_op(u, rq, c);
    if (tss_is_ok(r) && u->open) r = tss_dconn_send(u->conn, TSS_WIRE_OP_REQUEST, c->req, c->req_len);
    if (!tss_is_ok(r)) {
        call_free(c);
        return r;
    }
    c->sent = u->open; /* else sent by on_open */
    c->next = u->calls;
    if (u->calls) u->calls->prev = c;
    u->calls = c;
    u->n_calls++;
    if (out) *out = c;
    return TSS_OK_RESULT;
}

static void refresh(gw_up *u) {
    if (!u->open) return;
    if (!u->keys_pending) {
        tss_wire_op_request rq;
        memset(&rq, 0, sizeof rq);
        rq.command = TSS_WIRE_OP_KEYS;
        u->keys_pending = tss_is_ok(gw_up_request(u->g, &rq, keys_done, u->g, NULL));
        if (u->keys_pending) u->calls->internal = true;
    }
    if (!u->status_pending) {
        tss_writer w;
        tss_writer_init(&w, 64);
        tss_result r = tss_wire_status_request_encode(&w);
        if (tss_is_ok(r)) r = tss_dconn_send(u->conn, TSS_WIRE_STATUS_REQUEST, w.data, w.len);
        tss_writer_free(&w);
        u->status_pending = tss_is_ok(r);
    }
}

static void on_open(tss_dconn *c, void *arg) {
    gw_up *u = arg;
    (void)c;
    u->open = true;
    u->lost_at = 0;
    u->backoff = BACKOFF_MIN_MS;
    tss_log(LOG_NOTICE, "connected to coordinator=%s", u->addr);
    size_t resent = 0;
    for (gw_up_call *k = u->calls; k; k = k->next) {
        if (k->sent || !k->req) continue;
        if (!tss_is_ok(tss_dconn_send(u->conn, TSS_WIRE_OP_REQUEST, k->req, k->req_len))) break;
        k->sent = true;
        resent++;
    }
    if (resent)
        tss_log(LOG_NOTICE, "failover: %zu request(s) in flight on the lost coordinator sent "
                "again to coordinator=%s", resent, u->addr);
    refresh(u);
}

static void on_response(gw_up *u, const tss_wire_frame *f) {
    tss_wire_op_response resp;
    memset(&resp, 0, sizeof resp);
    tss_result r = tss_wire_op_response_decode(&resp, f->payload, f->len);
    if (!tss_is_ok(r)) {
        tss_dconn_close(u->conn, LOG_WARNING, "coordinator sent a malformed OP_RESPONSE");
        return;
    }
    gw_up_call *c = u->calls;
    while (c && c->id != resp.request_id) c = c->next;
    if (c) {
        unlink_call(u, c);
        if (c->fn) c->fn(c->arg, &resp, NULL);
        call_free(c);
    } else {
        tss_log(LOG_DEBUG, "coordinator answered request %u which is no longer waited for",
                resp.request_id);
    }
    tss_wire_op_response_free(&resp);
}

static void on_frame(tss_dconn *c, const tss_wire_frame *f, void *arg) {
    gw_up *u = arg;
    (void)c;
    switch (f->type) {
    case TSS_WIRE_OP_RESPONSE: on_response(u, f); return;
    case TSS_WIRE_HEARTBEAT_ACK: return;
    case TSS_WIRE_STATUS_RESPONSE: {
        u->status_pending = false;
        tss_wire_status *st = calloc(1, sizeof *st);
        if (st && tss_is_ok(tss_wire_status_decode(st, f->payload, f->len))) {
            free(u->g->status);
            u->g->status = st;
        } else {
            free(st);
        }
        return;
    }
    case TSS_WIRE_ERROR: {
        tss_wire_error e;
        char why[400] = "coordinator sent a malformed ERROR";
        if (tss_is_ok(tss_wire_error_decode(&e, f->payload, f->len))) {
            const char *name = tss_wire_error_code_name(e.code);
            /* LIMIT is a rate-limit refusal that leaves the connection open;
             * it cannot be tied to a request, so it is only logged. */
            if (e.code == TSS_WIRE_ERR_LIMIT) {
                tss_log(LOG_WARNING, "coordinator: %s", e.text);
                return;
            }
            snprintf(why, sizeof why, "coordinator sent ERROR %s: %s", name ? name : "?", e.text);
        }
        tss_dconn_close(u->conn, LOG_WARNING, why);
        return;
    }
    default:
        tss_dconn_close(u->conn, LOG_WARNING, "coordinator sent an unexpected frame");
        return;
    }
}

static void on_close(tss_dconn *c, const char *reason, void *arg) {
    gw_up *u = arg;
    (void)c;
    bool was_open = u->open;
    u->open = false;
    u->conn = NULL;
    u->status_pending = u->keys_pending = false;
    if (was_open) tss_log(LOG_WARNING, "disconnected from coordinator=%s: %s", u->addr, reason);
    else tss_log(LOG_WARNING, "cannot connect to coordinator=%s: %s", u->addr, reason);
    free(u->g->status);
    u->g->status = NULL;
    if (u->g->stopping) {
        fail_all(u, "the coordinator is not reachable");
        return;
    }
    fail_unrepeatable(u, "the coordinator is not reachable");
    if (was_open) u->lost_at = tss_now_ms();
    if (!in_failover(u, tss_now_ms())) fail_all(u, "the coordinator is not reachable");
    /* Failover: the next address (its backoff applies when every address
     * keeps failing; it restarts from the minimum after a loss). */
    if (was_open) u->backoff = BACKOFF_MIN_MS;
    schedule_reconnect(u);
}

static const tss_dconn_ops up_ops = {on_open, on_frame, on_close};

static void connect_now(void *arg) {
    gw_up *u = arg;
    gw *g = u->g;
    if (g->stopping || u->conn) return;
    const tss_config_addr *a = &g->cfg.coordinator.address[u->addr_idx];
    tss_net_addr_format(a, u->addr, sizeof u->addr);
    int fd = -1, in_progress = 0;
    tss_result r = tss_net_connect(a, &fd, &in_progress);
    if (tss_is_ok(r))
        r = tss_dconn_new(g->loop, g->operator, fd, true, &u->lim, &up_ops, u, u->addr, &u->conn);
    if (!tss_is_ok(r)) {
        tss_log(LOG_WARNING, "connect to coordinator=%s failed: %s", u->addr, tss_error_detail());
        u->conn = NULL;
        schedule_reconnect(u);
    }
}

static void schedule_reconnect(gw_up *u) {
    int64_t delay = u->backoff;
    int64_t wait = delay / 2 + (int64_t)randombytes_uniform((uint32_t)(delay / 2 + 1));
    u->backoff = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    u->addr_idx = (u->addr_idx + 1) % u->g->cfg.coordinator.address_count;
    if (!tss_is_ok(tss_timer_arm(u->g->loop, &u->reconnect, tss_now_ms() + wait))) {
        tss_log(LOG_ERR, "cannot arm the reconnect timer: %s", tss_error_detail());
        tss_loop_stop(u->g->loop);
    }
}

/* Every REFRESH_MS: heartbeat, refresh, expire calls past timeouts.sign. */
static void on_tick(void *arg) {
    gw_up *u = arg;
    int64_t now = tss_now_ms();
    /* No coordinator came back within the failover wait: fail the waiting calls. */
    if (!u->open && u->lost_at && !in_failover(u, now)) {
        u->lost_at = 0;
        fail_all(u, "no coordinator reachable (failover wait over)");
    }
    for (gw_up_call *c = u->calls, *next; c; c = next) {
        next = c->next;
        if (now < c->deadline) continue;
        unlink_call(u, c);
        if (c->internal) u->keys_pending = false;
        if (c->fn) c->fn(c->arg, NULL, "the coordinator did not answer in time (timeouts.sign)");
        call_free(c);
    }
    if (u->open) {
        tss_wire_heartbeat hb = {.sequence = ++u->hb_seq, .timestamp_ms = (uint64_t)tss_now_ms()};
        tss_writer w;
        tss_writer_init(&w, 64);
        tss_result r = tss_wire_heartbeat_encode(&w, &hb);
        if (tss_is_ok(r)) r = tss_dconn_send(u->conn, TSS_WIRE_HEARTBEAT, w.data, w.len);
        tss_writer_free(&w);
        if (tss_is_ok(r)) refresh(u);
    }
    if (!tss_is_ok(tss_timer_arm(u->g->loop, &u->tick, now + REFRESH_MS)))
        tss_log(LOG_ERR, "cannot arm the refresh timer: %s", tss_error_detail());
}

tss_result gw_up_start(gw *g) {
    gw_up *u = calloc(1, sizeof *u);
    TSS_ENSURE(u != NULL, TSS_E_NOMEM, "no memory");
    g->up = u;
    u->g = g;
    u->backoff = BACKOFF_MIN_MS;
    u->lim = (tss_dconn_limits){
        .max_frame = 1024 * 1024,
        .max_pending_frames = 8192,
        .max_pending_bytes = 64 * 1024 * 1024,
        .handshake_ms = 10000,
        .frame_ms = 10000,
        .idle_ms = 30000, /* heartbeats answer every REFRESH_MS */
    };
    tss_timer_init(&u->reconnect, connect_now, u);
    tss_timer_init(&u->tick, on_tick, u);
    TSS_GUARD(tss_timer_arm(g->loop, &u->tick, tss_now_ms() + REFRESH_MS));
    connect_now(u);
    return TSS_OK_RESULT;
}

void gw_up_stop(gw *g) {
    gw_up *u = g->up;
    if (!u) return;
    tss_timer_disarm(g->loop, &u->reconnect);
    tss_timer_disarm(g->loop, &u->tick);
    if (u->conn) tss_dconn_close(u->conn, LOG_INFO, "gateway stopping");
    fail_all(u, "the gateway is stopping");
}
