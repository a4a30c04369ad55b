#ifndef TSS_BENCH_BENCH_H
#define TSS_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/operator.h"
#include "daemon/client.h"
#include "tls/context.h"
#include "wire/msg.h"

#define BENCH_MAX_RUNS 1000

#define BENCH_MAX_CASES 16

typedef struct {
    size_t n, t;
} bench_case;

typedef struct {
    bool json;
    int runs;
    const char *suite;
    bench_case cases[BENCH_MAX_CASES];
    size_t ncases;
    /* e2e suite (against a running cluster, see bench/e2e.sh) */
    const char *op_config;
    const char *op_config2; /* multicoord suite: the second coordinator */
    int e2e_threshold, e2e_concurrency, e2e_per_worker, e2e_presign;
    /* chatty suite: signing while another operator floods (bench/chatty.sh) */
    const char *chatty_config;
    int chatty_flooders;
    double chatty_seconds;
    /* overload suite: concurrency levels and requests per level */
    int levels[8];
    size_t nlevels;
    int level_requests;
    /* policy suite: the policy file evaluated (default packaging/examples/policy.yaml) */
    const char *policy_file;
    bool runs_given;
} bench_options;

/* One persistent operator connection (bench/e2e.c). */
typedef struct {
    tss_tls_ctx *ctx;
    tss_client *cl;
    const tss_operator_config *cfg;
} bench_conn;
TSS_MUST_CHECK tss_result bench_conn_open(const tss_operator_config *cfg, bench_conn *c);
void bench_conn_close(bench_conn *c);
/* One OP_REQUEST, one OP_RESPONSE; status != 0 becomes a failure. */
TSS_MUST_CHECK tss_result bench_exchange(bench_conn *c, tss_wire_op_request *rq,
                                         tss_wire_op_response *resp);

/* Monotonic wall clock and this thread's CPU clock, in seconds. */
double bench_wall_seconds(void);
double bench_cpu_seconds(void);
/* Sorts values in place. */
double bench_median(double *values, size_t n);
void bench_sort(double *values, size_t n);
/* The p-quantile (0..1, nearest rank) of n sorted values; 0 when n is 0. */
double bench_percentile(const double *sorted, size_t n, double p);
/* s as a JSON string on stdout (printable ASCII only; the rest is dropped). */
void bench_json_text(const char *s);
/* Whether (r, s) is a valid ECDSA signature of digest under the compressed key pub. */
bool bench_verify(const uint8_t pub[33], const uint8_t digest[32], const uint8_t r[32],
                  const uint8_t s[32]);
/* KEYGEN of key_id on c; with pub, exactly one key must come back and pub gets it. */
TSS_MUST_CHECK tss_result bench_keygen(bench_conn *c, const char *key_id, int threshold,
                                       uint8_t pub[33]);
/* KEYS key_id on c: its presignature stock (and public key when pub is not NULL);
 * TSS_E_NOT_FOUND when the key is not listed. */
TSS_MUST_CHECK tss_result bench_key_info(bench_conn *c, const char *key_id, uint8_t pub[33],
                                         uint32_t *stock);

int bench_keystore(const bench_options *o);
int bench_mpc(const bench_options *o);
/* Full in-process signatures of one (n, t) key: CPU ms per party per run (bench/mpc.c). */
bool bench_mpc_sign_samples(size_t n, uint16_t t, int runs, double *ms_per_party);
/* Cost of party-enforced policy per request (issue 16): request decoding and
 * digest, rule evaluation, durable velocity charge, 2 approvals; in process,
 * against a 2-of-3 signature per party in the same run. */
int bench_policy(const bench_options *o);
int bench_e2e(const bench_options *o);
int bench_chatty(const bench_options *o);
/* Goodput and p50/p99 at each concurrency level against a running cluster
 * (bench/e2e.sh; the admission policy of daemon/coordinator/admission.h). */
int bench_overload(const bench_options *o);
/* One persistent operator connection (e2e.c), for paired measurements. */
#include "util/result.h"
typedef struct bench_op bench_op;
TSS_MUST_CHECK tss_result bench_op_open(const char *op_config, bench_op **out);
TSS_MUST_CHECK tss_result bench_op_sign(bench_op *b, const char *key_id, bool *ok);
void bench_op_close(bench_op *b);
/* One vs two coordinators on one PostgreSQL, same parties (bench/multicoord.sh). */
int bench_multicoord(const bench_options *o);
/* JSON-RPC over HTTPS to a running tss-gateway (bench/gateway.sh; settings from GW_* env). */
int bench_gateway(const bench_options *o);
/* Sustained signing at --concurrency for --seconds with the presignature
 * pool refilling (bench/pool.sh; key "pool"). */
int bench_pool(const bench_options *o);

#endif
