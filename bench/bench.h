#ifndef TSS_BENCH_BENCH_H
#define TSS_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>

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
    int e2e_threshold, e2e_concurrency, e2e_per_worker, e2e_presign;
    /* chatty suite: signing while another operator floods (bench/chatty.sh) */
    const char *chatty_config;
    int chatty_flooders;
    double chatty_seconds;
} bench_options;

/* Monotonic wall clock and this thread's CPU clock, in seconds. */
double bench_wall_seconds(void);
double bench_cpu_seconds(void);
/* Sorts values in place. */
double bench_median(double *values, size_t n);

int bench_keystore(const bench_options *o);
int bench_mpc(const bench_options *o);
int bench_e2e(const bench_options *o);
int bench_chatty(const bench_options *o);

#endif
