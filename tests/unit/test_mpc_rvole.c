/* mpc/rvole: DKLS23 forced-reuse RVOLE. c + d = a * b for both inputs, a
 * cheating sender is caught by the receiver, a cheating receiver by the OT
 * extension, strict decoding, sid separation. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpc/ote.h"
#include "mpc/rvole.h"
#include "mpc/scalar.h"
#include "tests/unit/harness.h"
#include "util/secmem.h"

typedef struct {
    tss_ote_receiver_seeds rs;
    tss_ote_sender_seeds ss;
    tss_ote_ctx ctx;
    tss_ote_msg msg1;
    tss_rvole_msg msg2;
    tss_rvole_receiver st;
    tss_scalar a[2], b, c[2], d[2];
} fixture;

static int get_bit(const uint8_t *s, size_t k) { return (s[k / 8] >> (k % 8)) & 1; }

static fixture *new_fixture(uint16_t sender, uint16_t receiver) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) abort();
    randombytes_buf(f->rs.seed, sizeof f->rs.seed);
    randombytes_buf(f->ss.delta, sizeof f->ss.delta);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++)
        memcpy(f->ss.seed[i], f->rs.seed[get_bit(f->ss.delta, i)][i], TSS_OTE_SEED_BYTES);
    uint8_t kg[32], sg[32];
    randombytes_buf(kg, sizeof kg);
    randombytes_buf(sg, sizeof sg);
    CHECK_OK(tss_ote_ctx_init(&f->ctx, kg, sg, sender, receiver));
    CHECK_OK(tss_sc_random(&f->a[0]));
    CHECK_OK(tss_sc_random(&f->a[1]));
    return f;
}

static void free_fixture(fixture *f) {
    tss_wipe(f, sizeof *f);
    free(f);
}

/* c_k + d_k == a_k * b for k = 0, 1 */
static int products_ok(const fixture *f) {
    int ok = 1;
    for (int k = 0; k < 2; k++) {
        tss_scalar sum, prod;
        tss_sc_add(&sum, &f->c[k], &f->d[k]);
        tss_sc_mul(&prod, &f->a[k], &f->b);
        ok &= tss_sc_eq(&sum, &prod);
    }
    return ok;
}

static void round1_2(fixture *f) {
    CHECK_OK(tss_rvole_receiver_start(&f->st, &f->ctx, &f->rs, &f->msg1, &f->b));
    CHECK_OK(tss_rvole_sender_reply(&f->ctx, &f->ss, &f->msg1, f->a, &f->msg2, f->c));
}

static void shares_multiply_over_many_runs(void) {
    fixture *f = new_fixture(3, 1);
    for (int run = 0; run < 24; run++) {
        if (run == 1) tss_sc_set_zero(&f->a[0]);
        if (run == 2) {
            tss_sc_set_one(&f->a[0]);
            tss_sc_neg(&f->a[1], &f->a[0]); /* n - 1 */
        }
        if (run == 3) f->a[1] = f->a[0];
        if (run >= 4) {
            CHECK_OK(tss_sc_random(&f->a[0]));
            CHECK_OK(tss_sc_random(&f->a[1]));
        }
        round1_2(f);
        CHECK_OK(tss_rvole_receiver_finish(&f->st, &f->msg2, f->d));
        CHECK(products_ok(f));
        CHECK(!tss_sc_is_zero(&f->b));
    }
    free_fixture(f);
}

static void b_is_the_gadget_encoding_of_beta(void) {
    fixture *f = new_fixture(1, 2);
    CHECK_OK(tss_rvole_receiver_start(&f->st, &f->ctx, &f->rs, &f->msg1, &f->b));
    tss_scalar g[TSS_OTE_XI], want;
    tss_rvole_gadget(g, &f->ctx);
    tss_sc_set_zero(&want);
    for (size_t j = 0; j < TSS_OTE_XI; j++)
        if (get_bit(f->st.beta, j)) tss_sc_add(&want, &want, &g[j]);
    CHECK(tss_sc_eq(&want, &f->b));
    /* The gadget vector is a function of the run. */
    tss_scalar g2[TSS_OTE_XI];
    tss_rvole_gadget(g2, &f->ctx);
    CHECK(memcmp(g, g2, sizeof g) == 0);
    tss_rvole_receiver_wipe(&f->st);
    free_fixture(f);
}

static void message_round_trips_and_decoder_is_strict(void) {
    fixture *f = new_fixture(1, 2);
    round1_2(f);
    tss_writer w;
    tss_writer_init(&w, 1 << 20);
    tss_rvole_msg_write(&w, &f->msg2);
    CHECK_OK(tss_writer_status(&w, "rvole"));
    CHECK(w.len == TSS_RVOLE_WIRE_BYTES);
    tss_rvole_msg *m = calloc(1, sizeof *m);
    CHECK_OK(tss_rvole_msg_decode(m, w.data, w.len));
    CHECK(memcmp(m, &f->msg2, sizeof *m) == 0);
    CHECK_OK(tss_rvole_receiver_finish(&f->st, m, f->d));
    CHECK(products_ok(f));

    uint8_t *buf = malloc(w.len + 1);
    memcpy(buf, w.data, w.len);
    buf[w.len] = 0;
    CHECK_ERR(tss_rvole_msg_decode(m, buf, w.len - 1), TSS_E_TRUNCATED);
    CHECK_ERR(tss_rvole_msg_decode(m, buf, w.len - TSS_RVOLE_MU_BYTES), TSS_E_TRUNCATED);
    CHECK_ERR(tss_rvole_msg_decode(m, buf, 0), TSS_E_TRUNCATED);
    CHECK_ERR(tss_rvole_msg_decode(m, buf, w.len + 1), TSS_E_TRAILING);
    /* a~ entry >= n */
    memset(buf + 32 * 100, 0xff, 32);
    CHECK_ERR(tss_rvole_msg_decode(m, buf, w.len), TSS_E_INVALID);
    memcpy(buf, w.data, w.len);
    /* eta' >= n: exactly n (secp256k1 order) */
    static const uint8_t n_be[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
                                     0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
                                     0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    memcpy(buf + TSS_OTE_XI * 3 * 32, n_be, 32);
    CHECK_ERR(tss_rvole_msg_decode(m, buf, w.len), TSS_E_INVALID);
    buf[TSS_OTE_XI * 3 * 32 + 31] = 0x40; /* n - 1 is fine */
    CHECK_OK(tss_rvole_msg_decode(m, buf, w.len));
    /* Embedded: the fields reader leaves trailing bytes to the caller. */
    tss_reader r;
    tss_reader_init(&r, buf, w.len + 1);
    tss_rvole_msg_read_fields(&r, m);
    CHECK_OK(tss_reader_status(&r, "embedded"));
    CHECK(tss_reader_remaining(&r) == 1);
    free(buf);
    free(m);
    tss_writer_free(&w);
    free_fixture(f);
}

static void tampered_reply_is_detected(void) {
    /* Any change to a~ after the fact also changes theta: always detected. */
    fixture *f = new_fixture(4, 2);
    for (int which = 0; which < 5; which++) {
        round1_2(f);
        tss_scalar one;
        tss_sc_set_one(&one);
        switch (which) {
        case 0: tss_sc_add(&f->msg2.a_tilde[77][0], &f->msg2.a_tilde[77][0], &one); break;
        case 1: tss_sc_add(&f->msg2.a_tilde[500][1], &f->msg2.a_tilde[500][1], &one); break;
        case 2: tss_sc_add(&f->msg2.a_tilde[3][2], &f->msg2.a_tilde[3][2], &one); break; /* check column */
        case 3: tss_sc_add(&f->msg2.eta, &f->msg2.eta, &one); break;
        case 4: f->msg2.mu[31] ^= 1; break;
        }
        tss_scalar d_before[2];
        CHECK_OK(tss_sc_random(&d_before[0]));
        d_before[1] = d_before[0];
        f->d[0] = d_before[0];
        f->d[1] = d_before[1];
        CHECK_ERR(tss_rvole_receiver_finish(&f->st, &f->msg2, f->d), TSS_E_PROTOCOL);
        CHECK(strstr(tss_error_detail(), "sender party 4") != NULL);
        CHECK(tss_sc_eq(&f->d[0], &d_before[0]) && tss_sc_eq(&f->d[1], &d_before[1]));
        /* The state is gone: no retry with another reply. */
        CHECK_ERR(tss_rvole_receiver_finish(&f->st, &f->msg2, f->d), TSS_E_USAGE);
    }
    free_fixture(f);
}

/* A malicious sender that stays self-consistent: builds the reply like the
 * honest one but with input a_row[k] + delta[k] in row j_bad of column k
 * (k = 2 is the check column, whose input is eta). */
static void malicious_reply(fixture *f, size_t j_bad, const tss_scalar delta[3]) {
    typedef uint8_t ot_msg[TSS_OTE_MSG_BYTES];
    ot_msg *v0 = malloc(sizeof(ot_msg) * TSS_OTE_XI), *v1 = malloc(sizeof(ot_msg) * TSS_OTE_XI);
    CHECK_OK(tss_ote_send(&f->ctx, &f->ss, &f->msg1, v0, v1));
    static tss_scalar a0[TSS_OTE_XI][3], vals[TSS_OTE_XI], g[TSS_OTE_XI];
    tss_scalar eta, in[3], t;
    CHECK_OK(tss_sc_random(&eta));
    in[0] = f->a[0];
    in[1] = f->a[1];
    in[2] = eta;
    for (size_t j = 0; j < TSS_OTE_XI; j++)
        for (size_t k = 0; k < 3; k++) {
            tss_scalar x1;
            tss_sc_from_bytes_reduce(&a0[j][k], v0[j] + 32 * k);
            tss_sc_from_bytes_reduce(&x1, v1[j] + 32 * k);
            tss_sc_sub(&t, &a0[j][k], &x1);
            tss_sc_add(&f->msg2.a_tilde[j][k], &t, &in[k]);
            if (j == j_bad) tss_sc_add(&f->msg2.a_tilde[j][k], &f->msg2.a_tilde[j][k], &delta[k]);
        }
    tss_scalar theta[2];
    tss_rvole_challenges(theta, &f->ctx, &f->msg2);
    f->msg2.eta = eta;
    for (int k = 0; k < 2; k++) {
        tss_sc_mul(&t, &theta[k], &f->a[k]);
        tss_sc_add(&f->msg2.eta, &f->msg2.eta, &t);
    }
    for (size_t j = 0; j < TSS_OTE_XI; j++) {
        tss_sc_mul(&vals[j], &theta[0], &a0[j][0]);
        tss_sc_mul(&t, &theta[1], &a0[j][1]);
        tss_sc_add(&vals[j], &vals[j], &t);
        tss_sc_add(&vals[j], &vals[j], &a0[j][2]);
    }
    tss_rvole_mu(f->msg2.mu, &f->ctx, vals);
    /* The honest sender's shares for the honest inputs. */
    tss_rvole_gadget(g, &f->ctx);
    for (int k = 0; k < 2; k++) {
        tss_sc_set_zero(&f->c[k]);
        for (size_t j = 0; j < TSS_OTE_XI; j++) {
            tss_sc_mul(&t, &g[j], &a0[j][k]);
            tss_sc_sub(&f->c[k], &f->c[k], &t);
        }
    }
    free(v0);
    free(v1);
}

static size_t row_with_beta(const fixture *f, int bit) {
    for (size_t j = 0; j < TSS_OTE_XI; j++)
        if (get_bit(f->st.beta, j) == bit) return j;
    abort();
}

static void inconsistent_sender_inputs_are_detected(void) {
    fixture *f = new_fixture(2, 3);
    tss_scalar zero, one, delta[3];
    tss_sc_set_zero(&zero);
    tss_sc_set_one(&one);

    /* The forger is honest when delta = 0. */
    CHECK_OK(tss_rvole_receiver_start(&f->st, &f->ctx, &f->rs, &f->msg1, &f->b));
    delta[0] = delta[1] = delta[2] = zero;
    malicious_reply(f, 0, delta);
    CHECK_OK(tss_rvole_receiver_finish(&f->st, &f->msg2, f->d));
    CHECK(products_ok(f));

    for (int k = 0; k < 3; k++) {
        /* A different input in one row where beta_j = 1: caught. */
        CHECK_OK(tss_rvole_receiver_start(&f->st, &f->ctx, &f->rs, &f->msg1, &f->b));
        delta[0] = delta[1] = delta[2] = zero;
        delta[k] = one;
        malicious_reply(f, row_with_beta(f, 1), delta);
        CHECK_ERR(tss_rvole_receiver_finish(&f->st, &f->msg2, f->d), TSS_E_PROTOCOL);

        /* Where beta_j = 0 the row does not reach the output: accepted and
         * still correct (pass/fail reveals that beta bit, hence the ban). */
        CHECK_OK(tss_rvole_receiver_start(&f->st, &f->ctx, &f->rs, &f->msg1, &f->b));
        malicious_reply(f, row_with_beta(f, 0), delta);
        CHECK_OK(tss_rvole_receiver_finish(&f->st, &f->msg2, f->d));
        CHECK(products_ok(f));
    }
    free_fixture(f);
}

static void cheating_receiver_is_caught_by_the_sender(void) {
    fixture *f = new_fixture(5, 6);
    CHECK_OK(tss_rvole_receiver_start(&f->st, &f->ctx, &f->rs, &f->msg1, &f->b));
    f->msg1.t[9][0] ^= 4;
    tss_scalar c_before = f->c[0];
    CHECK_ERR(tss_rvole_sender_reply(&f->ctx, &f->ss, &f->msg1, f->a, &f->msg2, f->c),
              TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "receiver party 6") != NULL);
    CHECK(tss_sc_eq(&c_before, &f->c[0]));
    tss_rvole_receiver_wipe(&f->st);
    free_fixture(f);
}

static void finish_requires_start(void) {
    fixture *f = new_fixture(1, 2);
    CHECK_ERR(tss_rvole_receiver_finish(&f->st, &f->msg2, f->d), TSS_E_USAGE);
    free_fixture(f);
}

static void different_sids_give_unrelated_outputs(void) {
    fixture *f = new_fixture(1, 2), *g = new_fixture(1, 2);
    g->rs = f->rs;
    g->ss = f->ss;
    g->a[0] = f->a[0];
    g->a[1] = f->a[1];
    round1_2(f);
    round1_2(g);
    CHECK(!tss_sc_eq(&f->b, &g->b));
    CHECK(!tss_sc_eq(&f->c[0], &g->c[0]));
    static tss_scalar g1[TSS_OTE_XI], g2[TSS_OTE_XI];
    tss_rvole_gadget(g1, &f->ctx);
    tss_rvole_gadget(g2, &g->ctx);
    int same = 0;
    for (size_t j = 0; j < TSS_OTE_XI; j++) same |= tss_sc_eq(&g1[j], &g2[j]);
    CHECK(!same);
    /* A reply from another run is rejected. */
    tss_rvole_msg *m = malloc(sizeof *m);
    memcpy(m, &g->msg2, sizeof *m);
    CHECK_ERR(tss_rvole_receiver_finish(&f->st, m, f->d), TSS_E_PROTOCOL);
    CHECK_OK(tss_rvole_receiver_finish(&g->st, &g->msg2, g->d));
    CHECK(products_ok(g));
    free(m);
    free_fixture(f);
    free_fixture(g);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    RUN(shares_multiply_over_many_runs);
    RUN(b_is_the_gadget_encoding_of_beta);
    RUN(message_round_trips_and_decoder_is_strict);
    RUN(tampered_reply_is_detected);
    RUN(inconsistent_sender_inputs_are_detected);
    RUN(cheating_receiver_is_caught_by_the_sender);
    RUN(finish_requires_start);
    RUN(different_sids_give_unrelated_outputs);
    return harness_finish("mpc_rvole");
}
