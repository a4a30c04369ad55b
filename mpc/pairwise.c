#include "mpc/pairwise.h"

#include <string.h>

#include "util/secmem.h"

void tss_pair_ot_msg_hash(const uint8_t *msg, size_t len, uint8_t out[TSS_HASH_BYTES]) {
    tss_transcript t;
    tss_tr_init(&t, "dkg-base-ot-msg");
    tss_tr_append(&t, msg, len);
    tss_tr_final(&t, out);
}

tss_result tss_pair_ot_respond(const uint8_t sid[TSS_SID_BYTES], uint16_t self, uint16_t peer,
                               const uint8_t *msg1, tss_writer *w, tss_ote_receiver_seeds *seeds,
                               uint8_t msg2_hash[TSS_HASH_BYTES]) {
    tss_base_ot_sender_output *ot = tss_secret_alloc(sizeof *ot);
    TSS_ENSURE(ot, TSS_E_NOMEM, "secret memory allocation failed");
    size_t start = w->len;
    tss_result r =
        tss_base_ot_sender_respond(sid, self, peer, msg1, TSS_BASE_OT_MSG1_BYTES, w, ot);
    if (tss_is_ok(r)) {
        for (int i = 0; i < TSS_BASE_OT_COUNT; i++) {
            memcpy(seeds->seed[0][i], ot->m[i][0], TSS_OTE_SEED_BYTES);
            memcpy(seeds->seed[1][i], ot->m[i][1], TSS_OTE_SEED_BYTES);
        }
        tss_pair_ot_msg_hash(w->data + start, w->len - start, msg2_hash);
    }
    tss_secret_free(ot);
    return r;
}

tss_result tss_pair_ot_finish(tss_base_ot_receiver **state, const uint8_t *msg2,
                              tss_ote_sender_seeds *seeds) {
    tss_base_ot_receiver_output *ot = tss_secret_alloc(sizeof *ot);
    TSS_ENSURE(ot, TSS_E_NOMEM, "secret memory allocation failed");
    tss_result r = tss_base_ot_receiver_finish(*state, msg2, TSS_BASE_OT_MSG2_BYTES, ot);
    tss_base_ot_receiver_free(*state);
    *state = NULL;
    if (tss_is_ok(r)) {
        memcpy(seeds->delta, ot->choice, TSS_OTE_KAPPA_BYTES);
        memcpy(seeds->seed, ot->m, sizeof seeds->seed);
    }
    tss_secret_free(ot);
    return r;
}

void tss_pair_zero_seed(const uint8_t sid[TSS_SID_BYTES], uint16_t self, uint16_t peer,
                        const uint8_t mine[TSS_ZERO_SEED_BYTES],
                        const uint8_t theirs[TSS_ZERO_SEED_BYTES],
                        uint8_t out[TSS_ZERO_SEED_BYTES]) {
    const uint8_t *lo = self < peer ? mine : theirs;
    const uint8_t *hi = self < peer ? theirs : mine;
    tss_transcript tr;
    tss_tr_init(&tr, "dkg-zero-seed");
    tss_tr_append(&tr, sid, TSS_SID_BYTES);
    tss_tr_append_u32(&tr, self < peer ? self : peer);
    tss_tr_append_u32(&tr, self < peer ? peer : self);
    tss_tr_append(&tr, lo, TSS_ZERO_SEED_BYTES);
    tss_tr_append(&tr, hi, TSS_ZERO_SEED_BYTES);
    tss_tr_final(&tr, out);
}

/* Ordered pair r <- s: msg1 sent by the base-OT receiver r, msg2 answered
 * by the sender s. A base-OT message replayed or substituted on the way
 * (seeds that disagree, a key that can never sign) makes the two ends'
 * hashes differ, failing the run instead of every later signature. */
void tss_pair_check(const uint8_t sid[TSS_SID_BYTES], uint16_t self, uint16_t peer,
                    const uint8_t seed[TSS_ZERO_SEED_BYTES],
                    const uint8_t my_msg1_hash[TSS_HASH_BYTES],
                    const uint8_t my_msg2_hash[TSS_HASH_BYTES], const uint8_t *peer_msg1,
                    const uint8_t *peer_msg2, uint8_t out[TSS_HASH_BYTES]) {
    uint16_t a = self, b = peer;
    uint8_t pm1[TSS_HASH_BYTES], pm2[TSS_HASH_BYTES];
    tss_pair_ot_msg_hash(peer_msg1, TSS_BASE_OT_MSG1_BYTES, pm1);
    tss_pair_ot_msg_hash(peer_msg2, TSS_BASE_OT_MSG2_BYTES, pm2);
    /* Transcript of (self receives from peer) and of (peer receives from self). */
    const uint8_t *self_recv[2] = {my_msg1_hash, pm2};
    const uint8_t *peer_recv[2] = {pm1, my_msg2_hash};
    const uint8_t *const *lo = a < b ? self_recv : peer_recv;
    const uint8_t *const *hi = a < b ? peer_recv : self_recv;
    tss_transcript tr;
    tss_tr_init(&tr, "dkg-pair-check");
    tss_tr_append(&tr, sid, TSS_SID_BYTES);
    tss_tr_append_u32(&tr, a < b ? a : b);
    tss_tr_append_u32(&tr, a < b ? b : a);
    tss_tr_append(&tr, seed, TSS_ZERO_SEED_BYTES);
    tss_tr_append(&tr, lo[0], TSS_HASH_BYTES); /* lo receives from hi: msg1, msg2 */
    tss_tr_append(&tr, lo[1], TSS_HASH_BYTES);
    tss_tr_append(&tr, hi[0], TSS_HASH_BYTES); /* hi receives from lo */
    tss_tr_append(&tr, hi[1], TSS_HASH_BYTES);
    tss_tr_final(&tr, out);
}
