/* Distributed key generation (t-of-N, 2 <= t <= N <= 32), sans-I/O.
 *
 * Three rounds (DESIGN.md §3, byte layouts in docs/PROTOCOL.md):
 *  1. broadcast: sid share, salted commitment to (F_i, chain-code share);
 *     to each peer: base-OT msg1 (we are the base-OT receiver).
 *  2. broadcast: F_i, chain-code share, salt, Schnorr PoK of every coefficient
 *     bound to final_sid; to each peer: f_i(j), zero-share seed contribution,
 *     base-OT msg2 answering the peer's msg1.
 *     The round-2 broadcast also carries a digest of all round-1 broadcasts.
 *  3. broadcast: X_i = x_i*G with a PoK, a digest of every round-1/2 broadcast
 *     seen (catches a relay that shows parties different broadcasts), and for
 *     each peer a hash confirming the pairwise zero-share seed and both
 *     base-OT transcripts of the pair (so a keygen whose base OTs disagree
 *     fails here, not at every later signature).
 *
 * Usage: tss_dkg_new, tss_dkg_start (round-1 messages), then tss_dkg_handle for
 * every incoming message (it may emit the next round's messages), until
 * tss_dkg_finished; then tss_dkg_take_share. Any failure is final: the
 * session is aborted, and tss_dkg_culprit names the party at fault (0 when
 * the failure cannot be attributed). A party that never sends is found with
 * tss_dkg_waiting_for when the caller's round timer expires. */
#ifndef TSS_MPC_DKG_H
#define TSS_MPC_DKG_H

#include <stdbool.h>
#include <stdint.h>

#include "mpc/base_ot.h"
#include "mpc/keyshare.h"
#include "mpc/msg.h"
#include "mpc/schnorr.h"
#include "util/result.h"

typedef struct {
    uint16_t self;
    uint16_t threshold;
    uint16_t n;
    uint16_t parties[TSS_MPC_MAX_PARTIES]; /* strictly ascending ids in 1..32 */
    char key_id[TSS_KEY_ID_MAX + 1];
    uint8_t session_id[TSS_SID_BYTES]; /* from the coordinator; binds this run */
} tss_dkg_config;

typedef struct tss_dkg tss_dkg;

TSS_MUST_CHECK tss_result tss_dkg_new(tss_dkg **out, const tss_dkg_config *cfg);
TSS_MUST_CHECK tss_result tss_dkg_start(tss_dkg *d, tss_mpc_outbox *out);
TSS_MUST_CHECK tss_result tss_dkg_handle(tss_dkg *d, const tss_mpc_msg *msg,
                                         tss_mpc_outbox *out);
bool tss_dkg_finished(const tss_dkg *d);
/* The party that caused the abort, or 0. */
uint16_t tss_dkg_culprit(const tss_dkg *d);
/* Current round (1..3; 4 when finished) and the peers whose messages for it
 * have not arrived; returns their count. */
int tss_dkg_round(const tss_dkg *d);
size_t tss_dkg_waiting_for(const tss_dkg *d, uint16_t ids[TSS_MPC_MAX_PARTIES]);
/* Moves the key share out (once). */
TSS_MUST_CHECK tss_result tss_dkg_take_share(tss_dkg *d, tss_keyshare **out);
void tss_dkg_free(tss_dkg *d);

/* Payload sizes (exact) for a threshold t, used by decoders and docs. */
#define TSS_DKG_R1_BCAST_BYTES (TSS_SID_BYTES + TSS_COMMIT_BYTES)
#define TSS_DKG_R1_P2P_BYTES TSS_BASE_OT_MSG1_BYTES
#define TSS_DKG_R2_BCAST_BYTES(t)                                                     \
    (2 + (size_t)(t) * (TSS_PT_BYTES + TSS_SCHNORR_BYTES) + TSS_CHAIN_CODE_BYTES +          \
     TSS_SALT_BYTES + TSS_HASH_BYTES)
#define TSS_DKG_R2_P2P_BYTES (TSS_SC_BYTES + TSS_ZERO_SEED_BYTES + TSS_BASE_OT_MSG2_BYTES)
#define TSS_DKG_R3_BCAST_BYTES(n) \
    (TSS_PT_BYTES + TSS_SCHNORR_BYTES + TSS_HASH_BYTES + ((size_t)(n)-1) * TSS_HASH_BYTES)

#endif
