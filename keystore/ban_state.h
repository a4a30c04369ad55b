/* A key's ban state at a party: one per key, shared by every session of the
 * key (DESIGN.md §3, SECURITY.md "Bans").
 *
 * A failed OT-extension or RVOLE check leaks one bit of the honest side's
 * Delta per check to a cheating peer, so a ban must hold at once in every
 * session of the key, before the next check anywhere, and must survive a
 * restart. The order is: set in memory (tss_ban_state_set), abort the key's
 * sessions with that peer (the caller), persist (tss_ban_state_persist,
 * re-sealing the share through keystore/share_store.h). If persisting fails
 * (disk full, read-only), the ban still holds in memory and
 * tss_ban_state_admit refuses every session of the key, retrying the write
 * first, until the ban is on disk. */
#ifndef TSS_KEYSTORE_BAN_STATE_H
#define TSS_KEYSTORE_BAN_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "keystore/party_store.h"
#include "mpc/keyshare.h"
#include "util/result.h"

#define TSS_BAN_REASON_MAX 240

typedef struct {
    char key_id[TSS_KEY_ID_MAX + 1];
    uint64_t banned;  /* bit id: party id banned (ids are 1..TSS_MPC_MAX_PARTIES) */
    uint64_t unsaved; /* banned in memory, not yet on disk */
    char reason[TSS_BAN_REASON_MAX + 1]; /* why the last write failed */
} tss_ban_state;

void tss_ban_state_init(tss_ban_state *b, const char *key_id);

/* Adds the bans persisted in a freshly loaded share of this key. */
void tss_ban_state_merge(tss_ban_state *b, const tss_keyshare *share);

bool tss_ban_state_has(const tss_ban_state *b, uint16_t party);

/* The tss_ban_view callback (mpc/sign.h); ctx is a tss_ban_state. */
bool tss_ban_state_view(void *ctx, uint16_t party);

/* Bans party in memory (idempotent). Returns true if it was not banned. */
bool tss_ban_state_set(tss_ban_state *b, uint16_t party);

/* Writes every unsaved ban to the share file. On failure the bans stay
 * unsaved, the reason is kept, and the error is returned. */
TSS_MUST_CHECK tss_result tss_ban_state_persist(tss_ban_state *b, const tss_store_ctx *store);

/* Whether a new session of the key with these parties may start: retries an
 * unsaved ban first; refuses (TSS_E_IO) every session while one is still not
 * on disk, and (TSS_E_PROTOCOL) a session with a banned party. */
TSS_MUST_CHECK tss_result tss_ban_state_admit(tss_ban_state *b, const tss_store_ctx *store,
                                              const uint16_t *parties, size_t count);

#endif
