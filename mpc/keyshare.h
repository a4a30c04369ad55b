/* A party's output of the DKG: everything it needs to sign, versioned and
 * serialisable for the keystore (which seals it with the storage key).
 *
 * Lives in secret memory (tss_keyshare_new); free with tss_keyshare_free. */
#ifndef TSS_MPC_KEYSHARE_H
#define TSS_MPC_KEYSHARE_H

#include <stdbool.h>
#include <stdint.h>

#include "mpc/msg.h"
#include "mpc/ote.h"
#include "mpc/point.h"
#include "mpc/scalar.h"
#include "mpc/transcript.h"
#include "util/bytes.h"
#include "util/result.h"

#define TSS_KEY_ID_MAX 64
/* Version 2 appends the key epoch (u32); version 1 shares decode as epoch 0. */
#define TSS_KEYSHARE_VERSION 2
#define TSS_KEYSHARE_MAGIC "TSSSHARE"
#define TSS_ZERO_SEED_BYTES 32
#define TSS_CHAIN_CODE_BYTES 32

/* Per-peer secrets, indexed like parties[] (the entry for self is unused). */
typedef struct {
    uint8_t zero_seed[TSS_ZERO_SEED_BYTES]; /* shared with this peer */
    tss_ote_receiver_seeds ote_recv;         /* we receive multiplications from the peer */
    tss_ote_sender_seeds ote_send;           /* we send multiplications to the peer */
} tss_keyshare_peer;

typedef struct {
    char key_id[TSS_KEY_ID_MAX + 1];
    uint16_t self;
    uint16_t threshold;
    uint16_t n;
    uint16_t parties[TSS_MPC_MAX_PARTIES]; /* ascending; evaluation points */
    tss_scalar x;                           /* secret share f(self) */
    tss_point X;                            /* group public key */
    tss_point X_j[TSS_MPC_MAX_PARTIES];     /* public shares f(parties[k])*G */
    uint8_t chain_code[TSS_CHAIN_CODE_BYTES];
    uint8_t keygen_sid[TSS_SID_BYTES];
    uint32_t banned; /* bit k set: parties[k] failed an OT check; refused for this key */
    uint32_t epoch;  /* key epoch: 0 from the DKG, +1 per committed refresh/reshare */
    tss_keyshare_peer *peers; /* n entries, secret memory */
} tss_keyshare;

/* Secret-memory allocation of a share with room for n peers. */
TSS_MUST_CHECK tss_result tss_keyshare_new(tss_keyshare **out, uint16_t n);
void tss_keyshare_free(tss_keyshare *ks);

/* Index of a party id in parties[], or -1. */
int tss_keyshare_index(const tss_keyshare *ks, uint16_t party);

/* Key ids: 1..64 characters of [A-Za-z0-9._-]. */
TSS_MUST_CHECK tss_result tss_key_id_check(const char *key_id);

/* Versioned encoding (magic, version, then fields; see docs/PROTOCOL.md). */
TSS_MUST_CHECK tss_result tss_keyshare_encode(const tss_keyshare *ks, tss_writer *w);
/* Full validation: counts, ids, points, x*G == X_self, and that the public
 * shares interpolate to X. *out is allocated only on success. */
TSS_MUST_CHECK tss_result tss_keyshare_decode(tss_keyshare **out, const uint8_t *in, size_t len);

/* Lagrange coefficient at 0 of party `id` over the set ids[0..count). */
TSS_MUST_CHECK tss_result tss_lagrange_at_zero(tss_scalar *out, uint16_t id, const uint16_t *ids,
                                               size_t count);

#endif
