/* Sustained signing with the presignature pool refilling in the background
 * (issue 14 item 1), against a running cluster whose coordinator has a
 * `pool:` entry for key "pool" (bench/pool.sh sets it up):
 * `tss-bench --suite pool --op-config FILE --concurrency 32 --seconds 60`.
 * That many threads (one persistent mutual-TLS operator connection each,
 * opened before the clock starts) send sign requests (presignatures allowed)
 * until the time is up. Reports throughput (verified signatures per second),
 * how many were presigned and how many fell back to full signing (with the
 * first fallback reason seen), p50/p99 of each kind, failures, and the stock
 * at the start and the end. Every signature is verified here with
 * libsecp256k1 against the key's public key. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench/bench.h"
#include "util/log.h"

#define POOL_KEY "pool"
#define MAX_PER_WORKER 20000 /* requests per worker (60 s at 300/s over 32: ~600) */

typedef struct {
    const tss_operator_config *cfg;
    const uint8_t *pub;
    pthread_barrier_t *start;
    double deadline;
    double *lat_pre, *lat_full;
    size_t n_pre, n_full, cap;
    int failed, bad;
    bool connected;
    char error[256], fallback[TSS_WIRE_MAX_ERROR_TEXT + 1];
} pworker;

static void *pwork(void *arg) {
    pworker *wk = arg;
    bench_conn c;
    uint32_t stock;
    tss_result r = bench_conn_open(wk->cfg, &c);
    if (tss_is_ok(r)) { /* a first frame now: the coordinator drops silent new connections */
        r = bench_key_info(&c, POOL_KEY, NULL, &stock);
        if (!tss_is_ok(r)) bench_conn_close(&c);
    }
    if (!tss_is_ok(r)) snprintf(wk->error, sizeof wk->error, "connect: %s", tss_error_detail());
    wk->connected = tss_is_ok(r);
    pthread_barrier_wait(wk->start);
    while (tss_is_ok(r) && bench_wall_seconds() < wk->deadline && wk->n_pre + wk->n_full < wk->cap) {
        tss_wire_op_request rq;
        memset(&rq, 0, sizeof rq);
        rq.command = TSS_WIRE_OP_SIGN;
        snprintf(rq.key_id, sizeof rq.key_id, "%s", POOL_KEY);
        randombytes_buf(rq.digest, sizeof rq.digest);
        tss_wire_op_response resp;
        double t0 = bench_wall_seconds();
        tss_result x = bench_exchange(&c, &rq, &resp);
        double ms = (bench_wall_seconds() - t0) * 1e3;
        if (!tss_is_ok(x)) {
            wk->failed++;
            if (!wk->error[0]) snprintf(wk->error, sizeof wk->error, "%s", tss_error_detail());
            if (x.err != TSS_E_PROTOCOL) r = x; /* a broken connection ends the worker */
            continue;
        }
        bool good = resp.has_signature && memcmp(resp.digest, rq.digest, 32) == 0 &&
                    bench_verify(wk->pub, rq.digest, resp.r, resp.s);
        if (!good) wk->bad++;
        else if (resp.presigned) wk->lat_pre[wk->n_pre++] = ms;
        else {
            wk->lat_full[wk->n_full++] = ms;
            if (!wk->fallback[0]) snprintf(wk->fallback, sizeof wk->fallback, "%s", resp.text);
        }
        tss_wire_op_response_free(&resp);
    }
    if (tss_is_ok(r)) bench_conn_close(&c);
    tss_tls_thread_cleanup();
    return NULL;
}

/* Gather the workers' latencies of one kind into one sorted array. */
static size_t gather(pworker *wk, int n, bool pre, double *out) {
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        size_t m = pre ? wk[i].n_pre : wk[i].n_full;
        memcpy(out + k, pre ? wk[i].lat_pre : wk[i].lat_full, m * sizeof *out);
        k += m;
    }
    bench_sort(out, k);
    return k;
}

int bench_pool(const bench_options *o) {
    if (!o->op_config) {
        fprintf(stderr, "tss-bench: --suite pool needs --op-config FILE (bench/pool.sh runs it)\n");
        return 64;
    }
    tss_log_set_level(LOG_CRIT);
    tss_operator_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (!tss_is_ok(tss_config_operator_load_file(&cfg, o->op_config))) {
        fprintf(stderr, "tss-bench: %s\n", tss_error_detail());
        return 78;
    }
    uint8_t pub[33];
    uint32_t stock_start = 0, stock_end = 0;
    bench_conn c;
    tss_result r = bench_conn_open(&cfg, &c);
    if (tss_is_ok(r)) {
        r = bench_key_info(&c, POOL_KEY, pub, &stock_start);
        bench_conn_close(&c);
    }
    if (!tss_is_ok(r)) {
        fprintf(stderr, "tss-bench pool: key %s: %s\n", POOL_KEY, tss_error_detail());
        tss_config_operator_free(&cfg);
        return 70;
    }
    int conc = o->e2e_concurrency;
    size_t cap = MAX_PER_WORKER;
    pworker *wk = calloc((size_t)conc, sizeof *wk);
    pthread_t *th = calloc((size_t)conc, sizeof *th);
    double *all = calloc((size_t)conc * cap, sizeof *all);
    double *lat = calloc((size_t)conc * cap * 2, sizeof *lat);
    pthread_barrier_t start;
    if (!wk || !th || !all || !lat || pthread_barrier_init(&start, NULL, (unsigned)conc + 1) != 0) {
        fprintf(stderr, "tss-bench pool: no memory\n");
        free(wk), free(th), free(all), free(lat);
        tss_config_operator_free(&cfg);
        return 70;
    }
    double t0 = bench_wall_seconds();
    int started = 0;
    for (int i = 0; i < conc; i++) {
        wk[i] = (pworker){.cfg = &cfg, .pub = pub, .start = &start, .cap = cap,
                          .lat_pre = lat + (size_t)i * cap * 2,
                          .lat_full = lat + (size_t)i * cap * 2 + cap};
        if (pthread_create(&th[i], NULL, pwork, &wk[i]) != 0) break;
        started++;
    }
    for (int i = started; i < conc; i++) pthread_barrier_wait(&start); /* never: fail open */
    t0 = bench_wall_seconds();
    for (int i = 0; i < started; i++) wk[i].deadline = t0 + o->chatty_seconds;
    pthread_barrier_wait(&start);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    double secs = bench_wall_seconds() - t0;
    size_t n_pre = gather(wk, started, true, all);
    double pre50 = bench_percentile(all, n_pre, 0.5), pre99 = bench_percentile(all, n_pre, 0.99);
    size_t n_full = gather(wk, started, false, all);
    double full50 = bench_percentile(all, n_full, 0.5),
           full99 = bench_percentile(all, n_full, 0.99);
    int failed = 0, bad = 0, connected = 0;
    const char *err = "", *fallback = "";
    for (int i = 0; i < started; i++) {
        connected += wk[i].connected;
        failed += wk[i].failed;
        bad += wk[i].bad;
        if (!err[0] && wk[i].error[0]) err = wk[i].error;
        if (!fallback[0] && wk[i].fallback[0]) fallback = wk[i].fallback;
    }
    if (tss_is_ok(bench_conn_open(&cfg, &c))) {
        if (!tss_is_ok(bench_key_info(&c, POOL_KEY, NULL, &stock_end))) stock_end = 0;
        bench_conn_close(&c);
    }
    double tput = secs > 0 ? (double)(n_pre + n_full) / secs : 0;
    if (o->json) {
        printf("\"pool\":{\"key_id\":\"" POOL_KEY "\",\"concurrency\":%d,\"connected\":%d,"
               "\"seconds\":%.3f,"
               "\"signatures\":%zu,\"sig_per_s\":%.1f,\"presigned\":%zu,\"full\":%zu,"
               "\"presigned_share\":%.3f,\"presigned_p50_ms\":%.2f,\"presigned_p99_ms\":%.2f,"
               "\"full_p50_ms\":%.2f,\"full_p99_ms\":%.2f,\"failed\":%d,\"bad_signatures\":%d,"
               "\"stock_start\":%u,\"stock_end\":%u,\"first_fallback\":",
               conc, connected, secs, n_pre + n_full, tput, n_pre, n_full,
               n_pre + n_full ? (double)n_pre / (double)(n_pre + n_full) : 0, pre50, pre99,
               full50, full99, failed, bad, stock_start, stock_end);
        bench_json_text(fallback);
        printf(",\"first_error\":");
        bench_json_text(err);
        printf("}");
    } else {
        printf("pool: %d clients for %.1f s: %.1f sig/s (%zu presigned p50 %.2f ms p99 %.2f ms, "
               "%zu full p50 %.2f ms), %d failed, %d bad; stock %u -> %u\n",
               conc, secs, tput, n_pre, pre50, pre99, n_full, full50, failed, bad, stock_start,
               stock_end);
    }
    pthread_barrier_destroy(&start);
    free(wk), free(th), free(all), free(lat);
    tss_config_operator_free(&cfg);
    return bad || failed || connected < conc ? 1 : 0;
}
