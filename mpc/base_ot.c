/* Masny-Rindal endemic OT over secp256k1, batched (see base_ot.h). */
#include "mpc/base_ot.h"

#include <stdlib.h>
#include <string.h>

#include "mpc/scalar.h"
#include "util/secmem.h"

#define PAIR_BYTES (2 * TSS_PT_BYTES)

struct tss_base_ot_receiver {
    uint8_t sid[TSS_SID_BYTES];
    uint32_t sender_id, receiver_id;
    uint8_t choice[TSS_BASE_OT_CHOICE_BYTES];
    tss_scalar a[TSS_BASE_OT_COUNT];
    uint8_t msg1[TSS_BASE_OT_MSG1_BYTES]; /* bound into every output seed */
    int consumed;
};

static inline unsigned choice_bit(const uint8_t *choice, unsigned i) {
    return (choice[i / 8] >> (i % 8)) & 1;
}

/* out = bit ? b : a, bytewise without branching on bit. */
static void ct_select_bytes(void *out, const void *a, const void *b, size_t n, unsigned bit) {
    const uint8_t *pa = a, *pb = b;
    uint8_t *po = out, m = (uint8_t)(0u - (bit & 1));
    for (size_t k = 0; k < n; k++) po[k] = (uint8_t)((pb[k] & m) | (pa[k] & (uint8_t)~m));
}

/* H_j for OT i: a point with unknown discrete log, bound to the session and
 * the ordered pair. The input point r is public. */
static tss_result h_point(tss_point *out, const uint8_t sid[TSS_SID_BYTES], uint32_t sender,
                          uint32_t receiver, uint32_t i, uint32_t j,
                          const uint8_t r[TSS_PT_BYTES]) {
    tss_transcript t;
    tss_tr_init(&t, "base-ot/hash-to-curve");
    tss_tr_bind(&t, sid, sender, receiver);
    tss_tr_append_u32(&t, i);
    tss_tr_append_u32(&t, j);
    tss_tr_append(&t, r, TSS_PT_BYTES);
    return tss_tr_final_point_var(&t, out);
}

/* The output seed of OT i, slot j, bound to the whole OT transcript. */
static void kdf(uint8_t out[TSS_BASE_OT_SEED_BYTES], const uint8_t sid[TSS_SID_BYTES],
                uint32_t sender, uint32_t receiver, uint32_t i, uint32_t j,
                const uint8_t pair[PAIR_BYTES], const uint8_t T[TSS_PT_BYTES],
                const tss_point *shared) {
    tss_transcript t;
    tss_tr_init(&t, "base-ot/seed");
    tss_tr_bind(&t, sid, sender, receiver);
    tss_tr_append_u32(&t, i);
    tss_tr_append_u32(&t, j);
    tss_tr_append(&t, pair, PAIR_BYTES);
    tss_tr_append(&t, T, TSS_PT_BYTES);
    tss_tr_append_point(&t, shared);
    tss_tr_final(&t, out);
}

/* Both messages are 256 pairs of points. */
static tss_result decode_pairs(tss_point (*pts)[2], const uint8_t *in, size_t len,
                               const char *what) {
    tss_reader rd;
    tss_reader_init(&rd, in, len);
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT; i++)
        for (unsigned j = 0; j < 2; j++) {
            /* A short message fails here as truncated (sticky reader error). */
            tss_result res = tss_pt_read(&rd, &pts[i][j], what);
            if (!tss_is_ok(res))
                return tss_fail(res.err, "%s: point %u of OT %u: %s", what, j, i,
                                tss_err_message(res.err));
        }
    return tss_reader_finish(&rd, what); /* exact length: no trailing bytes */
}

tss_result tss_base_ot_msg1_decode(tss_base_ot_msg1 *out, const uint8_t *in, size_t len) {
    return decode_pairs(out->r, in, len, "base OT msg1");
}

tss_result tss_base_ot_msg2_decode(tss_base_ot_msg2 *out, const uint8_t *in, size_t len) {
    return decode_pairs(out->t, in, len, "base OT msg2");
}

static tss_result check_ids(uint32_t sender_id, uint32_t receiver_id) {
    TSS_ENSURE(sender_id != receiver_id, TSS_E_USAGE, "base OT: sender and receiver are both %u",
               sender_id);
    return TSS_OK_RESULT;
}

/* One receiver OT: fills pair = (r_0 || r_1) for choice c, secret a. */
static tss_result receiver_one(const tss_base_ot_receiver *st, unsigned i, unsigned c,
                               const tss_scalar *a, uint8_t pair[PAIR_BYTES]) {
    tss_scalar u;
    tss_point rand_pt, h, aG, chosen, dummy;
    uint8_t rand_enc[TSS_PT_BYTES], chosen_enc[TSS_PT_BYTES];
    tss_result res = tss_sc_random_nonzero(&u);
    if (tss_is_ok(res)) res = tss_pt_mul_base(&rand_pt, &u);
    if (tss_is_ok(res)) {
        tss_pt_encode(rand_enc, &rand_pt);
        /* r_c = a*G - H_c(r_{1-c}). */
        res = h_point(&h, st->sid, st->sender_id, st->receiver_id, i, c, rand_enc);
    }
    if (tss_is_ok(res)) res = tss_pt_mul_base(&aG, a);
    if (tss_is_ok(res)) res = tss_pt_sub(&chosen, &aG, &h);
    if (tss_is_ok(res)) {
        tss_pt_encode(chosen_enc, &chosen);
        /* Hash-to-curve is variable time. Also computing H_{1-c}(r_c) makes this
         * party's hashing work {H_0(r_1), H_1(r_0)} -- the same for either c.
         * Its result is not needed (and it fails only with probability 2^-256). */
        tss_result dres =
            h_point(&dummy, st->sid, st->sender_id, st->receiver_id, i, c ^ 1, chosen_enc);
        (void)dres;
        ct_select_bytes(pair, chosen_enc, rand_enc, TSS_PT_BYTES, c);
        ct_select_bytes(pair + TSS_PT_BYTES, rand_enc, chosen_enc, TSS_PT_BYTES, c);
    }
    /* Which of the two published points is random would reveal c. */
    tss_sc_wipe(&u, 1);
    tss_wipe(&rand_pt, sizeof rand_pt);
    tss_wipe(&h, sizeof h);
    tss_wipe(&aG, sizeof aG);
    tss_wipe(&chosen, sizeof chosen);
    tss_wipe(&dummy, sizeof dummy);
    tss_wipe(rand_enc, sizeof rand_enc);
    tss_wipe(chosen_enc, sizeof chosen_enc);
    return res;
}

tss_result tss_base_ot_receiver_start(tss_base_ot_receiver **state,
                                      const uint8_t sid[TSS_SID_BYTES], uint32_t sender_id,
                                      uint32_t receiver_id,
                                      const uint8_t choice[TSS_BASE_OT_CHOICE_BYTES],
                                      tss_writer *msg1_out) {
    TSS_GUARD(check_ids(sender_id, receiver_id));
    tss_base_ot_receiver *st = tss_secret_alloc(sizeof *st);
    TSS_ENSURE(st != NULL, TSS_E_NOMEM, "base OT receiver: out of secret memory");
    memcpy(st->sid, sid, TSS_SID_BYTES);
    st->sender_id = sender_id;
    st->receiver_id = receiver_id;
    memcpy(st->choice, choice, TSS_BASE_OT_CHOICE_BYTES);
    st->consumed = 0;
    tss_result res = TSS_OK_RESULT;
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT && tss_is_ok(res); i++) {
        res = tss_sc_random_nonzero(&st->a[i]);
        if (tss_is_ok(res))
            res = receiver_one(st, i, choice_bit(choice, i), &st->a[i], st->msg1 + i * PAIR_BYTES);
    }
    if (tss_is_ok(res)) {
        tss_write_bytes(msg1_out, st->msg1, TSS_BASE_OT_MSG1_BYTES);
        res = tss_writer_status(msg1_out, "base OT msg1");
    }
    if (!tss_is_ok(res)) {
        tss_base_ot_receiver_free(st);
        return res;
    }
    *state = st;
    return TSS_OK_RESULT;
}

/* One sender OT: m_j = KDF(t_j * (r_j + H_j(r_{1-j}))), T_j = t_j*G. */
static tss_result sender_one(const uint8_t sid[TSS_SID_BYTES], uint32_t sender_id,
                             uint32_t receiver_id, unsigned i, const tss_point r[2],
                             const uint8_t pair[PAIR_BYTES], uint8_t T_enc[PAIR_BYTES],
                             uint8_t seeds[2][TSS_BASE_OT_SEED_BYTES]) {
    for (unsigned j = 0; j < 2; j++) {
        tss_point h, M, T, shared;
        tss_scalar t;
        TSS_GUARD(h_point(&h, sid, sender_id, receiver_id, i, j,
                          pair + (1 - j) * TSS_PT_BYTES));
        /* A receiver could set r_j = -H_j(r_{1-j}); there is no OT to run then. */
        if (!tss_is_ok(tss_pt_add(&M, &r[j], &h)))
            return tss_fail(TSS_E_PROTOCOL,
                            "base OT msg1 from party %u: OT %u slot %u sums to infinity",
                            receiver_id, i, j);
        TSS_GUARD(tss_sc_random_nonzero(&t));
        tss_result res = tss_pt_mul_base(&T, &t);
        if (tss_is_ok(res)) res = tss_pt_mul(&shared, &M, &t);
        tss_sc_wipe(&t, 1);
        TSS_GUARD(res);
        tss_pt_encode(T_enc + j * TSS_PT_BYTES, &T);
        kdf(seeds[j], sid, sender_id, receiver_id, i, j, pair, T_enc + j * TSS_PT_BYTES, &shared);
        tss_wipe(&shared, sizeof shared);
    }
    return TSS_OK_RESULT;
}

tss_result tss_base_ot_sender_respond(const uint8_t sid[TSS_SID_BYTES], uint32_t sender_id,
                                      uint32_t receiver_id, const uint8_t *msg1, size_t msg1_len,
                                      tss_writer *msg2_out, tss_base_ot_sender_output *out) {
    TSS_GUARD(check_ids(sender_id, receiver_id));
    tss_base_ot_msg1 *m1 = malloc(sizeof *m1);
    uint8_t *m2 = malloc(TSS_BASE_OT_MSG2_BYTES);
    tss_base_ot_sender_output *tmp = tss_secret_alloc(sizeof *tmp);
    tss_result res = TSS_OK_RESULT;
    if (!m1 || !m2 || !tmp) res = tss_fail(TSS_E_NOMEM, "base OT sender: out of memory");
    /* Validate the whole message before any work with secrets. */
    if (tss_is_ok(res)) res = tss_base_ot_msg1_decode(m1, msg1, msg1_len);
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT && tss_is_ok(res); i++)
        res = sender_one(sid, sender_id, receiver_id, i, m1->r[i], msg1 + i * PAIR_BYTES,
                         m2 + i * PAIR_BYTES, tmp->m[i]);
    if (tss_is_ok(res)) {
        tss_write_bytes(msg2_out, m2, TSS_BASE_OT_MSG2_BYTES);
        res = tss_writer_status(msg2_out, "base OT msg2");
    }
    if (tss_is_ok(res)) memcpy(out, tmp, sizeof *tmp);
    tss_secret_free(tmp);
    free(m2);
    free(m1);
    return res;
}

tss_result tss_base_ot_receiver_finish(tss_base_ot_receiver *st, const uint8_t *msg2,
                                       size_t msg2_len, tss_base_ot_receiver_output *out) {
    TSS_ENSURE(st != NULL, TSS_E_USAGE, "base OT receiver: no state");
    TSS_ENSURE(!st->consumed, TSS_E_USAGE, "base OT receiver: state already used");
    st->consumed = 1;
    tss_base_ot_msg2 *m2 = malloc(sizeof *m2);
    tss_base_ot_receiver_output *tmp = tss_secret_alloc(sizeof *tmp);
    tss_result res = TSS_OK_RESULT;
    if (!m2 || !tmp) res = tss_fail(TSS_E_NOMEM, "base OT receiver: out of memory");
    /* Every point of both slots is validated first: rejecting only a bad T_c
     * would tell the sender the choice bit (selective failure). */
    if (tss_is_ok(res)) res = tss_base_ot_msg2_decode(m2, msg2, msg2_len);
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT && tss_is_ok(res); i++) {
        unsigned c = choice_bit(st->choice, i);
        tss_point T, shared;
        uint8_t T_enc[TSS_PT_BYTES];
        ct_select_bytes(&T, &m2->t[i][0], &m2->t[i][1], sizeof T, c);
        ct_select_bytes(T_enc, msg2 + i * PAIR_BYTES, msg2 + i * PAIR_BYTES + TSS_PT_BYTES,
                        TSS_PT_BYTES, c);
        res = tss_pt_mul(&shared, &T, &st->a[i]);
        if (tss_is_ok(res))
            kdf(tmp->m[i], st->sid, st->sender_id, st->receiver_id, i, c,
                st->msg1 + i * PAIR_BYTES, T_enc, &shared);
        tss_wipe(&T, sizeof T);
        tss_wipe(T_enc, sizeof T_enc);
        tss_wipe(&shared, sizeof shared);
    }
    if (tss_is_ok(res)) {
        memcpy(tmp->choice, st->choice, sizeof tmp->choice);
        memcpy(out, tmp, sizeof *tmp);
    }
    tss_sc_wipe(st->a, TSS_BASE_OT_COUNT);
    tss_wipe(st->choice, sizeof st->choice);
    tss_secret_free(tmp);
    free(m2);
    return res;
}

void tss_base_ot_receiver_free(tss_base_ot_receiver *st) { tss_secret_free(st); }
