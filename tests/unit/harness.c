#include "tests/unit/harness.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cases_passed, cases_failed, current_failures;

void harness_check(bool ok, const char *expr, const char *file, int line) {
    if (ok) return;
    current_failures++;
    fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, expr);
}

void harness_check_result(tss_result r, tss_err expected, const char *expr, const char *file,
                          int line) {
    if (r.err == expected) return;
    current_failures++;
    fprintf(stderr, "  FAIL %s:%d: %s -> %s (%s), expected %s\n", file, line, expr,
            tss_err_name(r.err), tss_error_detail(), tss_err_name(expected));
}

void harness_run(const char *name, void (*fn)(void)) {
    /* TSS_TEST_ONLY=substring runs only the matching cases (while developing). */
    const char *only = getenv("TSS_TEST_ONLY");
    if (only && *only && !strstr(name, only)) return;
    current_failures = 0;
    fn();
    if (current_failures) {
        cases_failed++;
        fprintf(stderr, "not ok %s\n", name);
    } else {
        cases_passed++;
        fprintf(stderr, "ok %s\n", name);
    }
}

int harness_finish(const char *suite) {
    printf("TESTRESULT %s %d %d\n", suite, cases_passed, cases_failed);
    fflush(stdout);
    return cases_failed ? 1 : 0;
}

const char *harness_vectors_dir(void) {
    const char *d = getenv("TSS_VECTORS_DIR");
    return d && *d ? d : "../shared/vectors";
}

char *harness_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) exit(2);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

void harness_tmpdir(char *out, size_t cap) {
    const char *base = getenv("TMPDIR");
    snprintf(out, cap, "%s/tssd-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(out)) {
        perror("mkdtemp");
        exit(2);
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void harness_rmtree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }
