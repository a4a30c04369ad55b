/* mpc/point: group law through libsecp256k1, infinity as an error, strict decoding. */
#include <string.h>

#include "mpc/point.h"
#include "tests/unit/harness.h"
#include "util/secmem.h"

static const uint8_t G_ENC[33] = {0x02, 0x79, 0xBE, 0x66, 0x7E, 0xF9, 0xDC, 0xBB, 0xAC,
                                  0x55, 0xA0, 0x62, 0x95, 0xCE, 0x87, 0x0B, 0x07, 0x02,
                                  0x9B, 0xFC, 0xDB, 0x2D, 0xCE, 0x28, 0xD9, 0x59, 0xF2,
                                  0x81, 0x5B, 0x16, 0xF8, 0x17, 0x98};

static tss_point rand_point(tss_scalar *k_out) {
    tss_scalar k;
    tss_point p;
    CHECK_OK(tss_sc_random_nonzero(&k));
    CHECK_OK(tss_pt_mul_base(&p, &k));
    if (k_out) *k_out = k;
    return p;
}

static void generator_and_base_multiplication(void) {
    tss_point g, p;
    tss_scalar k;
    uint8_t enc[33];
    tss_pt_generator(&g);
    tss_pt_encode(enc, &g);
    CHECK(memcmp(enc, G_ENC, 33) == 0);
    tss_sc_set_one(&k);
    CHECK_OK(tss_pt_mul_base(&p, &k));
    CHECK(tss_pt_eq(&p, &g));
    tss_sc_set_u64(&k, 2);
    CHECK_OK(tss_pt_mul_base(&p, &k));
    CHECK(!tss_pt_eq(&p, &g));
    tss_point p2;
    CHECK_OK(tss_pt_add(&p2, &g, &g));
    CHECK(tss_pt_eq(&p, &p2));
    tss_sc_set_zero(&k);
    tss_point untouched = g;
    CHECK_ERR(tss_pt_mul_base(&untouched, &k), TSS_E_CRYPTO);
    CHECK(tss_pt_eq(&untouched, &g));
    CHECK_ERR(tss_pt_mul(&untouched, &g, &k), TSS_E_CRYPTO);
    CHECK(tss_pt_eq(&untouched, &g));
}

static void group_law_matches_scalar_arithmetic(void) {
    for (int i = 0; i < 50; i++) {
        tss_scalar a, b, s;
        tss_point A = rand_point(&a), B = rand_point(&b), r, e;
        tss_sc_add(&s, &a, &b);
        CHECK_OK(tss_pt_add(&r, &A, &B));
        CHECK_OK(tss_pt_mul_base(&e, &s));
        CHECK(tss_pt_eq(&r, &e));
        tss_sc_sub(&s, &a, &b);
        CHECK_OK(tss_pt_sub(&r, &A, &B));
        CHECK_OK(tss_pt_mul_base(&e, &s));
        CHECK(tss_pt_eq(&r, &e));
        tss_sc_mul(&s, &a, &b);
        CHECK_OK(tss_pt_mul(&r, &A, &b));
        CHECK_OK(tss_pt_mul_base(&e, &s));
        CHECK(tss_pt_eq(&r, &e));
        tss_sc_neg(&s, &a);
        tss_pt_neg(&r, &A);
        CHECK_OK(tss_pt_mul_base(&e, &s));
        CHECK(tss_pt_eq(&r, &e));
    }
}

static void infinity_is_an_error(void) {
    tss_point P = rand_point(NULL), Q = rand_point(NULL), nP, r = P;
    tss_pt_neg(&nP, &P);
    CHECK_ERR(tss_pt_add(&r, &P, &nP), TSS_E_CRYPTO);
    CHECK(tss_pt_eq(&r, &P)); /* untouched */
    CHECK_ERR(tss_pt_sub(&r, &Q, &Q), TSS_E_CRYPTO);
    tss_point three[3];
    three[0] = P;
    three[1] = Q;
    CHECK_OK(tss_pt_add(&three[2], &P, &Q));
    tss_pt_neg(&three[2], &three[2]);
    CHECK_ERR(tss_pt_sum(&r, three, 3), TSS_E_CRYPTO);
    CHECK_OK(tss_pt_sum(&r, three, 2));
    CHECK_ERR(tss_pt_sum(&r, three, 0), TSS_E_USAGE);
    CHECK_ERR(tss_pt_sum(&r, three, TSS_PT_SUM_MAX + 1), TSS_E_TOO_LARGE);
}

static void linear_combination_and_polynomial_evaluation(void) {
    enum { T = 5 };
    tss_scalar a[T], k[T];
    tss_point F[T], r, e;
    for (int i = 0; i < T; i++) {
        F[i] = rand_point(&a[i]);
        CHECK_OK(tss_sc_random(&k[i]));
    }
    /* sum k_i*F_i = (sum k_i*a_i)*G */
    tss_scalar acc, t;
    tss_sc_set_zero(&acc);
    for (int i = 0; i < T; i++) {
        tss_sc_mul(&t, &k[i], &a[i]);
        tss_sc_add(&acc, &acc, &t);
    }
    CHECK_OK(tss_pt_lincomb_var(&r, k, F, T));
    CHECK_OK(tss_pt_mul_base(&e, &acc));
    CHECK(tss_pt_eq(&r, &e));
    /* Zero scalars are skipped; all zero is infinity. */
    tss_sc_set_zero(&k[1]);
    tss_sc_set_zero(&k[3]);
    tss_sc_set_zero(&acc);
    for (int i = 0; i < T; i++) {
        tss_sc_mul(&t, &k[i], &a[i]);
        tss_sc_add(&acc, &acc, &t);
    }
    CHECK_OK(tss_pt_lincomb_var(&r, k, F, T));
    CHECK_OK(tss_pt_mul_base(&e, &acc));
    CHECK(tss_pt_eq(&r, &e));
    tss_scalar zeros[T];
    for (int i = 0; i < T; i++) tss_sc_set_zero(&zeros[i]);
    CHECK_ERR(tss_pt_lincomb_var(&r, zeros, F, T), TSS_E_CRYPTO);
    /* Cancellation among the terms is fine as long as the total is not infinity. */
    tss_point canc[3];
    tss_scalar ones[3];
    canc[0] = F[0];
    tss_pt_neg(&canc[1], &F[0]);
    canc[2] = F[1];
    for (int i = 0; i < 3; i++) tss_sc_set_one(&ones[i]);
    CHECK_OK(tss_pt_lincomb_var(&r, ones, canc, 3));
    CHECK(tss_pt_eq(&r, &F[1]));
    CHECK_ERR(tss_pt_lincomb_var(&r, ones, canc, 2), TSS_E_CRYPTO);
    CHECK_ERR(tss_pt_lincomb_var(&r, ones, canc, TSS_PT_SUM_MAX + 1), TSS_E_TOO_LARGE);

    /* Feldman: sum_k x^k F_k = f(x)*G. */
    for (uint32_t x = 1; x <= 4; x++) {
        tss_scalar xs, fx;
        tss_sc_set_u64(&xs, x);
        tss_sc_set_zero(&fx);
        for (int i = T - 1; i >= 0; i--) { /* Horner */
            tss_sc_mul(&fx, &fx, &xs);
            tss_sc_add(&fx, &fx, &a[i]);
        }
        CHECK_OK(tss_pt_poly_eval_var(&r, F, T, x));
        CHECK_OK(tss_pt_mul_base(&e, &fx));
        CHECK(tss_pt_eq(&r, &e));
    }
    CHECK_ERR(tss_pt_poly_eval_var(&r, F, T, 0), TSS_E_USAGE);
    CHECK_ERR(tss_pt_poly_eval_var(&r, F, 0, 1), TSS_E_USAGE);
}

static void decoding_is_validation(void) {
    tss_point p, q = rand_point(NULL), keep;
    uint8_t enc[33], bad[33];
    tss_pt_encode(enc, &q);
    CHECK(enc[0] == 0x02 || enc[0] == 0x03);
    CHECK_OK(tss_pt_decode(&p, enc, "p"));
    CHECK(tss_pt_eq(&p, &q));
    keep = p;
    /* Prefixes other than 02/03 (uncompressed/hybrid tags, zero). */
    const uint8_t prefixes[] = {0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0xff};
    for (size_t i = 0; i < sizeof prefixes; i++) {
        memcpy(bad, enc, 33);
        bad[0] = prefixes[i];
        CHECK_ERR(tss_pt_decode(&p, bad, "p"), TSS_E_INVALID);
    }
    CHECK(tss_pt_eq(&p, &keep)); /* untouched on failure */
    /* x = field prime p (not reduced) and x = 2^256-1. */
    static const uint8_t fp[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                   0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                   0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFC, 0x2F};
    bad[0] = 0x02;
    memcpy(bad + 1, fp, 32);
    CHECK_ERR(tss_pt_decode(&p, bad, "p"), TSS_E_INVALID);
    memset(bad + 1, 0xff, 32);
    CHECK_ERR(tss_pt_decode(&p, bad, "p"), TSS_E_INVALID);
    /* x with no curve point: x^3 + 7 a non-residue (x = 5 is one). */
    memset(bad + 1, 0, 32);
    bad[32] = 5;
    CHECK_ERR(tss_pt_decode(&p, bad, "p"), TSS_E_INVALID);
    bad[32] = 1; /* 1 + 7 = 8 is a square: (1, sqrt 8) is on the curve */
    CHECK_OK(tss_pt_decode(&p, bad, "p"));
    memset(bad, 0, 33);
    CHECK_ERR(tss_pt_decode(&p, bad, "all zero"), TSS_E_INVALID);
    CHECK(strstr(tss_error_detail(), "all zero") != NULL);
}

static void reader_and_writer_forms(void) {
    tss_point a = rand_point(NULL), b = rand_point(NULL), x, y;
    tss_writer w;
    tss_writer_init(&w, 1000);
    tss_pt_write(&w, &a);
    tss_pt_write(&w, &b);
    CHECK_OK(tss_writer_status(&w, "w"));
    CHECK(w.len == 66);
    tss_reader rd;
    tss_reader_init(&rd, w.data, w.len);
    CHECK_OK(tss_pt_read(&rd, &x, "x"));
    CHECK_OK(tss_pt_read(&rd, &y, "y"));
    CHECK_OK(tss_reader_finish(&rd, "r"));
    CHECK(tss_pt_eq(&x, &a) && tss_pt_eq(&y, &b));
    /* Truncated. */
    tss_reader_init(&rd, w.data, 40);
    CHECK_OK(tss_pt_read(&rd, &x, "x"));
    CHECK_ERR(tss_pt_read(&rd, &y, "y"), TSS_E_TRUNCATED);
    /* An invalid point poisons the reader (sticky). */
    w.data[33] = 0x04;
    tss_reader_init(&rd, w.data, w.len);
    CHECK_OK(tss_pt_read(&rd, &x, "x"));
    CHECK_ERR(tss_pt_read(&rd, &y, "y"), TSS_E_INVALID);
    CHECK_ERR(tss_reader_finish(&rd, "r"), TSS_E_INVALID);
    tss_writer_free(&w);
}

/* Constant-time multiplication (ECDH ladder) agrees with the variable-time
 * one, and mul_matches compares without parsing the product. */
static void constant_time_multiplication(void) {
    for (int i = 0; i < 50; i++) {
        tss_scalar a, k;
        tss_point P, ct, var, other;
        CHECK_OK(tss_sc_random_nonzero(&a));
        CHECK_OK(tss_sc_random_nonzero(&k));
        CHECK_OK(tss_pt_mul_base(&P, &a));
        CHECK_OK(tss_pt_mul(&ct, &P, &k));
        CHECK_OK(tss_pt_mul_var(&var, &P, &k));
        CHECK(tss_pt_eq(&ct, &var));
        CHECK(tss_pt_mul_matches(&P, &k, &var));
        tss_pt_generator(&other);
        CHECK(!tss_pt_mul_matches(&P, &k, &other));
        tss_pt_neg(&other, &var);
        CHECK(!tss_pt_mul_matches(&P, &k, &other)); /* same x, other y */
    }
    tss_scalar zero;
    tss_point G;
    tss_sc_set_zero(&zero);
    tss_pt_generator(&G);
    CHECK(!tss_pt_mul_matches(&G, &zero, &G));
    CHECK_ERR(tss_pt_mul(&G, &G, &zero), TSS_E_CRYPTO);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    CHECK(tss_pt_context() != NULL);
    RUN(generator_and_base_multiplication);
    RUN(group_law_matches_scalar_arithmetic);
    RUN(infinity_is_an_error);
    RUN(linear_combination_and_polynomial_evaluation);
    RUN(decoding_is_validation);
    RUN(reader_and_writer_forms);
    RUN(constant_time_multiplication);
    return harness_finish("mpc_point");
}
