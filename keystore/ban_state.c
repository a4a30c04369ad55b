#include "keystore/ban_state.h"

#include <stdio.h>
#include <string.h>

#include "keystore/share_store.h"

/* Ids come from the wire: one outside 1..63 maps to no bit (never a shift by
 * the type width or more). */
static uint64_t bit_of(uint16_t party) {
    return party >= 1 && party < 64 ? UINT64_C(1) << party : 0;
}

static uint16_t lowest(uint64_t set) {
    for (uint16_t id = 1; id < 64; id++)
        if (set & bit_of(id)) return id;
    return 0;
}

void tss_ban_state_init(tss_ban_state *b, const char *key_id) {
    memset(b, 0, sizeof *b);
    snprintf(b->key_id, sizeof b->key_id, "%s", key_id);
}

void tss_ban_state_merge(tss_ban_state *b, const tss_keyshare *share) {
    for (int k = 0; k < share->n; k++)
        if (share->banned >> k & 1) b->banned |= bit_of(share->parties[k]);
}

bool tss_ban_state_has(const tss_ban_state *b, uint16_t party) {
    return (b->banned & bit_of(party)) != 0;
}

bool tss_ban_state_view(void *ctx, uint16_t party) { return tss_ban_state_has(ctx, party); }

bool tss_ban_state_set(tss_ban_state *b, uint16_t party) {
    uint64_t bit = bit_of(party);
    if (!bit || (b->banned & bit)) return false;
    b->banned |= bit;
    b->unsaved |= bit;
    return true;
}

tss_result tss_ban_state_persist(tss_ban_state *b, const tss_store_ctx *store) {
    while (b->unsaved) {
        uint16_t id = lowest(b->unsaved);
        tss_result r = tss_share_record_ban(store, b->key_id, id, NULL);
        if (!tss_is_ok(r)) {
            snprintf(b->reason, sizeof b->reason, "%s", tss_error_detail());
            return r;
        }
        b->unsaved &= ~bit_of(id);
    }
    b->reason[0] = '\0';
    return TSS_OK_RESULT;
}

tss_result tss_ban_state_admit(tss_ban_state *b, const tss_store_ctx *store,
                               const uint16_t *parties, size_t count) {
    if (b->unsaved && !tss_is_ok(tss_ban_state_persist(b, store)))
        return tss_fail(TSS_E_IO,
                        "ban for party %u not yet on disk: %s; key %s is refused until it is "
                        "(retried on every request)",
                        lowest(b->unsaved), b->reason, b->key_id);
    for (size_t i = 0; i < count; i++)
        TSS_ENSURE(!tss_ban_state_has(b, parties[i]), TSS_E_PROTOCOL,
                   "party %u is banned for key %s (it failed an OT/RVOLE check)", parties[i],
                   b->key_id);
    return TSS_OK_RESULT;
}
