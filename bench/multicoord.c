/* Throughput with one and with two coordinators, same parties, same run
 * (issue 18; bench/multicoord.sh starts PostgreSQL, coordinators A and B and
 * three parties connected to both): `tss-bench --suite multicoord --op-config
 * A.yaml --op-config2 B.yaml`. A key is made through A (the shared registry
 * makes it usable through B). For full signing, then presigned signing:
 * `concurrency` workers, each on its own persistent operator connection,
 * first all to A ("one"), then half to A and half to B ("two"); signatures
 * per second and p50 latency for each. Presigned phases first make enough
 * presignatures (through A) that no sign falls back to full signing; each
 * presigned phase counts a sign answered without a presignature as failed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench/bench.h"
#include "config/operator.h"
#include "util/log.h"
#include "wire/msg.h"

typedef struct {
    const tss_operator_config *cfg;
    const char *key_id;
    int count;
    bool full;
    double *lat; /* count entries, ms */
    int done, failed;
    char error[256];
} mc_worker;

static void *mc_work(void *arg) {
    mc_worker *w = arg;
    bench_conn c;
    tss_result r = bench_conn_open(w->cfg, &c);
    if (!tss_is_ok(r)) {
        snprintf(w->error, sizeof w->error, "%s", tss_error_detail());
        w->failed = w->count;
        return NULL;
    }
    for (int i = 0; i < w->count; i++) {
        tss_wire_op_request rq;
        memset(&rq, 0, sizeof rq);
        rq.command = TSS_WIRE_OP_SIGN;
        rq.flags = w->full ? TSS_WIRE_OP_FLAG_NO_PRESIGN : 0;
        snprintf(rq.key_id, sizeof rq.key_id, "%s", w->key_id);
        randombytes_buf(rq.digest, sizeof rq.digest);
        tss_wire_op_response resp;
        double t0 = bench_wall_seconds();
        r = bench_exchange(&c, &rq, &resp);
        if (!tss_is_ok(r)) {
            if (!w->error[0]) snprintf(w->error, sizeof w->error, "%s", tss_error_detail());
            w->failed++;
            continue;
        }
        bool ok = resp.has_signature && (w->full ? resp.presigned == 0 : resp.presigned == 1);
        tss_wire_op_response_free(&resp);
        if (!ok) {
            if (!w->error[0])
                snprintf(w->error, sizeof w->error, "sign answered without the expected %s "
                         "signature", w->full ? "full" : "presigned");
            w->failed++;
            continue;
        }
        w->lat[w->done++] = (bench_wall_seconds() - t0) * 1e3;
    }
    bench_conn_close(&c);
    return NULL;
}

typedef struct {
    int ok, failed;
    double seconds, sig_per_s, p50_ms;
} mc_result;

/* `conc` workers; worker i uses cfgs[i % ncfg]. */
static mc_result mc_phase(const tss_operator_config *const *cfgs, int ncfg, const char *key_id,
                          int conc, int per, bool full) {
    mc_result res = {0};
    mc_worker *wk = calloc((size_t)conc, sizeof *wk);
    pthread_t *th = calloc((size_t)conc, sizeof *th);
    double *all = calloc((size_t)conc * (size_t)per + 1, sizeof *all);
    if (!wk || !th || !all) {
        free(wk), free(th), free(all);
        res.failed = conc * per;
        return res;
    }
    double t0 = bench_wall_seconds();
    for (int i = 0; i < conc; i++) {
        wk[i] = (mc_worker){.cfg = cfgs[i % ncfg], .key_id = key_id, .count = per, .full = full,
                            .lat = all + (size_t)i * (size_t)per};
        if (pthread_create(&th[i], NULL, mc_work, &wk[i]) != 0) wk[i].failed = per, th[i] = 0;
    }
    for (int i = 0; i < conc; i++)
        if (th[i]) pthread_join(th[i], NULL);
    res.seconds = bench_wall_seconds() - t0;
    size_t n = 0;
    for (int i = 0; i < conc; i++) {
        res.ok += wk[i].done;
        res.failed += wk[i].failed;
        if (wk[i].error[0]) fprintf(stderr, "tss-bench multicoord: worker %d: %s\n", i, wk[i].error);
        for (int j = 0; j < wk[i].done; j++) all[n++] = wk[i].lat[j];
    }
    res.sig_per_s = res.seconds > 0 ? res.ok / res.seconds : 0;
    res.p50_ms = n ? bench_median(all, n) : 0;
    free(wk), free(th), free(all);
    return res;
}

/* Make `want` presignatures of key_id through c (batches of at most 1000). */
static tss_result mc_presign(bench_conn *c, const char *key_id, int want) {
    while (want > 0) {
        tss_wire_op_request rq;
        memset(&rq, 0, sizeof rq);
        rq.command = TSS_WIRE_OP_PRESIGN;
        rq.presign_count = (uint16_t)(want > 1000 ? 1000 : want);
        snprintf(rq.key_id, sizeof rq.key_id, "%s", key_id);
        tss_wire_op_response resp;
        TSS_GUARD(bench_exchange(c, &rq, &resp));
        int made = resp.presigned;
        tss_wire_op_response_free(&resp);
        TSS_ENSURE(made > 0, TSS_E_PROTOCOL, "presign made nothing");
        want -= made;
    }
    return TSS_OK_RESULT;
}

static void print_phase(const char *name, const mc_result *r, bool comma) {
    printf("\"%s\":{\"ok\":%d,\"failed\":%d,\"seconds\":%.3f,\"sig_per_s\":%.2f,\"p50_ms\":%.2f}%s",
           name, r->ok, r->failed, r->seconds, r->sig_per_s, r->p50_ms, comma ? "," : "");
}

int bench_multicoord(const bench_options *o) {
    if (!o->op_config || !o->op_config2) {
        fprintf(stderr, "tss-bench: --suite multicoord needs --op-config A.yaml --op-config2 "
                        "B.yaml (bench/multicoord.sh runs it)\n");
        return 64;
    }
    tss_operator_config ca, cb;
    memset(&ca, 0, sizeof ca);
    memset(&cb, 0, sizeof cb);
    tss_result r = tss_config_operator_load_file(&ca, o->op_config);
    if (tss_is_ok(r)) r = tss_config_operator_load_file(&cb, o->op_config2);
    if (!tss_is_ok(r)) {
        fprintf(stderr, "tss-bench multicoord: %s\n", tss_error_detail());
        tss_config_operator_free(&ca);
        return 78;
    }
    char key_id[40];
    uint8_t rnd[6];
    randombytes_buf(rnd, sizeof rnd);
    snprintf(key_id, sizeof key_id, "bench-mc-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
             rnd[3], rnd[4], rnd[5]);
    bench_conn c;
    r = bench_conn_open(&ca, &c);
    if (tss_is_ok(r)) r = bench_keygen(&c, key_id, o->e2e_threshold, NULL);
    const tss_operator_config *one[1] = {&ca}, *two[2] = {&ca, &cb};
    int conc = o->e2e_concurrency, per = o->e2e_per_worker, rc = 0;
    mc_result full1 = {0}, full2 = {0}, pre1 = {0}, pre2 = {0};
    uint32_t s0 = 0, s1 = 0; /* stock as A sees it (claims by B reach A's view lazily) */
    if (tss_is_ok(r)) {
        full1 = mc_phase(one, 1, key_id, conc, per, true);
        full2 = mc_phase(two, 2, key_id, conc, per, true);
        r = mc_presign(&c, key_id, conc * per);
        if (tss_is_ok(r)) r = bench_key_info(&c, key_id, NULL, &s0);
    }
    if (tss_is_ok(r)) {
        pre1 = mc_phase(one, 1, key_id, conc, per, false);
        r = mc_presign(&c, key_id, conc * per);
    }
    if (tss_is_ok(r)) {
        pre2 = mc_phase(two, 2, key_id, conc, per, false);
        r = bench_key_info(&c, key_id, NULL, &s1);
    }
    bench_conn_close(&c);
    if (!tss_is_ok(r)) {
        fprintf(stderr, "tss-bench multicoord: %s\n", tss_error_detail());
        rc = 70;
    }
    if (full1.failed || full2.failed || pre1.failed || pre2.failed) rc = 70;
    if (o->json) {
        printf("\"multicoord\":{\"cluster\":\"%d-of-3 daemons, 2 coordinators on one PostgreSQL, "
               "127.0.0.1, mTLS\",\"key_id\":\"%s\",\"concurrency\":%d,\"per_worker\":%d,"
               "\"full\":{", o->e2e_threshold, key_id, conc, per);
        print_phase("one_coordinator", &full1, true);
        print_phase("two_coordinators", &full2, false);
        printf("},\"presigned\":{");
        print_phase("one_coordinator", &pre1, true);
        print_phase("two_coordinators", &pre2, false);
        printf("},\"stock_seen_by_a\":{\"before\":%u,\"after\":%u},\"ok\":%s}", s0, s1,
               rc ? "false" : "true");
    } else {
        printf("full signing:      one coordinator %.2f sig/s (p50 %.1f ms), two %.2f sig/s "
               "(p50 %.1f ms)\npresigned signing: one coordinator %.2f sig/s (p50 %.1f ms), two "
               "%.2f sig/s (p50 %.1f ms)\n",
               full1.sig_per_s, full1.p50_ms, full2.sig_per_s, full2.p50_ms, pre1.sig_per_s,
               pre1.p50_ms, pre2.sig_per_s, pre2.p50_ms);
    }
    tss_config_operator_free(&ca);
    tss_config_operator_free(&cb);
    return rc;
}
