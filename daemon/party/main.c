/* tss-party: unseals its keystore, dials every configured coordinator over
 * mutual TLS 1.3 (one connection each, all at once), introduces itself
 * (HELLO: party id, protocol version, Ed25519 identity), keeps each
 * connection alive with heartbeats, and reconnects each with capped
 * exponential backoff and jitter when its coordinator goes away. The
 * durable guarantees (a wire session id, a sign sid, a presignature used
 * once) live in this party's state directory, so they hold across
 * coordinators.
 *
 * One thread, one epoll loop (daemon/loop.h); parties never listen. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sodium.h>

#include "config/party.h"
#include "daemon/conn.h"
#include "daemon/loop.h"
#include "daemon/net.h"
#include "daemon/process.h"
#include "daemon/watchdog.h"
#include "keystore/keystore.h"
#include "keystore/share_cache.h"
#include "tls/certinfo.h"
#include "tls/context.h"
#include "util/log.h"
#include "util/secmem.h"
#include "wire/msg.h"
#include "daemon/party/party.h"

#define PROG "tss-party"
#define STOP_GRACE_MS 2000
/* The coordinator is declared dead after this many heartbeat intervals without
 * any frame from it (each heartbeat is acknowledged). */
#define DEAD_AFTER_INTERVALS 3


static void schedule_reconnect(pcoord *co);

/* ---- the coordinator connections ---------------------------------------------------- */

static size_t n_connected(const party *pt) {
    size_t n = 0;
    for (size_t i = 0; i < pt->n_coords; i++) n += pt->coords[i].acked;
    return n;
}

/* systemd's STATUS= line: every coordinator and whether it is connected. */
static void notify_status(party *pt, bool ready) {
    if (pt->n_coords == 1) { /* the single-coordinator wording, as before */
        tss_daemon_notify("%sSTATUS=%s", ready ? "READY=1\n" : "",
                          pt->coords[0].acked ? "connected to the coordinator"
                                              : "reconnecting to the coordinator");
        return;
    }
    char line[1024];
    size_t o = (size_t)snprintf(line, sizeof line, "connected to %zu of %zu coordinator(s):",
                                n_connected(pt), pt->n_coords);
    for (size_t i = 0; i < pt->n_coords && o < sizeof line; i++) {
        const pcoord *co = &pt->coords[i];
        o += (size_t)snprintf(line + o, sizeof line - o, " %s %s%s", co->addr,
                              co->acked ? "up" : co->conn ? "connecting" : "reconnecting",
                              i + 1 < pt->n_coords ? "," : "");
    }
    tss_daemon_notify("%sSTATUS=%s", ready ? "READY=1\n" : "", line);
}

static void send_msg(pcoord *co, tss_wire_type type, tss_result encoded, const tss_writer *w) {
    tss_result r = encoded;
    if (tss_is_ok(r)) r = tss_dconn_send(co->conn, type, w->data, w->len);
    if (!tss_is_ok(r) && co->conn && tss_dconn_is_open(co->conn)) {
        char reason[400];
        snprintf(reason, sizeof reason, "cannot send %s: %s", tss_wire_type_name(type),
                 tss_error_detail());
        tss_dconn_fail(co->conn, TSS_WIRE_ERR_INTERNAL, reason);
    }
}

static void on_hb_timer(void *arg) {
    pcoord *co = arg;
    if (!co->conn || !co->acked) return;
    tss_wire_heartbeat hb = {.sequence = ++co->hb_seq, .timestamp_ms = (uint64_t)tss_now_ms()};
    tss_writer w;
    tss_writer_init(&w, 64);
    send_msg(co, TSS_WIRE_HEARTBEAT, tss_wire_heartbeat_encode(&w, &hb), &w);
    tss_writer_free(&w);
    if (co->conn &&
        !tss_is_ok(tss_timer_arm(co->pt->loop, &co->hb_timer, tss_now_ms() + co->hb_interval)))
        tss_dconn_close(co->conn, LOG_ERR, "cannot arm the heartbeat timer");
}

static void on_open(tss_dconn *c, void *arg) {
    pcoord *co = arg;
    party *pt = co->pt;
    tss_wire_hello h = {
        .party_id = (uint16_t)pt->cfg.party_id,
        .protocol_version = TSS_PROTOCOL_VERSION,
        /* This coordinator never starts more sessions here than this (the
         * party's cap holds for all coordinators together: a surplus START
         * is answered "busy"). */
        .max_sessions = (uint16_t)pt->cfg.limits.max_sessions,
    };
    memcpy(h.identity_key, pt->keys->identity_public, sizeof h.identity_key);
    snprintf(h.software, sizeof h.software, "%s", TSS_SOFTWARE);
    /* Our pins, so `tssctl status` can show one that differs from the peer's identity. */
    for (size_t i = 0; i < pt->cfg.peer_count && h.pin_count < TSS_WIRE_MAX_PINS; i++) {
        h.pins[h.pin_count].party_id = (uint16_t)pt->cfg.peers[i].id;
        memcpy(h.pins[h.pin_count].identity_key, pt->cfg.peers[i].identity,
               sizeof h.pins[h.pin_count].identity_key);
        h.pin_count++;
    }
    tss_writer w;
    tss_writer_init(&w, 2048);
    (void)c;
    send_msg(co, TSS_WIRE_HELLO, tss_wire_hello_encode(&w, &h), &w);
    tss_writer_free(&w);
}

static void on_hello_ack(pcoord *co, const tss_wire_frame *f) {
    party *pt = co->pt;
    tss_wire_hello_ack ack;
    tss_result r = tss_wire_hello_ack_decode(&ack, f->payload, f->len);
    char reason[400];
    if (!tss_is_ok(r)) {
        snprintf(reason, sizeof reason, "bad HELLO_ACK: %s", tss_error_detail());
        tss_dconn_fail(co->conn, TSS_WIRE_ERR_PROTOCOL, reason);
        return;
    }
    if (ack.party_id != pt->cfg.party_id || ack.protocol_version != TSS_PROTOCOL_VERSION) {
        snprintf(reason, sizeof reason, "HELLO_ACK for party %u version %u, expected party %lld "
                 "version %u", ack.party_id, ack.protocol_version, (long long)pt->cfg.party_id,
                 TSS_PROTOCOL_VERSION);
        tss_dconn_fail(co->conn, TSS_WIRE_ERR_VERSION, reason);
        return;
    }
    co->acked = true;
    co->connects++;
    co->backoff = (int64_t)pt->cfg.timeouts.backoff_initial;
    co->hb_interval = (int64_t)pt->cfg.timeouts.heartbeat;
    if ((int64_t)ack.heartbeat_interval_ms < co->hb_interval) co->hb_interval = ack.heartbeat_interval_ms;
    tss_dconn_set_idle(co->conn, DEAD_AFTER_INTERVALS * co->hb_interval);
    const tss_tls_cert_info *cc = tss_dconn_peer_cert(co->conn);
    const tss_tls_cert_info *own = tss_dconn_own_cert(co->conn);
    tss_log(LOG_NOTICE,
            "party=%lld connected to coordinator=%s (%zu of %zu) software=\"%s\" heartbeat=%lldms "
            "coordinator_cert_sha256=%s own_cert_sha256=%s",
            (long long)pt->cfg.party_id, co->addr, co->idx + 1, pt->n_coords, ack.software,
            (long long)co->hb_interval, cc->fingerprint, own->fingerprint);
    (void)tss_daemon_check_expiry(cc, "coordinator");
    if (!pt->ever_ready) {
        pt->ever_ready = true;
        notify_status(pt, true);
    } else {
        notify_status(pt, false);
    }
    if (!tss_is_ok(tss_timer_arm(pt->loop, &co->hb_timer, tss_now_ms() + co->hb_interval))) {
        tss_dconn_close(co->conn, LOG_ERR, "cannot arm the heartbeat timer");
        return;
    }
    party_presig_inventory(co); /* reconcile.c: before any session of this connection */
}

static void on_frame(tss_dconn *c, const tss_wire_frame *f, void *arg) {
    pcoord *co = arg;
    char reason[400];
    if (f->type == TSS_WIRE_ERROR) {
        tss_wire_error e;
        if (tss_is_ok(tss_wire_error_decode(&e, f->payload, f->len))) {
            const char *name = tss_wire_error_code_name(e.code);
            snprintf(reason, sizeof reason, "coordinator sent ERROR %s (%u): %s",
                     name ? name : "?", e.code, e.text);
        } else {
            snprintf(reason, sizeof reason, "coordinator sent a malformed ERROR frame");
        }
        tss_dconn_close(c, LOG_WARNING, reason);
        return;
    }
    if (!co->acked) {
        if (f->type == TSS_WIRE_HELLO_ACK) {
            on_hello_ack(co, f);
        } else {
            snprintf(reason, sizeof reason, "expected HELLO_ACK, got %s", tss_wire_type_name(f->type));
            tss_dconn_fail(c, TSS_WIRE_ERR_PROTOCOL, reason);
        }
        return;
    }
    switch (f->type) {
    case TSS_WIRE_HEARTBEAT_ACK: {
        tss_wire_heartbeat hb;
        if (!tss_is_ok(tss_wire_heartbeat_decode(&hb, f->payload, f->len))) {
            snprintf(reason, sizeof reason, "bad HEARTBEAT_ACK: %s", tss_error_detail());
            tss_dconn_fail(c, TSS_WIRE_ERR_PROTOCOL, reason);
            return;
        }
        tss_log(LOG_DEBUG, "coordinator=%s heartbeat seq=%llu rtt=%lldms", co->addr,
                (unsigned long long)hb.sequence,
                (long long)(tss_now_ms() - (int64_t)hb.timestamp_ms));
        return;
    }
    case TSS_WIRE_HEARTBEAT: {
        tss_wire_heartbeat hb;
        if (!tss_is_ok(tss_wire_heartbeat_decode(&hb, f->payload, f->len))) {
            snprintf(reason, sizeof reason, "bad HEARTBEAT: %s", tss_error_detail());
            tss_dconn_fail(c, TSS_WIRE_ERR_PROTOCOL, reason);
            return;
        }
        tss_writer w;
        tss_writer_init(&w, 64);
        send_msg(co, TSS_WIRE_HEARTBEAT_ACK, tss_wire_heartbeat_encode(&w, &hb), &w);
        tss_writer_free(&w);
        return;
    }
    case TSS_WIRE_SESSION_START:
    case TSS_WIRE_PROTOCOL_MSG:
    case TSS_WIRE_SESSION_ABORT: party_session_frame(co, f); return;
    case TSS_WIRE_PRESIG_DELETE: party_presig_delete(co, f); return;
    case TSS_WIRE_PRESIG_RELIST: party_presig_relist(co, f); return;
    case TSS_WIRE_KEY_RETIRE: party_key_retire(co, f); return;
    default:
        snprintf(reason, sizeof reason, "%s is not accepted by this party",
                 tss_wire_type_name(f->type));
        tss_dconn_fail(c, TSS_WIRE_ERR_PROTOCOL, reason);
        return;
    }
}

static bool all_closed(const party *pt) {
    for (size_t i = 0; i < pt->n_coords; i++)
        if (pt->coords[i].conn) return false;
    return true;
}

static void on_close(tss_dconn *c, const char *reason, void *arg) {
    pcoord *co = arg;
    party *pt = co->pt;
    (void)c;
    bool was = co->acked;
    co->conn = NULL;
    co->acked = false;
    tss_timer_disarm(pt->loop, &co->hb_timer);
    party_sessions_drop(co, reason);
    if (was)
        tss_log(pt->stopping ? LOG_NOTICE : LOG_WARNING,
                "party=%lld disconnected from coordinator=%s (%zu of %zu still connected): %s",
                (long long)pt->cfg.party_id, co->addr, n_connected(pt), pt->n_coords, reason);
    if (pt->stopping) {
        if (all_closed(pt)) tss_loop_stop(pt->loop);
        return;
    }
    if (was) notify_status(pt, false);
    schedule_reconnect(co);
}

static const tss_dconn_ops coord_ops = {on_open, on_frame, on_close};

static void connect_now(void *arg) {
    pcoord *co = arg;
    party *pt = co->pt;
    if (pt->stopping || co->conn) return;
    const tss_config_addr *a = &co->cfg->address[co->addr_idx];
    tss_net_addr_format(a, co->addr, sizeof co->addr);
    int fd = -1, in_progress = 0;
    tss_result r = tss_net_connect(a, &fd, &in_progress);
    if (tss_is_ok(r))
        r = tss_dconn_new(pt->loop, pt->tls, fd, true, &pt->lim, &coord_ops, co, co->addr,
                          &co->conn);
    if (!tss_is_ok(r)) {
        tss_log(LOG_WARNING, "connect to coordinator=%s failed: %s", co->addr,
                tss_error_detail());
        schedule_reconnect(co);
        return;
    }
    tss_log(LOG_DEBUG, "connecting to coordinator=%s", co->addr);
}

/* Capped exponential backoff with jitter, per coordinator: wait a uniform
 * time in [delay/2, delay], then double delay up to backoff_max. A
 * coordinator's addresses are tried in turn. */
static void schedule_reconnect(pcoord *co) {
    party *pt = co->pt;
    int64_t delay = co->backoff;
    int64_t wait = delay / 2 + (int64_t)randombytes_uniform((uint32_t)(delay / 2 + 1));
    co->backoff = delay * 2 > (int64_t)pt->cfg.timeouts.backoff_max
                      ? (int64_t)pt->cfg.timeouts.backoff_max
                      : delay * 2;
    co->addr_idx = (co->addr_idx + 1) % co->cfg->address_count;
    tss_log(LOG_INFO, "reconnecting to the coordinator in %lld ms (coordinator %zu of %zu, "
            "last tried %s)", (long long)wait, co->idx + 1, pt->n_coords, co->addr);
    if (!tss_is_ok(tss_timer_arm(pt->loop, &co->reconnect_timer, tss_now_ms() + wait))) {
        tss_log(LOG_ERR, "cannot arm the reconnect timer: %s", tss_error_detail());
        tss_loop_stop(pt->loop);
    }
}

/* ---- signals ------------------------------------------------------------------------ */

static void log_own_cert(party *pt, const char *what) {
    tss_tls_cert_info info;
    tss_tls_ctx_cert_info(pt->tls, &info);
    tss_log(LOG_NOTICE, "tls: %s certificate sha256=%s notAfter=%s generation=%lu", what,
            info.fingerprint, info.not_after_iso, tss_tls_ctx_generation(pt->tls));
    (void)tss_daemon_check_expiry(&info, "own");
}

/* Daily: the own certificate and the coordinator's (as seen at the current
 * connection's handshake) against their notAfter. */
static tss_timer expiry_timer;
static void on_expiry_timer(void *arg) {
    party *pt = arg;
    tss_tls_cert_info info;
    tss_tls_ctx_cert_info(pt->tls, &info);
    (void)tss_daemon_check_expiry(&info, "own");
    for (size_t i = 0; i < pt->n_coords; i++)
        if (pt->coords[i].conn && pt->coords[i].acked)
            (void)tss_daemon_check_expiry(tss_dconn_peer_cert(pt->coords[i].conn), "coordinator");
    if (!tss_is_ok(tss_timer_arm(pt->loop, &expiry_timer, tss_now_ms() + TSS_EXPIRY_CHECK_MS)))
        tss_log(LOG_ERR, "cannot arm the certificate expiry timer: %s", tss_error_detail());
}

static void on_stop_timer(void *arg) {
    party *pt = arg;
    tss_loop_stop(pt->loop);
}

static void on_signal(void *arg, int signo) {
    party *pt = arg;
    if (signo == SIGHUP) {
        tss_daemon_notify("RELOADING=1\nSTATUS=reloading certificates");
        tss_log(LOG_INFO, "reload: SIGHUP received, loading %s, %s, %s%s%s", pt->paths.cert_file,
                pt->paths.key_file, pt->paths.ca_file, pt->paths.crl_file ? ", " : "",
                pt->paths.crl_file ? pt->paths.crl_file : "");
        party_policy_reload(pt);
        tss_result r = tss_tls_ctx_reload(pt->tls, &pt->paths);
        if (tss_is_ok(r)) {
            log_own_cert(pt, "reload: now using");
        } else {
            tss_tls_cert_info info;
            tss_tls_ctx_cert_info(pt->tls, &info);
            tss_log(LOG_ERR, "reload: failed, keeping certificate sha256=%s notAfter=%s in service: %s",
                    info.fingerprint, info.not_after_iso, tss_error_detail());
        }
        notify_status(pt, true);
        return;
    }
    if (pt->stopping) {
        tss_loop_stop(pt->loop);
        return;
    }
    pt->stopping = true;
    tss_daemon_notify("STOPPING=1");
    tss_log(LOG_NOTICE, "stop: %s received", strsignal(signo));
    for (size_t i = 0; i < pt->n_coords; i++) {
        pcoord *co = &pt->coords[i];
        tss_timer_disarm(pt->loop, &co->reconnect_timer);
        if (co->conn) tss_dconn_fail(co->conn, TSS_WIRE_ERR_SHUTDOWN, "party shutting down");
    }
    if (all_closed(pt)) {
        tss_loop_stop(pt->loop);
    } else if (!tss_is_ok(tss_timer_arm(pt->loop, &pt->stop_timer, tss_now_ms() + STOP_GRACE_MS))) {
        tss_loop_stop(pt->loop);
    }
}

/* ---- start -------------------------------------------------------------------------- */

static tss_result unseal(party *pt) {
    const tss_config_passphrase *cp = &pt->cfg.keystore.passphrase;
    tss_passphrase_source src;
    memset(&src, 0, sizeof src);
    switch (cp->kind) {
    case TSS_PASSPHRASE_FILE: src.kind = TSS_PASS_FILE; src.path = cp->file; break;
    case TSS_PASSPHRASE_CREDENTIAL: src.kind = TSS_PASS_CREDENTIAL; src.name = cp->credential; break;
    case TSS_PASSPHRASE_FD: src.kind = TSS_PASS_FD; src.fd = (int)cp->fd; break;
    default: return tss_fail(TSS_E_CONFIG, "keystore.passphrase: no source");
    }
    tss_passphrase pass;
    memset(&pass, 0, sizeof pass);
    TSS_GUARD(tss_passphrase_read(&src, NULL, false, &pass));
    pt->keys = tss_secret_alloc(sizeof *pt->keys);
    if (!pt->keys) {
        tss_passphrase_free(&pass);
        return tss_fail(TSS_E_NOMEM, "no secret memory for the party keys");
    }
    tss_daemon_notify("STATUS=unsealing keystore\nEXTEND_TIMEOUT_USEC=120000000");
    tss_log(LOG_INFO, "unsealing keystore %s (passphrase from %s)", pt->cfg.keystore.dir,
            tss_passphrase_source_name(&src));
    tss_result r = tss_keystore_unseal(pt->cfg.keystore.dir, &pass, NULL, pt->keys, &pt->info);
    tss_passphrase_free(&pass);
    TSS_GUARD(r);
    TSS_ENSURE(pt->info.party_id == pt->cfg.party_id, TSS_E_CONFIG,
               "keystore %s belongs to party %u but party_id is %lld", pt->cfg.keystore.dir,
               pt->info.party_id, (long long)pt->cfg.party_id);
    char ident[TSS_IDENTITY_TEXT_LEN];
    tss_identity_format(pt->keys->identity_public, ident);
    tss_log(LOG_NOTICE, "keystore unsealed: party=%u identity=%s", pt->info.party_id, ident);
    return TSS_OK_RESULT;
}

static tss_result setup_tls(party *pt) {
    tss_tls_config tc;
    memset(&tc, 0, sizeof tc);
    tc.side = TSS_TLS_CLIENT;
    tc.self.role = TSS_TLS_ROLE_PARTY;
    tc.self.party_id = (unsigned)pt->cfg.party_id;
    tss_tls_policy_init(&tc.peers);
    tc.peers.coordinator = true;
    pt->paths = (tss_tls_paths){pt->cfg.tls.cert, pt->cfg.tls.key, pt->cfg.tls.ca, pt->cfg.tls.crl};
    return tss_tls_ctx_new(&tc, &pt->paths, &pt->tls);
}

/* --check: everything a start would load except the passphrase: the TLS set
 * (certificate, key, CA bundle, CRL), the keystore header (party id, and our
 * identity not pinned under another party's id) and the state directory's
 * mode. Any problem is a configuration problem (78), so ExecReload= can run
 * this before SIGHUP and make `systemctl reload` fail visibly. */
static tss_result check_party(party *pt) {
    TSS_GUARD(setup_tls(pt));
    log_own_cert(pt, "check: certificate");
    tss_tls_ctx_free(pt->tls);
    pt->tls = NULL;
    tss_keystore_info info;
    TSS_GUARD(tss_keystore_inspect(pt->cfg.keystore.dir, &info));
    TSS_ENSURE(info.party_id == pt->cfg.party_id, TSS_E_CONFIG,
               "keystore %s belongs to party %u but party_id is %lld", pt->cfg.keystore.dir,
               info.party_id, (long long)pt->cfg.party_id);
    for (size_t i = 0; i < pt->cfg.peer_count; i++)
        TSS_ENSURE(sodium_memcmp(pt->cfg.peers[i].identity, info.identity,
                                 sizeof info.identity) != 0,
                   TSS_E_CONFIG,
                   "peers: the identity pinned for party %lld is this party's own (keystore %s)",
                   (long long)pt->cfg.peers[i].id, pt->cfg.keystore.dir);
    struct stat st;
    if (stat(pt->cfg.state_dir, &st) == 0) TSS_GUARD(tss_daemon_check_private_dir(pt->cfg.state_dir));
    return party_policy_check(pt);
}

int main(int argc, char **argv) {
    tss_daemon_args args;
    if (!tss_daemon_parse_args(argc, argv, PROG,
                               "Threshold-signing party: holds one share, dials the coordinator "
                               "over mutual TLS 1.3.",
                               &args))
        return 64;
    static party pt_storage;
    party *pt = &pt_storage;
    tss_result r = tss_crypto_init();
    if (!tss_is_ok(r)) return tss_daemon_exit(r, "init");
    r = tss_config_party_load_file(&pt->cfg, args.config);
    pt->config_path = args.config;
    if (!tss_is_ok(r)) {
        tss_daemon_config_error(PROG);
        return tss_err_exit_code(r.err);
    }
    if (args.check) {
        r = check_party(pt);
        tss_config_party_free(&pt->cfg);
        if (!tss_is_ok(r)) {
            fprintf(stderr, "%s: configuration NOT OK: %s\n", args.config, tss_error_detail());
            return 78;
        }
        printf("%s: configuration OK\n", args.config);
        return 0;
    }
    tss_log_set_level(pt->cfg.log_level);
    int code = 0, lock_fd = -1;
    r = tss_harden_process();
    if (!tss_is_ok(r)) return tss_daemon_exit(r, "harden");
    r = tss_daemon_lock_state_dir(pt->cfg.state_dir, &lock_fd);
    if (!tss_is_ok(r)) {
        code = tss_daemon_exit(r, "state directory");
        goto out;
    }
    r = unseal(pt);
    if (!tss_is_ok(r)) {
        code = tss_daemon_exit(r, "keystore");
        goto out;
    }
    r = party_policy_open(pt);
    if (!tss_is_ok(r)) {
        code = tss_daemon_exit(r, "policy");
        goto out;
    }
    r = setup_tls(pt);
    if (!tss_is_ok(r)) {
        tss_daemon_exit(r, "tls");
        code = (r.err == TSS_E_PERMISSION || r.err == TSS_E_NOT_FOUND) ? tss_err_exit_code(r.err)
                                                                        : 78;
        goto out;
    }
    log_own_cert(pt, "start: using");
    pt->lim = (tss_dconn_limits){
        .max_frame = (uint32_t)pt->cfg.limits.max_frame_size,
        .max_pending_frames = 1024,
        .max_pending_bytes = 8 * (size_t)pt->cfg.limits.max_frame_size,
        .handshake_ms = (int64_t)pt->cfg.timeouts.connect,
        .frame_ms = (int64_t)pt->cfg.timeouts.connect,
        .idle_ms = DEAD_AFTER_INTERVALS * (int64_t)pt->cfg.timeouts.heartbeat,
    };
    const tss_party_coordinator_config *coords = tss_config_party_coordinators(&pt->cfg, &pt->n_coords);
    for (size_t i = 0; i < pt->n_coords; i++) {
        pcoord *co = &pt->coords[i];
        co->pt = pt;
        co->idx = i;
        co->cfg = &coords[i];
        co->backoff = (int64_t)pt->cfg.timeouts.backoff_initial;
        tss_net_addr_format(&co->cfg->address[0], co->addr, sizeof co->addr);
    }
    pt->store = (tss_store_ctx){.state_dir = pt->cfg.state_dir,
                                .party_id = (uint16_t)pt->cfg.party_id,
                                .keys = pt->keys};
    /* Without a cache (no memory) every session loads its share from disk. */
    if (!tss_is_ok(tss_share_cache_new(TSS_SHARE_CACHE_DEFAULT_CAP, &pt->share_cache)))
        pt->share_cache = NULL;
    static tss_watchdog wd; /* lives as long as the loop */
    r = tss_loop_new(on_signal, pt, &pt->loop);
    if (tss_is_ok(r)) r = tss_watchdog_start(&wd, pt->loop);
    if (!tss_is_ok(r)) {
        code = tss_daemon_exit(r, "event loop");
        goto out;
    }
    for (size_t i = 0; i < pt->n_coords; i++) {
        tss_timer_init(&pt->coords[i].reconnect_timer, connect_now, &pt->coords[i]);
        tss_timer_init(&pt->coords[i].hb_timer, on_hb_timer, &pt->coords[i]);
    }
    tss_timer_init(&pt->stop_timer, on_stop_timer, pt);
    tss_timer_init(&expiry_timer, on_expiry_timer, pt);
    r = tss_timer_arm(pt->loop, &expiry_timer, tss_now_ms() + TSS_EXPIRY_CHECK_MS);
    if (!tss_is_ok(r)) {
        code = tss_daemon_exit(r, "event loop");
        goto out;
    }
    tss_log(LOG_NOTICE, "start: %s party=%lld coordinators=%zu pid %ld", TSS_SOFTWARE,
            (long long)pt->cfg.party_id, pt->n_coords, (long)getpid());
    for (size_t i = 0; i < pt->n_coords; i++) connect_now(&pt->coords[i]);
    r = tss_loop_run(pt->loop);
    if (!tss_is_ok(r)) code = tss_daemon_exit(r, "event loop");
    pt->stopping = true; /* the deferred on_close must not reconnect */
    for (size_t i = 0; i < pt->n_coords; i++)
        if (pt->coords[i].conn) tss_dconn_close(pt->coords[i].conn, LOG_INFO, "party exiting");
    tss_log(LOG_NOTICE, "stop: exiting");
out:
    party_sessions_free(pt);
    party_policy_close(pt);
    tss_share_cache_free(pt->share_cache);
    pt->share_cache = NULL;
    tss_watchdog_stop(&wd);
    tss_loop_free(pt->loop);
    tss_tls_ctx_free(pt->tls);
    tss_secret_free(pt->keys);
    tss_config_party_free(&pt->cfg);
    if (lock_fd >= 0) close(lock_fd);
    return code;
}
