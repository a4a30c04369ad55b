/* Scalars mod n in constant time: 4x64-bit limbs, 64x64->128-bit products
 * summed column by column (product scanning) in a 192-bit accumulator, and
 * reduction by folding with n = 2^256 - c, c = (1, C1, C0) a 129-bit constant:
 *   512 -> 385 -> 258 -> 256 bits, then one conditional subtraction by masking
 * (the same schedule as libsecp256k1's scalar_4x64, written independently).
 *
 * Wiping policy. The arithmetic here deliberately does NOT wipe its limb
 * temporaries (partial products, carries, the 512-bit intermediate). They live
 * in registers and in this function's stack frame, which the very next call at
 * the same depth overwrites, and a wipe of each of them used to cost more than
 * the multiplication itself (sodium_memzero is an opaque call per buffer).
 * Secrets are wiped where they are held beyond a call: by the callers, with
 * tss_sc_wipe on their tss_scalar variables and buffers, when they are done.
 * Functions that build a secret value over many calls (inversion) wipe their
 * own intermediate tss_scalar values, and the byte decoders wipe their loaded
 * limbs on the early-return path, as before.
 *
 * Constant time. No branch and no memory index depends on scalar values; the
 * only loops are over public sizes and over the public exponent n-2. Selection
 * uses all-zero/all-one masks passed through an empty asm barrier so that the
 * compiler cannot turn a masked select back into a branch. tests/ctime/ checks
 * the compiled code under valgrind (clean with gcc -O0/-O1/-O2/-O3/-Os and
 * clang -O0/-O1/-O2 on x86-64, and for the portable non-asm path). */
#include "mpc/scalar.h"

#include <string.h>

#include <sodium.h>

#include "util/ctime.h"
#include "util/secmem.h"

/* gcc's SLP vectoriser packs the four output limbs into two 16-byte stores;
 * the next operation then reads them back as 8-byte limbs, which defeats
 * store-to-load forwarding and doubles the latency of add/sub/neg chains. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-slp-vectorize")
#endif

typedef unsigned __int128 u128;

/* The limb helpers below are small or used in a few hot places; forcing them
 * inline keeps the whole product and reduction in registers. */
#define HOT static inline __attribute__((always_inline))

/* n, little-endian limbs. */
#define N0 0xBFD25E8CD0364141ULL
#define N1 0xBAAEDCE6AF48A03BULL
#define N2 0xFFFFFFFFFFFFFFFEULL
#define N3 0xFFFFFFFFFFFFFFFFULL
/* c = 2^256 - n = C0 + C1*2^64 + 1*2^128. */
#define C0 0x402DA1732FC9BEBFULL
#define C1 0x4551231950B75FC4ULL
/* n - 2, the inversion exponent (public). */
static const uint64_t N_MINUS_2[4] = {N0 - 2, N1, N2, N3};

/* Hide a value from the optimiser (no code emitted). Applied to masks so the
 * compiler cannot prove they are 0 or ~0 and branch on them. */
static inline uint64_t ct_barrier(uint64_t x) {
    __asm__("" : "+r"(x));
    return x;
}

/* All-ones if flag (0/1) is 1, else 0; no branch. */
static inline uint64_t mask_of(uint64_t flag) { return ct_barrier((uint64_t)0 - (flag & 1)); }

/* ---- carry chains ---------------------------------------------------------- */

/* *r = a + b + cin (cin 0/1), returning the carry out; and the borrow analogue.
 * On x86-64 the intrinsics compile to straight adc/sbb chains. */
#if defined(__x86_64__)
#include <x86intrin.h>
HOT uint64_t addc(uint64_t a, uint64_t b, uint64_t cin, uint64_t *r) {
    unsigned long long t;
    uint64_t c = _addcarry_u64((unsigned char)cin, a, b, &t);
    *r = t;
    return c;
}
HOT uint64_t subb(uint64_t a, uint64_t b, uint64_t bin, uint64_t *r) {
    unsigned long long t;
    uint64_t c = _subborrow_u64((unsigned char)bin, a, b, &t);
    *r = t;
    return c;
}
#else
HOT uint64_t addc(uint64_t a, uint64_t b, uint64_t cin, uint64_t *r) {
    u128 s = (u128)a + b + cin;
    *r = (uint64_t)s;
    return (uint64_t)(s >> 64);
}
HOT uint64_t subb(uint64_t a, uint64_t b, uint64_t bin, uint64_t *r) {
    u128 s = (u128)a - b - bin;
    *r = (uint64_t)s;
    return (uint64_t)(s >> 64) & 1;
}
#endif

/* ---- 192-bit column accumulator (x2 : x1 : x0) ------------------------------ */

typedef struct {
    uint64_t x0, x1, x2;
} acc3;

/* Products and carries must not become branches at any optimisation level:
 * gcc -O0 lowers __builtin_add_overflow and comparisons of unsigned __int128
 * to conditional jumps (tests/ctime caught that), and at -O2 it loses the
 * carry flag between separate add-with-carry intrinsics. On x86-64 each
 * accumulation is therefore one small asm block (add; adc; adc) after a plain
 * 64x64->128 multiplication; elsewhere the carries are unsigned __int128
 * additions. */
#if defined(__x86_64__)
/* acc += hi:lo. */
HOT void acc_add2(acc3 *c, uint64_t lo, uint64_t hi) {
    __asm__("addq %[lo], %[x0]\n\t"
            "adcq %[hi], %[x1]\n\t"
            "adcq $0, %[x2]"
            : [x0] "+r"(c->x0), [x1] "+r"(c->x1), [x2] "+r"(c->x2)
            : [lo] "rm"(lo), [hi] "rm"(hi)
            : "cc");
}

/* acc += a * b. */
HOT void acc_mul(acc3 *c, uint64_t a, uint64_t b) {
    u128 p = (u128)a * b;
    acc_add2(c, (uint64_t)p, (uint64_t)(p >> 64));
}

/* acc += 2 * a * b (the product is added twice). */
HOT void acc_mul2(acc3 *c, uint64_t a, uint64_t b) {
    u128 p = (u128)a * b;
    acc_add2(c, (uint64_t)p, (uint64_t)(p >> 64));
    acc_add2(c, (uint64_t)p, (uint64_t)(p >> 64));
}

/* acc += a. */
HOT void acc_add(acc3 *c, uint64_t a) {
    __asm__("addq %[a], %[x0]\n\t"
            "adcq $0, %[x1]\n\t"
            "adcq $0, %[x2]"
            : [x0] "+r"(c->x0), [x1] "+r"(c->x1), [x2] "+r"(c->x2)
            : [a] "rm"(a)
            : "cc");
}
#else
/* acc += a * b. */
HOT void acc_mul(acc3 *c, uint64_t a, uint64_t b) {
    u128 p = (u128)a * b;
    u128 s = (u128)c->x0 + (uint64_t)p;
    c->x0 = (uint64_t)s;
    s = (u128)c->x1 + (uint64_t)(p >> 64) + (uint64_t)(s >> 64); /* hi <= 2^64 - 2 */
    c->x1 = (uint64_t)s;
    c->x2 += (uint64_t)(s >> 64);
}

/* acc += 2 * a * b. */
HOT void acc_mul2(acc3 *c, uint64_t a, uint64_t b) {
    acc_mul(c, a, b);
    acc_mul(c, a, b);
}

/* acc += a. */
HOT void acc_add(acc3 *c, uint64_t a) {
    u128 s = (u128)c->x0 + a;
    c->x0 = (uint64_t)s;
    s = (u128)c->x1 + (uint64_t)(s >> 64);
    c->x1 = (uint64_t)s;
    c->x2 += (uint64_t)(s >> 64);
}
#endif

/* Return the low limb and shift the accumulator down by 64 bits. */
HOT uint64_t acc_shift(acc3 *c) {
    uint64_t r = c->x0;
    c->x0 = c->x1;
    c->x1 = c->x2;
    c->x2 = 0;
    return r;
}

/* Accumulator holding a single limb. */
HOT acc3 acc_of(uint64_t a) { return (acc3){a, 0, 0}; }

/* ---- 256-bit helpers ------------------------------------------------------- */

/* r = v + k*2^256 reduced mod n, for v + k*2^256 < 2n (k = 0 or 1).
 * v + c >= 2^256 exactly when v >= n, so the value is >= n iff k or that carry
 * is set, and then the result is v + c mod 2^256 = v - n (+ 2^256 if k). */
HOT void reduce_once(uint64_t r[4], uint64_t v0, uint64_t v1, uint64_t v2, uint64_t v3,
                     uint64_t k) {
    uint64_t t0, t1, t2, t3, cy;
    cy = addc(v0, C0, 0, &t0);
    cy = addc(v1, C1, cy, &t1);
    cy = addc(v2, 1, cy, &t2);
    cy = addc(v3, 0, cy, &t3);
    uint64_t m = mask_of(k | cy);
    r[0] = (t0 & m) | (v0 & ~m);
    r[1] = (t1 & m) | (v1 & ~m);
    r[2] = (t2 & m) | (v2 & ~m);
    r[3] = (t3 & m) | (v3 & ~m);
}

/* l[0..8) = a * b (512 bits), optionally + add (NULL: nothing); a*b + add < n^2 + n. */
HOT void mul_512(uint64_t l[8], const uint64_t a[4], const uint64_t b[4],
                           const uint64_t *add) {
    acc3 c = acc_of(0);
    if (add) acc_add(&c, add[0]); /* `add` is a pointer, not a secret */
    acc_mul(&c, a[0], b[0]);
    l[0] = acc_shift(&c);
    if (add) acc_add(&c, add[1]);
    acc_mul(&c, a[0], b[1]);
    acc_mul(&c, a[1], b[0]);
    l[1] = acc_shift(&c);
    if (add) acc_add(&c, add[2]);
    acc_mul(&c, a[0], b[2]);
    acc_mul(&c, a[1], b[1]);
    acc_mul(&c, a[2], b[0]);
    l[2] = acc_shift(&c);
    if (add) acc_add(&c, add[3]);
    acc_mul(&c, a[0], b[3]);
    acc_mul(&c, a[1], b[2]);
    acc_mul(&c, a[2], b[1]);
    acc_mul(&c, a[3], b[0]);
    l[3] = acc_shift(&c);
    acc_mul(&c, a[1], b[3]);
    acc_mul(&c, a[2], b[2]);
    acc_mul(&c, a[3], b[1]);
    l[4] = acc_shift(&c);
    acc_mul(&c, a[2], b[3]);
    acc_mul(&c, a[3], b[2]);
    l[5] = acc_shift(&c);
    acc_mul(&c, a[3], b[3]);
    l[6] = acc_shift(&c);
    l[7] = c.x0;
}

/* l[0..8) = a^2: the cross products are computed once and doubled. */
HOT void sqr_512(uint64_t l[8], const uint64_t a[4]) {
    acc3 c = acc_of(0);
    acc_mul(&c, a[0], a[0]);
    l[0] = acc_shift(&c);
    acc_mul2(&c, a[0], a[1]);
    l[1] = acc_shift(&c);
    acc_mul2(&c, a[0], a[2]);
    acc_mul(&c, a[1], a[1]);
    l[2] = acc_shift(&c);
    acc_mul2(&c, a[0], a[3]);
    acc_mul2(&c, a[1], a[2]);
    l[3] = acc_shift(&c);
    acc_mul2(&c, a[1], a[3]);
    acc_mul(&c, a[2], a[2]);
    l[4] = acc_shift(&c);
    acc_mul2(&c, a[2], a[3]);
    l[5] = acc_shift(&c);
    acc_mul(&c, a[3], a[3]);
    l[6] = acc_shift(&c);
    l[7] = c.x0;
}

/* r = l mod n for a 512-bit l (any value below 2^512). */
HOT void reduce_512(uint64_t r[4], const uint64_t l[8]) {
    const uint64_t h0 = l[4], h1 = l[5], h2 = l[6], h3 = l[7];
    uint64_t m0, m1, m2, m3, m4, m5, m6;
    uint64_t p0, p1, p2, p3, p4;
    acc3 c;

    /* 512 -> 385 bits: m = l[0..4) + h*c, h < 2^256, c < 2^129, so m < 2^385 + 2^256. */
    c = acc_of(l[0]);
    acc_mul(&c, h0, C0);
    m0 = acc_shift(&c);
    acc_add(&c, l[1]);
    acc_mul(&c, h1, C0);
    acc_mul(&c, h0, C1);
    m1 = acc_shift(&c);
    acc_add(&c, l[2]);
    acc_mul(&c, h2, C0);
    acc_mul(&c, h1, C1);
    acc_add(&c, h0);
    m2 = acc_shift(&c);
    acc_add(&c, l[3]);
    acc_mul(&c, h3, C0);
    acc_mul(&c, h2, C1);
    acc_add(&c, h1);
    m3 = acc_shift(&c);
    acc_mul(&c, h3, C1);
    acc_add(&c, h2);
    m4 = acc_shift(&c);
    acc_add(&c, h3);
    m5 = acc_shift(&c);
    m6 = c.x0; /* 0 or 1: c < 1.28 * 2^128, so m < 1.28 * 2^384 + 2^256 */
    const uint64_t m6mask = 0 - m6; /* m6 * C0 and m6 * C1 without multiplying */

    /* 385 -> 258 bits: p = m[0..4) + m[4..7)*c, m[4..7) < 2^130, so p < 2^259. */
    c = acc_of(m0);
    acc_mul(&c, m4, C0);
    p0 = acc_shift(&c);
    acc_add(&c, m1);
    acc_mul(&c, m5, C0);
    acc_mul(&c, m4, C1);
    p1 = acc_shift(&c);
    acc_add(&c, m2);
    acc_add(&c, C0 & m6mask);
    acc_mul(&c, m5, C1);
    acc_add(&c, m4);
    p2 = acc_shift(&c);
    acc_add(&c, m3);
    acc_add(&c, C1 & m6mask);
    acc_add(&c, m5);
    p3 = acc_shift(&c);
    p4 = c.x0 + m6; /* < 8; the rest is 0 by the bound */

    /* 258 -> 256 bits plus a carry k: p[0..4) + p4*c < 2^256 + 2^132 < 2n. */
    uint64_t v[4], cy;
    u128 q0 = (u128)p4 * C0;                            /* p4*c = q0 + q1*2^64, */
    u128 q1 = (u128)p4 * C1 + (uint64_t)(q0 >> 64) + ((u128)p4 << 64); /* q1 < 2^68 */
    cy = addc(p0, (uint64_t)q0, 0, &v[0]);
    cy = addc(p1, (uint64_t)q1, cy, &v[1]);
    cy = addc(p2, (uint64_t)(q1 >> 64), cy, &v[2]);
    cy = addc(p3, 0, cy, &v[3]);
    reduce_once(r, v[0], v[1], v[2], v[3], cy);
}

/* ---- API ------------------------------------------------------------------- */

void tss_sc_set_zero(tss_scalar *r) { memset(r, 0, sizeof *r); }
void tss_sc_set_one(tss_scalar *r) { tss_sc_set_u64(r, 1); }
void tss_sc_set_u64(tss_scalar *r, uint64_t v) {
    r->d[0] = v; /* < 2^64 < n */
    r->d[1] = r->d[2] = r->d[3] = 0;
}

/* Big-endian 64-bit words through memcpy and a byte swap (one load or store
 * and a bswap each; the byte-at-a-time loops were a visible cost of the
 * OT-extension layer, which converts ~10^4 scalars per signing session). */
static inline uint64_t get_be64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#elif !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
#error "unknown byte order"
#endif
    return v;
}

static inline void put_be64(uint8_t *p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

static inline void load_be(uint64_t *limbs, size_t nlimbs, const uint8_t *in) {
    for (size_t i = 0; i < nlimbs; i++) limbs[i] = get_be64(in + 8 * (nlimbs - 1 - i));
}

tss_result tss_sc_from_bytes(tss_scalar *r, const uint8_t in[TSS_SC_BYTES], const char *what) {
    uint64_t v[4];
    load_be(v, 4, in);
    /* v >= n iff v + c carries out of 256 bits. */
    uint64_t t, too_big;
    too_big = addc(v[0], C0, 0, &t);
    too_big = addc(v[1], C1, too_big, &t);
    too_big = addc(v[2], 1, too_big, &t);
    too_big = addc(v[3], 0, too_big, &t);
    /* Only the accept/reject outcome is revealed (see the header). */
    tss_declassify(&too_big, sizeof too_big);
    if (too_big) {
        tss_wipe(v, sizeof v);
        return tss_fail(TSS_E_INVALID, "%s: scalar is not below the group order",
                        what ? what : "scalar");
    }
    memcpy(r->d, v, sizeof v);
    tss_wipe(v, sizeof v);
    return TSS_OK_RESULT;
}

void tss_sc_from_bytes_reduce(tss_scalar *r, const uint8_t in[TSS_SC_BYTES]) {
    uint64_t v[4];
    load_be(v, 4, in);
    reduce_once(r->d, v[0], v[1], v[2], v[3], 0); /* any 256-bit value is < 2n */
}

void tss_sc_from_wide(tss_scalar *r, const uint8_t in[TSS_SC_WIDE_BYTES]) {
    uint64_t l[8];
    load_be(l, 8, in);
    reduce_512(r->d, l);
}

void tss_sc_to_bytes(uint8_t out[TSS_SC_BYTES], const tss_scalar *a) {
    for (int i = 0; i < 4; i++) put_be64(out + 8 * i, a->d[3 - i]);
}

/* r = a - b mod n for a, b < n. */
HOT void sub_mod(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
    uint64_t v0, v1, v2, v3, bw, cy;
    bw = subb(a[0], b[0], 0, &v0);
    bw = subb(a[1], b[1], bw, &v1);
    bw = subb(a[2], b[2], bw, &v2);
    bw = subb(a[3], b[3], bw, &v3);
    /* On borrow, add n back (the carry out of that addition cancels the wrap). */
    uint64_t m = mask_of(bw);
    cy = addc(v0, N0 & m, 0, &v0);
    cy = addc(v1, N1 & m, cy, &v1);
    cy = addc(v2, N2 & m, cy, &v2);
    v3 += (N3 & m) + cy; /* the carry out cancels the wrap of the subtraction */
    r[0] = v0;
    r[1] = v1;
    r[2] = v2;
    r[3] = v3;
}

void tss_sc_add(tss_scalar *r, const tss_scalar *a, const tss_scalar *b) {
    uint64_t v0, v1, v2, v3, cy;
    cy = addc(a->d[0], b->d[0], 0, &v0);
    cy = addc(a->d[1], b->d[1], cy, &v1);
    cy = addc(a->d[2], b->d[2], cy, &v2);
    cy = addc(a->d[3], b->d[3], cy, &v3);
    reduce_once(r->d, v0, v1, v2, v3, cy); /* a + b < 2n */
}

void tss_sc_sub(tss_scalar *r, const tss_scalar *a, const tss_scalar *b) {
    sub_mod(r->d, a->d, b->d);
}

void tss_sc_neg(tss_scalar *r, const tss_scalar *a) {
    static const uint64_t zero[4] = {0, 0, 0, 0};
    sub_mod(r->d, zero, a->d); /* 0 - a borrows unless a = 0, then adds n back */
}

void tss_sc_mul(tss_scalar *r, const tss_scalar *a, const tss_scalar *b) {
    uint64_t l[8];
    mul_512(l, a->d, b->d, NULL);
    reduce_512(r->d, l);
}

void tss_sc_sqr(tss_scalar *r, const tss_scalar *a) {
    uint64_t l[8];
    sqr_512(l, a->d);
    reduce_512(r->d, l);
}

void tss_sc_muladd(tss_scalar *r, const tss_scalar *a, const tss_scalar *b,
                   const tss_scalar *c) {
    uint64_t l[8];
    mul_512(l, a->d, b->d, c->d); /* a*b + c <= (n-1)^2 + n-1 < 2^512 */
    reduce_512(r->d, l);
}

void tss_sc_dot(tss_scalar *r, const tss_scalar *a, const tss_scalar *b, size_t n) {
    /* 576-bit accumulator: each product is < 2^512 and there are at most
     * SIZE_MAX < 2^64 of them, so the sum is < 2^576 and w[8] never overflows. */
    uint64_t w[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        /* w += a[i] * b[i], column by column, carrying into w[8]. */
        const uint64_t *x = a[i].d, *y = b[i].d;
        acc3 c = acc_of(w[0]);
        acc_mul(&c, x[0], y[0]);
        w[0] = acc_shift(&c);
        acc_add(&c, w[1]);
        acc_mul(&c, x[0], y[1]);
        acc_mul(&c, x[1], y[0]);
        w[1] = acc_shift(&c);
        acc_add(&c, w[2]);
        acc_mul(&c, x[0], y[2]);
        acc_mul(&c, x[1], y[1]);
        acc_mul(&c, x[2], y[0]);
        w[2] = acc_shift(&c);
        acc_add(&c, w[3]);
        acc_mul(&c, x[0], y[3]);
        acc_mul(&c, x[1], y[2]);
        acc_mul(&c, x[2], y[1]);
        acc_mul(&c, x[3], y[0]);
        w[3] = acc_shift(&c);
        acc_add(&c, w[4]);
        acc_mul(&c, x[1], y[3]);
        acc_mul(&c, x[2], y[2]);
        acc_mul(&c, x[3], y[1]);
        w[4] = acc_shift(&c);
        acc_add(&c, w[5]);
        acc_mul(&c, x[2], y[3]);
        acc_mul(&c, x[3], y[2]);
        w[5] = acc_shift(&c);
        acc_add(&c, w[6]);
        acc_mul(&c, x[3], y[3]);
        w[6] = acc_shift(&c);
        acc_add(&c, w[7]);
        w[7] = acc_shift(&c);
        w[8] += c.x0;
    }
    /* Fold the top 320 bits once: t = w[0..4) + w[4..9)*c < 2^256 + 2^449. */
    uint64_t t[8];
    acc3 c = acc_of(w[0]);
    acc_mul(&c, w[4], C0);
    t[0] = acc_shift(&c);
    acc_add(&c, w[1]);
    acc_mul(&c, w[5], C0);
    acc_mul(&c, w[4], C1);
    t[1] = acc_shift(&c);
    acc_add(&c, w[2]);
    acc_mul(&c, w[6], C0);
    acc_mul(&c, w[5], C1);
    acc_add(&c, w[4]);
    t[2] = acc_shift(&c);
    acc_add(&c, w[3]);
    acc_mul(&c, w[7], C0);
    acc_mul(&c, w[6], C1);
    acc_add(&c, w[5]);
    t[3] = acc_shift(&c);
    acc_mul(&c, w[8], C0);
    acc_mul(&c, w[7], C1);
    acc_add(&c, w[6]);
    t[4] = acc_shift(&c);
    acc_mul(&c, w[8], C1);
    acc_add(&c, w[7]);
    t[5] = acc_shift(&c);
    acc_add(&c, w[8]);
    t[6] = acc_shift(&c);
    t[7] = c.x0;
    reduce_512(r->d, t);
}

/* r = a^(2^k): k squarings (k public). */
static void sqr_n(tss_scalar *r, const tss_scalar *a, int k) {
    tss_sc_sqr(r, a);
    for (int i = 1; i < k; i++) tss_sc_sqr(r, r);
}

/* r = x^(2^k) * y. */
static void sqr_n_mul(tss_scalar *r, const tss_scalar *x, int k, const tss_scalar *y) {
    sqr_n(r, x, k);
    tss_sc_mul(r, r, y);
}

static unsigned exp_bit(int i) { return (unsigned)(N_MINUS_2[i / 64] >> (i % 64)) & 1; }

void tss_sc_inv(tss_scalar *r, const tss_scalar *a) {
    /* a^(n-2) with a schedule fixed by the public exponent: n-2 is 127 one bits,
     * a zero bit, then the low 128 bits of n-2. The run of ones comes from an
     * addition chain on x_k = a^(2^k - 1) (x_{j+k} = x_j^(2^k) * x_k); the rest
     * from a sliding window of width <= 4 over odd powers a^1, a^3, ..., a^15.
     * Every branch and table index below depends only on the exponent. */
    tss_scalar odd[8], x8, x16, x32, x64, acc;
    tss_scalar *x1 = &odd[0], *x2 = &odd[1], *x4 = &odd[7]; /* a, a^3, a^15 */
    odd[0] = *a;
    tss_sc_sqr(&acc, a); /* a^2 */
    for (int i = 1; i < 8; i++) tss_sc_mul(&odd[i], &odd[i - 1], &acc);
    sqr_n_mul(&x8, x4, 4, x4);
    sqr_n_mul(&x16, &x8, 8, &x8);
    sqr_n_mul(&x32, &x16, 16, &x16);
    sqr_n_mul(&x64, &x32, 32, &x32);
    sqr_n_mul(&acc, &x64, 32, &x32); /* x96 */
    sqr_n_mul(&acc, &acc, 16, &x16); /* x112 */
    sqr_n_mul(&acc, &acc, 8, &x8);   /* x120 */
    sqr_n_mul(&acc, &acc, 4, x4);    /* x124 */
    sqr_n_mul(&acc, &acc, 2, x2);    /* x126 */
    sqr_n_mul(&acc, &acc, 1, x1);    /* x127 = a^(2^127 - 1) */
    for (int i = 128; i >= 0;) {
        if (!exp_bit(i)) {
            tss_sc_sqr(&acc, &acc);
            i--;
            continue;
        }
        int j = i - 3 < 0 ? 0 : i - 3;
        while (!exp_bit(j)) j++; /* the window [j, i] ends on a one bit */
        unsigned w = 0;
        for (int k = i; k >= j; k--) w = (w << 1) | exp_bit(k);
        sqr_n_mul(&acc, &acc, i - j + 1, &odd[w >> 1]);
        i = j - 1;
    }
    *r = acc;
    tss_sc_wipe(odd, 8);
    tss_sc_wipe(&x8, 1);
    tss_sc_wipe(&x16, 1);
    tss_sc_wipe(&x32, 1);
    tss_sc_wipe(&x64, 1);
    tss_sc_wipe(&acc, 1);
}

int tss_sc_is_zero(const tss_scalar *a) {
    uint64_t x = a->d[0] | a->d[1] | a->d[2] | a->d[3];
    return (int)(((x | (0 - x)) >> 63) ^ 1);
}

int tss_sc_eq(const tss_scalar *a, const tss_scalar *b) {
    uint64_t x = (a->d[0] ^ b->d[0]) | (a->d[1] ^ b->d[1]) | (a->d[2] ^ b->d[2]) |
                 (a->d[3] ^ b->d[3]);
    return (int)(((x | (0 - x)) >> 63) ^ 1);
}

void tss_sc_cmov(tss_scalar *r, const tss_scalar *a, int flag) {
    uint64_t m = mask_of((uint64_t)flag);
    for (int i = 0; i < 4; i++) r->d[i] = (a->d[i] & m) | (r->d[i] & ~m);
}

void tss_sc_select(tss_scalar *r, const tss_scalar *a, const tss_scalar *b, int flag) {
    uint64_t m = mask_of((uint64_t)flag);
    for (int i = 0; i < 4; i++) r->d[i] = (b->d[i] & m) | (a->d[i] & ~m);
}

void tss_sc_cswap(tss_scalar *a, tss_scalar *b, int flag) {
    uint64_t m = mask_of((uint64_t)flag);
    for (int i = 0; i < 4; i++) {
        uint64_t x = (a->d[i] ^ b->d[i]) & m;
        a->d[i] ^= x;
        b->d[i] ^= x;
    }
}

/* Retries are bounded so a broken RNG cannot loop forever; 64 rejections in a
 * row have probability < 2^-8000. */
#define RANDOM_TRIES 64

tss_result tss_sc_random(tss_scalar *r) {
    uint8_t buf[TSS_SC_BYTES];
    for (int i = 0; i < RANDOM_TRIES; i++) {
        randombytes_buf(buf, sizeof buf);
        tss_result res = tss_sc_from_bytes(r, buf, "random scalar");
        tss_wipe(buf, sizeof buf);
        if (tss_is_ok(res)) return res;
    }
    return tss_fail(TSS_E_CRYPTO, "random scalar: randomness source keeps producing values >= n");
}

tss_result tss_sc_random_nonzero(tss_scalar *r) {
    tss_scalar s;
    for (int i = 0; i < RANDOM_TRIES; i++) {
        TSS_GUARD(tss_sc_random(&s));
        /* Rejecting 0 reveals only that a discarded draw was 0 (probability 2^-256). */
        int zero = tss_sc_is_zero(&s);
        tss_declassify(&zero, sizeof zero);
        if (!zero) {
            *r = s;
            tss_sc_wipe(&s, 1);
            return TSS_OK_RESULT;
        }
    }
    return tss_fail(TSS_E_CRYPTO, "random scalar: randomness source keeps producing zero");
}

void tss_sc_wipe(tss_scalar *a, size_t count) { tss_wipe(a, count * sizeof *a); }
