/* Refresh and reshare of an existing key, sans-I/O (issue 17; bytes in
 * docs/PROTOCOL.md "Reshare").
 *
 * An old quorum S (exactly t old parties, the dealers) moves the secret x of
 * key X from a t-of-N sharing to a fresh t'-of-N' sharing among the new
 * committee P' (ids may overlap S or not; a new party may hold no share).
 * Refresh is the same protocol with P' = the old committee and t' = t
 * (tss_reshare_refresh_config). The participants are U = S ∪ P'.
 *
 * Dealer i ∈ S deals its Lagrange-weighted share λ_i·x_i (λ over S) with a
 * fresh random polynomial f_i of degree t'-1; new party j gets
 * x_j' = Σ_i f_i(j). Three rounds, every broadcast to all of U:
 *  1. broadcast: sid share;
 *     p2p (new party -> new party): base-OT msg1.
 *  2. broadcast: digest of all round-1 broadcasts; dealers add F_i (Feldman
 *     commitments to f_i), the key's chain code and a Schnorr PoK of every
 *     coefficient bound to final_sid;
 *     p2p (to each new party j): f_i(j) if the sender deals; zero-share seed
 *     contribution and base-OT msg2 if the sender is a new party.
 *  3. broadcast: echo digest of every round-1/2 broadcast; new parties add
 *     X_j' with a PoK and a pairwise confirmation (zero seed, both base-OT
 *     transcripts) for each other new party.
 * Checks (culprit named only for what it signed): Feldman check of f_i(j)
 * against F_i, PoKs, F_i0 == λ_i·X_i (by parties that hold the old public
 * shares, i.e. any old party), Σ F_i0 == X (everyone; culprit 0 when the
 * party cannot tell which dealer is wrong), all dealers' chain codes equal
 * (and equal to the old share's, for old parties), echo digests, pairwise
 * confirmations, X_j' against Σ F_i evaluated at j.
 *
 * Output: every participant computes the same 32-byte epoch transcript hash;
 * each new party also gets a fresh tss_keyshare (same key id, X and chain
 * code; new threshold, parties, x', public shares, keygen_sid = this run's
 * final sid, fresh zero seeds and base-OT seeds; bans of the old share carry
 * over for parties still in the committee; epoch = old epoch + 1 when the
 * old share is given, else the daemon sets it). A dealer outside P' gets
 * the transcript only.
 *
 * The pairwise channel the daemon provides for p2p messages must give
 * confidentiality (f_i(j) and the zero-seed contributions are secret),
 * integrity and sender/receiver/session/type binding (as for the DKG:
 * daemon/ seals p2p payloads with the pairwise AEAD key).
 *
 * Usage: tss_reshare_new, tss_reshare_start, tss_reshare_handle for every
 * incoming message until tss_reshare_finished; then tss_reshare_transcript
 * and (new parties) tss_reshare_take_share. Any failure is final;
 * tss_reshare_culprit names the party at fault or 0. */
#ifndef TSS_MPC_RESHARE_H
#define TSS_MPC_RESHARE_H

#include <stdbool.h>
#include <stdint.h>

#include "mpc/base_ot.h"
#include "mpc/keyshare.h"
#include "mpc/msg.h"
#include "mpc/schnorr.h"
#include "util/result.h"

typedef struct {
    uint16_t self;
    char key_id[TSS_KEY_ID_MAX + 1];
    uint8_t session_id[TSS_SID_BYTES]; /* from the coordinator; binds this run */
    tss_point X;                       /* the key's public key (registry or old share) */
    uint16_t old_threshold;            /* t; the quorum has exactly t dealers */
    uint16_t dealers[TSS_MPC_MAX_PARTIES]; /* S: old_threshold ids, strictly ascending */
    uint16_t new_threshold;                /* t', 2..new_n */
    uint16_t new_n;                        /* N', 2..32 */
    uint16_t new_parties[TSS_MPC_MAX_PARTIES]; /* P': strictly ascending ids in 1..32 */
    /* Required when self ∈ S, optional otherwise (an old party that only
     * receives passes it to check each dealer's constant term and chain
     * code). Copied by tss_reshare_new; must match key_id, X and (for a
     * dealer) old_threshold, with S among its parties. */
    const tss_keyshare *old_share;
} tss_reshare_config;

typedef struct tss_reshare tss_reshare;

/* Refresh: same committee and threshold as `old`; signers = the t dealers
 * (ascending, among old->parties). Fills *cfg for party old->self. */
TSS_MUST_CHECK tss_result tss_reshare_refresh_config(tss_reshare_config *cfg,
                                                     const tss_keyshare *old,
                                                     const uint16_t *signers,
                                                     const uint8_t session_id[TSS_SID_BYTES]);

TSS_MUST_CHECK tss_result tss_reshare_new(tss_reshare **out, const tss_reshare_config *cfg);
TSS_MUST_CHECK tss_result tss_reshare_start(tss_reshare *r, tss_mpc_outbox *out);
TSS_MUST_CHECK tss_result tss_reshare_handle(tss_reshare *r, const tss_mpc_msg *msg,
                                             tss_mpc_outbox *out);
bool tss_reshare_finished(const tss_reshare *r);
/* The party that caused the abort, or 0. */
uint16_t tss_reshare_culprit(const tss_reshare *r);
/* Current round (1..3; 4 when finished) and the peers whose messages for it
 * have not arrived; returns their count. */
int tss_reshare_round(const tss_reshare *r);
size_t tss_reshare_waiting_for(const tss_reshare *r, uint16_t ids[TSS_MPC_MAX_PARTIES]);
/* True when self ∈ P' (the run ends with a new share for it). */
bool tss_reshare_is_new_party(const tss_reshare *r);
/* The participants U = S ∪ P' (ascending); returns their count. Broadcasts
 * go to every one of them. */
size_t tss_reshare_participants(const tss_reshare *r, uint16_t ids[TSS_MPC_MAX_PARTIES]);
/* Epoch transcript hash, identical at every participant (after finish). */
TSS_MUST_CHECK tss_result tss_reshare_transcript(const tss_reshare *r,
                                                 uint8_t out[TSS_HASH_BYTES]);
/* Moves the new key share out (once; new parties only). */
TSS_MUST_CHECK tss_result tss_reshare_take_share(tss_reshare *r, tss_keyshare **out);
void tss_reshare_free(tss_reshare *r);

/* Payload sizes (exact), used by decoders and docs. */
#define TSS_RESHARE_R1_BCAST_BYTES TSS_SID_BYTES
#define TSS_RESHARE_R1_P2P_BYTES TSS_BASE_OT_MSG1_BYTES
#define TSS_RESHARE_R2_BCAST_BYTES(dealer, t_new)                                          \
    (TSS_HASH_BYTES + ((dealer) ? 2 + (size_t)(t_new) * (TSS_PT_BYTES + TSS_SCHNORR_BYTES) + \
                                      TSS_CHAIN_CODE_BYTES                                 \
                                : 0))
#define TSS_RESHARE_R2_P2P_BYTES(dealer, new_party)                                        \
    (((dealer) ? TSS_SC_BYTES : 0) +                                                       \
     ((new_party) ? TSS_ZERO_SEED_BYTES + TSS_BASE_OT_MSG2_BYTES : 0))
#define TSS_RESHARE_R3_BCAST_BYTES(new_party, n_new)                                       \
    (TSS_HASH_BYTES +                                                                      \
     ((new_party) ? TSS_PT_BYTES + TSS_SCHNORR_BYTES + ((size_t)(n_new)-1) * TSS_HASH_BYTES \
                  : 0))

#endif
