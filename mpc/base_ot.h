/* Base OT: Masny-Rindal endemic 1-out-of-2 OT over secp256k1 (ePrint 2019/706,
 * Fig. 8 shape), batched 256 per ordered pair (sender id, receiver id) and
 * session id, with one sender key for the whole batch as in the batched
 * endemic OT of McQuoid-Rosulek-Roy (ePrint 2021/682, Fig. 3) and the MR
 * authors' own implementation (libOTe).
 *
 * Per OT i, with receiver choice c, H_j(.) = hash-to-curve bound to (sid,
 * sender, receiver, i, j) and KDF bound to the same plus the OT's transcript:
 *   receiver: a_i random; r_{1-c} a uniformly random point;
 *             r_c = a_i*G - H_c(r_{1-c})                            -> msg1 (r_0, r_1)
 *   sender:   t random, T = t*G once per batch                      -> msg2 T
 *             M_j = r_j + H_j(r_{1-j});  m_j = KDF(i, j, r_0, r_1, T, t*M_j)
 *   receiver: m_c = KDF(i, c, r_0, r_1, T, a_i*T)   (M_c = a_i*G)
 * H has no known discrete log (try-and-increment), so a receiver cannot know the
 * logs of both M_0 and M_1: it learns only m_c. r_0, r_1 are uniform whatever c
 * is, so the sender learns nothing about c. The reuse of t across the batch is
 * argued in base_ot.c.
 *
 * Sans-I/O: the receiver starts (msg1), the sender responds (msg2 and its
 * outputs), the receiver finishes. Every received point is validated; any
 * invalid message is rejected as a whole before any secret-dependent step.
 * Secret scalars (a_i, t) are only multiplied through libsecp256k1's
 * constant-time paths (ec_pubkey_create, ecdh). */
#ifndef TSS_MPC_BASE_OT_H
#define TSS_MPC_BASE_OT_H

#include <stddef.h>
#include <stdint.h>

#include "mpc/point.h"
#include "mpc/transcript.h"
#include "util/bytes.h"
#include "util/result.h"

#define TSS_BASE_OT_COUNT 256
#define TSS_BASE_OT_SEED_BYTES 32
#define TSS_BASE_OT_CHOICE_BYTES (TSS_BASE_OT_COUNT / 8)
/* msg1 = 256 x (r_0 || r_1); msg2 = T (one point for the whole batch).
 * Points are 33-byte SEC1 compressed encodings. */
#define TSS_BASE_OT_MSG1_BYTES (TSS_BASE_OT_COUNT * 2 * TSS_PT_BYTES)
#define TSS_BASE_OT_MSG2_BYTES TSS_PT_BYTES

/* Decoded messages (public data). */
typedef struct {
    tss_point r[TSS_BASE_OT_COUNT][2];
} tss_base_ot_msg1;
typedef struct {
    tss_point T;
} tss_base_ot_msg2;

/* Secret outputs: keep them in secret memory (tss_secret_alloc) or wipe them
 * with tss_wipe. Choice bit i is (choice[i / 8] >> (i % 8)) & 1. */
typedef struct {
    uint8_t m[TSS_BASE_OT_COUNT][2][TSS_BASE_OT_SEED_BYTES];
} tss_base_ot_sender_output;
typedef struct {
    uint8_t choice[TSS_BASE_OT_CHOICE_BYTES];
    uint8_t m[TSS_BASE_OT_COUNT][TSS_BASE_OT_SEED_BYTES];
} tss_base_ot_receiver_output;

/* Receiver state between msg1 and msg2 (secret memory, opaque). */
typedef struct tss_base_ot_receiver tss_base_ot_receiver;

/* Exact-length decoders: every point must parse; trailing bytes are rejected. */
TSS_MUST_CHECK tss_result tss_base_ot_msg1_decode(tss_base_ot_msg1 *out, const uint8_t *in,
                                                  size_t len);
TSS_MUST_CHECK tss_result tss_base_ot_msg2_decode(tss_base_ot_msg2 *out, const uint8_t *in,
                                                  size_t len);

/* Receiver, step 1: choice bits in; state and msg1 (appended to msg1_out) out.
 * sender_id != receiver_id. */
TSS_MUST_CHECK tss_result tss_base_ot_receiver_start(tss_base_ot_receiver **state,
                                                     const uint8_t sid[TSS_SID_BYTES],
                                                     uint32_t sender_id, uint32_t receiver_id,
                                                     const uint8_t choice[TSS_BASE_OT_CHOICE_BYTES],
                                                     tss_writer *msg1_out);
/* Sender: msg1 in; msg2 (appended to msg2_out) and both seeds of every OT out.
 * *out is written only on success. */
TSS_MUST_CHECK tss_result tss_base_ot_sender_respond(const uint8_t sid[TSS_SID_BYTES],
                                                     uint32_t sender_id, uint32_t receiver_id,
                                                     const uint8_t *msg1, size_t msg1_len,
                                                     tss_writer *msg2_out,
                                                     tss_base_ot_sender_output *out);
/* Receiver, step 2: msg2 in; chosen seeds out. The state is single-use: it is
 * wiped after the first call, whether that succeeds or fails. */
TSS_MUST_CHECK tss_result tss_base_ot_receiver_finish(tss_base_ot_receiver *state,
                                                      const uint8_t *msg2, size_t msg2_len,
                                                      tss_base_ot_receiver_output *out);
/* Wipes and frees; NULL is fine. */
void tss_base_ot_receiver_free(tss_base_ot_receiver *state);

#endif
