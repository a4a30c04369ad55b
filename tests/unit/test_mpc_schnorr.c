/* mpc/schnorr: completeness, binding of the challenge, strict decoding. */
#include <string.h>

#include "mpc/schnorr.h"
#include "tests/unit/harness.h"
#include "util/secmem.h"

static uint8_t SID[32];

static void keypair(tss_scalar *x, tss_point *X) {
    CHECK_OK(tss_sc_random_nonzero(x));
    CHECK_OK(tss_pt_mul_base(X, x));
}

static void prove_and_verify(void) {
    for (int i = 0; i < 20; i++) {
        tss_scalar x;
        tss_point X;
        tss_schnorr_proof p, q;
        keypair(&x, &X);
        CHECK_OK(tss_schnorr_prove(&p, SID, 2, &x, &X, "coef", 4));
        CHECK_OK(tss_schnorr_verify(&p, SID, 2, &X, "coef", 4));
        uint8_t enc[TSS_SCHNORR_BYTES];
        tss_schnorr_encode(enc, &p);
        CHECK_OK(tss_schnorr_decode(&q, enc, sizeof enc));
        CHECK_OK(tss_schnorr_verify(&q, SID, 2, &X, "coef", 4));
        CHECK(tss_pt_eq(&p.R, &q.R) && tss_sc_eq(&p.z, &q.z));
    }
    tss_scalar x;
    tss_point X;
    tss_schnorr_proof p;
    keypair(&x, &X);
    CHECK_OK(tss_schnorr_prove(&p, SID, 1, &x, &X, NULL, 0));
    CHECK_OK(tss_schnorr_verify(&p, SID, 1, &X, NULL, 0));
}

static void verification_binds_statement_and_context(void) {
    tss_scalar x, y;
    tss_point X, Y;
    tss_schnorr_proof p, bad;
    keypair(&x, &X);
    keypair(&y, &Y);
    CHECK_OK(tss_schnorr_prove(&p, SID, 2, &x, &X, "k=1", 3));
    uint8_t sid2[32];
    memcpy(sid2, SID, 32);
    sid2[0] ^= 1;
    CHECK_ERR(tss_schnorr_verify(&p, sid2, 2, &X, "k=1", 3), TSS_E_PROTOCOL); /* replay */
    CHECK_ERR(tss_schnorr_verify(&p, SID, 3, &X, "k=1", 3), TSS_E_PROTOCOL);  /* copied */
    CHECK(strstr(tss_error_detail(), "party 3") != NULL);
    CHECK_ERR(tss_schnorr_verify(&p, SID, 2, &Y, "k=1", 3), TSS_E_PROTOCOL);  /* other X */
    CHECK_ERR(tss_schnorr_verify(&p, SID, 2, &X, "k=2", 3), TSS_E_PROTOCOL);  /* other aux */
    CHECK_ERR(tss_schnorr_verify(&p, SID, 2, &X, NULL, 0), TSS_E_PROTOCOL);
    bad = p;
    tss_scalar one;
    tss_sc_set_one(&one);
    tss_sc_add(&bad.z, &bad.z, &one);
    CHECK_ERR(tss_schnorr_verify(&bad, SID, 2, &X, "k=1", 3), TSS_E_PROTOCOL);
    bad = p;
    tss_point g;
    tss_pt_generator(&g);
    CHECK_OK(tss_pt_add(&bad.R, &bad.R, &g));
    CHECK_ERR(tss_schnorr_verify(&bad, SID, 2, &X, "k=1", 3), TSS_E_PROTOCOL);
    bad = p;
    tss_sc_set_zero(&bad.z); /* z*G would be infinity */
    CHECK_ERR(tss_schnorr_verify(&bad, SID, 2, &X, "k=1", 3), TSS_E_PROTOCOL);
    /* A proof for R = z*G - e*X needs e before R: picking z and R freely fails. */
    bad.R = X;
    tss_sc_set_u64(&bad.z, 12345);
    CHECK_ERR(tss_schnorr_verify(&bad, SID, 2, &X, "k=1", 3), TSS_E_PROTOCOL);
}

static void prover_misuse_is_rejected(void) {
    tss_scalar x, y;
    tss_point X, Y;
    tss_schnorr_proof p;
    keypair(&x, &X);
    keypair(&y, &Y);
    CHECK_ERR(tss_schnorr_prove(&p, SID, 2, &x, &Y, NULL, 0), TSS_E_USAGE);
    tss_scalar zero;
    tss_sc_set_zero(&zero);
    CHECK_ERR(tss_schnorr_prove(&p, SID, 2, &zero, &X, NULL, 0), TSS_E_CRYPTO);
    static uint8_t big[TSS_SCHNORR_AUX_MAX + 1];
    CHECK_ERR(tss_schnorr_prove(&p, SID, 2, &x, &X, big, sizeof big), TSS_E_TOO_LARGE);
    CHECK_OK(tss_schnorr_prove(&p, SID, 2, &x, &X, big, sizeof big - 1));
    CHECK_ERR(tss_schnorr_verify(&p, SID, 2, &X, big, sizeof big), TSS_E_TOO_LARGE);
    CHECK_ERR(tss_schnorr_prove(&p, SID, 2, &x, &X, NULL, 3), TSS_E_USAGE);
}

static void decoding_is_strict(void) {
    tss_scalar x;
    tss_point X;
    tss_schnorr_proof p, q;
    keypair(&x, &X);
    CHECK_OK(tss_schnorr_prove(&p, SID, 2, &x, &X, NULL, 0));
    uint8_t enc[TSS_SCHNORR_BYTES + 1], bad[TSS_SCHNORR_BYTES];
    tss_schnorr_encode(enc, &p);
    enc[TSS_SCHNORR_BYTES] = 0;
    CHECK_ERR(tss_schnorr_decode(&q, enc, TSS_SCHNORR_BYTES + 1), TSS_E_TRAILING);
    CHECK_ERR(tss_schnorr_decode(&q, enc, TSS_SCHNORR_BYTES - 1), TSS_E_TRUNCATED);
    CHECK_ERR(tss_schnorr_decode(&q, enc, 10), TSS_E_TRUNCATED);
    CHECK_ERR(tss_schnorr_decode(&q, NULL, 0), TSS_E_TRUNCATED);
    memcpy(bad, enc, sizeof bad);
    bad[0] = 0x04;
    CHECK_ERR(tss_schnorr_decode(&q, bad, sizeof bad), TSS_E_INVALID);
    /* z = n (non-canonical alias of 0) and z = 2^256-1. */
    static const uint8_t n[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                  0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48,
                                  0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};
    memcpy(bad, enc, sizeof bad);
    memcpy(bad + 33, n, 32);
    CHECK_ERR(tss_schnorr_decode(&q, bad, sizeof bad), TSS_E_INVALID);
    memset(bad + 33, 0xff, 32);
    CHECK_ERR(tss_schnorr_decode(&q, bad, sizeof bad), TSS_E_INVALID);
    /* The reader form inside a larger message leaves trailing data to the caller,
     * and a bad z poisons the reader. */
    tss_reader rd;
    tss_reader_init(&rd, enc, sizeof enc);
    CHECK_OK(tss_schnorr_read(&rd, &q));
    CHECK(tss_reader_remaining(&rd) == 1);
    tss_reader_init(&rd, bad, sizeof bad);
    CHECK_ERR(tss_schnorr_read(&rd, &q), TSS_E_INVALID);
    CHECK_ERR(tss_reader_status(&rd, "r"), TSS_E_INVALID);
    tss_writer w;
    tss_writer_init(&w, 100);
    tss_schnorr_write(&w, &p);
    CHECK(w.len == TSS_SCHNORR_BYTES && memcmp(w.data, enc, TSS_SCHNORR_BYTES) == 0);
    tss_writer_free(&w);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    for (int i = 0; i < 32; i++) SID[i] = (uint8_t)(0xA0 + i);
    RUN(prove_and_verify);
    RUN(verification_binds_statement_and_context);
    RUN(prover_misuse_is_rejected);
    RUN(decoding_is_strict);
    return harness_finish("mpc_schnorr");
}
