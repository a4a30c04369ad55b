#include "mpc/gf128.h"

#include <string.h>

#if defined(__x86_64__)
#include <emmintrin.h>
#include <wmmintrin.h>
#define TSS_GF128_X86 1
#endif

void tss_gf128_from_bytes(tss_gf128 *r, const uint8_t in[TSS_GF128_BYTES]) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&r->lo, in, 8);
    memcpy(&r->hi, in + 8, 8);
#else
    uint64_t lo = 0, hi = 0;
    for (int i = 7; i >= 0; i--) {
        lo = (lo << 8) | in[i];
        hi = (hi << 8) | in[8 + i];
    }
    r->lo = lo;
    r->hi = hi;
#endif
}

void tss_gf128_to_bytes(uint8_t out[TSS_GF128_BYTES], const tss_gf128 *a) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(out, &a->lo, 8);
    memcpy(out + 8, &a->hi, 8);
#else
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(a->lo >> (8 * i));
        out[8 + i] = (uint8_t)(a->hi >> (8 * i));
    }
#endif
}

/* ---- portable, constant time --------------------------------------------- */

/* Carry-less 32x32 -> 64 product with integer multiplications: split each
 * operand into four classes of bits spaced 4 apart. Each class has at most 8
 * set bits, so the column sums of a product of two classes stay below 16 and
 * never carry into the next bit of the same class; masking keeps exactly the
 * XOR (sum mod 2) of each column. No branches, no tables. */
static uint64_t clmul32(uint32_t x, uint32_t y) {
    const uint64_t m0 = 0x1111111111111111ULL, m1 = m0 << 1, m2 = m0 << 2, m3 = m0 << 3;
    uint64_t x0 = x & (uint32_t)m0, x1 = x & (uint32_t)m1, x2 = x & (uint32_t)m2,
             x3 = x & (uint32_t)m3;
    uint64_t y0 = y & (uint32_t)m0, y1 = y & (uint32_t)m1, y2 = y & (uint32_t)m2,
             y3 = y & (uint32_t)m3;
    uint64_t z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
    uint64_t z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
    uint64_t z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
    uint64_t z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
    return (z0 & m0) | (z1 & m1) | (z2 & m2) | (z3 & m3);
}

/* 64x64 -> 128 by Karatsuba over 32-bit halves. */
static void clmul64(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi) {
    uint32_t a0 = (uint32_t)a, a1 = (uint32_t)(a >> 32);
    uint32_t b0 = (uint32_t)b, b1 = (uint32_t)(b >> 32);
    uint64_t l = clmul32(a0, b0), h = clmul32(a1, b1);
    uint64_t m = clmul32(a0 ^ a1, b0 ^ b1) ^ l ^ h;
    *lo = l ^ (m << 32);
    *hi = h ^ (m >> 32);
}

/* 128x128 -> 256 (p[0] least significant), Karatsuba again. */
static void clmul128_portable(uint64_t p[4], const tss_gf128 *a, const tss_gf128 *b) {
    uint64_t l0, l1, h0, h1, m0, m1;
    clmul64(a->lo, b->lo, &l0, &l1);
    clmul64(a->hi, b->hi, &h0, &h1);
    clmul64(a->lo ^ a->hi, b->lo ^ b->hi, &m0, &m1);
    m0 ^= l0 ^ h0;
    m1 ^= l1 ^ h1;
    p[0] = l0;
    p[1] = l1 ^ m0;
    p[2] = h0 ^ m1;
    p[3] = h1;
}

/* Reduce a 256-bit product modulo x^128 + x^7 + x^2 + x + 1 using
 * x^128 = x^7 + x^2 + x + 1, by shifts (constant time). */
static void reduce_portable(tss_gf128 *r, const uint64_t p[4]) {
    /* Fold p[3] (x^192..x^255) into p[2], p[1]. */
    uint64_t t3 = p[3];
    uint64_t p1 = p[1] ^ t3 ^ (t3 << 1) ^ (t3 << 2) ^ (t3 << 7);
    uint64_t p2 = p[2] ^ (t3 >> 63) ^ (t3 >> 62) ^ (t3 >> 57);
    /* Fold p2 (x^128..x^191) into p[0], p1. */
    r->lo = p[0] ^ p2 ^ (p2 << 1) ^ (p2 << 2) ^ (p2 << 7);
    r->hi = p1 ^ (p2 >> 63) ^ (p2 >> 62) ^ (p2 >> 57);
}

void tss_gf128_mul_portable(tss_gf128 *r, const tss_gf128 *a, const tss_gf128 *b) {
    uint64_t p[4];
    clmul128_portable(p, a, b);
    reduce_portable(r, p);
}

void tss_gf128_dot_portable(tss_gf128 *r, const tss_gf128 *a, const tss_gf128 *b, size_t n) {
    uint64_t acc[4] = {0, 0, 0, 0}, p[4];
    for (size_t k = 0; k < n; k++) {
        clmul128_portable(p, &a[k], &b[k]);
        for (int i = 0; i < 4; i++) acc[i] ^= p[i];
    }
    reduce_portable(r, acc);
}

/* ---- PCLMULQDQ ----------------------------------------------------------- */

#ifdef TSS_GF128_X86
__attribute__((target("pclmul,sse2"))) static inline void clmul128_x86(__m128i *lo, __m128i *hi,
                                                                        __m128i a, __m128i b) {
    __m128i l = _mm_clmulepi64_si128(a, b, 0x00);
    __m128i h = _mm_clmulepi64_si128(a, b, 0x11);
    __m128i m = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01), _mm_clmulepi64_si128(a, b, 0x10));
    *lo = _mm_xor_si128(l, _mm_slli_si128(m, 8));
    *hi = _mm_xor_si128(h, _mm_srli_si128(m, 8));
}

/* (hi:lo) mod x^128 + x^7 + x^2 + x + 1: multiply the high half by 0x87 twice
 * (the first product spills at most 7 bits past x^127). */
__attribute__((target("pclmul,sse2"))) static inline __m128i reduce_x86(__m128i lo, __m128i hi) {
    const __m128i poly = _mm_set_epi64x(0, 0x87);
    __m128i c2 = _mm_clmulepi64_si128(hi, poly, 0x00); /* hi.lo * R, <= 71 bits */
    __m128i c3 = _mm_clmulepi64_si128(hi, poly, 0x01); /* hi.hi * R, at x^64 */
    __m128i spill = _mm_clmulepi64_si128(c3, poly, 0x01); /* c3.hi * R, <= 14 bits */
    lo = _mm_xor_si128(lo, c2);
    lo = _mm_xor_si128(lo, _mm_slli_si128(c3, 8));
    return _mm_xor_si128(lo, spill);
}

static inline __m128i load_x86(const tss_gf128 *a) {
    return _mm_set_epi64x((long long)a->hi, (long long)a->lo);
}

static inline void store_x86(tss_gf128 *r, __m128i v) {
    uint64_t w[2];
    _mm_storeu_si128((__m128i *)w, v);
    r->lo = w[0];
    r->hi = w[1];
}

__attribute__((target("pclmul,sse2"))) void tss_gf128_mul_clmul(tss_gf128 *r, const tss_gf128 *a,
                                                                 const tss_gf128 *b) {
    __m128i lo, hi;
    clmul128_x86(&lo, &hi, load_x86(a), load_x86(b));
    store_x86(r, reduce_x86(lo, hi));
}

__attribute__((target("pclmul,sse2"))) static void dot_clmul(tss_gf128 *r, const tss_gf128 *a,
                                                              const tss_gf128 *b, size_t n) {
    __m128i acc_lo = _mm_setzero_si128(), acc_hi = _mm_setzero_si128(), lo, hi;
    for (size_t k = 0; k < n; k++) {
        clmul128_x86(&lo, &hi, load_x86(&a[k]), load_x86(&b[k]));
        acc_lo = _mm_xor_si128(acc_lo, lo);
        acc_hi = _mm_xor_si128(acc_hi, hi);
    }
    store_x86(r, reduce_x86(acc_lo, acc_hi));
}

int tss_gf128_have_clmul(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") ? 1 : 0;
}
#else
int tss_gf128_have_clmul(void) { return 0; }
void tss_gf128_mul_clmul(tss_gf128 *r, const tss_gf128 *a, const tss_gf128 *b) {
    tss_gf128_mul_portable(r, a, b);
}
#endif

/* The CPU feature is public; caching it avoids re-querying in hot loops. */
static int use_clmul(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = tss_gf128_have_clmul();
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

void tss_gf128_mul(tss_gf128 *r, const tss_gf128 *a, const tss_gf128 *b) {
#ifdef TSS_GF128_X86
    if (use_clmul()) {
        tss_gf128_mul_clmul(r, a, b);
        return;
    }
#endif
    tss_gf128_mul_portable(r, a, b);
}

void tss_gf128_dot(tss_gf128 *r, const tss_gf128 *a, const tss_gf128 *b, size_t n) {
#ifdef TSS_GF128_X86
    if (use_clmul()) {
        dot_clmul(r, a, b, n);
        return;
    }
#endif
    tss_gf128_dot_portable(r, a, b, n);
}
