/* tss-coordinator: accepts parties and operators over one mutual-TLS listener,
 * tracks which parties are connected, and answers operators' status requests.
 * (Keygen and signing sessions build on this; see DESIGN.md §4.)
 *
 * One thread, one epoll loop (daemon/loop.h). Each accepted socket becomes a
 * daemon/conn.h connection whose TLS policy admits only the configured parties
 * and operators, so a certificate of the wrong role or an unlisted identity is
 * refused inside the handshake, before any frame is parsed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "config/coordinator.h"
#include "daemon/conn.h"
#include "daemon/coordinator/admission.h"
#include "daemon/coordinator/pool.h"
#include "daemon/loop.h"
#include "daemon/net.h"
#include "daemon/process.h"
#include "daemon/watchdog.h"
#include "keystore/derive.h"
#include "tls/certinfo.h"
#include "tls/context.h"
#include "tls/identity.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/secmem.h"
#include "wire/msg.h"
#include "daemon/coordinator/coord.h"
#include "daemon/coordinator/store.h"

#define PROG "tss-coordinator"
#define STOP_GRACE_MS 2000
#define EXPIRY_WARN_DAYS 30
/* An unauthenticated connection younger than this is not evicted: it may be
 * a client mid-handshake, and evicting it would only be churn. */
#define EVICT_MIN_AGE_MS 250

/* ---- certificates ------------------------------------------------------------------ */

static void log_own_cert(coord *co, const char *what) {
    tss_tls_cert_info info;
    tss_tls_ctx_cert_info(co->tls, &info);
    tss_log(LOG_NOTICE, "tls: %s certificate sha256=%s notAfter=%s generation=%lu", what,
            info.fingerprint, info.not_after_iso, tss_tls_ctx_generation(co->tls));
    (void)tss_daemon_check_expiry(&info, "own");
}

/* Daily: the own certificate's expiry (a long-running daemon is not
 * restarted or reloaded often enough for the start-up check alone). */
static tss_timer expiry_timer;
static void on_expiry_timer(void *arg) {
    coord *co = arg;
    tss_tls_cert_info info;
    tss_tls_ctx_cert_info(co->tls, &info);
    (void)tss_daemon_check_expiry(&info, "own");
    if (!tss_is_ok(tss_timer_arm(co->loop, &expiry_timer, tss_now_ms() + TSS_EXPIRY_CHECK_MS)))
        tss_log(LOG_ERR, "cannot arm the certificate expiry timer: %s", tss_error_detail());
}

static void reload(coord *co) {
    tss_daemon_notify("RELOADING=1\nSTATUS=reloading certificates");
    tss_log(LOG_INFO, "reload: SIGHUP received, loading %s, %s, %s%s%s", co->paths.cert_file,
            co->paths.key_file, co->paths.ca_file, co->paths.crl_file ? ", " : "",
            co->paths.crl_file ? co->paths.crl_file : "");
    tss_result r = tss_tls_ctx_reload(co->tls, &co->paths);
    if (tss_is_ok(r)) {
        log_own_cert(co, "reload: now serving");
    } else {
        tss_tls_cert_info info;
        tss_tls_ctx_cert_info(co->tls, &info);
        tss_log(LOG_ERR, "reload: failed, keeping certificate sha256=%s notAfter=%s in service: %s",
                info.fingerprint, info.not_after_iso, tss_error_detail());
    }
    tss_daemon_notify("READY=1\nSTATUS=serving");
}

/* ---- status -------------------------------------------------------------------------- */

static void fingerprint_bytes(const char *hex, uint8_t out[TSS_WIRE_FINGERPRINT_LEN]) {
    if (!tss_is_ok(tss_hex_decode(out, TSS_WIRE_FINGERPRINT_LEN, hex, "fingerprint")))
        memset(out, 0, TSS_WIRE_FINGERPRINT_LEN);
}

static tss_result send_status(peer *p) {
    coord *co = p->co;
    tss_wire_status *st = calloc(1, sizeof *st);
    TSS_ENSURE(st != NULL, TSS_E_NOMEM, "no memory for a status response");
    snprintf(st->software, sizeof st->software, "%s", TSS_SOFTWARE);
    st->now_ms = (uint64_t)tss_wall_ms();
    st->started_ms = (uint64_t)co->started_ms;
    tss_tls_cert_info own;
    tss_tls_ctx_cert_info(co->tls, &own);
    fingerprint_bytes(own.fingerprint, st->cert_fingerprint);
    st->cert_not_after = (uint64_t)own.not_after;
    st->tls_generation = (uint32_t)tss_tls_ctx_generation(co->tls);
    st->connections = (uint16_t)(co->n_conns > 65535 ? 65535 : co->n_conns);
    for (unsigned id = 1; id <= TSS_WIRE_MAX_PARTIES; id++) {
        party_slot *s = &co->parties[id];
        if (!s->configured) continue;
        tss_wire_status_party *e = &st->parties[st->party_count++];
        e->party_id = (uint16_t)id;
        if (s->known) {
            e->flags = TSS_WIRE_STATUS_KNOWN | (s->conn ? TSS_WIRE_STATUS_CONNECTED : 0);
            memcpy(e->identity_key, s->hello.identity_key, sizeof e->identity_key);
            e->protocol_version = s->hello.protocol_version;
            snprintf(e->software, sizeof e->software, "%s", s->hello.software);
            fingerprint_bytes(s->cert.fingerprint, e->cert_fingerprint);
            e->cert_not_after = (uint64_t)s->cert.not_after;
            e->since_ms = (uint64_t)s->since_ms;
            e->last_heartbeat_ms = (uint64_t)s->last_heartbeat_ms;
            snprintf(e->address, sizeof e->address, "%s", s->address);
            e->pin_count = s->hello.pin_count;
            memcpy(e->pins, s->hello.pins, sizeof e->pins);
        }
    }
    tss_writer w;
    tss_writer_init(&w, co->lim.max_frame);
    tss_result r = tss_wire_status_encode(&w, st);
    free(st);
    if (tss_is_ok(r)) coord_audit_reply(co, p, TSS_WIRE_STATUS_RESPONSE, w.data, w.len);
    tss_writer_free(&w);
    return r;
}

/* ---- frames ------------------------------------------------------------------------- */

static void fail_peer(peer *p, uint16_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_peer(peer *p, uint16_t code, const char *fmt, ...) {
    char reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    tss_dconn_fail(p->conn, code, reason);
}

static void send_or_close(peer *p, tss_wire_type type, tss_result encoded, const tss_writer *w) {
    tss_result r = encoded;
    if (tss_is_ok(r)) r = tss_dconn_send(p->conn, type, w->data, w->len);
    if (!tss_is_ok(r) && tss_dconn_is_open(p->conn))
        fail_peer(p, TSS_WIRE_ERR_INTERNAL, "cannot send %s: %s", tss_wire_type_name(type),
                  tss_error_detail());
}

/* Over the rate limit: an ERROR frame (LIMIT) that leaves the connection
 * open, sent in order with the replies held for the audit flush. Not
 * audited one by one (coord_rate_admit counts them). */
static void refuse_rate(peer *p, const char *why) {
    tss_wire_error e;
    memset(&e, 0, sizeof e);
    e.code = TSS_WIRE_ERR_LIMIT;
    snprintf(e.text, sizeof e.text, "%s", why);
    tss_writer w;
    tss_writer_init(&w, 1024);
    if (tss_is_ok(tss_wire_error_encode(&w, &e)))
        coord_audit_reply(p->co, p, TSS_WIRE_ERROR, w.data, w.len);
    tss_writer_free(&w);
}

static void answer_heartbeat(peer *p, const tss_wire_frame *f) {
    tss_wire_heartbeat hb;
    tss_result r = tss_wire_heartbeat_decode(&hb, f->payload, f->len);
    if (!tss_is_ok(r)) {
        fail_peer(p, TSS_WIRE_ERR_PROTOCOL, "bad HEARTBEAT: %s", tss_error_detail());
        return;
    }
    if (p->role == TSS_TLS_ROLE_PARTY) p->co->parties[p->party_id].last_heartbeat_ms = tss_wall_ms();
    tss_writer w;
    tss_writer_init(&w, 64);
    send_or_close(p, TSS_WIRE_HEARTBEAT_ACK, tss_wire_heartbeat_encode(&w, &hb), &w);
    tss_writer_free(&w);
}

static void on_peer_error(peer *p, const tss_wire_frame *f) {
    tss_wire_error e;
    if (tss_is_ok(tss_wire_error_decode(&e, f->payload, f->len))) {
        const char *name = tss_wire_error_code_name(e.code);
        char reason[400];
        snprintf(reason, sizeof reason, "peer sent ERROR %s (%u): %s", name ? name : "?", e.code,
                 e.text);
        tss_dconn_close(p->conn, LOG_NOTICE, reason);
    } else {
        tss_dconn_close(p->conn, LOG_WARNING, "peer sent a malformed ERROR frame");
    }
}

static void on_hello(peer *p, const tss_wire_frame *f) {
    coord *co = p->co;
    tss_wire_hello h;
    tss_result r = tss_wire_hello_decode(&h, f->payload, f->len);
    if (!tss_is_ok(r)) {
        fail_peer(p, TSS_WIRE_ERR_PROTOCOL, "bad HELLO: %s", tss_error_detail());
        return;
    }
    if (h.party_id != p->party_id) {
        fail_peer(p, TSS_WIRE_ERR_UNAUTHORIZED,
                  "HELLO claims party %u but the certificate is urn:tssd:party:%u", h.party_id,
                  p->party_id);
        return;
    }
    party_slot *s = &co->parties[p->party_id];
    if (s->conn && s->conn != p) {
        /* The party reconnected before we noticed the old connection died. */
        peer *old = s->conn;
        s->conn = NULL;
        tss_dconn_close(old->conn, LOG_NOTICE, "replaced by a new connection from the same party");
        /* Its deferred on_close no longer owns the slot: fail its sessions now. */
        coord_party_gone(co, p->party_id);
    }
    char ident[TSS_IDENTITY_TEXT_LEN], prev[TSS_IDENTITY_TEXT_LEN];
    tss_identity_format(h.identity_key, ident);
    if (s->known && memcmp(s->hello.identity_key, h.identity_key, sizeof h.identity_key) != 0) {
        tss_identity_format(s->hello.identity_key, prev);
        tss_log(LOG_WARNING, "party=%u identity key changed from %s to %s", p->party_id, prev,
                ident);
    }
    p->hello = true;
    s->conn = p;
    s->known = true;
    s->hello = h;
    s->cert = *tss_dconn_peer_cert(p->conn);
    s->since_ms = tss_wall_ms();
    s->last_heartbeat_ms = 0;
    s->last_seen = tss_now_ms();
    s->unresponsive = false;
    s->capacity = h.max_sessions; /* 0: not announced (admission.h) */
    s->busy_until = 0;
    snprintf(s->address, sizeof s->address, "%s", tss_dconn_address(p->conn));
    tss_log(LOG_INFO,
            "party=%u connected peer=%s identity=%s version=%u software=\"%s\" cert_sha256=%s "
            "notAfter=%s max_sessions=%u",
            p->party_id, tss_dconn_address(p->conn), ident, h.protocol_version, h.software,
            s->cert.fingerprint, s->cert.not_after_iso, h.max_sessions);
    long days = tss_tls_cert_days_left(&s->cert, time(NULL));
    if (days <= EXPIRY_WARN_DAYS)
        tss_log(LOG_WARNING, "party=%u certificate expires in %ld days (notAfter=%s)",
                p->party_id, days, s->cert.not_after_iso);
    /* The party must hear from us within its own timeout; we expect a
     * heartbeat every timeouts.heartbeat and drop it after timeouts.idle. */
    tss_wire_hello_ack ack = {
        .party_id = (uint16_t)p->party_id,
        .protocol_version = TSS_PROTOCOL_VERSION,
        .heartbeat_interval_ms = (uint32_t)co->cfg.timeouts.heartbeat,
    };
    snprintf(ack.software, sizeof ack.software, "%s", TSS_SOFTWARE);
    tss_writer w;
    tss_writer_init(&w, 512);
    send_or_close(p, TSS_WIRE_HELLO_ACK, tss_wire_hello_ack_encode(&w, &ack), &w);
    tss_writer_free(&w);
    coord_retire_party_hello(co, p->party_id); /* retired keys it may still hold */
    coord_admission_kick(co); /* queued requests may run on it now */
    coord_pool_kick(co);      /* and the pool may refill with it */
}

static void on_frame(tss_dconn *c, const tss_wire_frame *f, void *arg) {
    peer *p = arg;
    (void)c;
    const char *name = tss_wire_type_name(f->type);
    if (f->type == TSS_WIRE_ERROR) {
        on_peer_error(p, f);
        return;
    }
    if (p->role == TSS_TLS_ROLE_PARTY) {
        if (p->hello) coord_liveness_seen(p->co, p->party_id);
        if (f->type == TSS_WIRE_STATUS_REQUEST) {
            fail_peer(p, TSS_WIRE_ERR_UNAUTHORIZED,
                      "STATUS_REQUEST needs an operator certificate, peer is urn:tssd:party:%u",
                      p->party_id);
            return;
        }
        if (!p->hello) {
            if (f->type == TSS_WIRE_HELLO) on_hello(p, f);
            else
                fail_peer(p, TSS_WIRE_ERR_PROTOCOL, "expected HELLO first, got %s", name);
            return;
        }
        switch (f->type) {
        case TSS_WIRE_HEARTBEAT: answer_heartbeat(p, f); return;
        case TSS_WIRE_HEARTBEAT_ACK: return;
        case TSS_WIRE_PROTOCOL_MSG:
        case TSS_WIRE_SESSION_RESULT:
        case TSS_WIRE_SESSION_ABORT: coord_party_frame(p, f); return;
        case TSS_WIRE_PRESIG_INVENTORY: coord_presig_inventory(p, f); return;
        case TSS_WIRE_KEY_RETIRED: coord_retire_party_frame(p, f); return;
        default:
            fail_peer(p, TSS_WIRE_ERR_PROTOCOL, "%s is not accepted from a party here", name);
            return;
        }
    }
    /* Operators. */
    switch (f->type) {
    case TSS_WIRE_STATUS_REQUEST: {
        tss_result r = tss_wire_status_request_decode(f->payload, f->len);
        char why[200];
        if (tss_is_ok(r) && !coord_rate_admit(p->co, p, why, sizeof why)) {
            refuse_rate(p, why);
            return;
        }
        if (tss_is_ok(r)) r = send_status(p);
        if (!tss_is_ok(r) && tss_dconn_is_open(p->conn))
            fail_peer(p, TSS_WIRE_ERR_PROTOCOL, "STATUS_REQUEST: %s", tss_error_detail());
        return;
    }
    case TSS_WIRE_HEARTBEAT: answer_heartbeat(p, f); return;
    case TSS_WIRE_OP_REQUEST: coord_operator_request(p, f); return;
    case TSS_WIRE_HELLO:
        fail_peer(p, TSS_WIRE_ERR_UNAUTHORIZED,
                  "HELLO needs a party certificate, peer is urn:tssd:operator:%s",
                  tss_dconn_peer(p->conn)->operator_name);
        return;
    default:
        fail_peer(p, TSS_WIRE_ERR_PROTOCOL, "%s is not accepted from an operator", name);
        return;
    }
}

/* ---- admission (issue 11, finding 3) ------------------------------------------------ */

/* No longer counted as unauthenticated (authenticated, evicted or closed). */
static void release_unauth(peer *p) {
    if (!p->admit) return;
    if (p->authed) tss_admit_refund(&p->co->admit, p->admit);
    p->admit->unauth--;
    p->co->n_unauth--;
    p->admit = NULL;
}

static void release_conn(peer *p) {
    release_unauth(p);
    if (p->counted) {
        p->counted = false;
        p->co->n_conns--;
    }
}

/* Evict the oldest unauthenticated connection (of one address, or any),
 * if it is old enough that evicting it is not just churn. */
static bool evict_oldest(coord *co, const tss_admit_entry *of, int64_t now, const char *why) {
    /* Within one address, the newest always wins: a flood only evicts its
     * own sockets, and a client sharing the address still gets in. Across
     * addresses, only a handshake older than EVICT_MIN_AGE_MS is evicted. */
    int64_t min_age = of ? 0 : EVICT_MIN_AGE_MS;
    peer *oldest = NULL;
    for (peer *p = co->peers; p; p = p->next)
        if (p->admit && (!of || p->admit == of) && (!oldest || p->accepted < oldest->accepted))
            oldest = p;
    if (!oldest || now - oldest->accepted < min_age) return false;
    tss_admit_entry *e = oldest->admit;
    char reason[200];
    snprintf(reason, sizeof reason, "evicted after %lldms without completing TLS: %s",
             (long long)(now - oldest->accepted), why);
    release_conn(oldest);
    tss_dconn_close(oldest->conn, tss_admit_note_evicted(e) ? LOG_WARNING : LOG_DEBUG, reason);
    return true;
}

static void admit_report(const tss_admit_entry *e, void *arg) {
    (void)arg;
    tss_log(LOG_WARNING, "conn: %u connection(s) refused and %u evicted from %s in the last "
            "minute (limits.connection_rate, max_unauthenticated*, max_connections)",
            e->refused, e->evicted, e->name);
}

static void on_admit_timer(void *arg) {
    coord *co = arg;
    int64_t now = tss_now_ms();
    tss_admit_report(&co->admit, now, admit_report, co);
    if (!tss_is_ok(tss_timer_arm(co->loop, &co->admit_timer, now + TSS_ADMIT_REPORT_MS)))
        tss_log(LOG_ERR, "cannot arm the admission report timer: %s", tss_error_detail());
}

/* Refuse a new socket: one line per address and minute, then a summary. */
static void refuse(tss_admit_entry *e, int fd, const char *addr, const char *why) {
    if (tss_admit_note_refused(e))
        tss_log(LOG_WARNING, "conn: refusing peer=%s: %s (further refusals from %s are "
                "summarised once a minute)", addr, why, e->name);
    /* A reset, not a silent FIN: the client fails fast. */
    struct linger lg = {1, 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static void on_open(tss_dconn *c, void *arg) {
    peer *p = arg;
    coord *co = p->co;
    const tss_tls_identity *id = tss_dconn_peer(c);
    p->role = id->role;
    p->party_id = id->party_id;
    p->authed = true;
    release_unauth(p);
    if (p->role == TSS_TLS_ROLE_OPERATOR) {
        /* Parties have room reserved: operators cannot take it. */
        if (co->n_operators >= co->max_operators) {
            fail_peer(p, TSS_WIRE_ERR_LIMIT,
                      "coordinator at capacity: %zu operator connections (limits.max_connections "
                      "%lld, room kept for the parties); retry later",
                      co->n_operators, (long long)co->cfg.limits.max_connections);
            p->role = TSS_TLS_ROLE_COORDINATOR; /* not counted as an operator */
            return;
        }
        co->n_operators++;
        tss_log(LOG_INFO, "operator=%s connected peer=%s", id->operator_name, tss_dconn_address(c));
    }
}

static void maybe_finish_stop(coord *co) {
    if (co->stopping && co->n_conns == 0) tss_loop_stop(co->loop);
}

static void on_close(tss_dconn *c, const char *reason, void *arg) {
    peer *p = arg;
    coord *co = p->co;
    (void)c;
    if (p->role == TSS_TLS_ROLE_PARTY && p->hello) {
        party_slot *s = &co->parties[p->party_id];
        if (s->conn == p) {
            s->conn = NULL;
            s->since_ms = tss_wall_ms();
            tss_log(LOG_NOTICE, "party=%u disconnected: %s", p->party_id, reason);
            coord_party_gone(co, p->party_id);
        }
    }
    if (p->role == TSS_TLS_ROLE_OPERATOR) {
        coord_operator_gone(co, p);
        coord_audit_operator_gone(co, p);
        co->n_operators--;
    }
    if (p->prev) p->prev->next = p->next;
    else co->peers = p->next;
    if (p->next) p->next->prev = p->prev;
    release_conn(p);
    free(p);
    maybe_finish_stop(co);
}

static const tss_dconn_ops peer_ops = {on_open, on_frame, on_close};

/* ---- accepting ---------------------------------------------------------------------- */

static void on_accept(void *arg, uint32_t events) {
    listener *l = arg;
    coord *co = l->co;
    (void)events;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            /* EMFILE and friends: the pending connection stays queued; retry on
             * the next event rather than spinning. */
            tss_log(LOG_ERR, "accept: %s", strerror(errno));
            return;
        }
        char addr[80];
        tss_sockaddr_format(&ss, len, addr, sizeof addr);
        /* Protocol rounds are small request/response frames relayed at once:
         * without this, Nagle's algorithm and the peer's delayed ACK hold
         * each relayed frame up to ~40 ms (parties and tssctl already set it
         * on their side). Not for a Unix socket (activated or not): harmless
         * failure. */
        if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
            int one = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        int64_t now = tss_now_ms();
        tss_admit_entry *e = tss_admit_lookup(&co->admit, &ss, now);
        if (co->stopping) {
            refuse(e, fd, addr, "shutting down");
            continue;
        }
        if (!tss_admit_take(&co->admit, e, now)) {
            refuse(e, fd, addr, "too many new connections from this address "
                   "(limits.connection_rate)");
            continue;
        }
        /* Room for one more unauthenticated connection: of this address,
         * overall, and in the table. Make it by evicting the oldest idle
         * handshake (a flood cannot lock newcomers out), else refuse. */
        const char *full = NULL;
        if (e->unauth >= (size_t)co->cfg.limits.max_unauthenticated_per_address &&
            !evict_oldest(co, e, now, "limits.max_unauthenticated_per_address"))
            full = "limits.max_unauthenticated_per_address reached";
        else if (co->n_unauth >= co->max_unauth &&
                 !evict_oldest(co, NULL, now, "limits.max_unauthenticated"))
            full = "limits.max_unauthenticated reached";
        else if (co->n_conns >= (size_t)co->cfg.limits.max_connections &&
                 !evict_oldest(co, NULL, now, "limits.max_connections"))
            full = "limits.max_connections reached";
        if (full) {
            tss_admit_refund(&co->admit, e);
            refuse(e, fd, addr, full);
            continue;
        }
        peer *p = calloc(1, sizeof *p);
        if (!p) {
            tss_log(LOG_ERR, "conn: refusing peer=%s: out of memory", addr);
            close(fd);
            continue;
        }
        p->co = co;
        p->next = co->peers;
        if (co->peers) co->peers->prev = p;
        co->peers = p;
        co->n_conns++;
        p->counted = true;
        p->admit = e;
        p->accepted = now;
        e->unauth++;
        co->n_unauth++;
        tss_log(LOG_DEBUG, "conn: accepted peer=%s", addr);
        tss_result r = tss_dconn_new(co->loop, co->tls, fd, false, &co->lim, &peer_ops, p, addr,
                                     &p->conn);
        if (!tss_is_ok(r)) {
            tss_log(LOG_ERR, "conn: cannot serve peer=%s: %s", addr, tss_error_detail());
            if (p->prev) p->prev->next = p->next;
            else co->peers = p->next;
            if (p->next) p->next->prev = p->prev;
            release_conn(p);
            free(p);
        }
    }
}

static tss_result open_listeners(coord *co) {
    int n = sd_listen_fds(1);
    if (n > 0) {
        if (n > TSS_NET_MAX_LISTEN)
            tss_log(LOG_WARNING, "socket activation: %d sockets passed, using the first %d", n,
                    TSS_NET_MAX_LISTEN);
        for (int i = 0; i < n && co->n_listen < TSS_NET_MAX_LISTEN; i++) {
            int fd = SD_LISTEN_FDS_START + i;
            TSS_ENSURE(sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0, TSS_E_CONFIG,
                       "socket activation: fd %d is not a listening stream socket", fd);
            int fl = fcntl(fd, F_GETFL);
            (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
            co->listeners[co->n_listen++].fd = fd;
        }
        tss_log(LOG_INFO, "listening on %zu socket-activated socket(s)", co->n_listen);
    } else {
        TSS_ENSURE(co->cfg.listen_count > 0, TSS_E_CONFIG,
                   "no listen address configured and not socket-activated");
        for (size_t i = 0; i < co->cfg.listen_count; i++) {
            int fds[TSS_NET_MAX_LISTEN];
            size_t got = 0;
            TSS_GUARD(tss_net_listen(&co->cfg.listen[i], fds, TSS_NET_MAX_LISTEN, &got));
            char text[300];
            tss_net_addr_format(&co->cfg.listen[i], text, sizeof text);
            tss_log(LOG_INFO, "listening on %s", text);
            for (size_t j = 0; j < got; j++) co->listeners[co->n_listen++].fd = fds[j];
        }
    }
    for (size_t i = 0; i < co->n_listen; i++) {
        co->listeners[i].co = co;
        TSS_GUARD(tss_loop_watch(co->loop, &co->listeners[i].watch, co->listeners[i].fd, EPOLLIN,
                                 on_accept, &co->listeners[i]));
    }
    return TSS_OK_RESULT;
}

/* ---- stopping ----------------------------------------------------------------------- */

static void on_stop_timer(void *arg) {
    coord *co = arg;
    tss_log(LOG_NOTICE, "stop: %zu connection(s) did not close in time; exiting", co->n_conns);
    tss_loop_stop(co->loop);
}

static void begin_stop(coord *co, int signo) {
    if (co->stopping) {
        tss_log(LOG_NOTICE, "stop: second signal, exiting now");
        tss_loop_stop(co->loop);
        return;
    }
    co->stopping = true;
    tss_daemon_notify("STOPPING=1");
    tss_log(LOG_NOTICE, "stop: %s received, closing %zu connection(s)", strsignal(signo),
            co->n_conns);
    for (size_t i = 0; i < co->n_listen; i++) {
        tss_loop_unwatch(co->loop, &co->listeners[i].watch);
        close(co->listeners[i].fd);
    }
    co->n_listen = 0;
    for (peer *p = co->peers, *next; p; p = next) {
        next = p->next;
        tss_dconn_fail(p->conn, TSS_WIRE_ERR_SHUTDOWN, "coordinator shutting down");
    }
    tss_timer_init(&co->stop_timer, on_stop_timer, co);
    if (!tss_is_ok(tss_timer_arm(co->loop, &co->stop_timer, tss_now_ms() + STOP_GRACE_MS)))
        tss_loop_stop(co->loop);
    maybe_finish_stop(co);
}

static void on_signal(void *arg, int signo) {
    coord *co = arg;
    if (signo == SIGHUP) reload(co);
    else begin_stop(co, signo);
}

/* ---- main --------------------------------------------------------------------------- */

static tss_result setup_tls(coord *co) {
    tss_tls_config tc;
    memset(&tc, 0, sizeof tc);
    tc.side = TSS_TLS_SERVER;
    tc.self.role = TSS_TLS_ROLE_COORDINATOR;
    tss_tls_policy_init(&tc.peers);
    for (size_t i = 0; i < co->cfg.party_count; i++) {
        unsigned id = (unsigned)co->cfg.parties[i].id;
        TSS_GUARD(tss_tls_policy_allow_party(&tc.peers, id));
        co->parties[id].configured = true;
    }
    for (size_t i = 0; i < co->cfg.operator_count; i++)
        TSS_GUARD(tss_tls_policy_allow_operator(&tc.peers, co->cfg.operators[i].name));
    co->paths = (tss_tls_paths){co->cfg.tls.cert, co->cfg.tls.key, co->cfg.tls.ca, co->cfg.tls.crl};
    return tss_tls_ctx_new(&tc, &co->paths, &co->tls);
}

/* --check: the state directory is private if it exists (a first start creates it). */
static tss_result check_state_dir(const char *dir) {
    struct stat st;
    if (stat(dir, &st) != 0 && errno == ENOENT) return TSS_OK_RESULT;
    return tss_daemon_check_private_dir(dir);
}

/* A TLS set that does not load is a configuration problem (78), except
 * unsafe key permissions (77) and missing files (66). */
static int tls_exit(tss_result r) {
    tss_daemon_exit(r, "tls");
    if (r.err == TSS_E_PERMISSION || r.err == TSS_E_NOT_FOUND || r.err == TSS_E_NOMEM)
        return tss_err_exit_code(r.err);
    return 78;
}

/* --migrate-storage (files -> postgresql): taken out of argv before the
 * common parser sees it. */
static bool take_migrate_flag(int *argc, char **argv) {
    bool found = false;
    int o = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--migrate-storage") == 0) found = true;
        else argv[o++] = argv[i];
    }
    *argc = o;
    argv[o] = NULL;
    return found;
}

/* tss-coordinator --config F --migrate-storage: with the state directory
 * locked (no coordinator running on it). */
static int migrate_storage(coord *co) {
    int lock_fd = -1;
    tss_result r = tss_daemon_lock_state_dir(co->cfg.state_dir, &lock_fd);
    if (tss_is_ok(r)) r = coord_store_migrate(co);
    int code = 0;
    if (!tss_is_ok(r)) {
        fprintf(stderr, "%s: --migrate-storage: %s\n", PROG, tss_error_detail());
        code = tss_err_exit_code(r.err);
    }
    coord_store_close(co);
    tss_config_coordinator_free(&co->cfg);
    if (lock_fd >= 0) close(lock_fd);
    return code;
}

int main(int argc, char **argv) {
    tss_daemon_args args;
    bool migrate = take_migrate_flag(&argc, argv);
    if (!tss_daemon_parse_args(argc, argv, PROG,
                               "Threshold-signing coordinator: serves parties and operators "
                               "over mutual TLS 1.3.",
                               &args))
        return 64;
    static coord co_storage;
    coord *co = &co_storage;
    tss_result r = tss_crypto_init();
    if (!tss_is_ok(r)) return tss_daemon_exit(r, "init");
    r = tss_config_coordinator_load_file(&co->cfg, args.config);
    if (!tss_is_ok(r)) {
        tss_daemon_config_error(PROG);
        return tss_err_exit_code(r.err);
    }
    if (migrate) {
        tss_log_set_level(co->cfg.log_level);
        return migrate_storage(co);
    }
    if (args.check) {
        /* Everything a start would load, without starting: the TLS set
         * (certificate, key, CA bundle, CRL) and the state directory's mode.
         * Any problem is a configuration problem (78), so ExecReload= can run
         * this before SIGHUP and make `systemctl reload` fail visibly. */
        r = setup_tls(co);
        if (tss_is_ok(r)) {
            log_own_cert(co, "check: certificate");
            tss_tls_ctx_free(co->tls);
            co->tls = NULL;
            r = check_state_dir(co->cfg.state_dir);
            if (tss_is_ok(r)) r = coord_store_check(co);
        }
        tss_config_coordinator_free(&co->cfg);
        if (!tss_is_ok(r)) {
            fprintf(stderr, "%s: configuration NOT OK: %s\n", args.config, tss_error_detail());
            return 78;
        }
        printf("%s: configuration OK\n", args.config);
        return 0;
    }
    tss_log_set_level(co->cfg.log_level);
    int code = 0, lock_fd = -1;
    r = tss_harden_process();
    if (!tss_is_ok(r)) return tss_daemon_exit(r, "harden");
    r = tss_daemon_lock_state_dir(co->cfg.state_dir, &lock_fd);
    /* The registry, the audit log and the session artifacts live here. */
    if (tss_is_ok(r)) r = tss_daemon_check_private_dir(co->cfg.state_dir);
    if (!tss_is_ok(r)) {
        code = tss_daemon_exit(r, "state directory");
        goto out;
    }
    r = setup_tls(co);
    if (!tss_is_ok(r)) {
        code = tls_exit(r);
        goto out;
    }
    log_own_cert(co, "start: serving");
    co->lim = (tss_dconn_limits){
        .max_frame = (uint32_t)co->cfg.limits.max_frame_size,
        .max_pending_frames = (size_t)co->cfg.limits.max_pending_frames,
        .max_pending_bytes = 8 * (size_t)co->cfg.limits.max_frame_size,
        .handshake_ms = (int64_t)co->cfg.timeouts.handshake,
        .tls_ms = (int64_t)co->cfg.timeouts.preauth,
        .frame_ms = (int64_t)co->cfg.timeouts.handshake,
        .idle_ms = (int64_t)co->cfg.timeouts.idle,
    };
    co->started_ms = tss_wall_ms();
    r = coord_store_open(co);
    if (!tss_is_ok(r)) {
        code = tss_daemon_exit(r, "storage");
        goto out;
    }
    /* postgresql: the audit log is a table (store_pg.c). */
    if (!co->pg) r = coord_audit_open(co);
    if (!tss_is_ok(r)) {
        code = tss_daemon_exit(r, "audit log");
        goto out;
    }
    static tss_watchdog wd; /* lives as long as the loop */
    r = tss_loop_new(on_signal, co, &co->loop);
    if (tss_is_ok(r)) r = open_listeners(co);
    if (tss_is_ok(r)) r = tss_watchdog_start(&wd, co->loop);
    if (tss_is_ok(r)) r = coord_liveness_start(co);
    if (tss_is_ok(r)) r = coord_pool_start(co);
    tss_admit_init(&co->admit, (uint32_t)co->cfg.limits.connection_rate, tss_now_ms());
    tss_timer_init(&co->admit_timer, on_admit_timer, co);
    if (tss_is_ok(r)) r = tss_timer_arm(co->loop, &co->admit_timer, tss_now_ms() + TSS_ADMIT_REPORT_MS);
    {
        /* Room kept for every configured party and one operator. */
        size_t total = (size_t)co->cfg.limits.max_connections, parties = co->cfg.party_count;
        size_t room = total > parties + 1 ? total - parties - 1 : 1;
        co->max_unauth = (size_t)co->cfg.limits.max_unauthenticated;
        if (co->max_unauth > room) {
            tss_log(LOG_NOTICE, "limits.max_unauthenticated %zu lowered to %zu: room is kept for "
                    "%zu parties and an operator below limits.max_connections %zu",
                    co->max_unauth, room, parties, total);
            co->max_unauth = room;
        }
        co->max_operators = total > parties + co->max_unauth ? total - parties - co->max_unauth : 1;
    }
    tss_timer_init(&expiry_timer, on_expiry_timer, co);
    if (tss_is_ok(r)) r = tss_timer_arm(co->loop, &expiry_timer, tss_now_ms() + TSS_EXPIRY_CHECK_MS);
    if (!tss_is_ok(r)) {
        code = tss_daemon_exit(r, "listen");
        goto out;
    }
    tss_log(LOG_NOTICE, "start: %s ready, %zu parties and %zu operators configured, pid %ld",
            TSS_SOFTWARE, co->cfg.party_count, co->cfg.operator_count, (long)getpid());
    tss_daemon_notify("READY=1\nSTATUS=serving\nMAINPID=%ld", (long)getpid());
    r = tss_loop_run(co->loop);
    if (!tss_is_ok(r)) code = tss_daemon_exit(r, "event loop");
    /* Close what is left (a second signal or the grace timer). */
    for (peer *p = co->peers, *next; p; p = next) {
        next = p->next;
        tss_dconn_close(p->conn, LOG_INFO, "coordinator exiting");
    }
    tss_log(LOG_NOTICE, "stop: exiting");
out:
    coord_retire_free(co);
    coord_sessions_free(co);
    coord_pool_stop(co);
    coord_audit_close(co); /* before the loop goes: it owns the sync timer */
    for (size_t i = 0; i < co->n_listen; i++) close(co->listeners[i].fd);
    tss_watchdog_stop(&wd);
    tss_loop_free(co->loop); /* runs the deferred frees */
    tss_tls_ctx_free(co->tls);
    coord_store_close(co);
    tss_config_coordinator_free(&co->cfg);
    if (lock_fd >= 0) close(lock_fd);
    return code;
}
