/* End-to-end benchmark against a running cluster (bench/e2e.sh starts one on
 * 127.0.0.1): the client side of `tss-bench --suite e2e --op-config FILE`.
 * Requests go through daemon/client.h over persistent mutual-TLS operator
 * connections, so neither process start-up nor the TLS handshake is part of
 * a measured request. Measures keygen latency, sequential full three-round
 * sign latency (p50/p99), throughput at a given concurrency (one connection
 * per worker thread), and presigned signing latency when the coordinator
 * supports presignatures (checked through the key's presignature stock). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench/bench.h"
#include "config/operator.h"
#include "daemon/client.h"
#include "tls/certinfo.h"
#include "tls/context.h"
#include "util/log.h"
#include "wire/msg.h"

typedef bench_conn conn;

static tss_result conn_open(const tss_operator_config *cfg, conn *c);
static void conn_close(conn *c);
static tss_result exchange(conn *c, tss_wire_op_request *rq, tss_wire_op_response *resp);

tss_result bench_conn_open(const tss_operator_config *cfg, conn *c) { return conn_open(cfg, c); }
void bench_conn_close(conn *c) { conn_close(c); }
tss_result bench_exchange(conn *c, tss_wire_op_request *rq, tss_wire_op_response *resp) {
    return exchange(c, rq, resp);
}

static tss_result conn_open(const tss_operator_config *cfg, conn *c) {
    memset(c, 0, sizeof *c);
    c->cfg = cfg;
    tss_tls_cert_info info;
    TSS_GUARD(tss_tls_cert_info_from_file(cfg->tls.cert, &info));
    tss_tls_config tc;
    memset(&tc, 0, sizeof tc);
    tc.side = TSS_TLS_CLIENT;
    tc.self = info.identity;
    tss_tls_policy_init(&tc.peers);
    tc.peers.coordinator = true;
    tss_tls_paths paths = {cfg->tls.cert, cfg->tls.key, cfg->tls.ca, cfg->tls.crl};
    TSS_GUARD(tss_tls_ctx_new(&tc, &paths, &c->ctx));
    return tss_client_connect(c->ctx, cfg->coordinator.address, cfg->coordinator.address_count,
                              (uint32_t)cfg->max_frame_size, (int)cfg->timeouts.connect, &c->cl);
}

static void conn_close(conn *c) {
    tss_client_free(c->cl);
    tss_tls_ctx_free(c->ctx);
    c->cl = NULL;
    c->ctx = NULL;
}

/* One OP_REQUEST, one OP_RESPONSE; status != 0 becomes a failure. */
static tss_result exchange(conn *c, tss_wire_op_request *rq, tss_wire_op_response *resp) {
    randombytes_buf(&rq->request_id, sizeof rq->request_id);
    tss_writer w;
    tss_writer_init(&w, 8192);
    tss_result r = tss_wire_op_request_encode(&w, rq);
    int to = (int)c->cfg->timeouts.request;
    if (tss_is_ok(r)) r = tss_client_send(c->cl, TSS_WIRE_OP_REQUEST, w.data, w.len, to);
    tss_writer_free(&w);
    tss_wire_frame f;
    if (tss_is_ok(r)) r = tss_client_recv(c->cl, &f, to);
    if (tss_is_ok(r) && f.type == TSS_WIRE_ERROR) {
        tss_wire_error e;
        if (tss_is_ok(tss_wire_error_decode(&e, f.payload, f.len)))
            r = tss_fail(TSS_E_PROTOCOL, "coordinator refused: %s", e.text);
        else
            r = tss_fail(TSS_E_PROTOCOL, "coordinator sent a malformed ERROR");
    } else if (tss_is_ok(r) && f.type != TSS_WIRE_OP_RESPONSE) {
        r = tss_fail(TSS_E_PROTOCOL, "coordinator answered %s", tss_wire_type_name(f.type));
    }
    memset(resp, 0, sizeof *resp);
    if (tss_is_ok(r)) r = tss_wire_op_response_decode(resp, f.payload, f.len);
    if (tss_is_ok(r) && resp->request_id != rq->request_id)
        r = tss_fail(TSS_E_PROTOCOL, "answer to another request");
    if (tss_is_ok(r) && resp->status != 0) {
        r = tss_fail(TSS_E_PROTOCOL, "%s failed: %s (culprit %u)", tss_wire_op_name(rq->command),
                     resp->text, resp->culprit);
    }
    if (!tss_is_ok(r)) tss_wire_op_response_free(resp);
    return r;
}

static tss_result sign_once(conn *c, const char *key_id, bool *signed_ok) {
    tss_wire_op_request rq;
    memset(&rq, 0, sizeof rq);
    rq.command = TSS_WIRE_OP_SIGN;
    snprintf(rq.key_id, sizeof rq.key_id, "%s", key_id);
    randombytes_buf(rq.digest, sizeof rq.digest);
    tss_wire_op_response resp;
    TSS_GUARD(exchange(c, &rq, &resp));
    *signed_ok = resp.has_signature && memcmp(resp.digest, rq.digest, 32) == 0;
    tss_wire_op_response_free(&resp);
    return TSS_OK_RESULT;
}

static tss_result stock(conn *c, const char *key_id, uint32_t *out) {
    tss_wire_op_request rq;
    memset(&rq, 0, sizeof rq);
    rq.command = TSS_WIRE_OP_KEYS;
    snprintf(rq.key_id, sizeof rq.key_id, "%s", key_id);
    tss_wire_op_response resp;
    TSS_GUARD(exchange(c, &rq, &resp));
    *out = resp.key_count == 1 ? resp.keys[0].presignatures : 0;
    tss_wire_op_response_free(&resp);
    return TSS_OK_RESULT;
}

typedef struct {
    const tss_operator_config *cfg;
    const char *key_id;
    int count;
    int done, failed;
    char error[256];
} worker;

static void *work(void *arg) {
    worker *wk = arg;
    conn c;
    tss_result r = conn_open(wk->cfg, &c);
    for (int i = 0; tss_is_ok(r) && i < wk->count; i++) {
        bool ok = false;
        r = sign_once(&c, wk->key_id, &ok);
        if (tss_is_ok(r) && ok) wk->done++;
        else wk->failed++;
    }
    if (!tss_is_ok(r)) snprintf(wk->error, sizeof wk->error, "%s", tss_error_detail());
    conn_close(&c);
    tss_tls_thread_cleanup();
    return NULL;
}

int bench_e2e(const bench_options *o) {
    if (!o->op_config) {
        fprintf(stderr, "tss-bench: --suite e2e needs --op-config FILE (bench/e2e.sh runs it)\n");
        return 64;
    }
    tss_log_set_level(LOG_CRIT);
    tss_operator_config cfg;
    memset(&cfg, 0, sizeof cfg);
    tss_result r = tss_config_operator_load_file(&cfg, o->op_config);
    if (!tss_is_ok(r)) {
        fprintf(stderr, "tss-bench: %s\n", tss_error_detail());
        return 78;
    }
    char key_id[64];
    snprintf(key_id, sizeof key_id, "bench-%08x", randombytes_random());
    conn c;
    r = conn_open(&cfg, &c);
    double keygen_ms = 0;
    if (tss_is_ok(r)) { /* keygen 2-of-N */
        tss_wire_op_request rq;
        memset(&rq, 0, sizeof rq);
        rq.command = TSS_WIRE_OP_KEYGEN;
        rq.threshold = (uint16_t)o->e2e_threshold;
        snprintf(rq.key_id, sizeof rq.key_id, "%s", key_id);
        tss_wire_op_response resp;
        double t0 = bench_wall_seconds();
        r = exchange(&c, &rq, &resp);
        keygen_ms = (bench_wall_seconds() - t0) * 1e3;
        if (tss_is_ok(r)) tss_wire_op_response_free(&resp);
    }
    int runs = o->runs, warm = 5;
    double *lat = calloc((size_t)runs, sizeof *lat);
    if (!lat) r = tss_fail(TSS_E_NOMEM, "no memory");
    /* Warm-up (first OT-extension state, page faults), then sequential signs. */
    for (int i = 0; tss_is_ok(r) && i < warm; i++) {
        bool ok;
        r = sign_once(&c, key_id, &ok);
    }
    int bad = 0;
    for (int i = 0; tss_is_ok(r) && i < runs; i++) {
        bool ok = false;
        double t0 = bench_wall_seconds();
        r = sign_once(&c, key_id, &ok);
        lat[i] = (bench_wall_seconds() - t0) * 1e3;
        bad += !ok;
    }
    if (!tss_is_ok(r)) {
        fprintf(stderr, "tss-bench e2e: %s\n", tss_error_detail());
        conn_close(&c);
        free(lat);
        tss_config_operator_free(&cfg);
        return 70;
    }
    bench_median(lat, (size_t)runs); /* sorts */
    double full_p50 = bench_percentile(lat, (size_t)runs, 0.5),
           full_p99 = bench_percentile(lat, (size_t)runs, 0.99);

    /* Throughput: `concurrency` threads, each its own connection. */
    int conc = o->e2e_concurrency, per = o->e2e_per_worker;
    worker *wk = calloc((size_t)conc, sizeof *wk);
    pthread_t *th = calloc((size_t)conc, sizeof *th);
    int total_ok = 0, total_failed = 0;
    double tput = 0, elapsed = 0;
    if (wk && th) {
        double t0 = bench_wall_seconds();
        for (int i = 0; i < conc; i++) {
            wk[i] = (worker){.cfg = &cfg, .key_id = key_id, .count = per};
            if (pthread_create(&th[i], NULL, work, &wk[i]) != 0) wk[i].failed = per, th[i] = 0;
        }
        for (int i = 0; i < conc; i++)
            if (th[i]) pthread_join(th[i], NULL);
        elapsed = bench_wall_seconds() - t0;
        for (int i = 0; i < conc; i++) {
            total_ok += wk[i].done;
            total_failed += wk[i].failed;
            if (wk[i].error[0] && total_failed == wk[i].failed)
                fprintf(stderr, "tss-bench e2e: worker %d: %s\n", i, wk[i].error);
        }
        tput = elapsed > 0 ? total_ok / elapsed : 0;
    }

    /* Presigned: make presignatures, then sign while the stock lasts. */
    const char *presign_state = "ok";
    char presign_note[300] = "";
    int pruns = o->e2e_presign, pn = 0;
    double *plat = calloc((size_t)pruns + 1, sizeof *plat), presign_make_ms = 0;
    uint32_t before = 0, after = 0;
    tss_wire_op_request prq;
    memset(&prq, 0, sizeof prq);
    prq.command = TSS_WIRE_OP_PRESIGN;
    prq.presign_count = (uint16_t)pruns;
    snprintf(prq.key_id, sizeof prq.key_id, "%s", key_id);
    tss_wire_op_response presp;
    double pt0 = bench_wall_seconds();
    tss_result pr = exchange(&c, &prq, &presp);
    presign_make_ms = (bench_wall_seconds() - pt0) * 1e3;
    if (tss_is_ok(pr)) tss_wire_op_response_free(&presp);
    if (tss_is_ok(pr)) pr = stock(&c, key_id, &before);
    if (tss_is_ok(pr) && before == 0) pr = tss_fail(TSS_E_PROTOCOL, "presign made no stock");
    for (int i = 0; tss_is_ok(pr) && plat && i < pruns && (uint32_t)i < before; i++) {
        bool ok = false;
        double t0 = bench_wall_seconds();
        pr = sign_once(&c, key_id, &ok);
        plat[pn++] = (bench_wall_seconds() - t0) * 1e3;
        bad += !ok;
    }
    if (tss_is_ok(pr)) pr = stock(&c, key_id, &after);
    if (tss_is_ok(pr) && before - after != (uint32_t)pn)
        pr = tss_fail(TSS_E_PROTOCOL, "stock went %u -> %u over %d signs: signing did not use "
                      "the presignatures", before, after, pn);
    if (!tss_is_ok(pr)) {
        presign_state = "not measurable";
        snprintf(presign_note, sizeof presign_note, "%s", tss_error_detail());
        pn = 0;
    }
    double pre_p50 = 0, pre_p99 = 0;
    if (pn) {
        bench_median(plat, (size_t)pn);
        pre_p50 = bench_percentile(plat, (size_t)pn, 0.5);
        pre_p99 = bench_percentile(plat, (size_t)pn, 0.99);
    }
    conn_close(&c);

    if (o->json) {
        printf("\"e2e\":{\"cluster\":\"2-of-3 daemons, 127.0.0.1, mTLS\",\"key_id\":\"%s\","
               "\"keygen_ms\":%.1f,\"sign_full\":{\"runs\":%d,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
               "\"min_ms\":%.2f,\"max_ms\":%.2f},"
               "\"throughput\":{\"concurrency\":%d,\"requests\":%d,\"ok\":%d,\"failed\":%d,"
               "\"seconds\":%.3f,\"sig_per_s\":%.1f},"
               "\"sign_presigned\":{\"state\":\"%s\",\"runs\":%d,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
               "\"presign_batch_ms\":%.1f,\"note\":",
               key_id, keygen_ms, runs, full_p50, full_p99, lat[0], lat[runs - 1], conc,
               conc * per, total_ok, total_failed, elapsed, tput, presign_state, pn, pre_p50,
               pre_p99, presign_make_ms);
        putchar('"');
        for (const char *p = presign_note; *p; p++)
            if (*p == '"' || *p == '\\') printf("\\%c", *p);
            else if ((unsigned char)*p >= 0x20) putchar(*p);
        printf("\"},\"bad_signatures\":%d}", bad);
    } else {
        printf("keygen %.1f ms; full sign p50 %.2f ms p99 %.2f ms (%d runs); %.1f sig/s at "
               "concurrency %d (%d ok, %d failed); presigned: %s p50 %.2f ms %s\n",
               keygen_ms, full_p50, full_p99, runs, tput, conc, total_ok, total_failed,
               presign_state, pre_p50, presign_note);
    }
    free(lat);
    free(plat);
    free(wk);
    free(th);
    tss_config_operator_free(&cfg);
    return (bad || total_failed) ? 70 : 0;
}

/* ---- one operator connection for other suites (bench/gateway.c) ---------------------------- */

struct bench_op {
    tss_operator_config cfg;
    conn c;
};

tss_result bench_op_open(const char *op_config, bench_op **out) {
    bench_op *b = calloc(1, sizeof *b);
    TSS_ENSURE(b != NULL, TSS_E_NOMEM, "no memory");
    tss_result r = tss_config_operator_load_file(&b->cfg, op_config);
    if (tss_is_ok(r)) r = conn_open(&b->cfg, &b->c);
    if (!tss_is_ok(r)) {
        bench_op_close(b);
        return r;
    }
    *out = b;
    return TSS_OK_RESULT;
}

tss_result bench_op_sign(bench_op *b, const char *key_id, bool *ok) {
    return sign_once(&b->c, key_id, ok);
}

void bench_op_close(bench_op *b) {
    if (!b) return;
    conn_close(&b->c);
    tss_config_operator_free(&b->cfg);
    free(b);
}
