/* Durable erasure of one key's secrets on a party (key retirement, issue 17;
 * docs/OPERATIONS.md "Retiring a key").
 *
 * tss_key_erase removes, in this order, each step durable (directory fsync)
 * before the next:
 *   1. presig/<key-id>/: every presignature and temporary file, then
 *      spent.log, then the directory itself. Files go before the spent log,
 *      so a crash in between never leaves a presignature whose id the log no
 *      longer names as spent.
 *   2. keys/<key-id>.share, an uncommitted keys/<key-id>.next and the previous
 *      epoch's share an interrupted commit left: each renamed to a tombstone,
 *      overwritten with zeros (fdatasync), then unlinked.
 * A crash at any instant leaves a prefix done; running it again finishes the
 * job (it is idempotent). sids/<key-id>.sids and the ban list are public
 * bookkeeping and are kept.
 *
 * The overwrite is best effort: on flash, copy-on-write or journalling file
 * systems the old blocks may survive (SECURITY.md). They are sealed with the
 * storage key, which the mnemonic re-derives: whoever holds the disk image
 * and the passphrase could still recover a retired share from such blocks. */
#ifndef TSS_KEYSTORE_KEY_ERASE_H
#define TSS_KEYSTORE_KEY_ERASE_H

#include <stdbool.h>

#include "keystore/party_store.h"
#include "util/result.h"

/* *erased (may be NULL): whether anything was there to erase. The caller
 * must have closed every handle on the key (presignature store, sid log). */
TSS_MUST_CHECK tss_result tss_key_erase(const tss_store_ctx *ctx, const char *key_id,
                                        bool *erased);

/* Step 1 alone: the key's presignatures (an epoch commit discards them). */
TSS_MUST_CHECK tss_result tss_key_erase_presigs(const tss_store_ctx *ctx, const char *key_id,
                                                bool *erased);

/* Erase the previous epoch's share an epoch commit set aside
 * (keys/.<key-id>.share.old, share_store.h) and an interrupted erasure's
 * tombstone, if any. *erased (may be NULL): whether there was one. */
TSS_MUST_CHECK tss_result tss_key_erase_tombstone(const tss_store_ctx *ctx, const char *key_id,
                                                  bool *erased);

#endif
