/* One result type for the whole project, checked by the compiler.
 *
 * Every fallible function returns tss_result and is declared with TSS_MUST_CHECK,
 * so a caller that ignores an error does not compile (-Werror). The struct wrapper
 * (as in s2n-tls) keeps results from being mixed up with ints or booleans.
 * A failure may carry a short human-readable detail (never a secret) in a
 * thread-local buffer, read with tss_error_detail(). */
#ifndef TSS_UTIL_RESULT_H
#define TSS_UTIL_RESULT_H

#include <stdbool.h>

/* X(name, sysexits code, message) — the one error table. */
#define TSS_ERROR_TABLE(X)                                                        \
    X(TSS_OK, 0, "success")                                                       \
    X(TSS_E_USAGE, 64, "usage error")                                             \
    X(TSS_E_INVALID, 65, "invalid input")                                         \
    X(TSS_E_TRUNCATED, 65, "input truncated")                                     \
    X(TSS_E_TRAILING, 65, "unexpected trailing bytes")                            \
    X(TSS_E_TOO_LARGE, 65, "length exceeds limit")                                \
    X(TSS_E_CORRUPT, 65, "corrupt or tampered data")                              \
    X(TSS_E_UNSUPPORTED, 65, "unsupported format or version")                     \
    X(TSS_E_NOT_FOUND, 66, "not found")                                           \
    X(TSS_E_NOMEM, 71, "out of memory")                                           \
    X(TSS_E_INTERNAL, 70, "internal error")                                       \
    X(TSS_E_EXISTS, 73, "already exists")                                         \
    X(TSS_E_IO, 74, "I/O error")                                                  \
    X(TSS_E_BAD_PASSPHRASE, 77, "wrong passphrase or tampered keystore")          \
    X(TSS_E_PERMISSION, 77, "unsafe permissions")                                 \
    X(TSS_E_CRYPTO, 70, "cryptographic library failure")                          \
    X(TSS_E_PROTOCOL, 76, "protocol violation")                                   \
    X(TSS_E_CONFIG, 78, "configuration error")

typedef enum {
#define TSS_X_ENUM(name, code, msg) name,
    TSS_ERROR_TABLE(TSS_X_ENUM)
#undef TSS_X_ENUM
    TSS_ERR_COUNT
} tss_err;

typedef struct {
    tss_err err;
} tss_result;

#define TSS_MUST_CHECK __attribute__((warn_unused_result))

static inline tss_result tss_ok_result(void) { return (tss_result){TSS_OK}; }
static inline bool tss_is_ok(tss_result r) { return r.err == TSS_OK; }

/* Fail with a code and a formatted detail ("what exactly is wrong"). */
TSS_MUST_CHECK tss_result tss_fail(tss_err err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Fail with a code, keeping whatever detail is already set. */
TSS_MUST_CHECK tss_result tss_fail_code(tss_err err);

const char *tss_err_name(tss_err err);
const char *tss_err_message(tss_err err);
int tss_err_exit_code(tss_err err);
/* The detail of the most recent failure on this thread ("" if none). */
const char *tss_error_detail(void);
void tss_error_clear(void);

#define TSS_OK_RESULT ((tss_result){TSS_OK})

/* Propagate a failure. */
#define TSS_GUARD(expr)                                                           \
    do {                                                                          \
        tss_result tss_guard_r_ = (expr);                                         \
        if (!tss_is_ok(tss_guard_r_)) return tss_guard_r_;                        \
    } while (0)

/* Fail with err and a detail unless cond holds. */
#define TSS_ENSURE(cond, err, ...)                                                \
    do {                                                                          \
        if (!(cond)) return tss_fail((err), __VA_ARGS__);                         \
    } while (0)

#endif
