/* Overload benchmark against a running cluster (bench/e2e.sh starts one):
 * `tss-bench --suite overload --op-config FILE --levels 8,32,128`. For each
 * concurrency level, that many threads (one persistent mutual-TLS operator
 * connection each, opened before the clock starts) send full sign requests
 * until the level's request budget is spent; a refused request is counted
 * and the worker goes on (refusals are what overload looks like). Reports
 * goodput (verified signatures per second), p50/p99 latency of successful
 * requests, failures and how many named a culprit, per level, and the ratio
 * of the highest level's goodput to the best level's (issue 11: >= 0.9).
 * Every returned signature is verified here with libsecp256k1 against the
 * key's public key. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench/bench.h"
#include "util/log.h"

typedef struct {
    const tss_operator_config *cfg;
    const char *key_id;
    const uint8_t *pub; /* 33 bytes */
    pthread_barrier_t *start;
    int count;
    double *lat; /* count slots */
    int ok, failed, culprits, bad;
    char error[256];
} lworker;

static void *lwork(void *arg) {
    lworker *wk = arg;
    bench_conn c;
    tss_result r = bench_conn_open(wk->cfg, &c);
    if (tss_is_ok(r)) { /* a first frame now: the coordinator drops silent new connections */
        tss_wire_op_request rq;
        memset(&rq, 0, sizeof rq);
        rq.command = TSS_WIRE_OP_KEYS;
        snprintf(rq.key_id, sizeof rq.key_id, "%s", wk->key_id);
        tss_wire_op_response resp;
        r = bench_exchange(&c, &rq, &resp);
        if (tss_is_ok(r)) tss_wire_op_response_free(&resp);
        else bench_conn_close(&c);
    }
    if (!tss_is_ok(r)) snprintf(wk->error, sizeof wk->error, "connect: %s", tss_error_detail());
    pthread_barrier_wait(wk->start);
    for (int i = 0; tss_is_ok(r) && i < wk->count; i++) {
        tss_wire_op_request rq;
        memset(&rq, 0, sizeof rq);
        rq.command = TSS_WIRE_OP_SIGN;
        rq.flags = TSS_WIRE_OP_FLAG_NO_PRESIGN;
        snprintf(rq.key_id, sizeof rq.key_id, "%s", wk->key_id);
        randombytes_buf(rq.digest, sizeof rq.digest);
        tss_wire_op_response resp;
        double t0 = bench_wall_seconds();
        tss_result x = bench_exchange(&c, &rq, &resp);
        double ms = (bench_wall_seconds() - t0) * 1e3;
        if (tss_is_ok(x)) {
            bool good = resp.has_signature && memcmp(resp.digest, rq.digest, 32) == 0 &&
                        bench_verify(wk->pub, rq.digest, resp.r, resp.s);
            tss_wire_op_response_free(&resp);
            if (good) wk->lat[wk->ok++] = ms;
            else wk->bad++;
            continue;
        }
        wk->failed++;
        const char *c_at = strstr(tss_error_detail(), "(culprit ");
        if (c_at && c_at[9] != '0') wk->culprits++;
        if (!wk->error[0]) snprintf(wk->error, sizeof wk->error, "%s", tss_error_detail());
        /* A refusal (an OP_RESPONSE with an error) does not end the worker; a broken connection does. */
        if (x.err != TSS_E_PROTOCOL) r = x;
    }
    if (tss_is_ok(r)) bench_conn_close(&c);
    tss_tls_thread_cleanup();
    return NULL;
}

typedef struct {
    int conc, requests, ok, failed, culprits, bad;
    double seconds, goodput, p50, p99;
    char error[256];
} level_result;

static void run_level(const tss_operator_config *cfg, const char *key_id, const uint8_t *pub,
                      int conc, int total, level_result *out) {
    memset(out, 0, sizeof *out);
    out->conc = conc;
    int per = (total + conc - 1) / conc;
    if (per < 2) per = 2;
    lworker *wk = calloc((size_t)conc, sizeof *wk);
    pthread_t *th = calloc((size_t)conc, sizeof *th);
    double *lat = calloc((size_t)conc * (size_t)per, sizeof *lat);
    pthread_barrier_t start;
    if (!wk || !th || !lat || pthread_barrier_init(&start, NULL, (unsigned)conc + 1) != 0) {
        snprintf(out->error, sizeof out->error, "no memory");
        free(wk), free(th), free(lat);
        return;
    }
    int started = 0;
    for (int i = 0; i < conc; i++) {
        wk[i] = (lworker){.cfg = cfg, .key_id = key_id, .pub = pub, .start = &start,
                          .count = per, .lat = lat + (size_t)i * (size_t)per};
        if (pthread_create(&th[i], NULL, lwork, &wk[i]) != 0) break;
        started++;
    }
    if (started < conc) { /* the barrier would never open: fail the level */
        snprintf(out->error, sizeof out->error, "cannot start %d threads", conc);
        for (int i = started; i < conc + 1 - started; i++) pthread_barrier_wait(&start);
    }
    pthread_barrier_wait(&start);
    double t0 = bench_wall_seconds();
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    out->seconds = bench_wall_seconds() - t0;
    size_t n = 0;
    for (int i = 0; i < started; i++) {
        memmove(lat + n, wk[i].lat, (size_t)wk[i].ok * sizeof *lat);
        n += (size_t)wk[i].ok;
        out->ok += wk[i].ok;
        out->failed += wk[i].failed + (wk[i].count - wk[i].ok - wk[i].failed - wk[i].bad);
        out->culprits += wk[i].culprits;
        out->bad += wk[i].bad;
        if (!out->error[0] && wk[i].error[0])
            snprintf(out->error, sizeof out->error, "%s", wk[i].error);
    }
    out->requests = per * conc;
    bench_sort(lat, n);
    out->p50 = bench_percentile(lat, n, 0.5);
    out->p99 = bench_percentile(lat, n, 0.99);
    out->goodput = out->seconds > 0 ? out->ok / out->seconds : 0;
    pthread_barrier_destroy(&start);
    free(wk), free(th), free(lat);
}

int bench_overload(const bench_options *o) {
    if (!o->op_config) {
        fprintf(stderr, "tss-bench: --suite overload needs --op-config FILE (bench/e2e.sh runs it)\n");
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
    snprintf(key_id, sizeof key_id, "overload-%08x", randombytes_random());
    uint8_t pub[33];
    bench_conn c;
    r = bench_conn_open(&cfg, &c);
    if (tss_is_ok(r)) {
        r = bench_keygen(&c, key_id, o->e2e_threshold, pub);
        bench_conn_close(&c);
    }
    if (!tss_is_ok(r)) {
        fprintf(stderr, "tss-bench overload: keygen: %s\n", tss_error_detail());
        tss_config_operator_free(&cfg);
        return 70;
    }
    level_result res[8];
    double best = 0;
    int bad = 0, failed = 0;
    for (size_t i = 0; i < o->nlevels; i++) {
        run_level(&cfg, key_id, pub, o->levels[i], o->level_requests, &res[i]);
        if (res[i].goodput > best) best = res[i].goodput;
        bad += res[i].bad;
        failed += res[i].failed;
        fprintf(stderr, "tss-bench overload: concurrency %d: %.1f sig/s, %d ok, %d failed%s%s\n",
                res[i].conc, res[i].goodput, res[i].ok, res[i].failed,
                res[i].error[0] ? ": " : "", res[i].error);
    }
    double ratio = best > 0 ? res[o->nlevels - 1].goodput / best : 0;
    if (o->json) {
        printf("\"overload\":{\"key_id\":\"%s\",\"levels\":[", key_id);
        for (size_t i = 0; i < o->nlevels; i++) {
            const level_result *l = &res[i];
            printf("%s{\"concurrency\":%d,\"requests\":%d,\"ok\":%d,\"failed\":%d,"
                   "\"failed_with_culprit\":%d,\"bad_signatures\":%d,\"seconds\":%.3f,"
                   "\"sig_per_s\":%.1f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"first_error\":",
                   i ? "," : "", l->conc, l->requests, l->ok, l->failed, l->culprits, l->bad,
                   l->seconds, l->goodput, l->p50, l->p99);
            bench_json_text(l->error);
            putchar('}');
        }
        printf("],\"best_sig_per_s\":%.1f,\"last_vs_best\":%.3f,\"bad_signatures\":%d}", best,
               ratio, bad);
    } else {
        printf("%-12s %10s %8s %8s %10s %10s\n", "concurrency", "sig/s", "ok", "failed", "p50 ms",
               "p99 ms");
        for (size_t i = 0; i < o->nlevels; i++)
            printf("%-12d %10.1f %8d %8d %10.2f %10.2f\n", res[i].conc, res[i].goodput, res[i].ok,
                   res[i].failed, res[i].p50, res[i].p99);
        printf("goodput at concurrency %d / best: %.3f\n", res[o->nlevels - 1].conc, ratio);
    }
    tss_config_operator_free(&cfg);
    return (bad || failed) ? 70 : 0;
}
