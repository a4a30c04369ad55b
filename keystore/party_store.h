/* A party's state directory: what share_store, presig_store and sid_log
 * have in common (owner, paths, sealing with the storage key).
 *
 *   <state>/                        0700
 *     keys/<key-id>.share           0600  key share, sealed (format v2, content 2)
 *     keys/<key-id>.next            0600  the next epoch's share until it is committed
 *                                         (same sealing; share_store.h "Epochs")
 *     presig/<key-id>/              0700
 *       <presign-id hex>.presig     0600  presignature, sealed (format v2, content 3)
 *       spent.log                   0600  spent-id log of consumed presignature ids
 *     sids/<key-id>.sids            0600  spent-id log of sign sids used
 *
 * Every sealed file names its owner in the public header (party id, Ed25519
 * identity) and the key id it belongs to; all three are checked on load
 * against the running party and the file's name, and the header is the
 * AEAD's associated data, so none of them can be altered without the
 * storage key. See docs/OPERATIONS.md "Party state directory".
 *
 * Key ids are those of mpc/keyshare.h (1..64 of [A-Za-z0-9._-]) except "."
 * and "..", which would name a directory: a daemon must call
 * tss_store_key_id_check() before it starts a keygen, so that a completed
 * share can always be stored. */
#ifndef TSS_KEYSTORE_PARTY_STORE_H
#define TSS_KEYSTORE_PARTY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "keystore/atomic_file.h"
#include "keystore/derive.h"
#include "keystore/sealed.h"
#include "util/bytes.h"
#include "util/result.h"

#define TSS_STORE_KEYS_DIR "keys"
#define TSS_STORE_PRESIG_DIR "presig"
#define TSS_STORE_SIDS_DIR "sids"
#define TSS_STORE_SHARE_SUFFIX ".share"
#define TSS_STORE_NEXT_SUFFIX ".next" /* keys/<key-id>.next: the next epoch's share */
#define TSS_STORE_PRESIG_SUFFIX ".presig"
#define TSS_STORE_SIDS_SUFFIX ".sids"
#define TSS_STORE_SPENT_LOG "spent.log"
/* Bounds on what a directory listing returns. */
#define TSS_STORE_MAX_KEYS 4096

/* Test seam: runs after a presignature id is durably in the spent log and
 * before its file is unlinked. A failure aborts the consumption there, as a
 * crash at that instant would. */
typedef struct {
    tss_result (*after_spend)(void *ctx, const uint8_t id[32]);
    void *ctx;
} tss_spend_hooks;

/* Who owns the state directory. Everything is borrowed and must outlive the
 * handles opened with it (the stores copy state_dir, not keys). */
typedef struct {
    const char *state_dir;
    uint16_t party_id;
    const tss_party_keys *keys;     /* identity_public names the owner; storage_key seals */
    size_t log_max_records;         /* cap on each spent-id log; 0 = default */
    const tss_atomic_hooks *atomic; /* test seam for sealed writes; NULL in production */
    const tss_spend_hooks *spend;   /* test seam for presignature consumption */
} tss_store_ctx;

/* tss_key_id_check() and not "." or "..". */
TSS_MUST_CHECK tss_result tss_store_key_id_check(const char *key_id);

/* ---- helpers shared by the stores (not needed by callers) ----------------- */

/* out = state_dir/sub[/leaf]; TSS_E_USAGE if too long. */
TSS_MUST_CHECK tss_result tss_store_path(char *out, size_t cap, const char *state_dir,
                                         const char *sub, const char *leaf);
/* Create (0700) or check state_dir, then state_dir/sub[/leaf]. */
TSS_MUST_CHECK tss_result tss_store_ensure_dir(const tss_store_ctx *ctx, const char *sub,
                                               const char *leaf, char *out, size_t cap);
/* Seal plaintext as this party's file of the given content and key id. */
TSS_MUST_CHECK tss_result tss_store_seal(const tss_store_ctx *ctx, uint8_t content,
                                         const char *key_id, const uint8_t *plaintext,
                                         size_t len, tss_writer *out);
/* Read dir/name (private file), check it is version 2, of this content, for
 * this key id, this party and identity, and decrypt. *plaintext is secret
 * memory (tss_secret_free); errors name the file. */
TSS_MUST_CHECK tss_result tss_store_open(const tss_store_ctx *ctx, const char *dir,
                                         const char *name, uint8_t content, const char *key_id,
                                         uint8_t **plaintext, size_t *len);

#endif
