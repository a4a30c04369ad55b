/* GF(2^128) arithmetic for the OT-extension consistency check.
 *
 * Field: GF(2)[x] / (x^128 + x^7 + x^2 + x + 1), plain polynomial basis (no
 * GCM bit reflection). Bit k of `lo` is the coefficient of x^k, bit k of `hi`
 * that of x^(64+k). The 16-byte encoding is little-endian: byte 0 bit 0 is
 * the coefficient of x^0, byte 15 bit 7 that of x^127.
 *
 * Multiplication uses PCLMULQDQ when the CPU has it (runtime detection) and a
 * portable constant-time fallback otherwise; both give identical results and
 * neither branches on or indexes memory by the operands. */
#ifndef TSS_MPC_GF128_H
#define TSS_MPC_GF128_H

#include <stddef.h>
#include <stdint.h>

#define TSS_GF128_BYTES 16

typedef struct {
    uint64_t lo, hi;
} tss_gf128;

void tss_gf128_from_bytes(tss_gf128 *r, const uint8_t in[TSS_GF128_BYTES]);
void tss_gf128_to_bytes(uint8_t out[TSS_GF128_BYTES], const tss_gf128 *a);

/* r = a * b. r may alias a or b. */
void tss_gf128_mul(tss_gf128 *r, const tss_gf128 *a, const tss_gf128 *b);
/* r = sum_k a[k] * b[k], reducing once at the end. r may alias inputs. */
void tss_gf128_dot(tss_gf128 *r, const tss_gf128 *a, const tss_gf128 *b, size_t n);

/* The two implementations, exposed so tests can compare them.
 * tss_gf128_mul_clmul must only be called when tss_gf128_have_clmul() is 1. */
int tss_gf128_have_clmul(void);
void tss_gf128_mul_clmul(tss_gf128 *r, const tss_gf128 *a, const tss_gf128 *b);
void tss_gf128_mul_portable(tss_gf128 *r, const tss_gf128 *a, const tss_gf128 *b);
void tss_gf128_dot_portable(tss_gf128 *r, const tss_gf128 *a, const tss_gf128 *b, size_t n);

#endif
