/* Signing while a chatty operator floods the coordinator (issue 11 finding 4):
 *   tss-bench --suite chatty --op-config SIGNER.yaml --chatty-config CHATTY.yaml
 *             [--seconds S] [--concurrency C] [--flooders F] [--json]
 * Makes a 2-of-N key, then measures the signing rate of C signer threads for
 * S seconds while quiet, and again for S seconds while F threads of another
 * operator send KEYS and STATUS requests back to back (each over its own
 * persistent connection, answered or refused). Reports both rates, their
 * ratio, and how the flood was answered (served, refused by the rate limit,
 * with the refusal text). bench/chatty.sh and tests/integration/audit.sh
 * run it against a real cluster. */
#include <pthread.h>
#include <stdatomic.h>
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

typedef struct {
    tss_tls_ctx *ctx;
    tss_client *cl;
    int timeout_ms;
} conn;

static tss_result conn_open(const tss_operator_config *cfg, conn *c) {
    memset(c, 0, sizeof *c);
    c->timeout_ms = (int)cfg->timeouts.request;
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

/* One request frame, one answer: the OP_RESPONSE status, or for an ERROR
 * frame its code; text gets the refusal text if any. */
static tss_result roundtrip(conn *c, tss_wire_type type, const tss_wire_op_request *rq,
                            uint16_t *status, char *text, size_t cap) {
    tss_writer w;
    tss_writer_init(&w, 8192);
    tss_result r = type == TSS_WIRE_OP_REQUEST ? tss_wire_op_request_encode(&w, rq)
                                               : tss_wire_status_request_encode(&w);
    if (tss_is_ok(r)) r = tss_client_send(c->cl, type, w.data, w.len, c->timeout_ms);
    tss_writer_free(&w);
    tss_wire_frame f;
    if (tss_is_ok(r)) r = tss_client_recv(c->cl, &f, c->timeout_ms);
    TSS_GUARD(r);
    *status = 0;
    text[0] = '\0';
    if (f.type == TSS_WIRE_ERROR) {
        tss_wire_error e;
        TSS_GUARD(tss_wire_error_decode(&e, f.payload, f.len));
        *status = e.code ? e.code : 1;
        snprintf(text, cap, "%s", e.text);
    } else if (f.type == TSS_WIRE_OP_RESPONSE) {
        tss_wire_op_response resp;
        TSS_GUARD(tss_wire_op_response_decode(&resp, f.payload, f.len));
        TSS_ENSURE(resp.request_id == rq->request_id, TSS_E_PROTOCOL, "answer to another request");
        *status = resp.status;
        snprintf(text, cap, "%s", resp.text);
        if (rq->command == TSS_WIRE_OP_SIGN && !resp.status && !resp.has_signature)
            r = tss_fail(TSS_E_PROTOCOL, "sign answered without a signature");
        tss_wire_op_response_free(&resp);
    } else if (f.type != TSS_WIRE_STATUS_RESPONSE) {
        r = tss_fail(TSS_E_PROTOCOL, "unexpected %s", tss_wire_type_name(f.type));
    }
    return r;
}

static atomic_bool stop_signers, stop_flood;

typedef struct {
    const tss_operator_config *cfg;
    const char *key_id;
    long ok, failed;
    long served, limited, other;
    char error[TSS_WIRE_MAX_ERROR_TEXT + 1], refusal[TSS_WIRE_MAX_ERROR_TEXT + 1];
} worker;

static void *sign_worker(void *arg) {
    worker *wk = arg;
    conn c;
    tss_result r = conn_open(wk->cfg, &c);
    while (tss_is_ok(r) && !atomic_load(&stop_signers)) {
        tss_wire_op_request rq;
        memset(&rq, 0, sizeof rq);
        rq.command = TSS_WIRE_OP_SIGN;
        rq.flags = TSS_WIRE_OP_FLAG_NO_PRESIGN;
        snprintf(rq.key_id, sizeof rq.key_id, "%s", wk->key_id);
        randombytes_buf(rq.digest, sizeof rq.digest);
        randombytes_buf(&rq.request_id, sizeof rq.request_id);
        uint16_t st;
        char text[TSS_WIRE_MAX_ERROR_TEXT + 1];
        r = roundtrip(&c, TSS_WIRE_OP_REQUEST, &rq, &st, text, sizeof text);
        if (tss_is_ok(r) && st == 0) wk->ok++;
        else if (tss_is_ok(r)) {
            wk->failed++;
            snprintf(wk->error, sizeof wk->error, "%s", text);
        }
    }
    if (!tss_is_ok(r)) snprintf(wk->error, sizeof wk->error, "%s", tss_error_detail());
    conn_close(&c);
    tss_tls_thread_cleanup();
    return NULL;
}

static void *flood_worker(void *arg) {
    worker *wk = arg;
    conn c;
    tss_result r = conn_open(wk->cfg, &c);
    for (unsigned i = 0; tss_is_ok(r) && !atomic_load(&stop_flood); i++) {
        tss_wire_op_request rq;
        memset(&rq, 0, sizeof rq);
        rq.command = TSS_WIRE_OP_KEYS;
        randombytes_buf(&rq.request_id, sizeof rq.request_id);
        uint16_t st;
        char text[TSS_WIRE_MAX_ERROR_TEXT + 1];
        r = roundtrip(&c, (i & 1) ? TSS_WIRE_STATUS_REQUEST : TSS_WIRE_OP_REQUEST, &rq, &st, text,
                      sizeof text);
        if (!tss_is_ok(r)) break;
        if (st == 0) wk->served++;
        else if (strstr(text, "rate limit exceeded")) {
            wk->limited++;
            if (!wk->refusal[0]) snprintf(wk->refusal, sizeof wk->refusal, "%s", text);
        } else {
            wk->other++;
            snprintf(wk->error, sizeof wk->error, "%s", text);
        }
    }
    if (!tss_is_ok(r)) snprintf(wk->error, sizeof wk->error, "%s", tss_error_detail());
    conn_close(&c);
    tss_tls_thread_cleanup();
    return NULL;
}

/* Signing rate of `conc` threads over `seconds`. */
static double sign_phase(const tss_operator_config *cfg, const char *key_id, int conc,
                         double seconds, long *ok_out, long *failed_out, char *err, size_t cap) {
    worker wk[64];
    pthread_t th[64];
    memset(wk, 0, sizeof wk);
    atomic_store(&stop_signers, false);
    double t0 = bench_wall_seconds();
    for (int i = 0; i < conc; i++) {
        wk[i].cfg = cfg;
        wk[i].key_id = key_id;
        if (pthread_create(&th[i], NULL, sign_worker, &wk[i]) != 0) th[i] = 0;
    }
    while (bench_wall_seconds() - t0 < seconds) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop_signers, true);
    for (int i = 0; i < conc; i++)
        if (th[i]) pthread_join(th[i], NULL);
    double elapsed = bench_wall_seconds() - t0;
    long ok = 0, failed = 0;
    for (int i = 0; i < conc; i++) {
        ok += wk[i].ok;
        failed += wk[i].failed;
        if (wk[i].error[0] && !err[0]) snprintf(err, cap, "%s", wk[i].error);
    }
    *ok_out = ok;
    *failed_out = failed;
    return elapsed > 0 ? (double)ok / elapsed : 0;
}

static void json_text(const char *s) {
    putchar('"');
    for (; *s; s++)
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s >= 0x20) putchar(*s);
    putchar('"');
}

int bench_chatty(const bench_options *o) {
    if (!o->op_config || !o->chatty_config) {
        fprintf(stderr, "tss-bench: --suite chatty needs --op-config FILE and --chatty-config FILE "
                        "(bench/chatty.sh runs it)\n");
        return 64;
    }
    tss_log_set_level(LOG_CRIT);
    tss_operator_config cfg, chatty;
    memset(&cfg, 0, sizeof cfg);
    memset(&chatty, 0, sizeof chatty);
    tss_result r = tss_config_operator_load_file(&cfg, o->op_config);
    if (tss_is_ok(r)) r = tss_config_operator_load_file(&chatty, o->chatty_config);
    if (!tss_is_ok(r)) {
        fprintf(stderr, "tss-bench: %s\n", tss_error_detail());
        return 78;
    }
    char key_id[64];
    snprintf(key_id, sizeof key_id, "chatty-%08x", randombytes_random());
    conn c;
    r = conn_open(&cfg, &c);
    if (tss_is_ok(r)) {
        tss_wire_op_request rq;
        memset(&rq, 0, sizeof rq);
        rq.command = TSS_WIRE_OP_KEYGEN;
        rq.threshold = (uint16_t)o->e2e_threshold;
        randombytes_buf(&rq.request_id, sizeof rq.request_id);
        snprintf(rq.key_id, sizeof rq.key_id, "%s", key_id);
        uint16_t st;
        char text[TSS_WIRE_MAX_ERROR_TEXT + 1];
        r = roundtrip(&c, TSS_WIRE_OP_REQUEST, &rq, &st, text, sizeof text);
        if (tss_is_ok(r) && st) r = tss_fail(TSS_E_PROTOCOL, "keygen failed: %s", text);
        conn_close(&c);
    }
    if (!tss_is_ok(r)) {
        fprintf(stderr, "tss-bench chatty: %s\n", tss_error_detail());
        tss_config_operator_free(&cfg);
        tss_config_operator_free(&chatty);
        return 70;
    }
    int conc = o->e2e_concurrency > 64 ? 64 : o->e2e_concurrency;
    int nflood = o->chatty_flooders > 64 ? 64 : o->chatty_flooders;
    double secs = o->chatty_seconds;
    char qerr[TSS_WIRE_MAX_ERROR_TEXT + 1] = "", cerr[TSS_WIRE_MAX_ERROR_TEXT + 1] = "";
    long qok, qfail, cok, cfail;
    double quiet = sign_phase(&cfg, key_id, conc, secs, &qok, &qfail, qerr, sizeof qerr);

    worker fl[64];
    pthread_t fth[64];
    memset(fl, 0, sizeof fl);
    atomic_store(&stop_flood, false);
    double f0 = bench_wall_seconds();
    for (int i = 0; i < nflood; i++) {
        fl[i].cfg = &chatty;
        if (pthread_create(&fth[i], NULL, flood_worker, &fl[i]) != 0) fth[i] = 0;
    }
    struct timespec ramp = {0, 200 * 1000 * 1000}; /* let the flood reach full speed */
    nanosleep(&ramp, NULL);
    double busy = sign_phase(&cfg, key_id, conc, secs, &cok, &cfail, cerr, sizeof cerr);
    atomic_store(&stop_flood, true);
    for (int i = 0; i < nflood; i++)
        if (fth[i]) pthread_join(fth[i], NULL);
    double fsecs = bench_wall_seconds() - f0;
    long served = 0, limited = 0, other = 0;
    const char *refusal = "", *ferr = "";
    for (int i = 0; i < nflood; i++) {
        served += fl[i].served;
        limited += fl[i].limited;
        other += fl[i].other;
        if (fl[i].refusal[0] && !refusal[0]) refusal = fl[i].refusal;
        if (fl[i].error[0] && !ferr[0]) ferr = fl[i].error;
    }
    double ratio = quiet > 0 ? busy / quiet : 0;
    if (o->json) {
        printf("\"chatty\":{\"cluster\":\"2-of-N daemons, 127.0.0.1, mTLS\",\"key_id\":\"%s\","
               "\"signers\":%d,\"seconds\":%.1f,"
               "\"quiet\":{\"sig_per_s\":%.1f,\"ok\":%ld,\"failed\":%ld},"
               "\"chatty\":{\"sig_per_s\":%.1f,\"ok\":%ld,\"failed\":%ld},\"ratio\":%.3f,"
               "\"flood\":{\"threads\":%d,\"requests_per_s\":%.1f,\"served\":%ld,"
               "\"rate_limited\":%ld,\"other\":%ld,\"refusal\":",
               key_id, conc, secs, quiet, qok, qfail, busy, cok, cfail, ratio, nflood,
               fsecs > 0 ? (double)(served + limited + other) / fsecs : 0, served, limited, other);
        json_text(refusal);
        printf(",\"error\":");
        json_text(ferr);
        printf("},\"sign_error\":");
        json_text(qerr[0] ? qerr : cerr);
        printf("}");
    } else {
        printf("quiet %.1f sig/s; with a chatty operator %.1f sig/s (ratio %.2f); flood %.0f req/s: "
               "%ld served, %ld rate-limited (%s), %ld other %s\n",
               quiet, busy, ratio, fsecs > 0 ? (double)(served + limited + other) / fsecs : 0,
               served, limited, refusal, other, ferr);
    }
    tss_config_operator_free(&cfg);
    tss_config_operator_free(&chatty);
    return (qfail || cfail || other) ? 70 : 0;
}
