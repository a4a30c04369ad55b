/* mpc/scalar: differential tests against libsecp256k1's secret-key arithmetic. */
#include <string.h>

#include <secp256k1.h>
#include <sodium.h>

#include "mpc/scalar.h"
#include "tests/unit/harness.h"
#include "util/secmem.h"

static secp256k1_context *ctx;

static const uint8_t N_BYTES[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};
/* 2^256 mod n = 2^256 - n. */
static const uint8_t C_BYTES[32] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    0x45, 0x51, 0x23, 0x19, 0x50, 0xB7, 0x5F, 0xC4, 0x40, 0x2D, 0xA1, 0x73, 0x2F, 0xC9, 0xBE, 0xBF};

/* ---- independent byte-level helpers (big-endian) ---- */

static int be_cmp(const uint8_t a[32], const uint8_t b[32]) { return memcmp(a, b, 32); }

static void be_sub(uint8_t r[32], const uint8_t a[32], const uint8_t b[32]) {
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int t = a[i] - b[i] - borrow;
        borrow = t < 0;
        r[i] = (uint8_t)(t + (borrow ? 256 : 0));
    }
}

static void be_from_u64(uint8_t r[32], uint64_t v) {
    memset(r, 0, 32);
    for (int i = 0; i < 8; i++) r[31 - i] = (uint8_t)(v >> (8 * i));
}

static int be_is_zero(const uint8_t a[32]) {
    static const uint8_t z[32];
    return memcmp(a, z, 32) == 0;
}

/* Reference reduction of any 256-bit value (< 2n) by one conditional subtraction. */
static void ref_reduce(uint8_t r[32], const uint8_t a[32]) {
    if (be_cmp(a, N_BYTES) >= 0)
        be_sub(r, a, N_BYTES);
    else if (r != a)
        memcpy(r, a, 32);
}

/* libsecp256k1 rejects 0 as a secret key; the references handle it explicitly. */
static void ref_add(uint8_t r[32], const uint8_t a[32], const uint8_t b[32]) {
    if (be_is_zero(a)) {
        memcpy(r, b, 32);
        return;
    }
    memcpy(r, a, 32);
    if (!secp256k1_ec_seckey_tweak_add(ctx, r, b)) memset(r, 0, 32); /* fails iff sum = 0 */
}

static void ref_mul(uint8_t r[32], const uint8_t a[32], const uint8_t b[32]) {
    if (be_is_zero(a) || be_is_zero(b)) {
        memset(r, 0, 32);
        return;
    }
    memcpy(r, a, 32);
    if (!secp256k1_ec_seckey_tweak_mul(ctx, r, b)) memset(r, 0xee, 32);
}

static void ref_neg(uint8_t r[32], const uint8_t a[32]) {
    memcpy(r, a, 32);
    if (!be_is_zero(a) && !secp256k1_ec_seckey_negate(ctx, r)) memset(r, 0xee, 32);
}

/* Random 256-bit value with limbs biased to 0, all-ones and small values so
 * carries and reduction boundaries are exercised. */
static void gen_raw(uint8_t out[32]) {
    randombytes_buf(out, 32);
    uint8_t sel[4];
    randombytes_buf(sel, sizeof sel);
    for (int i = 0; i < 4; i++) {
        uint8_t *limb = out + 8 * i;
        switch (sel[i] & 7) {
        case 0: memset(limb, 0, 8); break;
        case 1: memset(limb, 0xff, 8); break;
        case 2: memset(limb, 0, 7); break;
        case 3: memcpy(limb, N_BYTES + 8 * i, 8); break;
        default: break;
        }
    }
    if ((sel[0] >> 4) == 0) { /* near n */
        uint8_t small[32];
        be_from_u64(small, sel[1]);
        be_sub(out, N_BYTES, small);
        if (sel[2] & 1) be_sub(out, out, small), be_sub(out, N_BYTES, out); /* n - (n - s) */
    }
}

static void gen_valid(uint8_t out[32]) {
    uint8_t raw[32];
    gen_raw(raw);
    ref_reduce(out, raw);
}

static tss_scalar sc_of(const uint8_t b[32]) {
    tss_scalar s;
    tss_sc_set_zero(&s);
    CHECK_OK(tss_sc_from_bytes(&s, b, "test"));
    return s;
}

static int sc_matches(const tss_scalar *s, const uint8_t b[32]) {
    uint8_t out[32];
    tss_sc_to_bytes(out, s);
    return memcmp(out, b, 32) == 0;
}

/* Compare add, sub, neg, mul for one pair; returns 1 if all agree. */
static int diff_one(const uint8_t a[32], const uint8_t b[32]) {
    tss_scalar sa, sb, r;
    if (!tss_is_ok(tss_sc_from_bytes(&sa, a, "a")) || !tss_is_ok(tss_sc_from_bytes(&sb, b, "b")))
        return 0;
    uint8_t ref[32], nb[32];
    int ok = 1;
    tss_sc_add(&r, &sa, &sb);
    ref_add(ref, a, b);
    ok &= sc_matches(&r, ref);
    tss_sc_mul(&r, &sa, &sb);
    ref_mul(ref, a, b);
    ok &= sc_matches(&r, ref);
    tss_sc_neg(&r, &sb);
    ref_neg(nb, b);
    ok &= sc_matches(&r, nb);
    tss_sc_sub(&r, &sa, &sb);
    ref_add(ref, a, nb);
    ok &= sc_matches(&r, ref);
    /* Aliasing: r = a op r. */
    r = sb;
    tss_sc_mul(&r, &sa, &r);
    ref_mul(ref, a, b);
    ok &= sc_matches(&r, ref);
    return ok;
}

static void edge_values(uint8_t edges[][32], size_t *count) {
    size_t k = 0;
    uint8_t one[32];
    be_from_u64(one, 1);
    be_from_u64(edges[k++], 0);
    be_from_u64(edges[k++], 1);
    be_from_u64(edges[k++], 2);
    be_from_u64(edges[k++], 3);
    be_from_u64(edges[k++], UINT64_MAX);
    be_sub(edges[k], N_BYTES, one), k++;                 /* n-1 */
    be_sub(edges[k], edges[k - 1], one), k++;            /* n-2 */
    be_sub(edges[k], edges[k - 1], one), k++;            /* n-3 */
    memset(edges[k], 0, 32), edges[k][0] = 0x80, k++;    /* 2^255 */
    memset(edges[k], 0xff, 16), memset(edges[k] + 16, 0, 16), k++; /* (2^128-1)*2^128 */
    memcpy(edges[k++], C_BYTES, 32);                     /* 2^256 mod n */
    be_sub(edges[k], C_BYTES, one), k++;
    memset(edges[k], 0, 32), memset(edges[k] + 16, 0xff, 16), k++; /* 2^128-1 */
    memcpy(edges[k], N_BYTES, 32), edges[k][15] = 0xfd, k++;      /* n - 2^128 */
    memcpy(edges[k], N_BYTES, 32), edges[k][31] = 0, edges[k][30] = 0, k++;
    for (size_t i = 0; i < k; i++) ref_reduce(edges[i], edges[i]); /* keep them < n */
    *count = k;
}

static void add_mul_neg_match_on_edges(void) {
    uint8_t edges[32][32];
    size_t k;
    edge_values(edges, &k);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) CHECK(diff_one(edges[i], edges[j]));
}

static void add_mul_neg_match_on_random(void) {
    int bad = 0;
    for (int i = 0; i < 100000; i++) {
        uint8_t a[32], b[32];
        gen_valid(a);
        gen_valid(b);
        bad += !diff_one(a, b);
    }
    CHECK(bad == 0);
}

/* sqr (its own doubled-cross-product code) and muladd against libsecp256k1
 * references and against mul + add, with aliasing of every input. */
static int sqr_muladd_one(const uint8_t a[32], const uint8_t b[32], const uint8_t c[32]) {
    tss_scalar sa = sc_of(a), sb = sc_of(b), sc = sc_of(c), r, t;
    uint8_t ref[32], prod[32];
    int ok = 1;
    tss_sc_sqr(&r, &sa);
    ref_mul(ref, a, a);
    ok &= sc_matches(&r, ref);
    r = sa;
    tss_sc_sqr(&r, &r);
    ok &= sc_matches(&r, ref);
    ref_mul(prod, a, b);
    ref_add(ref, prod, c);
    tss_sc_muladd(&r, &sa, &sb, &sc);
    ok &= sc_matches(&r, ref);
    tss_sc_mul(&t, &sa, &sb);
    tss_sc_add(&t, &t, &sc);
    ok &= tss_sc_eq(&r, &t);
    r = sa;
    tss_sc_muladd(&r, &r, &sb, &sc);
    ok &= sc_matches(&r, ref);
    r = sb;
    tss_sc_muladd(&r, &sa, &r, &sc);
    ok &= sc_matches(&r, ref);
    r = sc;
    tss_sc_muladd(&r, &sa, &sb, &r);
    ok &= sc_matches(&r, ref);
    return ok;
}

static void sqr_and_muladd_match_on_edges(void) {
    uint8_t edges[32][32];
    size_t k;
    edge_values(edges, &k);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            for (size_t l = 0; l < k; l += 3) CHECK(sqr_muladd_one(edges[i], edges[j], edges[l]));
}

static void sqr_and_muladd_match_on_random(void) {
    int bad = 0;
    for (int i = 0; i < 100000; i++) {
        uint8_t a[32], b[32], c[32];
        gen_valid(a);
        gen_valid(b);
        gen_valid(c);
        bad += !sqr_muladd_one(a, b, c);
    }
    CHECK(bad == 0);
}

/* Reference inner product: libsecp256k1 products summed one by one. */
static void ref_dot(uint8_t r[32], const uint8_t (*a)[32], const uint8_t (*b)[32], size_t n) {
    uint8_t prod[32], sum[32];
    memset(r, 0, 32);
    for (size_t i = 0; i < n; i++) {
        ref_mul(prod, a[i], b[i]);
        ref_add(sum, r, prod);
        memcpy(r, sum, 32);
    }
}

#define DOT_MAX 1100

static int dot_one(const uint8_t (*a)[32], const uint8_t (*b)[32], size_t n) {
    static tss_scalar sa[DOT_MAX], sb[DOT_MAX];
    tss_scalar r, acc, t;
    uint8_t ref[32];
    for (size_t i = 0; i < n; i++) {
        sa[i] = sc_of(a[i]);
        sb[i] = sc_of(b[i]);
    }
    int ok = 1;
    tss_sc_set_u64(&r, 99);
    tss_sc_dot(&r, sa, sb, n);
    ref_dot(ref, a, b, n);
    ok &= sc_matches(&r, ref);
    tss_sc_set_zero(&acc);
    for (size_t i = 0; i < n; i++) {
        tss_sc_mul(&t, &sa[i], &sb[i]);
        tss_sc_add(&acc, &acc, &t);
    }
    ok &= tss_sc_eq(&r, &acc);
    if (n > 0) { /* r aliasing an input element */
        tss_scalar keep = sa[0];
        tss_sc_dot(&sa[0], sa, sb, n);
        ok &= tss_sc_eq(&sa[0], &acc);
        sa[0] = keep;
        tss_sc_dot(&sb[n - 1], sa, sb, n);
        ok &= tss_sc_eq(&sb[n - 1], &acc);
    }
    return ok;
}

static void dot_matches_sum_of_products(void) {
    static uint8_t a[DOT_MAX][32], b[DOT_MAX][32];
    uint8_t one[32];
    be_from_u64(one, 1);
    CHECK(dot_one(a, b, 0)); /* empty sum is 0 */
    /* All n-1: every product is the largest possible, so the top accumulator
     * limb fills up (1100 * (n-1)^2 > 2^521). */
    for (size_t i = 0; i < DOT_MAX; i++) {
        be_sub(a[i], N_BYTES, one);
        be_sub(b[i], N_BYTES, one);
    }
    CHECK(dot_one(a, b, DOT_MAX));
    CHECK(dot_one(a, b, 1));
    /* Edges against edges, and sums that cancel to 0: a.b + a.(-b) = 0. */
    uint8_t edges[32][32];
    size_t k;
    edge_values(edges, &k);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            memcpy(a[i * k + j], edges[i], 32);
            memcpy(b[i * k + j], edges[j], 32);
        }
    CHECK(dot_one(a, b, k * k));
    for (size_t i = 0; i < 8; i++) {
        gen_valid(a[i]);
        gen_valid(b[i]);
        memcpy(a[i + 8], a[i], 32);
        ref_neg(b[i + 8], b[i]);
    }
    CHECK(dot_one(a, b, 16));
    uint8_t ref[32];
    ref_dot(ref, a, b, 16);
    CHECK(be_is_zero(ref));
    static const size_t lens[] = {1, 2, 3, 4, 7, 64, 513, DOT_MAX};
    int bad = 0;
    for (int rep = 0; rep < 4; rep++)
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            for (size_t i = 0; i < lens[li]; i++) {
                gen_valid(a[i]);
                gen_valid(b[i]);
            }
            bad += !dot_one(a, b, lens[li]);
        }
    CHECK(bad == 0);
}

static void strict_decoder_rejects_values_at_or_above_n(void) {
    uint8_t v[32], one[32];
    tss_scalar s;
    tss_sc_set_u64(&s, 77);
    be_from_u64(one, 1);
    CHECK_ERR(tss_sc_from_bytes(&s, N_BYTES, "n"), TSS_E_INVALID);
    CHECK(strstr(tss_error_detail(), "n: scalar is not below the group order") != NULL);
    tss_scalar seventy_seven;
    tss_sc_set_u64(&seventy_seven, 77);
    CHECK(tss_sc_eq(&s, &seventy_seven)); /* untouched on failure */
    memcpy(v, N_BYTES, 32);
    v[31]++;
    CHECK_ERR(tss_sc_from_bytes(&s, v, "n+1"), TSS_E_INVALID);
    memset(v, 0xff, 32);
    CHECK_ERR(tss_sc_from_bytes(&s, v, "max"), TSS_E_INVALID);
    memcpy(v, N_BYTES, 32);
    v[0] = 0xff;
    v[15] = 0xff; /* above n in a middle limb only */
    CHECK_ERR(tss_sc_from_bytes(&s, v, "mid"), TSS_E_INVALID);
    be_sub(v, N_BYTES, one);
    CHECK_OK(tss_sc_from_bytes(&s, v, "n-1"));
    CHECK(sc_matches(&s, v));
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        gen_raw(v);
        int valid = secp256k1_ec_seckey_verify(ctx, v) || be_is_zero(v);
        bad += tss_is_ok(tss_sc_from_bytes(&s, v, "r")) != valid;
    }
    CHECK(bad == 0);
}

static void reducing_decoder_matches_reference(void) {
    uint8_t v[32], ref[32], one[32];
    tss_scalar s;
    be_from_u64(one, 1);
    tss_sc_from_bytes_reduce(&s, N_BYTES);
    CHECK(tss_sc_is_zero(&s));
    memcpy(v, N_BYTES, 32);
    v[31]++;
    tss_sc_from_bytes_reduce(&s, v);
    CHECK(sc_matches(&s, one));
    memset(v, 0xff, 32);
    tss_sc_from_bytes_reduce(&s, v);
    be_sub(ref, C_BYTES, one);
    CHECK(sc_matches(&s, ref));
    be_sub(v, N_BYTES, one);
    tss_sc_from_bytes_reduce(&s, v);
    CHECK(sc_matches(&s, v));
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        gen_raw(v);
        if (i & 1) memset(v, 0xff, 15); /* force many values >= n */
        ref_reduce(ref, v);
        tss_sc_from_bytes_reduce(&s, v);
        bad += !sc_matches(&s, ref);
    }
    CHECK(bad == 0);
}

/* Reference: hi*2^256 + lo = hi*(2^256 mod n) + lo, through libsecp256k1. */
static void ref_wide(uint8_t r[32], const uint8_t in[64]) {
    uint8_t hi[32], lo[32], t[32];
    ref_reduce(hi, in);
    ref_reduce(lo, in + 32);
    ref_mul(t, hi, C_BYTES);
    ref_add(r, t, lo);
}

static void wide_reduction_matches_reference(void) {
    uint8_t in[64], ref[32];
    tss_scalar s;
    memset(in, 0, 64);
    tss_sc_from_wide(&s, in);
    CHECK(tss_sc_is_zero(&s));
    memset(in, 0xff, 64);
    tss_sc_from_wide(&s, in);
    ref_wide(ref, in);
    CHECK(sc_matches(&s, ref));
    memcpy(in, N_BYTES, 32);
    memcpy(in + 32, N_BYTES, 32); /* n*2^256 + n = 0 */
    tss_sc_from_wide(&s, in);
    CHECK(tss_sc_is_zero(&s));
    memset(in, 0, 32);
    memcpy(in + 32, C_BYTES, 32);
    in[31] = 1; /* 2^256 + c = 2c mod n */
    tss_sc_from_wide(&s, in);
    ref_wide(ref, in);
    CHECK(sc_matches(&s, ref));
    int bad = 0;
    for (int i = 0; i < 50000; i++) {
        gen_raw(in);
        gen_raw(in + 32);
        ref_wide(ref, in);
        tss_sc_from_wide(&s, in);
        bad += !sc_matches(&s, ref);
    }
    CHECK(bad == 0);
}

static void inverse_times_value_is_one(void) {
    tss_scalar a, inv, prod, one;
    tss_sc_set_one(&one);
    uint8_t edges[32][32];
    size_t k;
    edge_values(edges, &k);
    for (size_t i = 1; i < k; i++) { /* edges[0] is 0 */
        a = sc_of(edges[i]);
        tss_sc_inv(&inv, &a);
        tss_sc_mul(&prod, &a, &inv);
        CHECK(tss_sc_eq(&prod, &one));
    }
    tss_sc_set_zero(&a);
    tss_sc_inv(&inv, &a);
    CHECK(tss_sc_is_zero(&inv));
    tss_sc_set_u64(&a, 2);
    tss_sc_inv(&inv, &a); /* 2^-1 = (n+1)/2 */
    uint8_t half[32] = {0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4,
                        0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA1};
    CHECK(sc_matches(&inv, half));
    int bad = 0;
    for (int i = 0; i < 5000; i++) {
        CHECK_OK(tss_sc_random_nonzero(&a));
        tss_sc_inv(&inv, &a);
        tss_sc_mul(&prod, &inv, &a);
        bad += !tss_sc_eq(&prod, &one);
        tss_sc_inv(&a, &a); /* aliasing */
        bad += !tss_sc_eq(&a, &inv);
    }
    CHECK(bad == 0);
}

static void predicates_and_selection(void) {
    tss_scalar a, b, r, zero;
    tss_sc_set_zero(&zero);
    CHECK(tss_sc_is_zero(&zero) == 1);
    tss_sc_set_u64(&a, 5);
    CHECK(tss_sc_is_zero(&a) == 0);
    a.d[0] = 0;
    a.d[3] = 1; /* non-zero in the top limb only */
    CHECK(tss_sc_is_zero(&a) == 0);
    CHECK_OK(tss_sc_random(&a));
    CHECK_OK(tss_sc_random(&b));
    CHECK(tss_sc_eq(&a, &a) == 1);
    CHECK(tss_sc_eq(&a, &b) == 0);
    for (int limb = 0; limb < 4; limb++) {
        r = a;
        r.d[limb] ^= 1;
        CHECK(tss_sc_eq(&a, &r) == 0);
    }
    r = a;
    tss_sc_cmov(&r, &b, 0);
    CHECK(tss_sc_eq(&r, &a));
    tss_sc_cmov(&r, &b, 1);
    CHECK(tss_sc_eq(&r, &b));
    tss_sc_select(&r, &a, &b, 0);
    CHECK(tss_sc_eq(&r, &a));
    tss_sc_select(&r, &a, &b, 1);
    CHECK(tss_sc_eq(&r, &b));
    tss_scalar x = a, y = b;
    tss_sc_cswap(&x, &y, 0);
    CHECK(tss_sc_eq(&x, &a) && tss_sc_eq(&y, &b));
    tss_sc_cswap(&x, &y, 1);
    CHECK(tss_sc_eq(&x, &b) && tss_sc_eq(&y, &a));
    tss_sc_wipe(&x, 1);
    CHECK(tss_sc_is_zero(&x));
}

static void encoding_round_trips_and_random_is_in_range(void) {
    uint8_t b[32], b2[32];
    tss_scalar s, t;
    tss_sc_set_u64(&s, 0x0102030405060708ULL);
    tss_sc_to_bytes(b, &s);
    CHECK(b[31] == 8 && b[24] == 1 && be_is_zero(b) == 0 && b[0] == 0);
    int bad = 0;
    for (int i = 0; i < 2000; i++) {
        CHECK_OK(tss_sc_random(&s));
        tss_sc_to_bytes(b, &s);
        bad += be_cmp(b, N_BYTES) >= 0;
        CHECK_OK(tss_sc_from_bytes(&t, b, "rt"));
        tss_sc_to_bytes(b2, &t);
        bad += memcmp(b, b2, 32) != 0;
        CHECK_OK(tss_sc_random_nonzero(&t));
        bad += tss_sc_is_zero(&t);
        bad += tss_sc_eq(&s, &t); /* 2^-256 */
    }
    CHECK(bad == 0);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    RUN(add_mul_neg_match_on_edges);
    RUN(add_mul_neg_match_on_random);
    RUN(sqr_and_muladd_match_on_edges);
    RUN(sqr_and_muladd_match_on_random);
    RUN(dot_matches_sum_of_products);
    RUN(strict_decoder_rejects_values_at_or_above_n);
    RUN(reducing_decoder_matches_reference);
    RUN(wide_reduction_matches_reference);
    RUN(inverse_times_value_is_one);
    RUN(predicates_and_selection);
    RUN(encoding_round_trips_and_random_is_in_range);
    secp256k1_context_destroy(ctx);
    return harness_finish("mpc_scalar");
}
