/* Pairwise setup shared by the DKG and the reshare (one copy of the logic):
 * the base OTs of an ordered pair turned into OT-extension seeds, the
 * pairwise zero-share seed, and the confirmation hash both ends broadcast.
 *
 * Hash tags are the DKG's ("dkg-base-ot-msg", "dkg-zero-seed",
 * "dkg-pair-check"); runs are separated by the sid, which each protocol
 * derives under its own purpose tag. */
#ifndef TSS_MPC_PAIRWISE_H
#define TSS_MPC_PAIRWISE_H

#include <stddef.h>
#include <stdint.h>

#include "mpc/base_ot.h"
#include "mpc/keyshare.h"
#include "mpc/transcript.h"
#include "util/bytes.h"
#include "util/result.h"

/* Hash of one base-OT message as it went over the wire. */
void tss_pair_ot_msg_hash(const uint8_t *msg, size_t len, uint8_t out[TSS_HASH_BYTES]);

/* We are the base-OT sender towards `peer` (its msg1 in, our msg2 appended
 * to w): fills the OT-extension receiver seeds and the hash of our msg2. */
TSS_MUST_CHECK tss_result tss_pair_ot_respond(const uint8_t sid[TSS_SID_BYTES], uint16_t self,
                                              uint16_t peer, const uint8_t *msg1, tss_writer *w,
                                              tss_ote_receiver_seeds *seeds,
                                              uint8_t msg2_hash[TSS_HASH_BYTES]);
/* We were the base-OT receiver: the peer's msg2 in, the OT-extension sender
 * seeds out. The receiver state is freed. */
TSS_MUST_CHECK tss_result tss_pair_ot_finish(tss_base_ot_receiver **state, const uint8_t *msg2,
                                             tss_ote_sender_seeds *seeds);

/* Zero-share seed of {self, peer}: both contributions ordered by party id. */
void tss_pair_zero_seed(const uint8_t sid[TSS_SID_BYTES], uint16_t self, uint16_t peer,
                        const uint8_t mine[TSS_ZERO_SEED_BYTES],
                        const uint8_t theirs[TSS_ZERO_SEED_BYTES],
                        uint8_t out[TSS_ZERO_SEED_BYTES]);

/* Confirmation of what {self, peer} share: the zero seed and both base-OT
 * transcripts, each end from its own view (hashes of the msg1/msg2 we sent,
 * the raw msg1/msg2 the peer sent). Safe to broadcast. */
void tss_pair_check(const uint8_t sid[TSS_SID_BYTES], uint16_t self, uint16_t peer,
                    const uint8_t seed[TSS_ZERO_SEED_BYTES],
                    const uint8_t my_msg1_hash[TSS_HASH_BYTES],
                    const uint8_t my_msg2_hash[TSS_HASH_BYTES], const uint8_t *peer_msg1,
                    const uint8_t *peer_msg2, uint8_t out[TSS_HASH_BYTES]);

#endif
