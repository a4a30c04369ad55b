#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <secp256k1.h>

#include "bench/bench.h"

static double seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_wall_seconds(void) { return seconds(CLOCK_MONOTONIC); }
double bench_cpu_seconds(void) { return seconds(CLOCK_THREAD_CPUTIME_ID); }

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, size_t n) {
    qsort(values, n, sizeof *values, compare_double);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void bench_sort(double *values, size_t n) { qsort(values, n, sizeof *values, compare_double); }

double bench_percentile(const double *sorted, size_t n, double p) {
    if (!n) return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

void bench_json_text(const char *s) {
    putchar('"');
    for (; *s; s++)
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f) putchar(*s);
    putchar('"');
}

bool bench_verify(const uint8_t pub[33], const uint8_t digest[32], const uint8_t r[32],
                  const uint8_t s[32]) {
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
    secp256k1_pubkey pk;
    secp256k1_ecdsa_signature sig;
    uint8_t rs[64];
    memcpy(rs, r, 32);
    memcpy(rs + 32, s, 32);
    bool ok = ctx && secp256k1_ec_pubkey_parse(ctx, &pk, pub, 33) &&
              secp256k1_ecdsa_signature_parse_compact(ctx, &sig, rs) &&
              secp256k1_ecdsa_verify(ctx, &sig, digest, &pk) == 1;
    if (ctx) secp256k1_context_destroy(ctx);
    return ok;
}

tss_result bench_keygen(bench_conn *c, const char *key_id, int threshold, uint8_t pub[33]) {
    tss_wire_op_request rq;
    memset(&rq, 0, sizeof rq);
    rq.command = TSS_WIRE_OP_KEYGEN;
    rq.threshold = (uint16_t)threshold;
    snprintf(rq.key_id, sizeof rq.key_id, "%s", key_id);
    tss_wire_op_response resp;
    TSS_GUARD(bench_exchange(c, &rq, &resp));
    tss_result r = TSS_OK_RESULT;
    if (pub && resp.key_count != 1)
        r = tss_fail(TSS_E_PROTOCOL, "keygen answered %zu keys", resp.key_count);
    else if (pub)
        memcpy(pub, resp.keys[0].public_key, 33);
    tss_wire_op_response_free(&resp);
    return r;
}

tss_result bench_key_info(bench_conn *c, const char *key_id, uint8_t pub[33], uint32_t *stock) {
    tss_wire_op_request rq;
    memset(&rq, 0, sizeof rq);
    rq.command = TSS_WIRE_OP_KEYS;
    snprintf(rq.key_id, sizeof rq.key_id, "%s", key_id);
    tss_wire_op_response resp;
    TSS_GUARD(bench_exchange(c, &rq, &resp));
    tss_result r = resp.key_count == 1 ? TSS_OK_RESULT
                                       : tss_fail(TSS_E_NOT_FOUND, "key %s not listed", key_id);
    if (tss_is_ok(r)) {
        if (pub) memcpy(pub, resp.keys[0].public_key, 33);
        *stock = resp.keys[0].presignatures;
    }
    tss_wire_op_response_free(&resp);
    return r;
}
