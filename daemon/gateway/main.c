/* tss-gateway: the HTTPS JSON-RPC / REST signing endpoint for applications.
 * Why a separate daemon and not HTTP inside the coordinator: see docs/API.md
 * ("Design"). In short, the internet-facing process parses HTTP and JSON
 * from untrusted clients but holds no key share, no session state and no
 * party connection; the coordinator keeps its small binary protocol only. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon/gateway/gw.h"
#include "daemon/process.h"
#include "daemon/watchdog.h"
#include "tls/certinfo.h"
#include "util/log.h"
#include "util/secmem.h"

#define STOP_GRACE_MS 3000

static void *json_alloc(size_t n) { return malloc(n); }
static void json_free(void *p) { free(p); }

/* Refuse, inside the handshake, a client certificate naming no configured client. */
static tss_result check_client(void *arg, const tss_tls_identity *peer) {
    gw *g = arg;
    TSS_ENSURE(peer->role == TSS_TLS_ROLE_CLIENT, TSS_E_PERMISSION,
               "peer certificate is not a client identity");
    TSS_ENSURE(gw_auth_cert_name(g, peer->operator_name) != NULL, TSS_E_PERMISSION,
               "urn:tssd:client:%s is not a configured client (or its certificate: false)",
               peer->operator_name);
    return TSS_OK_RESULT;
}

static tss_result setup_tls(gw *g) {
    tss_tls_config tc;
    memset(&tc, 0, sizeof tc);
    tc.side = TSS_TLS_SERVER;
    tc.web = true;
    tss_tls_policy_init(&tc.peers);
    tc.peers.clients = true;
    tc.check = check_client;
    tc.check_arg = g;
    tss_tls_paths hp = {g->cfg.tls.cert, g->cfg.tls.key, g->cfg.tls.ca, g->cfg.tls.crl};
    TSS_GUARD(tss_tls_ctx_new(&tc, &hp, &g->https));
    /* The operator side: the name is the one in our operator certificate
     * (urn:tssd:operator:<name>), which the coordinator must list. */
    tss_tls_cert_info info;
    TSS_GUARD(tss_tls_cert_info_from_file(g->cfg.coordinator.tls.cert, &info));
    char urn[TSS_TLS_URN_MAX];
    tss_tls_identity_format(&info.identity, urn, sizeof urn);
    TSS_ENSURE(info.identity.role == TSS_TLS_ROLE_OPERATOR, TSS_E_CONFIG,
               "coordinator.tls.cert %s is for %s; the gateway needs an operator certificate "
               "(urn:tssd:operator:<name>)", g->cfg.coordinator.tls.cert,
               info.identity.role == TSS_TLS_ROLE_NONE ? "no tssd identity" : urn);
    memset(&tc, 0, sizeof tc);
    tc.side = TSS_TLS_CLIENT;
    tc.self = info.identity;
    tss_tls_policy_init(&tc.peers);
    tc.peers.coordinator = true;
    tss_tls_paths op = {g->cfg.coordinator.tls.cert, g->cfg.coordinator.tls.key,
                        g->cfg.coordinator.tls.ca, g->cfg.coordinator.tls.crl};
    TSS_GUARD(tss_tls_ctx_new(&tc, &op, &g->operator));
    return TSS_OK_RESULT;
}

/* Group commit of the audit log: one fdatasync a second at most. */
static void on_audit_timer(void *arg) {
    gw *g = arg;
    if (tss_audit_has_unsynced(g->audit) || tss_audit_has_pending(g->audit))
        if (!tss_is_ok(tss_audit_flush(g->audit, true, tss_wall_ms())))
            tss_log(LOG_ERR, "audit: %s", tss_error_detail());
    if (!tss_is_ok(tss_timer_arm(g->loop, &g->audit_timer, tss_now_ms() + 1000)))
        tss_log(LOG_ERR, "audit: cannot arm the sync timer");
}

static void on_stop_timer(void *arg) {
    gw *g = arg;
    tss_loop_stop(g->loop);
}

static tss_timer stop_timer;

static void on_signal(void *arg, int signo) {
    gw *g = arg;
    if (signo == SIGHUP) {
        tss_tls_paths hp = {g->cfg.tls.cert, g->cfg.tls.key, g->cfg.tls.ca, g->cfg.tls.crl};
        tss_tls_paths op = {g->cfg.coordinator.tls.cert, g->cfg.coordinator.tls.key,
                            g->cfg.coordinator.tls.ca, g->cfg.coordinator.tls.crl};
        tss_result r = tss_tls_ctx_reload(g->https, &hp);
        if (tss_is_ok(r)) r = tss_tls_ctx_reload(g->operator, &op);
        if (tss_is_ok(r)) tss_log(LOG_NOTICE, "reload: certificates reloaded");
        else tss_log(LOG_ERR, "reload failed, keeping the certificates in service: %s",
                     tss_error_detail());
        return;
    }
    if (g->stopping) {
        tss_loop_stop(g->loop);
        return;
    }
    g->stopping = true;
    tss_daemon_notify("STOPPING=1");
    tss_log(LOG_NOTICE, "stop: %s received", strsignal(signo));
    for (size_t i = 0; i < g->n_listen; i++) {
        tss_loop_unwatch(g->loop, &g->listeners[i].watch);
        close(g->listeners[i].fd);
    }
    g->n_listen = 0;
    gw_up_stop(g);
    gw_http_close_all(g, "gateway stopping");
    tss_timer_init(&stop_timer, on_stop_timer, g);
    if (!tss_is_ok(tss_timer_arm(g->loop, &stop_timer, tss_now_ms() + 100))) tss_loop_stop(g->loop);
    (void)STOP_GRACE_MS;
}

static tss_result open_listeners(gw *g) {
    for (int plain = 0; plain < 2; plain++) {
        size_t n = plain ? g->cfg.plain_listen_count : g->cfg.listen_count;
        tss_config_addr *addrs = plain ? g->cfg.plain_listen : g->cfg.listen;
        for (size_t i = 0; i < n; i++) {
            int fds[TSS_NET_MAX_LISTEN];
            size_t got = 0;
            TSS_GUARD(tss_net_listen(&addrs[i], fds, TSS_NET_MAX_LISTEN, &got));
            char text[300];
            tss_net_addr_format(&addrs[i], text, sizeof text);
            tss_log(LOG_INFO, "listening on %s (%s)", text, plain ? "plain HTTP, loopback" : "HTTPS");
            for (size_t j = 0; j < got; j++) {
                if (g->n_listen == sizeof g->listeners / sizeof g->listeners[0]) {
                    close(fds[j]);
                    continue;
                }
                gw_listener *l = &g->listeners[g->n_listen++];
                l->g = g;
                l->fd = fds[j];
                l->plain = plain;
                TSS_GUARD(tss_loop_watch(g->loop, &l->watch, l->fd, EPOLLIN, gw_http_accept, l));
            }
        }
    }
    return TSS_OK_RESULT;
}

int main(int argc, char **argv) {
    tss_daemon_args args;
    if (!tss_daemon_parse_args(argc, argv, PROG,
                               "Application signing endpoint: JSON-RPC and Web3Signer-style REST "
                               "over HTTPS, backed by the tssd coordinator.",
                               &args))
        return 64;
    static gw g_storage;
    gw *g = &g_storage;
    json_set_alloc_funcs(json_alloc, json_free);
    tss_result r = tss_crypto_init();
    if (!tss_is_ok(r)) return tss_daemon_exit(r, "init");
    r = tss_config_gateway_load_file(&g->cfg, args.config);
    if (!tss_is_ok(r)) {
        tss_daemon_config_error(PROG);
        return tss_err_exit_code(r.err);
    }
    r = gw_auth_init(g);
    if (tss_is_ok(r)) r = gw_down_init(g);
    if (tss_is_ok(r)) r = setup_tls(g);
    if (args.check || !tss_is_ok(r)) {
        int code = 0;
        if (!tss_is_ok(r)) {
            fprintf(stderr, "%s: configuration NOT OK: %s\n", args.config, tss_error_detail());
            code = 78;
        } else {
            printf("%s: configuration OK\n", args.config);
        }
        tss_tls_ctx_free(g->https);
        tss_tls_ctx_free(g->operator);
        free(g->clients);
        tss_config_gateway_free(&g->cfg);
        return code;
    }
    tss_log_set_level(g->cfg.log_level);
    int code = 0;
    r = tss_harden_process();
    if (!tss_is_ok(r)) return tss_daemon_exit(r, "harden");
    g->started_ms = tss_wall_ms();
    tss_audit_options ao = {.rotate_size = 64ull << 20, .rotate_age_ms = 86400000ull};
    r = tss_audit_open(&g->audit, g->cfg.audit_dir, &ao, tss_wall_ms());
    if (!tss_is_ok(r)) {
        code = tss_daemon_exit(r, "audit log");
        goto out;
    }
    static tss_watchdog wd;
    r = tss_loop_new(on_signal, g, &g->loop);
    if (tss_is_ok(r)) r = open_listeners(g);
    if (tss_is_ok(r)) r = tss_watchdog_start(&wd, g->loop);
    if (tss_is_ok(r)) r = gw_up_start(g);
    tss_timer_init(&g->audit_timer, on_audit_timer, g);
    if (tss_is_ok(r)) r = tss_timer_arm(g->loop, &g->audit_timer, tss_now_ms() + 1000);
    if (!tss_is_ok(r)) {
        code = tss_daemon_exit(r, "listen");
        goto out;
    }
    tss_log(LOG_NOTICE, "start: %s gateway ready, %zu client(s), chain id %lld, pid %ld",
            TSS_SOFTWARE, g->n_clients, (long long)g->cfg.chain_id, (long)getpid());
    tss_daemon_notify("READY=1\nSTATUS=serving\nMAINPID=%ld", (long)getpid());
    r = tss_loop_run(g->loop);
    if (!tss_is_ok(r)) code = tss_daemon_exit(r, "event loop");
    tss_log(LOG_NOTICE, "stop: exiting");
out:
    gw_up_stop(g);
    gw_http_close_all(g, "exiting");
    for (size_t i = 0; i < g->n_listen; i++) close(g->listeners[i].fd);
    tss_watchdog_stop(&wd);
    tss_loop_free(g->loop);
    tss_audit_close(g->audit);
    tss_tls_ctx_free(g->https);
    tss_tls_ctx_free(g->operator);
    free(g->keys);
    free(g->status);
    free(g->up);
    free(g->clients);
    tss_config_gateway_free(&g->cfg);
    return code;
}
