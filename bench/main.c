/* tss-bench: benchmarks with machine-readable output (--json).
 * Suites: keystore (unseal time per KDF profile). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "util/secmem.h"

static int usage(void) {
    fprintf(stderr, "Usage: tss-bench [--json] [--suite all|keystore] [--runs N]\n");
    return 64;
}

int main(int argc, char **argv) {
    bench_options o = {.json = false, .runs = 5, .suite = "all"};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            o.json = true;
        } else if (!strcmp(argv[i], "--suite") && i + 1 < argc) {
            o.suite = argv[++i];
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            o.runs = atoi(argv[++i]);
            if (o.runs < 1 || o.runs > BENCH_MAX_RUNS) return usage();
        } else {
            return usage();
        }
    }
    if (!tss_is_ok(tss_crypto_init())) return 70;
    bool all = !strcmp(o.suite, "all");
    if (!all && strcmp(o.suite, "keystore")) return usage();
    if (o.json) printf("{");
    int rc = bench_keystore(&o);
    if (o.json) printf("}\n");
    return rc;
}
