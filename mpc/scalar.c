/* Scalars mod n in constant time: 4x64-bit limbs, products in unsigned __int128,
 * reduction by folding with n = 2^256 - c (c < 2^129). */
#include "mpc/scalar.h"

#include <string.h>

#include <sodium.h>

#include "util/secmem.h"

typedef unsigned __int128 u128;

/* n, little-endian limbs. */
static const uint64_t N[4] = {0xBFD25E8CD0364141ULL, 0xBAAEDCE6AF48A03BULL,
                              0xFFFFFFFFFFFFFFFEULL, 0xFFFFFFFFFFFFFFFFULL};
/* c = 2^256 - n (129 bits). */
static const uint64_t C[3] = {0x402DA1732FC9BEBFULL, 0x4551231950B75FC4ULL, 1};
/* n - 2, the inversion exponent (public). */
static const uint64_t N_MINUS_2[4] = {0xBFD25E8CD036413FULL, 0xBAAEDCE6AF48A03BULL,
                                      0xFFFFFFFFFFFFFFFEULL, 0xFFFFFFFFFFFFFFFFULL};

/* All-ones if flag (0/1) is 1, else 0; no branch. */
static inline uint64_t mask_of(uint64_t flag) { return (uint64_t)0 - (flag & 1); }

/* r = a - N with the borrow (0/1) returned; r may alias a. */
static uint64_t sub_n(uint64_t r[4], const uint64_t a[4]) {
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        u128 t = (u128)a[i] - N[i] - borrow;
        r[i] = (uint64_t)t;
        borrow = (uint64_t)(t >> 64) & 1;
    }
    return borrow;
}

/* For a 256-bit value v (any, < 2^256 < 2n) plus an extra carry bit (v + carry*2^256
 * < 2n), store the reduced value. */
static void reduce_once(uint64_t r[4], const uint64_t v[4], uint64_t carry) {
    uint64_t t[4];
    uint64_t borrow = sub_n(t, v);
    /* Keep v - n when the full value is >= n: carry set or no borrow. */
    uint64_t m = mask_of(carry | (borrow ^ 1));
    for (int i = 0; i < 4; i++) r[i] = (t[i] & m) | (v[i] & ~m);
}

/* out[0..nout) = lo[0..4) + hi[0..nhi) * C. nout is large enough by the callers'
 * bounds, so no carry leaves out. Loop bounds depend only on the sizes. */
static void fold(uint64_t *out, size_t nout, const uint64_t lo[4], const uint64_t *hi,
                 size_t nhi) {
    for (size_t i = 0; i < nout; i++) out[i] = i < 4 ? lo[i] : 0;
    for (size_t i = 0; i < nhi; i++) {
        uint64_t carry = 0;
        for (size_t j = 0; i + j < nout; j++) {
            u128 t = (u128)out[i + j] + carry;
            if (j < 3) t += (u128)hi[i] * C[j];
            out[i + j] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
    }
}

/* Reduce a 512-bit value l (little-endian limbs) mod n. */
static void reduce512(uint64_t r[4], const uint64_t l[8]) {
    uint64_t t[7], u[5], v[5];
    fold(t, 7, l, l + 4, 4);  /* < 2^256 + 2^385: 386 bits */
    fold(u, 5, t, t + 4, 3);  /* t>>256 < 2^130, times c < 2^259: < 2^260 */
    fold(v, 5, u, u + 4, 1);  /* u[4] < 16: v < 2^256 + 2^133 */
    /* If v[4] = 1 then v[0..4) < 2^133 and v - n = v[0..4) + c without overflow. */
    uint64_t m = mask_of(v[4]);
    uint64_t w[4], carry = 0;
    for (int i = 0; i < 4; i++) {
        u128 s = (u128)v[i] + ((i < 3 ? C[i] : 0) & m) + carry;
        w[i] = (uint64_t)s;
        carry = (uint64_t)(s >> 64);
    }
    reduce_once(r, w, 0);
    tss_wipe(t, sizeof t);
    tss_wipe(u, sizeof u);
    tss_wipe(v, sizeof v);
    tss_wipe(w, sizeof w);
}

void tss_sc_set_zero(tss_scalar *r) { memset(r, 0, sizeof *r); }
void tss_sc_set_one(tss_scalar *r) { tss_sc_set_u64(r, 1); }
void tss_sc_set_u64(tss_scalar *r, uint64_t v) {
    r->d[0] = v; /* < 2^64 < n */
    r->d[1] = r->d[2] = r->d[3] = 0;
}

static void load_be(uint64_t *limbs, size_t nlimbs, const uint8_t *in) {
    for (size_t i = 0; i < nlimbs; i++) {
        uint64_t v = 0;
        const uint8_t *p = in + 8 * (nlimbs - 1 - i);
        for (int k = 0; k < 8; k++) v = (v << 8) | p[k];
        limbs[i] = v;
    }
}

tss_result tss_sc_from_bytes(tss_scalar *r, const uint8_t in[TSS_SC_BYTES], const char *what) {
    uint64_t v[4], t[4];
    load_be(v, 4, in);
    uint64_t borrow = sub_n(t, v); /* borrow = 1 iff v < n */
    tss_wipe(t, sizeof t);
    if (!borrow) {
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
    reduce_once(r->d, v, 0);
    tss_wipe(v, sizeof v);
}

void tss_sc_from_wide(tss_scalar *r, const uint8_t in[TSS_SC_WIDE_BYTES]) {
    uint64_t l[8];
    load_be(l, 8, in);
    reduce512(r->d, l);
    tss_wipe(l, sizeof l);
}

void tss_sc_to_bytes(uint8_t out[TSS_SC_BYTES], const tss_scalar *a) {
    for (int i = 0; i < 4; i++) {
        uint64_t v = a->d[3 - i];
        for (int k = 0; k < 8; k++) out[8 * i + k] = (uint8_t)(v >> (56 - 8 * k));
    }
}

void tss_sc_add(tss_scalar *r, const tss_scalar *a, const tss_scalar *b) {
    uint64_t s[4], carry = 0;
    for (int i = 0; i < 4; i++) {
        u128 t = (u128)a->d[i] + b->d[i] + carry;
        s[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
    }
    reduce_once(r->d, s, carry); /* a + b < 2n */
    tss_wipe(s, sizeof s);
}

void tss_sc_sub(tss_scalar *r, const tss_scalar *a, const tss_scalar *b) {
    uint64_t d[4], borrow = 0;
    for (int i = 0; i < 4; i++) {
        u128 t = (u128)a->d[i] - b->d[i] - borrow;
        d[i] = (uint64_t)t;
        borrow = (uint64_t)(t >> 64) & 1;
    }
    /* On borrow, add n back (the carry out of that addition cancels the wrap). */
    uint64_t m = mask_of(borrow), carry = 0;
    for (int i = 0; i < 4; i++) {
        u128 t = (u128)d[i] + (N[i] & m) + carry;
        r->d[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
    }
    tss_wipe(d, sizeof d);
}

void tss_sc_neg(tss_scalar *r, const tss_scalar *a) {
    tss_scalar zero;
    tss_sc_set_zero(&zero);
    tss_sc_sub(r, &zero, a);
}

void tss_sc_mul(tss_scalar *r, const tss_scalar *a, const tss_scalar *b) {
    uint64_t l[8] = {0};
    for (int i = 0; i < 4; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < 4; j++) {
            u128 t = (u128)a->d[i] * b->d[j] + l[i + j] + carry;
            l[i + j] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
        l[i + 4] = carry;
    }
    reduce512(r->d, l);
    tss_wipe(l, sizeof l);
}

void tss_sc_sqr(tss_scalar *r, const tss_scalar *a) { tss_sc_mul(r, a, a); }

void tss_sc_inv(tss_scalar *r, const tss_scalar *a) {
    /* 4-bit fixed window over the public exponent n-2. Table entries are still
     * selected by a full constant-time scan, so the access pattern is the same
     * for every window whatever the exponent. */
    tss_scalar table[16], acc, pick;
    tss_sc_set_one(&table[0]);
    table[1] = *a;
    for (int i = 2; i < 16; i++) tss_sc_mul(&table[i], &table[i - 1], a);
    tss_sc_set_one(&acc);
    for (int w = 63; w >= 0; w--) {
        for (int k = 0; k < 4; k++) tss_sc_sqr(&acc, &acc);
        unsigned idx = (unsigned)(N_MINUS_2[w / 16] >> (4 * (w % 16))) & 15;
        tss_sc_set_zero(&pick);
        for (unsigned i = 0; i < 16; i++) {
            /* eq = 1 iff i == idx, computed without a branch. */
            uint64_t x = (uint64_t)(i ^ idx);
            uint64_t eq = ((x | (0 - x)) >> 63) ^ 1;
            tss_sc_cmov(&pick, &table[i], (int)eq);
        }
        tss_sc_mul(&acc, &acc, &pick);
    }
    *r = acc;
    tss_sc_wipe(table, 16);
    tss_sc_wipe(&acc, 1);
    tss_sc_wipe(&pick, 1);
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
        if (!tss_sc_is_zero(&s)) {
            *r = s;
            tss_sc_wipe(&s, 1);
            return TSS_OK_RESULT;
        }
    }
    return tss_fail(TSS_E_CRYPTO, "random scalar: randomness source keeps producing zero");
}

void tss_sc_wipe(tss_scalar *a, size_t count) { tss_wipe(a, count * sizeof *a); }
