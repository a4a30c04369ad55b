/* secp256k1 points through libsecp256k1's public API only.
 *
 * The point at infinity is not representable: every operation whose result
 * can be infinity (k = 0, P + (-P), a sum that cancels) returns TSS_E_CRYPTO
 * instead, and protocol code treats that as an abort. The wire encoding is the
 * 33-byte SEC1 compressed form; decoding it is full validation (cofactor 1).
 * Scalar multiplications use libsecp256k1's constant-time paths, so the
 * scalar may be secret; functions named *_var take public scalars only. */
#ifndef TSS_MPC_POINT_H
#define TSS_MPC_POINT_H

#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#include "mpc/scalar.h"
#include "util/bytes.h"
#include "util/result.h"

#define TSS_PT_BYTES 33
/* Upper bound on the number of terms in one sum (protocol sums are far smaller). */
#define TSS_PT_SUM_MAX 4096

typedef struct {
    secp256k1_pubkey pk;
} tss_point;

/* The shared context (SIGN|VERIFY, randomized once). NULL if creation failed;
 * every function below reports that as TSS_E_CRYPTO. */
const secp256k1_context *tss_pt_context(void);

void tss_pt_generator(tss_point *r);

/* r = k*G, r = k*P. Fails for k = 0. *r is written only on success.
 * The scalar may be secret; whether k = 0 is revealed (tests/ctime).
 * tss_pt_mul_base: the result may stay secret (the constant-time check
 * treats it as secret until the caller declassifies a point it publishes).
 * tss_pt_mul: the product must be PUBLIC: it is parsed in variable time
 * (and marked public for the constant-time check). In the library it is
 * used by tss_pt_lincomb_var (public scalars) and on blinded products. */
TSS_MUST_CHECK tss_result tss_pt_mul_base(tss_point *r, const tss_scalar *k);
TSS_MUST_CHECK tss_result tss_pt_mul(tss_point *r, const tss_point *p, const tss_scalar *k);
/* 1 if k*P == Q, else 0, for public P and Q. k and the product stay secret:
 * the product is never parsed (parsing is variable time), only compared in
 * constant time; the returned bit is derived from secrets (declassify it
 * where it becomes a public outcome). */
int tss_pt_mul_matches(const tss_point *p, const tss_scalar *k, const tss_point *q);
/* r = k*P for a public k (faster, variable time). */
TSS_MUST_CHECK tss_result tss_pt_mul_var(tss_point *r, const tss_point *p, const tss_scalar *k);
/* r = a + b, a - b, sum of count points. Fail if the result is infinity. */
TSS_MUST_CHECK tss_result tss_pt_add(tss_point *r, const tss_point *a, const tss_point *b);
TSS_MUST_CHECK tss_result tss_pt_sub(tss_point *r, const tss_point *a, const tss_point *b);
TSS_MUST_CHECK tss_result tss_pt_sum(tss_point *r, const tss_point *pts, size_t count);
void tss_pt_neg(tss_point *r, const tss_point *a);

/* r = sum k[i]*P[i] for public scalars (zero terms are skipped, hence _var).
 * Intermediate cancellations are fine; only an infinite total fails. */
TSS_MUST_CHECK tss_result tss_pt_lincomb_var(tss_point *r, const tss_scalar *k,
                                             const tss_point *pts, size_t count);
/* Public polynomial evaluation r = sum_{k<count} x^k * F[k] (Feldman check,
 * public shares). x must be non-zero. */
TSS_MUST_CHECK tss_result tss_pt_poly_eval_var(tss_point *r, const tss_point *coeffs,
                                               size_t count, uint32_t x);

/* 1 if equal, else 0 (public points). */
int tss_pt_eq(const tss_point *a, const tss_point *b);

void tss_pt_encode(uint8_t out[TSS_PT_BYTES], const tss_point *p);
/* Only the compressed form (0x02/0x03 || x, x < p, on the curve) is accepted. */
TSS_MUST_CHECK tss_result tss_pt_decode(tss_point *r, const uint8_t in[TSS_PT_BYTES],
                                        const char *what);
/* Bounded-reader form: reads 33 bytes and validates; on failure the reader's
 * sticky error is set too (so a later tss_reader_finish also fails). */
TSS_MUST_CHECK tss_result tss_pt_read(tss_reader *rd, tss_point *r, const char *what);
void tss_pt_write(tss_writer *w, const tss_point *p);

#endif
