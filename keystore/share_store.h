/* Key shares at rest: <state>/keys/<key-id>.share, sealed with the party's
 * storage key (sealed format version 2, content 2, header naming the party,
 * its identity and the key id). See keystore/party_store.h for the layout.
 *
 * Guarantees:
 *  - save never overwrites: a completed key share is never lost, not even
 *    to a second keygen with the same key id (TSS_E_EXISTS). The file is
 *    durable (file and directory fsynced) when save returns success; the
 *    daemon must not report the keygen complete before that.
 *  - load refuses, naming the file: a file of another party or identity, a
 *    file renamed from another key id, a different content type, a modified
 *    or truncated file (all TSS_E_CORRUPT/TSS_E_TRUNCATED, exit 65); unsafe
 *    permissions or a symlink (TSS_E_PERMISSION, exit 77).
 *  - record_ban re-seals atomically: after a crash or failure at any
 *    instant the file holds either the old or the new ban list, never a mix. */
#ifndef TSS_KEYSTORE_SHARE_STORE_H
#define TSS_KEYSTORE_SHARE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "keystore/party_store.h"
#include "mpc/keyshare.h"
#include "util/result.h"

typedef struct {
    size_t count;
    char (*ids)[TSS_KEY_ID_MAX + 1]; /* sorted */
} tss_key_id_list;

/* Seal and store share (which must be this party's: share->self ==
 * ctx->party_id). Creates <state>/keys (0700) if needed. */
TSS_MUST_CHECK tss_result tss_share_save(const tss_store_ctx *ctx, const tss_keyshare *share);

/* Load, unseal, decode (full validation) and check that the share is this
 * party's and carries key_id. *out (secret memory; tss_keyshare_free) is set
 * only on success. TSS_E_NOT_FOUND if there is no share for key_id. */
TSS_MUST_CHECK tss_result tss_share_load(const tss_store_ctx *ctx, const char *key_id,
                                         tss_keyshare **out);

/* Key ids with a share file, sorted. An absent keys/ directory is an empty
 * list. Names that are not "<valid key id>.share" are skipped. */
TSS_MUST_CHECK tss_result tss_share_list(const tss_store_ctx *ctx, tss_key_id_list *out);
void tss_key_id_list_free(tss_key_id_list *l);

/* Persist a ban of `party` for key_id: load, set its bit, re-seal, replace
 * atomically. A no-op if it is already banned. party must be one of the
 * key's parties and not this party (TSS_E_INVALID). *banned (may be NULL)
 * receives the resulting ban bitmap. */
TSS_MUST_CHECK tss_result tss_share_record_ban(const tss_store_ctx *ctx, const char *key_id,
                                               uint16_t party, uint32_t *banned);

/* ---- Epochs (issue 17; docs/PROTOCOL.md "Epoch commit") --------------------
 * A refresh or reshare leaves the new epoch's share in keys/<key-id>.next,
 * beside the committed keys/<key-id>.share, until the coordinator commits
 * it. Only the committed share is ever loaded for signing (tss_share_load).
 *
 * Commit, in this order, each step durable before the next:
 *   1. the key's presignatures (made with the old share) are erased;
 *   2. the committed share is renamed to .<key-id>.share.old (never loaded);
 *   3. <key-id>.next is renamed to <key-id>.share: the new epoch is in force;
 *   4. the old share is zeroed and unlinked (keystore/key_erase.h).
 * After a crash at any instant the party holds the old epoch (before 3; the
 * old share is put back from .old by the next save_next or discard if step 2
 * happened) or the new one (after 3); never neither once the call is
 * repeated, and never both usable: .next is never loaded for signing. */

/* Store share (this party's, epoch > 0) as key_id's next epoch, replacing an
 * uncommitted one. Refused (TSS_E_INVALID) unless its epoch is the committed
 * share's + 1 (or, for a party joining the key, there is no committed share). */
TSS_MUST_CHECK tss_result tss_share_save_next(const tss_store_ctx *ctx, const tss_keyshare *share);
/* Load the next epoch's share (TSS_E_NOT_FOUND if there is none). */
TSS_MUST_CHECK tss_result tss_share_load_next(const tss_store_ctx *ctx, const char *key_id,
                                              tss_keyshare **out);
/* Commit epoch (steps 1-4). Idempotent: a share already committed at this
 * epoch (no .next left) succeeds; a .next of another epoch, or none and a
 * committed share of another epoch, is refused (TSS_E_PROTOCOL). The
 * caller closes the key's presignature store first. */
TSS_MUST_CHECK tss_result tss_share_commit_next(const tss_store_ctx *ctx, const char *key_id,
                                                uint32_t epoch);
/* Drop an uncommitted next epoch (the coordinator never committed it), and
 * restore the committed share from a tombstone left by an interrupted
 * commit of it. No-op if there is none. */
TSS_MUST_CHECK tss_result tss_share_discard_next(const tss_store_ctx *ctx, const char *key_id);

#endif
