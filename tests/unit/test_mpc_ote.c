/* mpc/ote: KOS OT extension. Correctness of every extended OT, the consistency
 * check against cheating receivers, message decoding, sid binding. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpc/gf128.h"
#include "mpc/ote.h"
#include "mpc/ote_transpose.h"
#include "mpc/prg.h"
#include "tests/unit/harness.h"
#include "util/secmem.h"

typedef uint8_t ot_msg[TSS_OTE_MSG_BYTES];

/* Correlated base-OT outputs, as the base OT would leave them. */
typedef struct {
    tss_ote_receiver_seeds rs;
    tss_ote_sender_seeds ss;
    tss_ote_ctx ctx;
    tss_ote_msg msg;
    ot_msg out[TSS_OTE_XI], v0[TSS_OTE_XI], v1[TSS_OTE_XI];
    uint8_t choices[TSS_OTE_XI_BYTES];
} fixture;

static int get_bit(const uint8_t *s, size_t k) { return (s[k / 8] >> (k % 8)) & 1; }
static void flip_bit(uint8_t *s, size_t k) { s[k / 8] ^= (uint8_t)(1u << (k % 8)); }

static void make_seeds(tss_ote_receiver_seeds *rs, tss_ote_sender_seeds *ss) {
    randombytes_buf(rs->seed, sizeof rs->seed);
    randombytes_buf(ss->delta, sizeof ss->delta);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++)
        memcpy(ss->seed[i], rs->seed[get_bit(ss->delta, i)][i], TSS_OTE_SEED_BYTES);
}

static void make_ctx(tss_ote_ctx *ctx, uint16_t sender, uint16_t receiver) {
    uint8_t kg[32], sg[32];
    randombytes_buf(kg, sizeof kg);
    randombytes_buf(sg, sizeof sg);
    CHECK_OK(tss_ote_ctx_init(ctx, kg, sg, sender, receiver));
}

static fixture *new_fixture(void) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) abort();
    make_seeds(&f->rs, &f->ss);
    make_ctx(&f->ctx, 1, 2);
    randombytes_buf(f->choices, sizeof f->choices);
    return f;
}

/* Every OT: the receiver got the sender's message for its choice, not the other. */
static int outputs_consistent(const fixture *f, const uint8_t *choices) {
    int ok = 1;
    for (size_t j = 0; j < TSS_OTE_XI; j++) {
        int c = get_bit(choices, j);
        const uint8_t *chosen = c ? f->v1[j] : f->v0[j], *other = c ? f->v0[j] : f->v1[j];
        ok &= memcmp(f->out[j], chosen, TSS_OTE_MSG_BYTES) == 0;
        ok &= memcmp(f->out[j], other, TSS_OTE_MSG_BYTES) != 0;
    }
    return ok;
}

static void extended_ots_are_correct(void) {
    fixture *f = new_fixture();
    for (int run = 0; run < 4; run++) {
        if (run == 1) memset(f->choices, 0, sizeof f->choices);
        if (run == 2) memset(f->choices, 0xff, sizeof f->choices);
        if (run == 3) randombytes_buf(f->choices, sizeof f->choices);
        CHECK_OK(tss_ote_receive(&f->ctx, &f->rs, f->choices, &f->msg, f->out));
        CHECK_OK(tss_ote_send(&f->ctx, &f->ss, &f->msg, f->v0, f->v1));
        CHECK(outputs_consistent(f, f->choices));
    }
    /* Messages of different OTs and both halves of a message are unrelated. */
    CHECK(memcmp(f->v0[0], f->v0[1], TSS_OTE_MSG_BYTES) != 0);
    CHECK(memcmp(f->v0[0], f->v0[0] + 32, 32) != 0);
    free(f);
}

static void message_round_trips_through_the_wire(void) {
    fixture *f = new_fixture();
    CHECK_OK(tss_ote_receive(&f->ctx, &f->rs, f->choices, &f->msg, f->out));
    tss_writer w;
    tss_writer_init(&w, 1 << 20);
    tss_ote_msg_write(&w, &f->msg);
    CHECK_OK(tss_writer_status(&w, "ote"));
    CHECK(w.len == TSS_OTE_WIRE_BYTES);
    tss_ote_msg *back = calloc(1, sizeof *back);
    CHECK_OK(tss_ote_msg_decode(back, w.data, w.len));
    CHECK(memcmp(back, &f->msg, sizeof *back) == 0);
    CHECK_OK(tss_ote_send(&f->ctx, &f->ss, back, f->v0, f->v1));
    CHECK(outputs_consistent(f, f->choices));
    tss_writer_free(&w);
    free(back);
    free(f);
}

static void decoder_rejects_bad_lengths(void) {
    size_t n = TSS_OTE_WIRE_BYTES;
    uint8_t *buf = calloc(1, n + 1);
    tss_ote_msg *m = calloc(1, sizeof *m);
    CHECK_OK(tss_ote_msg_decode(m, buf, n));
    CHECK_ERR(tss_ote_msg_decode(m, buf, n - 1), TSS_E_TRUNCATED);
    CHECK_ERR(tss_ote_msg_decode(m, buf, n - TSS_OTE_KAPPA * TSS_GF128_BYTES), TSS_E_TRUNCATED);
    CHECK_ERR(tss_ote_msg_decode(m, buf, 0), TSS_E_TRUNCATED);
    CHECK_ERR(tss_ote_msg_decode(m, NULL, n), TSS_E_TRUNCATED);
    CHECK_ERR(tss_ote_msg_decode(m, buf, n + 1), TSS_E_TRAILING);
    /* Embedded in a larger structure, the fields reader leaves the rest. */
    tss_reader r;
    tss_reader_init(&r, buf, n + 1);
    tss_ote_msg_read_fields(&r, m);
    CHECK_OK(tss_reader_status(&r, "embedded"));
    CHECK(tss_reader_remaining(&r) == 1);
    free(m);
    free(buf);
}

static void sid_binds_sessions_and_ordered_pair(void) {
    uint8_t kg[32] = {1}, sg[32] = {2}, kg2[32] = {3}, sg2[32] = {4};
    tss_ote_ctx a, b;
    CHECK_OK(tss_ote_ctx_init(&a, kg, sg, 1, 2));
    CHECK_OK(tss_ote_ctx_init(&b, kg, sg, 1, 2));
    CHECK(memcmp(a.sid, b.sid, 32) == 0 && a.sender_id == 1 && a.receiver_id == 2);
    CHECK_OK(tss_ote_ctx_init(&b, kg, sg, 2, 1));
    CHECK(memcmp(a.sid, b.sid, 32) != 0);
    CHECK_OK(tss_ote_ctx_init(&b, kg2, sg, 1, 2));
    CHECK(memcmp(a.sid, b.sid, 32) != 0);
    CHECK_OK(tss_ote_ctx_init(&b, kg, sg2, 1, 2));
    CHECK(memcmp(a.sid, b.sid, 32) != 0);
    /* keygen and sign sids are not interchangeable */
    CHECK_OK(tss_ote_ctx_init(&b, sg, kg, 1, 2));
    CHECK(memcmp(a.sid, b.sid, 32) != 0);
    CHECK_ERR(tss_ote_ctx_init(&b, kg, sg, 3, 3), TSS_E_USAGE);
    CHECK_ERR(tss_ote_ctx_init(&b, kg, sg, 0, 3), TSS_E_USAGE);
    CHECK_ERR(tss_ote_ctx_init(&b, kg, sg, 3, 0), TSS_E_USAGE);
}

static void different_sids_give_unrelated_outputs(void) {
    fixture *f = new_fixture(), *g = new_fixture();
    g->rs = f->rs;
    g->ss = f->ss;
    memcpy(g->choices, f->choices, sizeof f->choices);
    make_ctx(&g->ctx, 1, 2);
    CHECK_OK(tss_ote_receive(&f->ctx, &f->rs, f->choices, &f->msg, f->out));
    CHECK_OK(tss_ote_receive(&g->ctx, &g->rs, g->choices, &g->msg, g->out));
    int same = 0;
    for (size_t j = 0; j < TSS_OTE_XI; j++) same |= memcmp(f->out[j], g->out[j], 32) == 0;
    CHECK(!same);
    CHECK(memcmp(f->msg.u, g->msg.u, sizeof f->msg.u) != 0);
    /* A message of one run is refused by the sender of another (no replay). */
    CHECK_ERR(tss_ote_send(&g->ctx, &g->ss, &f->msg, g->v0, g->v1), TSS_E_PROTOCOL);
    /* ... and the honest pairing works. */
    CHECK_OK(tss_ote_send(&g->ctx, &g->ss, &g->msg, g->v0, g->v1));
    CHECK(outputs_consistent(g, g->choices));
    free(f);
    free(g);
}

static void wrong_base_seeds_fail_the_check(void) {
    fixture *f = new_fixture();
    CHECK_OK(tss_ote_receive(&f->ctx, &f->rs, f->choices, &f->msg, f->out));
    f->ss.seed[17][3] ^= 1; /* the sender's seed 17 no longer matches */
    CHECK_ERR(tss_ote_send(&f->ctx, &f->ss, &f->msg, f->v0, f->v1), TSS_E_PROTOCOL);
    free(f);
}

/* ---- a malicious receiver ----------------------------------------------- */

/* sum_b chi_b y[b] + y[4], written out independently of ote.c. */
static void col_hash(tss_gf128 *r, const tss_gf128 *chi, const uint8_t *y) {
    tss_gf128 acc = {0, 0}, blk, p;
    for (int b = 0; b < 4; b++) {
        tss_gf128_from_bytes(&blk, y + 16 * b);
        tss_gf128_mul_portable(&p, &chi[b], &blk);
        acc.lo ^= p.lo;
        acc.hi ^= p.hi;
    }
    tss_gf128_from_bytes(&blk, y + 64);
    r->lo = acc.lo ^ blk.lo;
    r->hi = acc.hi ^ blk.hi;
}

typedef struct {
    uint8_t x[TSS_OTE_COL_BYTES];                      /* the claimed choice vector */
    uint8_t xcol[TSS_OTE_KAPPA][TSS_OTE_COL_BYTES];    /* vector used in column i */
    uint8_t t[TSS_OTE_KAPPA][TSS_OTE_COL_BYTES];
} forger;

/* Build u from per-column vectors, then x~ and t~ from f->x, as a receiver
 * that deviates would. */
static void forge(fixture *fx, forger *fg) {
    uint8_t nonce[TSS_PRG_NONCE_BYTES], t1[TSS_OTE_COL_BYTES];
    tss_prg_nonce(nonce, "tssd/ote/prg/v1", fx->ctx.sid, 32);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) {
        tss_prg_expand(fg->t[i], TSS_OTE_COL_BYTES, fx->rs.seed[0][i], nonce);
        tss_prg_expand(t1, TSS_OTE_COL_BYTES, fx->rs.seed[1][i], nonce);
        for (size_t k = 0; k < TSS_OTE_COL_BYTES; k++)
            fx->msg.u[i][k] = fg->t[i][k] ^ t1[k] ^ fg->xcol[i][k];
    }
    tss_gf128 chi[4], v;
    tss_ote_challenges(&fx->ctx, &fx->msg, chi);
    col_hash(&v, chi, fg->x);
    tss_gf128_to_bytes(fx->msg.x, &v);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) {
        col_hash(&v, chi, fg->t[i]);
        tss_gf128_to_bytes(fx->msg.t[i], &v);
    }
}

static forger *new_forger(const fixture *fx) {
    forger *fg = calloc(1, sizeof *fg);
    if (!fg) abort();
    memcpy(fg->x, fx->choices, TSS_OTE_XI_BYTES);
    randombytes_buf(fg->x + TSS_OTE_XI_BYTES, TSS_OTE_COL_BYTES - TSS_OTE_XI_BYTES);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) memcpy(fg->xcol[i], fg->x, TSS_OTE_COL_BYTES);
    return fg;
}

static size_t column_with_delta(const fixture *fx, int bit) {
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++)
        if (get_bit(fx->ss.delta, i) == bit) return i;
    abort(); /* a random delta has both kinds of bits except with 2^-255 */
}

static void honest_forger_passes(void) {
    /* Sanity: the forger's formulas are the protocol's. */
    fixture *fx = new_fixture();
    forger *fg = new_forger(fx);
    forge(fx, fg);
    CHECK_OK(tss_ote_send(&fx->ctx, &fx->ss, &fx->msg, fx->v0, fx->v1));
    CHECK_OK(tss_ote_receive(&fx->ctx, &fx->rs, fx->choices, &fx->msg, fx->out));
    CHECK(outputs_consistent(fx, fx->choices));
    free(fg);
    free(fx);
}

static void inconsistent_column_is_detected(void) {
    fixture *fx = new_fixture();
    forger *fg = new_forger(fx);
    /* Column i (Delta_i = 1) claims a different choice bit for OT 100. */
    size_t i = column_with_delta(fx, 1);
    flip_bit(fg->xcol[i], 100);
    forge(fx, fg);
    memset(fx->v0, 0xa5, sizeof fx->v0);
    CHECK_ERR(tss_ote_send(&fx->ctx, &fx->ss, &fx->msg, fx->v0, fx->v1), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "receiver party 2") != NULL);
    CHECK(fx->v0[0][0] == 0xa5 && fx->v0[TSS_OTE_XI - 1][95] == 0xa5); /* untouched */

    /* The same in a padding row. */
    free(fg);
    fg = new_forger(fx);
    flip_bit(fg->xcol[i], TSS_OTE_XI + 5);
    forge(fx, fg);
    CHECK_ERR(tss_ote_send(&fx->ctx, &fx->ss, &fx->msg, fx->v0, fx->v1), TSS_E_PROTOCOL);
    free(fg);
    free(fx);
}

static void selective_failure_leaks_a_delta_bit(void) {
    /* Why failures must ban: the same deviation on a column with Delta_i = 0
     * passes (the sender ignores u_i there), so pass/fail reveals Delta_i. */
    fixture *fx = new_fixture();
    forger *fg = new_forger(fx);
    size_t i = column_with_delta(fx, 0);
    flip_bit(fg->xcol[i], 100);
    forge(fx, fg);
    CHECK_OK(tss_ote_send(&fx->ctx, &fx->ss, &fx->msg, fx->v0, fx->v1));

    /* Guessing Delta_i = 1 instead (t~_i corrected by hash(e_100)) fails
     * exactly when the guess is wrong. */
    tss_gf128 chi[4], e_hash;
    uint8_t e[TSS_OTE_COL_BYTES] = {0};
    flip_bit(e, 100);
    tss_ote_challenges(&fx->ctx, &fx->msg, chi);
    col_hash(&e_hash, chi, e);
    tss_gf128 t;
    tss_gf128_from_bytes(&t, fx->msg.t[i]);
    t.lo ^= e_hash.lo;
    t.hi ^= e_hash.hi;
    tss_gf128_to_bytes(fx->msg.t[i], &t);
    CHECK_ERR(tss_ote_send(&fx->ctx, &fx->ss, &fx->msg, fx->v0, fx->v1), TSS_E_PROTOCOL);

    /* ... and passes when right (Delta_i = 1): one bit learned per gamble. */
    free(fg);
    fg = new_forger(fx);
    i = column_with_delta(fx, 1);
    flip_bit(fg->xcol[i], 100);
    forge(fx, fg);
    tss_ote_challenges(&fx->ctx, &fx->msg, chi);
    col_hash(&e_hash, chi, e);
    tss_gf128_from_bytes(&t, fx->msg.t[i]);
    t.lo ^= e_hash.lo;
    t.hi ^= e_hash.hi;
    tss_gf128_to_bytes(fx->msg.t[i], &t);
    CHECK_OK(tss_ote_send(&fx->ctx, &fx->ss, &fx->msg, fx->v0, fx->v1));
    free(fg);
    free(fx);
}

static void different_choice_bits_in_the_check_are_detected(void) {
    fixture *fx = new_fixture();
    forger *fg = new_forger(fx);
    /* Every column uses x ^ e_7 but the check is computed for x. */
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) flip_bit(fg->xcol[i], 7);
    forge(fx, fg);
    CHECK_ERR(tss_ote_send(&fx->ctx, &fx->ss, &fx->msg, fx->v0, fx->v1), TSS_E_PROTOCOL);

    /* Consistent everywhere: accepted, and OT 7 then has the flipped choice. */
    flip_bit(fg->x, 7);
    forge(fx, fg);
    CHECK_OK(tss_ote_send(&fx->ctx, &fx->ss, &fx->msg, fx->v0, fx->v1));
    uint8_t c = (uint8_t)get_bit(fx->choices, 7);
    flip_bit(fx->choices, 7);
    CHECK_OK(tss_ote_receive(&fx->ctx, &fx->rs, fx->choices, &fx->msg, fx->out));
    CHECK(memcmp(fx->out[7], c ? fx->v0[7] : fx->v1[7], TSS_OTE_MSG_BYTES) == 0);
    free(fg);
    free(fx);
}

static void tampered_check_values_are_detected(void) {
    fixture *fx = new_fixture();
    CHECK_OK(tss_ote_receive(&fx->ctx, &fx->rs, fx->choices, &fx->msg, fx->out));
    tss_ote_msg *orig = malloc(sizeof *orig);
    memcpy(orig, &fx->msg, sizeof *orig);

    fx->msg.x[3] ^= 0x10; /* x~ */
    CHECK_ERR(tss_ote_send(&fx->ctx, &fx->ss, &fx->msg, fx->v0, fx->v1), TSS_E_PROTOCOL);
    memcpy(&fx->msg, orig, sizeof *orig);
    fx->msg.t[200][15] ^= 0x80; /* t~_200 */
    CHECK_ERR(tss_ote_send(&fx->ctx, &fx->ss, &fx->msg, fx->v0, fx->v1), TSS_E_PROTOCOL);
    memcpy(&fx->msg, orig, sizeof *orig);
    fx->msg.u[0][0] ^= 1; /* u changes chi: every check value is stale */
    CHECK_ERR(tss_ote_send(&fx->ctx, &fx->ss, &fx->msg, fx->v0, fx->v1), TSS_E_PROTOCOL);
    memcpy(&fx->msg, orig, sizeof *orig);
    CHECK_OK(tss_ote_send(&fx->ctx, &fx->ss, &fx->msg, fx->v0, fx->v1));
    CHECK(outputs_consistent(fx, fx->choices));
    free(orig);
    free(fx);
}

static void transposes_agree(void) {
    static uint8_t in[TSS_OTE_KAPPA][TSS_OTE_COL_BYTES];
    static uint8_t a[TSS_OTE_ROWS][TSS_OTE_KAPPA_BYTES], b[TSS_OTE_ROWS][TSS_OTE_KAPPA_BYTES];
    randombytes_buf(in, sizeof in);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    tss_ote_transpose(a, (const uint8_t(*)[TSS_OTE_COL_BYTES])in, TSS_OTE_ROWS);
    tss_ote_transpose_portable(b, (const uint8_t(*)[TSS_OTE_COL_BYTES])in, TSS_OTE_ROWS);
    int ok = 1;
    for (size_t r = 0; r < TSS_OTE_ROWS; r++)
        for (size_t c = 0; c < TSS_OTE_KAPPA; c++) {
            int want = get_bit(in[c], r);
            ok &= get_bit(a[r], c) == want;
            ok &= get_bit(b[r], c) == want;
        }
    CHECK(ok);
}

static void prg_many_matches_libsodium(void) {
    static const size_t lens[] = {1, 63, 64, 65, 80, 96, 128, 200};
    static const size_t counts[] = {1, 7, 8, 9, 17, 256};
    static uint8_t keys[256][32], out[256 * 200], want[200];
    uint8_t nonce[12];
    randombytes_buf(keys, sizeof keys);
    tss_prg_nonce(nonce, "test", (const uint8_t *)"sid", 3);
    for (size_t a = 0; a < sizeof lens / sizeof lens[0]; a++)
        for (size_t b = 0; b < sizeof counts / sizeof counts[0]; b++) {
            size_t len = lens[a], n = counts[b];
            for (int generic = 0; generic < 2; generic++) {
                memset(out, 0, sizeof out);
                if (generic)
                    tss_prg_expand_many_generic(out, len, len, (const uint8_t(*)[32])keys, n, nonce);
                else
                    tss_prg_expand_many(out, len, len, (const uint8_t(*)[32])keys, n, nonce);
                int ok = 1;
                for (size_t l = 0; l < n; l++) {
                    crypto_stream_chacha20_ietf(want, len, nonce, keys[l]);
                    ok &= memcmp(out + l * len, want, len) == 0;
                }
                CHECK(ok);
                if (n * len < sizeof out) CHECK(out[n * len] == 0); /* nothing past the end */
            }
        }
    /* expand and xor agree with each other and with libsodium */
    uint8_t x[80], y[80];
    tss_prg_expand(x, sizeof x, keys[0], nonce);
    memset(y, 0, sizeof y);
    tss_prg_xor(y, y, sizeof y, keys[0], nonce);
    CHECK(memcmp(x, y, sizeof x) == 0);
    crypto_stream_chacha20_ietf(want, 80, nonce, keys[0]);
    CHECK(memcmp(x, want, 80) == 0);
    /* RFC 8439 section 2.3.2 block: key 00..1f, nonce 000000090000004a00000000,
     * counter 1 = our bytes 64..127 of the stream. */
    uint8_t k[32], n2[12] = {0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0}, blk[128];
    for (int i = 0; i < 32; i++) k[i] = (uint8_t)i;
    tss_prg_expand_many(blk, 128, 128, (const uint8_t(*)[32])k, 1, n2);
    static const uint8_t rfc[16] = {0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15,
                                    0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4};
    CHECK(memcmp(blk + 64, rfc, 16) == 0);
}

static void prg_nonce_depends_on_tag_and_sid(void) {
    uint8_t a[12], b[12];
    tss_prg_nonce(a, "t1", (const uint8_t *)"sid", 3);
    tss_prg_nonce(b, "t2", (const uint8_t *)"sid", 3);
    CHECK(memcmp(a, b, 12) != 0);
    tss_prg_nonce(b, "t1", (const uint8_t *)"sie", 3);
    CHECK(memcmp(a, b, 12) != 0);
    tss_prg_nonce(b, "t1", (const uint8_t *)"sid", 3);
    CHECK(memcmp(a, b, 12) == 0);
    /* length framing: ("ab","c") != ("a","bc") */
    uint8_t d1[32], d2[32];
    tss_prg_field f1[2] = {{"ab", 2}, {"c", 1}}, f2[2] = {{"a", 1}, {"bc", 2}};
    tss_prg_derive(d1, "t", f1, 2);
    tss_prg_derive(d2, "t", f2, 2);
    CHECK(memcmp(d1, d2, 32) != 0);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    RUN(extended_ots_are_correct);
    RUN(message_round_trips_through_the_wire);
    RUN(decoder_rejects_bad_lengths);
    RUN(sid_binds_sessions_and_ordered_pair);
    RUN(different_sids_give_unrelated_outputs);
    RUN(wrong_base_seeds_fail_the_check);
    RUN(honest_forger_passes);
    RUN(inconsistent_column_is_detected);
    RUN(selective_failure_leaks_a_delta_bit);
    RUN(different_choice_bits_in_the_check_are_detected);
    RUN(tampered_check_values_are_detected);
    RUN(transposes_agree);
    RUN(prg_many_matches_libsodium);
    RUN(prg_nonce_depends_on_tag_and_sid);
    return harness_finish("mpc_ote");
}
