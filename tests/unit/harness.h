/* Minimal unit-test harness. A test binary runs cases with RUN(); a case fails
 * if any CHECK in it fails. The binary ends by printing
 *   TESTRESULT <name> <cases passed> <cases failed>
 * which tests/run_checks.sh sums into the final "N passed, N failed" line. */
#ifndef TSS_TEST_HARNESS_H
#define TSS_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

void harness_check(bool ok, const char *expr, const char *file, int line);
void harness_check_result(tss_result r, tss_err expected, const char *expr, const char *file,
                          int line);
void harness_run(const char *name, void (*fn)(void));
int harness_finish(const char *suite);
/* Directory of ../shared/vectors (env TSS_VECTORS_DIR overrides). */
const char *harness_vectors_dir(void);
/* Read a whole file into a malloc'd NUL-terminated buffer (aborts the test on failure). */
char *harness_read_file(const char *path, size_t *len);
/* A fresh private temporary directory (mode 0700) under $TMPDIR. */
void harness_tmpdir(char *out, size_t cap);
/* Remove a directory tree (best effort). */
void harness_rmtree(const char *path);

#define CHECK(cond) harness_check((cond), #cond, __FILE__, __LINE__)
#define CHECK_OK(expr) harness_check_result((expr), TSS_OK, #expr, __FILE__, __LINE__)
#define CHECK_ERR(expr, code) harness_check_result((expr), (code), #expr, __FILE__, __LINE__)
#define RUN(fn) harness_run(#fn, fn)

#endif
