/* Declassification for the constant-time checks (tests/ctime).
 *
 * The checks run the code under valgrind memcheck with secrets marked
 * undefined (libsecp256k1's ctime_tests approach): any branch or memory index
 * that depends on a secret is a memcheck error. Where the code deliberately
 * reveals a value derived from secrets (a check's pass/fail bit, a point that
 * goes on the wire), it calls tss_declassify on exactly that value, with a
 * comment saying why the value is public. Keep declassified values as small as
 * possible: a bit rather than the word it was computed from.
 *
 * With <valgrind/memcheck.h> available this is VALGRIND_MAKE_MEM_DEFINED (a
 * few no-op instructions outside valgrind); without it, nothing. */
#ifndef TSS_UTIL_CTIME_H
#define TSS_UTIL_CTIME_H

#include <stddef.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define TSS_HAVE_MEMCHECK 1
#endif
#endif

/* Mark n bytes at p as public (defined) for memcheck. */
static inline void tss_declassify(const void *p, size_t n) {
#ifdef TSS_HAVE_MEMCHECK
    (void)VALGRIND_MAKE_MEM_DEFINED(p, n);
#else
    (void)p;
    (void)n;
#endif
}

/* A call into code that has been reviewed to be constant time but whose
 * validity checks memcheck would report (libsecp256k1's point negation and
 * addition branch on "x = 0" and "sum at infinity", outcomes fixed except with
 * probability 2^-256). Error reporting is off between begin and end; the
 * outputs stay secret (undefined) and are declassified, or not, as usual.
 * Keep such regions to a single library call. */
static inline void tss_ctime_trusted_begin(void) {
#ifdef TSS_HAVE_MEMCHECK
    VALGRIND_DISABLE_ERROR_REPORTING;
#endif
}

static inline void tss_ctime_trusted_end(void) {
#ifdef TSS_HAVE_MEMCHECK
    VALGRIND_ENABLE_ERROR_REPORTING;
#endif
}

#endif
