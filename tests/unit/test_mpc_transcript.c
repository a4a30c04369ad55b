/* mpc/transcript: framing known answers, domain separation, commitments. */
#include <string.h>

#include <sodium.h>

#include "mpc/transcript.h"
#include "tests/unit/harness.h"
#include "util/secmem.h"

static const uint8_t SID[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* Reference: SHA-256 of the explicitly framed byte string. */
static void field(crypto_hash_sha256_state *st, const void *p, uint32_t n) {
    uint8_t pre[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    crypto_hash_sha256_update(st, pre, 4);
    crypto_hash_sha256_update(st, p, n);
}

static void framing_known_answer(void) {
    uint8_t got[32], want[32];
    tss_transcript t;
    tss_tr_init(&t, "purpose");
    tss_tr_append(&t, "abc", 3);
    tss_tr_append_u32(&t, 0x01020304);
    tss_tr_append(&t, NULL, 0);
    tss_tr_final(&t, got);

    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    field(&st, "tssd/dkls23/v1", 14);
    field(&st, "purpose", 7);
    field(&st, "abc", 3);
    field(&st, "\x01\x02\x03\x04", 4);
    field(&st, "", 0);
    crypto_hash_sha256_final(&st, want);
    CHECK(memcmp(got, want, 32) == 0);

    /* bind = field(sid) || field(sender) || field(receiver). */
    tss_tr_init(&t, "p");
    tss_tr_bind(&t, SID, 7, 9);
    tss_tr_final(&t, got);
    crypto_hash_sha256_init(&st);
    field(&st, "tssd/dkls23/v1", 14);
    field(&st, "p", 1);
    field(&st, SID, 32);
    field(&st, "\0\0\0\x07", 4);
    field(&st, "\0\0\0\x09", 4);
    crypto_hash_sha256_final(&st, want);
    CHECK(memcmp(got, want, 32) == 0);
}

static void domain_separation(void) {
    uint8_t a[32], b[32];
    tss_transcript t;
    /* Field boundaries matter. */
    tss_tr_init(&t, "p");
    tss_tr_append(&t, "ab", 2);
    tss_tr_append(&t, "c", 1);
    tss_tr_final(&t, a);
    tss_tr_init(&t, "p");
    tss_tr_append(&t, "a", 1);
    tss_tr_append(&t, "bc", 2);
    tss_tr_final(&t, b);
    CHECK(memcmp(a, b, 32) != 0);
    /* Purpose matters. */
    tss_tr_init(&t, "p1");
    tss_tr_final(&t, a);
    tss_tr_init(&t, "p2");
    tss_tr_final(&t, b);
    CHECK(memcmp(a, b, 32) != 0);
    /* Direction matters. */
    tss_tr_init(&t, "p");
    tss_tr_bind(&t, SID, 1, 2);
    tss_tr_final(&t, a);
    tss_tr_init(&t, "p");
    tss_tr_bind(&t, SID, 2, 1);
    tss_tr_final(&t, b);
    CHECK(memcmp(a, b, 32) != 0);
}

static void hash_to_scalar_is_wide(void) {
    tss_transcript t, t2;
    tss_scalar s, want;
    tss_tr_init(&t, "hs");
    tss_tr_append(&t, "x", 1);
    t2 = t;
    tss_tr_final_scalar(&t, &s);
    /* = from_wide(H(..||field(00)) || H(..||field(01))) */
    uint8_t wide[64];
    tss_transcript a = t2, b = t2;
    tss_tr_append(&a, "\x00", 1);
    tss_tr_append(&b, "\x01", 1);
    tss_tr_final(&a, wide);
    tss_tr_final(&b, wide + 32);
    tss_sc_from_wide(&want, wide);
    CHECK(tss_sc_eq(&s, &want));
    /* Not just the first half reduced. */
    tss_scalar narrow;
    tss_sc_from_bytes_reduce(&narrow, wide);
    CHECK(!tss_sc_eq(&s, &narrow));
}

static void hash_to_curve_is_try_and_increment(void) {
    tss_transcript t, ref;
    tss_point p, q;
    tss_tr_init(&t, "h2c");
    tss_tr_append(&t, "input", 5);
    ref = t;
    CHECK_OK(tss_tr_final_point_var(&t, &p));
    /* Recompute: first counter whose 0x02||H parses. */
    uint8_t enc[33], got[33];
    enc[0] = 0x02;
    int found = -1;
    for (uint32_t c = 0; c < 64 && found < 0; c++) {
        tss_transcript tc = ref;
        tss_tr_append_u32(&tc, c);
        tss_tr_final(&tc, enc + 1);
        if (tss_is_ok(tss_pt_decode(&q, enc, "c"))) found = (int)c;
    }
    CHECK(found >= 0);
    tss_pt_encode(got, &p);
    CHECK(memcmp(got, enc, 33) == 0);
    /* Deterministic, input-sensitive, and many inputs need more than one try. */
    int retries = 0;
    for (int i = 0; i < 64; i++) {
        tss_tr_init(&t, "h2c");
        tss_tr_append_u32(&t, (uint32_t)i);
        CHECK_OK(tss_tr_final_point_var(&t, &q));
        tss_pt_encode(got, &q);
        CHECK(got[0] == 0x02);
        tss_tr_init(&t, "h2c");
        tss_tr_append_u32(&t, (uint32_t)i);
        uint8_t first[32];
        tss_transcript tc = t;
        tss_tr_append_u32(&tc, 0);
        tss_tr_final(&tc, first);
        retries += memcmp(first, got + 1, 32) != 0;
        CHECK(!tss_pt_eq(&p, &q));
    }
    CHECK(retries > 0);
}

static void commitments_bind_everything(void) {
    uint8_t c[32], salt[32], salt2[32], c2[32], sid2[32];
    const char *msg = "coefficients";
    tss_tr_commit_new(c, salt, "dkg/F", SID, 3, msg, strlen(msg));
    CHECK_OK(tss_tr_commit_open(c, "dkg/F", SID, 3, salt, msg, strlen(msg)));
    tss_tr_commit(c2, "dkg/F", SID, 3, salt, msg, strlen(msg));
    CHECK(memcmp(c, c2, 32) == 0);
    /* A fresh salt each time: equal messages give unlinkable commitments. */
    tss_tr_commit_new(c2, salt2, "dkg/F", SID, 3, msg, strlen(msg));
    CHECK(memcmp(salt, salt2, 32) != 0 && memcmp(c, c2, 32) != 0);

    CHECK_ERR(tss_tr_commit_open(c, "dkg/F", SID, 3, salt, "coefficientz", 12), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "party 3") != NULL);
    CHECK_ERR(tss_tr_commit_open(c, "dkg/F", SID, 3, salt, msg, strlen(msg) - 1), TSS_E_PROTOCOL);
    salt2[0] = salt[0] ^ 1;
    memcpy(salt2 + 1, salt + 1, 31);
    CHECK_ERR(tss_tr_commit_open(c, "dkg/F", SID, 3, salt2, msg, strlen(msg)), TSS_E_PROTOCOL);
    CHECK_ERR(tss_tr_commit_open(c, "dkg/F", SID, 4, salt, msg, strlen(msg)), TSS_E_PROTOCOL);
    CHECK_ERR(tss_tr_commit_open(c, "dkg/chain", SID, 3, salt, msg, strlen(msg)), TSS_E_PROTOCOL);
    memcpy(sid2, SID, 32);
    sid2[31] ^= 0x80;
    CHECK_ERR(tss_tr_commit_open(c, "dkg/F", sid2, 3, salt, msg, strlen(msg)), TSS_E_PROTOCOL);
    memcpy(c2, c, 32);
    c2[31] ^= 1;
    CHECK_ERR(tss_tr_commit_open(c2, "dkg/F", SID, 3, salt, msg, strlen(msg)), TSS_E_PROTOCOL);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    RUN(framing_known_answer);
    RUN(domain_separation);
    RUN(hash_to_scalar_is_wide);
    RUN(hash_to_curve_is_try_and_increment);
    RUN(commitments_bind_everything);
    return harness_finish("mpc_transcript");
}
