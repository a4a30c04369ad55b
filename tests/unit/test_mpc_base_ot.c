/* mpc/base_ot: correctness, strict message decoding, binding to session and pair,
 * the seed derivation recomputed independently, one fresh sender key per batch. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpc/base_ot.h"
#include "mpc/point.h"
#include "tests/unit/harness.h"
#include "util/secmem.h"

enum { S_ID = 1, R_ID = 2 };
static uint8_t SID[32];

typedef struct {
    uint8_t msg1[TSS_BASE_OT_MSG1_BYTES];
    uint8_t msg2[TSS_BASE_OT_MSG2_BYTES];
    tss_base_ot_sender_output *so;
    tss_base_ot_receiver_output *ro;
    tss_base_ot_receiver *st;
    uint8_t choice[32];
} run_t;

static unsigned bit(const uint8_t *c, unsigned i) { return (c[i / 8] >> (i % 8)) & 1; }

static run_t *run_new(void) {
    run_t *r = calloc(1, sizeof *r);
    r->so = tss_secret_alloc(sizeof *r->so);
    r->ro = tss_secret_alloc(sizeof *r->ro);
    memset(r->so, 0, sizeof *r->so);
    memset(r->ro, 0, sizeof *r->ro);
    randombytes_buf(r->choice, sizeof r->choice);
    return r;
}

static void run_free(run_t *r) {
    tss_base_ot_receiver_free(r->st);
    tss_secret_free(r->so);
    tss_secret_free(r->ro);
    free(r);
}

/* Receiver step 1 into r->msg1. */
static tss_result start(run_t *r, const uint8_t *sid, uint32_t s, uint32_t rc) {
    tss_writer w;
    tss_writer_init(&w, TSS_BASE_OT_MSG1_BYTES);
    tss_result res = tss_base_ot_receiver_start(&r->st, sid, s, rc, r->choice, &w);
    if (tss_is_ok(res)) {
        CHECK(w.len == TSS_BASE_OT_MSG1_BYTES);
        memcpy(r->msg1, w.data, w.len);
    }
    tss_writer_free(&w);
    return res;
}

static tss_result respond(run_t *r, const uint8_t *sid, uint32_t s, uint32_t rc,
                          const uint8_t *m1, size_t len) {
    tss_writer w;
    tss_writer_init(&w, TSS_BASE_OT_MSG2_BYTES);
    tss_result res = tss_base_ot_sender_respond(sid, s, rc, m1, len, &w, r->so);
    if (tss_is_ok(res)) {
        CHECK(w.len == TSS_BASE_OT_MSG2_BYTES);
        memcpy(r->msg2, w.data, w.len);
    }
    tss_writer_free(&w);
    return res;
}

/* Number of OTs where the receiver got m_c and not m_{1-c}. */
static int count_correct(const run_t *r) {
    int ok = 0;
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT; i++) {
        unsigned c = bit(r->choice, i);
        ok += memcmp(r->ro->m[i], r->so->m[i][c], 32) == 0 &&
              memcmp(r->ro->m[i], r->so->m[i][c ^ 1], 32) != 0 &&
              memcmp(r->so->m[i][0], r->so->m[i][1], 32) != 0;
    }
    return ok;
}

static void receiver_learns_exactly_the_chosen_seed(void) {
    for (int k = 0; k < 3; k++) {
        run_t *r = run_new();
        if (k == 1) memset(r->choice, 0, 32);
        if (k == 2) memset(r->choice, 0xff, 32);
        CHECK_OK(start(r, SID, S_ID, R_ID));
        CHECK_OK(respond(r, SID, S_ID, R_ID, r->msg1, sizeof r->msg1));
        CHECK_OK(tss_base_ot_receiver_finish(r->st, r->msg2, sizeof r->msg2, r->ro));
        CHECK(count_correct(r) == TSS_BASE_OT_COUNT);
        CHECK(memcmp(r->ro->choice, r->choice, 32) == 0);
        /* Seeds are distinct across OTs. */
        CHECK(memcmp(r->so->m[0][0], r->so->m[1][0], 32) != 0);
        /* Single use: the state refuses a second message. */
        CHECK_ERR(tss_base_ot_receiver_finish(r->st, r->msg2, sizeof r->msg2, r->ro),
                  TSS_E_USAGE);
        run_free(r);
    }
    CHECK_ERR(tss_base_ot_receiver_finish(NULL, NULL, 0, NULL), TSS_E_USAGE);
}

static void msg1_is_valid_points_in_every_slot(void) {
    /* Sanity on the encoding: each slot is a valid compressed point whichever c. */
    run_t *r = run_new();
    CHECK_OK(start(r, SID, S_ID, R_ID));
    tss_base_ot_msg1 *m = malloc(sizeof *m);
    CHECK_OK(tss_base_ot_msg1_decode(m, r->msg1, sizeof r->msg1));
    /* The random slot r_{1-c} and the chosen slot r_c take both parities: a
     * random point sampled with a fixed parity byte would sit only in the
     * random slot's half of the group and betray c (failure prob. 2^-254). */
    int parity[2][2] = {{0, 0}, {0, 0}}; /* [random slot?][prefix 02/03] */
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT; i++) {
        unsigned c = bit(r->choice, i);
        for (unsigned j = 0; j < 2; j++) {
            uint8_t pre = r->msg1[(2 * i + j) * 33];
            CHECK(pre == 0x02 || pre == 0x03);
            parity[j != c][pre & 1]++;
        }
    }
    CHECK(parity[0][0] > 0 && parity[0][1] > 0 && parity[1][0] > 0 && parity[1][1] > 0);
    /* Fresh randomness per start: no point repeats between two batches. */
    run_t *r2 = run_new();
    memcpy(r2->choice, r->choice, 32);
    CHECK_OK(start(r2, SID, S_ID, R_ID));
    int same = 0;
    for (unsigned k = 0; k < 2 * TSS_BASE_OT_COUNT; k++)
        same += memcmp(r->msg1 + 33 * k, r2->msg1 + 33 * k, 33) == 0;
    CHECK(same == 0);
    run_free(r2);
    free(m);
    run_free(r);
}

/* H_j(r) for OT i, through the public transcript API (independent of base_ot.c). */
static void ref_h(tss_point *h, const uint8_t *sid, uint32_t s, uint32_t rc, uint32_t i, uint32_t j,
                  const uint8_t r[33]) {
    tss_transcript t;
    tss_tr_init(&t, "base-ot/hash-to-curve");
    tss_tr_bind(&t, sid, s, rc);
    tss_tr_append_u32(&t, i);
    tss_tr_append_u32(&t, j);
    tss_tr_append(&t, r, 33);
    CHECK_OK(tss_tr_final_point_var(&t, h));
}

/* Whether H_j(r) for OT i is found at the first candidate (counter 0). */
static bool h_first_try(const uint8_t *sid, uint32_t s, uint32_t rc, uint32_t i, uint32_t j,
                        const uint8_t r[33]) {
    tss_transcript t;
    tss_tr_init(&t, "base-ot/hash-to-curve");
    tss_tr_bind(&t, sid, s, rc);
    tss_tr_append_u32(&t, i);
    tss_tr_append_u32(&t, j);
    tss_tr_append(&t, r, 33);
    tss_tr_append_u32(&t, 0);
    uint8_t enc[33] = {0x02};
    tss_tr_final(&t, enc + 1);
    tss_point p;
    return tss_is_ok(tss_pt_decode(&p, enc, "candidate"));
}

/* Constant time of the receiver: both published points of every OT come from
 * the same set S (both hashes found at the first candidate), so neither their
 * values nor the receiver's hashing work on them tell the random point from
 * a*G - H_c(R). Uniform points would all be in S with probability 4^-512. */
static void published_points_are_both_in_s(void) {
    run_t *r = run_new();
    CHECK_OK(start(r, SID, S_ID, R_ID));
    unsigned outside = 0;
    for (uint32_t i = 0; i < TSS_BASE_OT_COUNT; i++)
        for (unsigned k = 0; k < 2; k++)
            for (uint32_t j = 0; j < 2; j++)
                outside += !h_first_try(SID, S_ID, R_ID, i, j, r->msg1 + (2 * i + k) * 33);
    CHECK(outside == 0);
    /* And the batch still works. */
    CHECK_OK(respond(r, SID, S_ID, R_ID, r->msg1, sizeof r->msg1));
    CHECK_OK(tss_base_ot_receiver_finish(r->st, r->msg2, sizeof r->msg2, r->ro));
    CHECK(count_correct(r) == TSS_BASE_OT_COUNT);
    run_free(r);
}

/* KDF(i, j, r_0 || r_1, T, Z) through the public transcript API. */
static void ref_kdf(uint8_t out[32], const uint8_t *sid, uint32_t s, uint32_t rc, uint32_t i,
                    uint32_t j, const uint8_t pair[66], const uint8_t T[33], const tss_point *Z) {
    tss_transcript t;
    tss_tr_init(&t, "base-ot/seed");
    tss_tr_bind(&t, sid, s, rc);
    tss_tr_append_u32(&t, i);
    tss_tr_append_u32(&t, j);
    tss_tr_append(&t, pair, 66);
    tss_tr_append(&t, T, 33);
    tss_tr_append_point(&t, Z);
    tss_tr_final(&t, out);
}

/* The test plays an honest receiver for OT i with choice c, knowing a: writes
 * r_0 || r_1 into pair. */
static void ref_receiver_pair(uint8_t pair[66], const tss_scalar *a, uint32_t i, unsigned c) {
    tss_scalar u;
    tss_point R, h, A, chosen;
    CHECK_OK(tss_sc_random_nonzero(&u));
    CHECK_OK(tss_pt_mul_base(&R, &u));
    tss_pt_encode(pair + 33 * (1 - c), &R);
    ref_h(&h, SID, S_ID, R_ID, i, c, pair + 33 * (1 - c));
    CHECK_OK(tss_pt_mul_base(&A, a));
    CHECK_OK(tss_pt_sub(&chosen, &A, &h));
    tss_pt_encode(pair + 33 * c, &chosen);
}

static void seeds_match_an_independent_computation(void) {
    /* msg2 is the point T; the sender's seed for a slot whose log a the test
     * knows is KDF(i, j, r_0 || r_1, T, a*T), with H and the KDF recomputed
     * through tss_tr_* and tss_pt_* only. This pins the byte layout of both
     * hashes (and the agreement of base_ot.c's hash-to-curve with
     * tss_tr_final_point_var). */
    run_t *r = run_new();
    CHECK_OK(start(r, SID, S_ID, R_ID));
    const struct {
        uint32_t i;
        unsigned c;
    } ots[] = {{0, 0}, {3, 1}, {200, 0}, {255, 1}};
    tss_scalar a[4];
    for (size_t k = 0; k < 4; k++) {
        CHECK_OK(tss_sc_random_nonzero(&a[k]));
        ref_receiver_pair(r->msg1 + 66 * ots[k].i, &a[k], ots[k].i, ots[k].c);
    }
    CHECK_OK(respond(r, SID, S_ID, R_ID, r->msg1, sizeof r->msg1));
    tss_base_ot_msg2 m2;
    CHECK_OK(tss_base_ot_msg2_decode(&m2, r->msg2, sizeof r->msg2));
    for (size_t k = 0; k < 4; k++) {
        tss_point Z;
        uint8_t want[32];
        CHECK_OK(tss_pt_mul(&Z, &m2.T, &a[k]));
        ref_kdf(want, SID, S_ID, R_ID, ots[k].i, ots[k].c, r->msg1 + 66 * ots[k].i, r->msg2, &Z);
        CHECK(memcmp(want, r->so->m[ots[k].i][ots[k].c], 32) == 0);
        CHECK(memcmp(want, r->so->m[ots[k].i][ots[k].c ^ 1], 32) != 0);
        /* The same derivation with the other slot index gives another value:
         * i and j are bound. */
        uint8_t other[32];
        ref_kdf(other, SID, S_ID, R_ID, ots[k].i, ots[k].c ^ 1, r->msg1 + 66 * ots[k].i, r->msg2,
                &Z);
        CHECK(memcmp(other, want, 32) != 0);
    }
    tss_sc_wipe(a, 4);
    run_free(r);
}

static void sender_key_is_fresh_per_batch(void) {
    /* Two answers to the same msg1: different T, no seed in common. */
    run_t *a = run_new(), *b = run_new();
    CHECK_OK(start(a, SID, S_ID, R_ID));
    CHECK_OK(respond(a, SID, S_ID, R_ID, a->msg1, sizeof a->msg1));
    CHECK_OK(respond(b, SID, S_ID, R_ID, a->msg1, sizeof a->msg1));
    CHECK(memcmp(a->msg2, b->msg2, TSS_BASE_OT_MSG2_BYTES) != 0);
    int same = 0;
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT; i++)
        for (unsigned j = 0; j < 2; j++)
            for (unsigned jj = 0; jj < 2; jj++)
                same += memcmp(a->so->m[i][j], b->so->m[i][jj], 32) == 0;
    CHECK(same == 0);
    /* Either answer works with the receiver's state. */
    CHECK_OK(tss_base_ot_receiver_finish(a->st, b->msg2, sizeof b->msg2, a->ro));
    memcpy(b->choice, a->choice, 32);
    memcpy(b->ro, a->ro, sizeof *a->ro);
    CHECK(count_correct(b) == TSS_BASE_OT_COUNT);
    run_free(a);
    run_free(b);
}

static void session_and_pair_binding(void) {
    run_t *a = run_new(), *b = run_new();
    uint8_t sid2[32];
    memcpy(sid2, SID, 32);
    sid2[5] ^= 1;
    /* Same receiver message, sender under another session: unrelated outputs. */
    CHECK_OK(start(a, SID, S_ID, R_ID));
    CHECK_OK(respond(a, SID, S_ID, R_ID, a->msg1, sizeof a->msg1));
    CHECK_OK(respond(b, sid2, S_ID, R_ID, a->msg1, sizeof a->msg1));
    int same = 0;
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT; i++)
        same += memcmp(a->so->m[i][0], b->so->m[i][0], 32) == 0 ||
                memcmp(a->so->m[i][1], b->so->m[i][1], 32) == 0;
    CHECK(same == 0);
    /* Receiver in SID, sender in sid2: the receiver's seeds match nothing. */
    CHECK_OK(tss_base_ot_receiver_finish(a->st, b->msg2, sizeof b->msg2, a->ro));
    memcpy(b->choice, a->choice, 32);
    memcpy(b->ro, a->ro, sizeof *a->ro);
    CHECK(count_correct(b) == 0);
    int any = 0;
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT; i++)
        any += memcmp(a->ro->m[i], b->so->m[i][0], 32) == 0 ||
               memcmp(a->ro->m[i], b->so->m[i][1], 32) == 0;
    CHECK(any == 0);
    run_free(a);
    run_free(b);

    /* Reversed pair: the sender thinks it is the receiver's receiver. */
    a = run_new();
    CHECK_OK(start(a, SID, S_ID, R_ID));
    CHECK_OK(respond(a, SID, R_ID, S_ID, a->msg1, sizeof a->msg1));
    CHECK_OK(tss_base_ot_receiver_finish(a->st, a->msg2, sizeof a->msg2, a->ro));
    CHECK(count_correct(a) == 0);
    run_free(a);

    a = run_new();
    CHECK_ERR(start(a, SID, 3, 3), TSS_E_USAGE);
    CHECK(a->st == NULL);
    CHECK_ERR(respond(a, SID, 3, 3, a->msg1, sizeof a->msg1), TSS_E_USAGE);
    run_free(a);
}

static void malformed_msg1_is_rejected(void) {
    run_t *r = run_new();
    CHECK_OK(start(r, SID, S_ID, R_ID));
    uint8_t *buf = malloc(TSS_BASE_OT_MSG1_BYTES + 1);
    tss_base_ot_sender_output *before = malloc(sizeof *before);
    memcpy(before, r->so, sizeof *before);

    CHECK_ERR(respond(r, SID, S_ID, R_ID, r->msg1, TSS_BASE_OT_MSG1_BYTES - 1), TSS_E_TRUNCATED);
    CHECK_ERR(respond(r, SID, S_ID, R_ID, r->msg1, TSS_BASE_OT_MSG1_BYTES - 66), TSS_E_TRUNCATED);
    CHECK_ERR(respond(r, SID, S_ID, R_ID, r->msg1, 0), TSS_E_TRUNCATED);
    memcpy(buf, r->msg1, TSS_BASE_OT_MSG1_BYTES);
    buf[TSS_BASE_OT_MSG1_BYTES] = 0;
    CHECK_ERR(respond(r, SID, S_ID, R_ID, buf, TSS_BASE_OT_MSG1_BYTES + 1), TSS_E_TRAILING);
    /* Invalid points in either slot, first and last OT. */
    const size_t offs[] = {0, 33, TSS_BASE_OT_MSG1_BYTES - 66, TSS_BASE_OT_MSG1_BYTES - 33};
    for (size_t k = 0; k < 4; k++) {
        memcpy(buf, r->msg1, TSS_BASE_OT_MSG1_BYTES);
        buf[offs[k]] = 0x04; /* not a compressed tag */
        CHECK_ERR(respond(r, SID, S_ID, R_ID, buf, TSS_BASE_OT_MSG1_BYTES), TSS_E_INVALID);
        memcpy(buf, r->msg1, TSS_BASE_OT_MSG1_BYTES);
        memset(buf + offs[k] + 1, 0xff, 32); /* x >= p */
        CHECK_ERR(respond(r, SID, S_ID, R_ID, buf, TSS_BASE_OT_MSG1_BYTES), TSS_E_INVALID);
    }
    CHECK(memcmp(before, r->so, sizeof *before) == 0); /* output untouched on failure */

    /* r_0 = -H_0(r_1): M_0 would be infinity. */
    memcpy(buf, r->msg1, TSS_BASE_OT_MSG1_BYTES);
    tss_transcript t;
    tss_tr_init(&t, "base-ot/hash-to-curve");
    tss_tr_bind(&t, SID, S_ID, R_ID);
    tss_tr_append_u32(&t, 7);
    tss_tr_append_u32(&t, 0);
    tss_tr_append(&t, buf + 7 * 66 + 33, 33);
    tss_point h;
    CHECK_OK(tss_tr_final_point_var(&t, &h));
    tss_pt_neg(&h, &h);
    tss_pt_encode(buf + 7 * 66, &h);
    CHECK_ERR(respond(r, SID, S_ID, R_ID, buf, TSS_BASE_OT_MSG1_BYTES), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "OT 7 slot 0") != NULL);
    /* r_1 = -H_1(r_0) in the last OT. */
    memcpy(buf, r->msg1, TSS_BASE_OT_MSG1_BYTES);
    ref_h(&h, SID, S_ID, R_ID, 255, 1, buf + 255 * 66);
    tss_pt_neg(&h, &h);
    tss_pt_encode(buf + 255 * 66 + 33, &h);
    CHECK_ERR(respond(r, SID, S_ID, R_ID, buf, TSS_BASE_OT_MSG1_BYTES), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "OT 255 slot 1") != NULL);

    /* Output writer without room. */
    tss_writer w;
    tss_writer_init(&w, TSS_BASE_OT_MSG2_BYTES - 1);
    CHECK_ERR(tss_base_ot_sender_respond(SID, S_ID, R_ID, r->msg1, TSS_BASE_OT_MSG1_BYTES, &w,
                                         r->so),
              TSS_E_TOO_LARGE);
    tss_writer_free(&w);
    CHECK(memcmp(before, r->so, sizeof *before) == 0);
    free(before);
    free(buf);
    run_free(r);
}

static void receiver_start_reports_small_writer(void) {
    run_t *r = run_new();
    tss_writer w;
    tss_writer_init(&w, 1000);
    CHECK_ERR(tss_base_ot_receiver_start(&r->st, SID, S_ID, R_ID, r->choice, &w),
              TSS_E_TOO_LARGE);
    CHECK(r->st == NULL);
    tss_writer_free(&w);
    run_free(r);
}

/* Finishes the run with the given msg2; returns the result. */
static tss_result finish_with(run_t *r, const uint8_t *m2, size_t len) {
    return tss_base_ot_receiver_finish(r->st, m2, len, r->ro);
}

/* A fresh receiver and sender run (the receiver state is single-use). */
static void fresh(run_t *r) {
    tss_base_ot_receiver_free(r->st);
    r->st = NULL;
    CHECK_OK(start(r, SID, S_ID, R_ID));
    CHECK_OK(respond(r, SID, S_ID, R_ID, r->msg1, sizeof r->msg1));
}

/* Some x < p that is not the abscissa of a curve point. */
static void off_curve_encoding(uint8_t enc[33]) {
    tss_point p;
    enc[0] = 0x02;
    for (int k = 0; k < 1000; k++) {
        randombytes_buf(enc + 1, 32);
        enc[1] &= 0x7f; /* x < 2^255 < p */
        if (!tss_is_ok(tss_pt_decode(&p, enc, "candidate"))) return;
    }
    CHECK(0);
}

static void malformed_msg2_is_rejected(void) {
    run_t *r = run_new();
    CHECK(TSS_BASE_OT_MSG2_BYTES == 33);
    fresh(r);
    uint8_t buf[TSS_BASE_OT_MSG2_BYTES + 1];
    tss_base_ot_receiver_output *before = malloc(sizeof *before);
    memcpy(before, r->ro, sizeof *before);

    CHECK_ERR(finish_with(r, r->msg2, TSS_BASE_OT_MSG2_BYTES - 1), TSS_E_TRUNCATED);
    /* The failed call consumed the state (secrets wiped). */
    CHECK_ERR(finish_with(r, r->msg2, TSS_BASE_OT_MSG2_BYTES), TSS_E_USAGE);
    CHECK(memcmp(before, r->ro, sizeof *before) == 0);

    enum { EMPTY, TRAILING, PREFIX_04, PREFIX_00, X_GE_P, OFF_CURVE, NCASES };
    for (int k = 0; k < NCASES; k++) {
        fresh(r);
        memcpy(buf, r->msg2, TSS_BASE_OT_MSG2_BYTES);
        size_t len = TSS_BASE_OT_MSG2_BYTES;
        tss_err want = TSS_E_INVALID;
        switch (k) {
        case EMPTY: len = 0; want = TSS_E_TRUNCATED; break;
        case TRAILING: buf[len++] = 0; want = TSS_E_TRAILING; break;
        case PREFIX_04: buf[0] = 0x04; break; /* uncompressed tag, wrong length */
        case PREFIX_00: buf[0] = 0x00; break;
        case X_GE_P: memset(buf + 1, 0xff, 32); break;
        case OFF_CURVE: off_curve_encoding(buf); break;
        }
        CHECK_ERR(finish_with(r, buf, len), want);
        CHECK(memcmp(before, r->ro, sizeof *before) == 0); /* output untouched */
        CHECK_ERR(finish_with(r, r->msg2, TSS_BASE_OT_MSG2_BYTES), TSS_E_USAGE);
    }

    /* A different valid T (here -T, and G) is accepted -- the receiver cannot
     * tell -- but, T being shared, spoils every OT (KOS checks later), and in
     * the same way for either choice: no OT comes out right. */
    for (int k = 0; k < 2; k++) {
        fresh(r);
        memcpy(buf, r->msg2, TSS_BASE_OT_MSG2_BYTES);
        if (k == 0) {
            buf[0] ^= 1; /* 02 <-> 03: -T */
        } else {
            tss_point g;
            tss_pt_generator(&g);
            tss_pt_encode(buf, &g);
        }
        CHECK_OK(finish_with(r, buf, TSS_BASE_OT_MSG2_BYTES));
        CHECK(count_correct(r) == 0);
    }
    free(before);
    run_free(r);
}

static void decoders_on_their_own(void) {
    tss_base_ot_msg2 m;
    uint8_t buf[TSS_BASE_OT_MSG2_BYTES] = {0};
    CHECK_ERR(tss_base_ot_msg2_decode(&m, buf, sizeof buf), TSS_E_INVALID);
    CHECK(strstr(tss_error_detail(), "sender point T") != NULL);
    CHECK_ERR(tss_base_ot_msg2_decode(&m, NULL, 0), TSS_E_TRUNCATED);
    tss_point g;
    uint8_t enc[33];
    tss_pt_generator(&g);
    tss_pt_encode(buf, &g);
    CHECK_OK(tss_base_ot_msg2_decode(&m, buf, sizeof buf));
    tss_pt_encode(enc, &m.T);
    CHECK(memcmp(enc, buf, 33) == 0);

    tss_base_ot_msg1 *m1 = malloc(sizeof *m1);
    uint8_t *b1 = calloc(1, TSS_BASE_OT_MSG1_BYTES);
    CHECK_ERR(tss_base_ot_msg1_decode(m1, b1, TSS_BASE_OT_MSG1_BYTES), TSS_E_INVALID);
    CHECK(strstr(tss_error_detail(), "point 0 of OT 0") != NULL);
    CHECK_ERR(tss_base_ot_msg1_decode(m1, NULL, 0), TSS_E_TRUNCATED);
    free(b1);
    free(m1);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    randombytes_buf(SID, sizeof SID);
    RUN(receiver_learns_exactly_the_chosen_seed);
    RUN(published_points_are_both_in_s);
    RUN(msg1_is_valid_points_in_every_slot);
    RUN(seeds_match_an_independent_computation);
    RUN(sender_key_is_fresh_per_batch);
    RUN(session_and_pair_binding);
    RUN(malformed_msg1_is_rejected);
    RUN(receiver_start_reports_small_writer);
    RUN(malformed_msg2_is_rejected);
    RUN(decoders_on_their_own);
    return harness_finish("mpc_base_ot");
}
