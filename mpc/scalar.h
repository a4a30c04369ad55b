/* Scalars modulo n, the order of secp256k1, in constant time.
 *
 * A tss_scalar is always fully reduced (0 <= value < n), stored as four 64-bit
 * little-endian limbs. Every function here runs in time independent of the
 * scalar values (no branches or memory indices on them); the only exceptions
 * are named *_var and take public data only. Encodings are 32 bytes big-endian.
 * Arithmetic functions may alias their output with any input.
 *
 * The arithmetic does not wipe its internal limb temporaries (that cost more
 * than the arithmetic); a caller holding a secret tss_scalar wipes it with
 * tss_sc_wipe when done. tests/ctime/ checks constant time under valgrind. */
#ifndef TSS_MPC_SCALAR_H
#define TSS_MPC_SCALAR_H

#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

#define TSS_SC_BYTES 32
#define TSS_SC_WIDE_BYTES 64

typedef struct {
    uint64_t d[4]; /* little-endian limbs, value < n */
} tss_scalar;

/* Constants and small values. */
void tss_sc_set_zero(tss_scalar *r);
void tss_sc_set_one(tss_scalar *r);
void tss_sc_set_u64(tss_scalar *r, uint64_t v);

/* Strict decoding: fails (TSS_E_INVALID naming `what`) if the value is >= n;
 * *r is written only on success. The comparison is constant time; only the
 * accept/reject outcome is revealed. */
TSS_MUST_CHECK tss_result tss_sc_from_bytes(tss_scalar *r, const uint8_t in[TSS_SC_BYTES],
                                            const char *what);
/* Decoding that reduces any 256-bit value mod n. */
void tss_sc_from_bytes_reduce(tss_scalar *r, const uint8_t in[TSS_SC_BYTES]);
/* Wide reduction of a 512-bit big-endian value mod n (hash-to-scalar: the
 * bias is below 2^-256). */
void tss_sc_from_wide(tss_scalar *r, const uint8_t in[TSS_SC_WIDE_BYTES]);
void tss_sc_to_bytes(uint8_t out[TSS_SC_BYTES], const tss_scalar *a);

/* r = a + b, a - b, -a, a * b, a^2 (mod n). */
void tss_sc_add(tss_scalar *r, const tss_scalar *a, const tss_scalar *b);
void tss_sc_sub(tss_scalar *r, const tss_scalar *a, const tss_scalar *b);
void tss_sc_neg(tss_scalar *r, const tss_scalar *a);
void tss_sc_mul(tss_scalar *r, const tss_scalar *a, const tss_scalar *b);
void tss_sc_sqr(tss_scalar *r, const tss_scalar *a);
/* r = a * b + c (mod n), one reduction. */
void tss_sc_muladd(tss_scalar *r, const tss_scalar *a, const tss_scalar *b,
                   const tss_scalar *c);
/* r = sum_{i<n} a[i] * b[i] (mod n): the 512-bit products are summed exactly in
 * a 576-bit accumulator and reduced once. r = 0 for n = 0. r may alias any
 * element of a or b (it is written last). The time depends on n only. */
void tss_sc_dot(tss_scalar *r, const tss_scalar *a, const tss_scalar *b, size_t n);
/* r = a^(n-2) = a^-1 for a != 0; the inverse of 0 is 0 (callers that need a
 * non-zero input check tss_sc_is_zero first). Fixed exponentiation schedule
 * (an addition chain and sliding window over the public exponent n-2). */
void tss_sc_inv(tss_scalar *r, const tss_scalar *a);

/* 1 if a == 0 (resp. a == b), else 0, in constant time. */
int tss_sc_is_zero(const tss_scalar *a);
int tss_sc_eq(const tss_scalar *a, const tss_scalar *b);

/* Constant-time selection; flag must be 0 or 1.
 * cmov: r = flag ? a : r.  select: r = flag ? b : a.  cswap: swap if flag. */
void tss_sc_cmov(tss_scalar *r, const tss_scalar *a, int flag);
void tss_sc_select(tss_scalar *r, const tss_scalar *a, const tss_scalar *b, int flag);
void tss_sc_cswap(tss_scalar *a, tss_scalar *b, int flag);

/* Uniform in [0, n) (resp. [1, n)) from libsodium's randombytes. Rejection
 * sampling: a draw is retried only when it is >= n (probability < 2^-127),
 * which depends on discarded randomness, not on the output. */
TSS_MUST_CHECK tss_result tss_sc_random(tss_scalar *r);
TSS_MUST_CHECK tss_result tss_sc_random_nonzero(tss_scalar *r);

/* Wipe a scalar (or an array of count scalars) holding a secret. */
void tss_sc_wipe(tss_scalar *a, size_t count);

#endif
