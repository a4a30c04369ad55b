/* tss-bench: benchmarks with machine-readable output (--json).
 * Suites: mpc (keygen and signing per (N, t) case, against a plain
 * libsecp256k1 signature measured in the same run) and keystore (unseal time
 * per KDF profile); e2e (requests to a running cluster: bench/e2e.sh);
 * chatty (signing rate with and without another operator flooding: bench/chatty.sh);
 * policy (the cost of party-enforced policy and approvals per request, in process). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/process.h"
#include "bench/bench.h"
#include "util/secmem.h"

static int usage(void) {
    fprintf(stderr, "Usage: tss-bench [--json] [--suite all|mpc|keystore] [--runs N] "
                    "[--cases 2x2,3x2,5x3]\n"
                    "       tss-bench --suite e2e --op-config FILE [--json] [--runs N] "
                    "[--threshold T] [--concurrency C] [--per-worker M] [--presign K]\n"
                    "       tss-bench --suite chatty --op-config FILE --chatty-config FILE [--json] "
                    "[--seconds S] [--concurrency C] [--flooders F]\n"
                    "       tss-bench --suite overload --op-config FILE [--json] "
                    "[--threshold T] [--levels 8,32,128] [--requests N]\n"
                    "       tss-bench --suite multicoord --op-config A --op-config2 B [--json] "
                    "[--concurrency C] [--per-worker M]\n"
                    "       tss-bench --suite pool --op-config FILE [--json] [--seconds S] "
                    "[--concurrency C]\n"
                    "       tss-bench --suite policy [--json] [--runs N] [--policy FILE]\n");
    return 64;
}

/* "3x2,5x3" -> cases (N x t). */
static bool parse_cases(const char *text, bench_options *o) {
    o->ncases = 0;
    while (*text) {
        char *end;
        long n = strtol(text, &end, 10);
        if (*end != 'x') return false;
        long t = strtol(end + 1, &end, 10);
        if (n < 2 || n > 32 || t < 2 || t > n || o->ncases == BENCH_MAX_CASES) return false;
        o->cases[o->ncases++] = (bench_case){(size_t)n, (size_t)t};
        if (*end == ',') end++;
        else if (*end) return false;
        text = end;
    }
    return o->ncases > 0;
}

/* "8,32,128" -> concurrency levels (1..256). */
static bool parse_levels(const char *text, bench_options *o) {
    o->nlevels = 0;
    while (*text) {
        char *end;
        long c = strtol(text, &end, 10);
        if (end == text || c < 1 || c > 256 || o->nlevels == sizeof o->levels / sizeof o->levels[0])
            return false;
        o->levels[o->nlevels++] = (int)c;
        if (*end == ',') end++;
        else if (*end) return false;
        text = end;
    }
    return o->nlevels > 0;
}

int main(int argc, char **argv) {
    bench_options o = {.json = false, .runs = 5, .suite = "all", .e2e_threshold = 2,
                       .e2e_concurrency = 16, .e2e_per_worker = 25, .e2e_presign = 100,
                       .chatty_flooders = 2, .chatty_seconds = 10,
                       .policy_file = "packaging/examples/policy.yaml"};
    bool runs_given = false;
    parse_cases("2x2,3x2,5x3", &o);
    parse_levels("8,32,128", &o);
    o.level_requests = 512;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--version")) {
            printf("tss-bench " TSS_SOFTWARE "\n");
            return 0;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            o.json = true;
        } else if (!strcmp(argv[i], "--suite") && i + 1 < argc) {
            o.suite = argv[++i];
        } else if (!strcmp(argv[i], "--cases") && i + 1 < argc) {
            if (!parse_cases(argv[++i], &o)) return usage();
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            o.runs = atoi(argv[++i]);
            if (o.runs < 1 || o.runs > BENCH_MAX_RUNS) return usage();
            runs_given = true;
        } else if (!strcmp(argv[i], "--op-config") && i + 1 < argc) {
            o.op_config = argv[++i];
        } else if (!strcmp(argv[i], "--policy") && i + 1 < argc) {
            o.policy_file = argv[++i];
        } else if (!strcmp(argv[i], "--op-config2") && i + 1 < argc) {
            o.op_config2 = argv[++i];
        } else if (!strcmp(argv[i], "--chatty-config") && i + 1 < argc) {
            o.chatty_config = argv[++i];
        } else if (!strcmp(argv[i], "--flooders") && i + 1 < argc) {
            o.chatty_flooders = atoi(argv[++i]);
            if (o.chatty_flooders < 1 || o.chatty_flooders > 64) return usage();
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            o.chatty_seconds = atof(argv[++i]);
            if (!(o.chatty_seconds >= 0.5 && o.chatty_seconds <= 3600)) return usage();
        } else if (!strcmp(argv[i], "--threshold") && i + 1 < argc) {
            o.e2e_threshold = atoi(argv[++i]);
            if (o.e2e_threshold < 2 || o.e2e_threshold > 32) return usage();
        } else if (!strcmp(argv[i], "--concurrency") && i + 1 < argc) {
            o.e2e_concurrency = atoi(argv[++i]);
            if (o.e2e_concurrency < 1 || o.e2e_concurrency > 256) return usage();
        } else if (!strcmp(argv[i], "--per-worker") && i + 1 < argc) {
            o.e2e_per_worker = atoi(argv[++i]);
            if (o.e2e_per_worker < 1 || o.e2e_per_worker > 10000) return usage();
        } else if (!strcmp(argv[i], "--levels") && i + 1 < argc) {
            if (!parse_levels(argv[++i], &o)) return usage();
        } else if (!strcmp(argv[i], "--requests") && i + 1 < argc) {
            o.level_requests = atoi(argv[++i]);
            if (o.level_requests < 1 || o.level_requests > 100000) return usage();
        } else if (!strcmp(argv[i], "--presign") && i + 1 < argc) {
            o.e2e_presign = atoi(argv[++i]);
            if (o.e2e_presign < 1 || o.e2e_presign > 1000) return usage();
        } else {
            return usage();
        }
    }
    o.runs_given = runs_given;
    if (!tss_is_ok(tss_crypto_init())) return 70;
    if (!strcmp(o.suite, "policy")) { /* in process; needs the policy file */
        if (o.json) printf("{");
        int prc = bench_policy(&o);
        if (o.json) printf("}\n");
        return prc;
    }
    if (!strcmp(o.suite, "chatty")) { /* needs a running cluster too */
        if (o.json) printf("{");
        int crc = bench_chatty(&o);
        if (o.json) printf("}\n");
        return crc;
    }
    if (!strcmp(o.suite, "overload")) { /* needs a running cluster too */
        if (o.json) printf("{");
        int orc = bench_overload(&o);
        if (o.json) printf("}\n");
        return orc;
    }
    if (!strcmp(o.suite, "gateway")) return bench_gateway(&o); /* bench/gateway.sh */
    if (!strcmp(o.suite, "multicoord")) { /* bench/multicoord.sh */
        if (o.json) printf("{");
        int mrc = bench_multicoord(&o);
        if (o.json) printf("}\n");
        return mrc;
    }
    if (!strcmp(o.suite, "pool")) { /* bench/pool.sh: a cluster with a pool for key "pool" */
        if (o.json) printf("{");
        int prc = bench_pool(&o);
        if (o.json) printf("}\n");
        return prc;
    }
    if (!strcmp(o.suite, "e2e")) { /* not part of "all": it needs a running cluster */
        if (!runs_given) o.runs = 200;
        if (o.json) printf("{");
        int erc = bench_e2e(&o);
        if (o.json) printf("}\n");
        return erc;
    }
    bool all = !strcmp(o.suite, "all");
    bool mpc = all || !strcmp(o.suite, "mpc"), keystore = all || !strcmp(o.suite, "keystore");
    if (!mpc && !keystore) return usage();
    if (o.json) printf("{");
    int rc = 0;
    if (mpc) rc |= bench_mpc(&o);
    if (mpc && keystore) printf(o.json ? "," : "\n");
    if (keystore) rc |= bench_keystore(&o);
    if (o.json) printf("}\n");
    return rc;
}
