#include <stdlib.h>
#include <time.h>

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
