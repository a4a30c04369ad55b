/* mpc/gf128: known answers, PCLMUL vs portable, dot product, encoding. */
#include <string.h>

#include <sodium.h>

#include "mpc/gf128.h"
#include "tests/unit/harness.h"
#include "util/hex.h"
#include "util/secmem.h"

/* a, b, a*b as 16-byte little-endian hex, computed independently with plain
 * polynomial arithmetic modulo x^128 + x^7 + x^2 + x + 1. */
static const char *const kat[][3] = {
    {"00000000000000000000000000000080", "02000000000000000000000000000000",
     "87000000000000000000000000000000"}, /* x^127 * x = x^128 */
    {"00000000000000000100000000000000", "00000000000000000100000000000000",
     "87000000000000000000000000000000"}, /* x^64 * x^64 */
    {"ffffffffffffffffffffffffffffffff", "ffffffffffffffffffffffffffffffff",
     "2f405555555555555555555555555555"},
    {"38b4e652e44da7f2370d9e260e271365", "50a4a3a6d07f5c0c332f8b1224083fd2",
     "4d592b9c83db338941c72d44e9250426"},
    {"2b902f8911e81818f8c99d5d5d983195", "7504d90e945de2e8f54ee781cc75f636",
     "26423a7dbdeeb194c0c66ee75397e9e4"},
    {"d85099095aa300165a67036f9b540d6b", "8f0be21124179c3dd9f73817ce6e118d",
     "c7973502ba490e3727cfec5fcaf3668d"},
};

static void load_hex(tss_gf128 *r, const char *hex) {
    uint8_t b[16];
    CHECK_OK(tss_hex_decode(b, 16, hex, "kat"));
    tss_gf128_from_bytes(r, b);
}

static int gf_eq(const tss_gf128 *a, const tss_gf128 *b) { return a->lo == b->lo && a->hi == b->hi; }

static void random_gf(tss_gf128 *r) {
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    tss_gf128_from_bytes(r, b);
}

static void known_answers(void) {
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        tss_gf128 a, b, want, got;
        load_hex(&a, kat[i][0]);
        load_hex(&b, kat[i][1]);
        load_hex(&want, kat[i][2]);
        tss_gf128_mul(&got, &a, &b);
        CHECK(gf_eq(&got, &want));
        tss_gf128_mul_portable(&got, &a, &b);
        CHECK(gf_eq(&got, &want));
        tss_gf128_mul_portable(&got, &b, &a);
        CHECK(gf_eq(&got, &want));
        if (tss_gf128_have_clmul()) {
            tss_gf128_mul_clmul(&got, &a, &b);
            CHECK(gf_eq(&got, &want));
        }
    }
}

static void encoding_is_little_endian(void) {
    uint8_t b[16] = {0}, back[16];
    b[0] = 1;  /* x^0 */
    b[15] = 0x80; /* x^127 */
    tss_gf128 a;
    tss_gf128_from_bytes(&a, b);
    CHECK(a.lo == 1 && a.hi == 0x8000000000000000ULL);
    tss_gf128_to_bytes(back, &a);
    CHECK(memcmp(b, back, 16) == 0);
}

static void clmul_matches_portable(void) {
    if (!tss_gf128_have_clmul()) return; /* nothing to compare on this CPU */
    for (int i = 0; i < 20000; i++) {
        tss_gf128 a, b, x, y;
        random_gf(&a);
        random_gf(&b);
        if (i % 7 == 0) a.hi = ~0ULL; /* exercise the double reduction spill */
        tss_gf128_mul_clmul(&x, &a, &b);
        tss_gf128_mul_portable(&y, &a, &b);
        CHECK(gf_eq(&x, &y));
    }
}

static void field_laws(void) {
    tss_gf128 one = {1, 0}, zero = {0, 0};
    for (int i = 0; i < 500; i++) {
        tss_gf128 a, b, c, ab, ba, bc, l, r, t;
        random_gf(&a);
        random_gf(&b);
        random_gf(&c);
        tss_gf128_mul(&ab, &a, &b);
        tss_gf128_mul(&ba, &b, &a);
        CHECK(gf_eq(&ab, &ba));
        /* (a*b)*c == a*(b*c) */
        tss_gf128_mul(&l, &ab, &c);
        tss_gf128_mul(&bc, &b, &c);
        tss_gf128_mul(&r, &a, &bc);
        CHECK(gf_eq(&l, &r));
        /* a*(b+c) == a*b + a*c */
        t.lo = b.lo ^ c.lo;
        t.hi = b.hi ^ c.hi;
        tss_gf128_mul(&l, &a, &t);
        tss_gf128_mul(&r, &a, &c);
        r.lo ^= ab.lo;
        r.hi ^= ab.hi;
        CHECK(gf_eq(&l, &r));
        tss_gf128_mul(&t, &a, &one);
        CHECK(gf_eq(&t, &a));
        tss_gf128_mul(&t, &a, &zero);
        CHECK(gf_eq(&t, &zero));
        /* aliasing: r == a */
        t = a;
        tss_gf128_mul(&t, &t, &b);
        CHECK(gf_eq(&t, &ab));
    }
}

static void dot_matches_sum_of_products(void) {
    for (int n = 0; n <= 9; n++) {
        tss_gf128 a[9], b[9], want = {0, 0}, got, p;
        for (int k = 0; k < n; k++) {
            random_gf(&a[k]);
            random_gf(&b[k]);
            tss_gf128_mul_portable(&p, &a[k], &b[k]);
            want.lo ^= p.lo;
            want.hi ^= p.hi;
        }
        tss_gf128_dot(&got, a, b, (size_t)n);
        CHECK(gf_eq(&got, &want));
        tss_gf128_dot_portable(&got, a, b, (size_t)n);
        CHECK(gf_eq(&got, &want));
    }
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    RUN(known_answers);
    RUN(encoding_is_little_endian);
    RUN(clmul_matches_portable);
    RUN(field_laws);
    RUN(dot_matches_sum_of_products);
    return harness_finish("mpc_gf128");
}
