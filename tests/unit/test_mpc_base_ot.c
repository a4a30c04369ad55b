/* mpc/base_ot: correctness, strict message decoding, binding to session and pair. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpc/base_ot.h"
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
    free(m);
    run_free(r);
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

    /* Output writer without room. */
    tss_writer w;
    tss_writer_init(&w, 100);
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

/* Finishes a fresh run with msg2 modified by fn; returns the result. */
static tss_result finish_with(run_t *r, const uint8_t *m2, size_t len) {
    return tss_base_ot_receiver_finish(r->st, m2, len, r->ro);
}

static void malformed_msg2_is_rejected_whatever_the_choice(void) {
    run_t *r = run_new();
    r->choice[0] = 0x02; /* OT 0 chooses 0, OT 1 chooses 1 */
    CHECK_OK(start(r, SID, S_ID, R_ID));
    CHECK_OK(respond(r, SID, S_ID, R_ID, r->msg1, sizeof r->msg1));
    uint8_t *buf = malloc(TSS_BASE_OT_MSG2_BYTES + 1);
    tss_base_ot_receiver_output *before = malloc(sizeof *before);
    memcpy(before, r->ro, sizeof *before);

    CHECK_ERR(finish_with(r, r->msg2, TSS_BASE_OT_MSG2_BYTES - 1), TSS_E_TRUNCATED);
    /* The failed call consumed the state (secrets wiped). */
    CHECK_ERR(finish_with(r, r->msg2, TSS_BASE_OT_MSG2_BYTES), TSS_E_USAGE);
    CHECK(memcmp(before, r->ro, sizeof *before) == 0);

    /* Each case needs a fresh receiver: the state is single-use. */
    struct {
        size_t off;
        int trailing;
    } cases[] = {
        {0, 0},       /* OT 0, slot 0 = chosen */
        {33, 0},      /* OT 0, slot 1 = not chosen: still rejected (selective failure) */
        {66, 0},      /* OT 1, slot 0 = not chosen */
        {99, 0},      /* OT 1, slot 1 = chosen */
        {TSS_BASE_OT_MSG2_BYTES - 33, 0},
        {0, 1},       /* trailing byte */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tss_base_ot_receiver_free(r->st);
        r->st = NULL;
        CHECK_OK(start(r, SID, S_ID, R_ID));
        CHECK_OK(respond(r, SID, S_ID, R_ID, r->msg1, sizeof r->msg1));
        memcpy(buf, r->msg2, TSS_BASE_OT_MSG2_BYTES);
        if (cases[k].trailing) {
            buf[TSS_BASE_OT_MSG2_BYTES] = 0;
            CHECK_ERR(finish_with(r, buf, TSS_BASE_OT_MSG2_BYTES + 1), TSS_E_TRAILING);
        } else {
            buf[cases[k].off] ^= 0x06; /* 02 <-> 04, 03 <-> 05 */
            CHECK_ERR(finish_with(r, buf, TSS_BASE_OT_MSG2_BYTES), TSS_E_INVALID);
        }
    }
    CHECK(memcmp(before, r->ro, sizeof *before) == 0);

    /* A different valid point in slot c only spoils that OT (KOS checks later). */
    tss_base_ot_receiver_free(r->st);
    r->st = NULL;
    CHECK_OK(start(r, SID, S_ID, R_ID));
    CHECK_OK(respond(r, SID, S_ID, R_ID, r->msg1, sizeof r->msg1));
    memcpy(buf, r->msg2, TSS_BASE_OT_MSG2_BYTES);
    buf[0] ^= 1; /* negate T_0 of OT 0: still a valid point */
    CHECK_OK(finish_with(r, buf, TSS_BASE_OT_MSG2_BYTES));
    CHECK(count_correct(r) == TSS_BASE_OT_COUNT - 1);
    CHECK(memcmp(r->ro->m[0], r->so->m[0][0], 32) != 0);
    free(before);
    free(buf);
    run_free(r);
}

static void decoders_on_their_own(void) {
    tss_base_ot_msg2 *m = malloc(sizeof *m);
    uint8_t *buf = calloc(1, TSS_BASE_OT_MSG2_BYTES);
    CHECK_ERR(tss_base_ot_msg2_decode(m, buf, TSS_BASE_OT_MSG2_BYTES), TSS_E_INVALID);
    CHECK(strstr(tss_error_detail(), "point 0 of OT 0") != NULL);
    CHECK_ERR(tss_base_ot_msg2_decode(m, NULL, 0), TSS_E_TRUNCATED);
    free(buf);
    free(m);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    randombytes_buf(SID, sizeof SID);
    RUN(receiver_learns_exactly_the_chosen_seed);
    RUN(msg1_is_valid_points_in_every_slot);
    RUN(session_and_pair_binding);
    RUN(malformed_msg1_is_rejected);
    RUN(receiver_start_reports_small_writer);
    RUN(malformed_msg2_is_rejected_whatever_the_choice);
    RUN(decoders_on_their_own);
    return harness_finish("mpc_base_ot");
}
