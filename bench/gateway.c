/* tss-bench --suite gateway: JSON-RPC eth_signTransaction over HTTPS to a
 * running tss-gateway (bench/gateway.sh starts one), with kept-alive
 * connections authenticated by a client certificate. Settings come from the
 * environment (the script sets them):
 *   GW_HOST, GW_PORT, GW_CA, GW_CERT, GW_KEY   where and as whom
 *   GW_FROM, GW_CHAIN                          the key's address, chain id
 *   GW_MODE seq|tput, GW_RUNS, GW_CONC, GW_PER sequential p50/p99, or
 *                                              throughput with GW_CONC
 *                                              connections x GW_PER requests
 *   GW_OP_CONFIG, GW_KEY_ID (seq)              also sign natively over the
 *                                              operator channel, alternating
 *                                              with the gateway request, so
 *                                              both see the same machine load
 * Each answer must be a JSON-RPC result with a raw type-2 transaction; the
 * gateway has already verified the signature and recovered the sender. */
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "config/schema.h"
#include "daemon/net.h"
#include "tls/certinfo.h"
#include "tls/conn.h"
#include "tls/context.h"
#include "util/log.h"

typedef struct {
    tss_tls_ctx *ctx;
    int fd;
    tss_tls_conn *tls;
    char buf[65536];
    size_t len;
} hconn;

static const char *env(const char *k, const char *def) {
    const char *v = getenv(k);
    return v && *v ? v : def;
}

static tss_result h_open(hconn *h, tss_tls_ctx *ctx) {
    memset(h, 0, sizeof *h);
    h->fd = -1;
    tss_config_addr a;
    memset(&a, 0, sizeof a);
    snprintf(a.host, sizeof a.host, "%s", env("GW_HOST", "127.0.0.1"));
    a.port = (uint16_t)atoi(env("GW_PORT", "0"));
    int in_progress = 0;
    TSS_GUARD(tss_net_connect(&a, &h->fd, &in_progress));
    if (in_progress) {
        struct pollfd p = {.fd = h->fd, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof err;
        TSS_ENSURE(poll(&p, 1, 5000) == 1 &&
                       getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0,
                   TSS_E_IO, "cannot connect to the gateway");
    }
    TSS_GUARD(tss_tls_conn_new(ctx, h->fd, &h->tls));
    return tss_tls_handshake_blocking(h->tls, 5000);
}

static void h_close(hconn *h) {
    if (h->tls) {
        tss_tls_shutdown(h->tls);
        tss_tls_conn_free(h->tls);
    }
    if (h->fd >= 0) close(h->fd);
    h->tls = NULL;
    h->fd = -1;
}

/* One request, one complete answer (Content-Length framing); ok: a signed tx. */
static tss_result h_sign(hconn *h, unsigned nonce, bool *ok) {
    char body[768], req[1024];
    int bl = snprintf(body, sizeof body,
                      "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"eth_signTransaction\",\"params\":"
                      "[{\"from\":\"%s\",\"to\":\"0x000000000000000000000000000000000000dEaD\","
                      "\"gas\":\"0x5208\",\"nonce\":\"0x%x\",\"maxFeePerGas\":\"0x6fc23ac00\","
                      "\"maxPriorityFeePerGas\":\"0x3b9aca00\",\"value\":\"0x1\",\"type\":\"0x2\","
                      "\"chainId\":\"0x%llx\"}]}",
                      nonce, env("GW_FROM", ""), nonce,
                      (unsigned long long)strtoull(env("GW_CHAIN", "1"), NULL, 10));
    int rl = snprintf(req, sizeof req,
                      "POST / HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s",
                      bl, body);
    TSS_GUARD(tss_tls_write_blocking(h->tls, req, (size_t)rl, 30000));
    h->len = 0;
    for (;;) {
        h->buf[h->len] = '\0';
        char *end = strstr(h->buf, "\r\n\r\n");
        if (end) {
            char *cl = strcasestr(h->buf, "Content-Length:");
            size_t want = cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
            size_t have = h->len - (size_t)(end + 4 - h->buf);
            if (have >= want) {
                *ok = strstr(h->buf, "HTTP/1.1 200") == h->buf && strstr(end, "\"result\":\"0x02");
                return TSS_OK_RESULT;
            }
        }
        TSS_ENSURE(h->len + 1 < sizeof h->buf, TSS_E_TOO_LARGE, "answer too large");
        size_t got = 0;
        TSS_GUARD(tss_tls_read_blocking(h->tls, h->buf + h->len, sizeof h->buf - 1 - h->len, &got,
                                        30000));
        TSS_ENSURE(got > 0, TSS_E_IO, "gateway closed the connection");
        h->len += got;
    }
}

typedef struct {
    tss_tls_ctx *ctx;
    int count, done, failed;
    unsigned base;
    char error[256];
} worker;

static void *work(void *arg) {
    worker *w = arg;
    hconn *h = malloc(sizeof *h);
    tss_result r = h ? h_open(h, w->ctx) : tss_fail(TSS_E_NOMEM, "no memory");
    for (int i = 0; tss_is_ok(r) && i < w->count; i++) {
        bool ok = false;
        r = h_sign(h, w->base + (unsigned)i, &ok);
        if (tss_is_ok(r) && ok) w->done++;
        else w->failed++;
    }
    if (!tss_is_ok(r)) snprintf(w->error, sizeof w->error, "%s", tss_error_detail());
    if (h) h_close(h);
    free(h);
    tss_tls_thread_cleanup();
    return NULL;
}

int bench_gateway(const bench_options *o) {
    (void)o;
    tss_log_set_level(LOG_CRIT);
    tss_tls_cert_info info;
    tss_result r = tss_tls_cert_info_from_file(env("GW_CERT", ""), &info);
    tss_tls_config tc;
    memset(&tc, 0, sizeof tc);
    tc.side = TSS_TLS_CLIENT;
    tc.web = true;
    tc.self = info.identity;
    tss_tls_policy_init(&tc.peers);
    tss_tls_paths paths = {env("GW_CERT", ""), env("GW_KEY", ""), env("GW_CA", ""), NULL};
    tss_tls_ctx *ctx = NULL;
    if (tss_is_ok(r)) r = tss_tls_ctx_new(&tc, &paths, &ctx);
    if (!tss_is_ok(r)) {
        fprintf(stderr, "tss-bench gateway: %s\n", tss_error_detail());
        return 78;
    }
    const char *mode = env("GW_MODE", "seq");
    int code = 0;
    if (strcmp(mode, "seq") == 0) {
        int runs = atoi(env("GW_RUNS", "100"));
        if (runs < 1 || runs > 100000) runs = 100;
        double *lat = calloc((size_t)runs, sizeof *lat), *nat = calloc((size_t)runs, sizeof *nat);
        hconn *h = malloc(sizeof *h);
        bench_op *op = NULL;
        const char *opc = getenv("GW_OP_CONFIG"), *key_id = env("GW_KEY_ID", "");
        int bad = 0;
        r = lat && nat && h ? h_open(h, ctx) : tss_fail(TSS_E_NOMEM, "no memory");
        if (tss_is_ok(r) && opc) r = bench_op_open(opc, &op);
        for (int i = 0; tss_is_ok(r) && i < runs; i++) {
            bool ok = false;
            double t0 = bench_wall_seconds();
            r = h_sign(h, (unsigned)i, &ok);
            lat[i] = (bench_wall_seconds() - t0) * 1e3;
            bad += !ok;
            if (tss_is_ok(r) && op) {
                t0 = bench_wall_seconds();
                r = bench_op_sign(op, key_id, &ok);
                nat[i] = (bench_wall_seconds() - t0) * 1e3;
                bad += !ok;
            }
        }
        bench_op_close(op);
        if (h) h_close(h);
        free(h);
        if (tss_is_ok(r)) {
            bench_median(lat, (size_t)runs);
            printf("{\"runs\":%d,\"failed\":%d,\"p50_ms\":%.2f,\"p99_ms\":%.2f", runs, bad,
                   bench_percentile(lat, (size_t)runs, 0.5),
                   bench_percentile(lat, (size_t)runs, 0.99));
            if (op || opc) {
                bench_median(nat, (size_t)runs);
                printf(",\"native_p50_ms\":%.2f,\"native_p99_ms\":%.2f",
                       bench_percentile(nat, (size_t)runs, 0.5),
                       bench_percentile(nat, (size_t)runs, 0.99));
            }
            printf("}\n");
            code = bad ? 70 : 0;
        }
        free(lat);
        free(nat);
    } else {
        int conc = atoi(env("GW_CONC", "16")), per = atoi(env("GW_PER", "25"));
        if (conc < 1 || conc > 256) conc = 16;
        if (per < 1 || per > 10000) per = 25;
        worker *wk = calloc((size_t)conc, sizeof *wk);
        pthread_t *th = calloc((size_t)conc, sizeof *th);
        if (!wk || !th) r = tss_fail(TSS_E_NOMEM, "no memory");
        double t0 = bench_wall_seconds(), el = 0;
        int done = 0, failed = 0;
        for (int i = 0; tss_is_ok(r) && i < conc; i++) {
            wk[i] = (worker){.ctx = ctx, .count = per, .base = (unsigned)(i * per)};
            if (pthread_create(&th[i], NULL, work, &wk[i]) != 0) wk[i].failed = per, th[i] = 0;
        }
        for (int i = 0; tss_is_ok(r) && i < conc; i++) {
            if (th[i]) pthread_join(th[i], NULL);
            done += wk[i].done;
            failed += wk[i].failed;
            if (wk[i].error[0]) fprintf(stderr, "tss-bench gateway: worker %d: %s\n", i, wk[i].error);
        }
        el = bench_wall_seconds() - t0;
        if (tss_is_ok(r))
            printf("{\"concurrency\":%d,\"requests\":%d,\"ok\":%d,\"failed\":%d,\"seconds\":%.2f,"
                   "\"sig_per_s\":%.1f}\n",
                   conc, conc * per, done, failed, el, el > 0 ? done / el : 0);
        code = failed ? 70 : 0;
        free(wk);
        free(th);
    }
    if (!tss_is_ok(r)) {
        fprintf(stderr, "tss-bench gateway: %s\n", tss_error_detail());
        code = 70;
    }
    tss_tls_ctx_free(ctx);
    return code;
}
