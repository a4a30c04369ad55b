/* A per-process cache of decoded key shares (issue 14): loading a share
 * (read, unseal, decode, full validation) was 20-34% of a party's CPU per
 * signature (docs/PERFORMANCE.md, "Profile"). The cache keeps one validated
 * copy per key in secret memory and hands out clones, and only while the
 * share file is the very file it was loaded from: device, inode, size,
 * mtime and ctime (ns) are compared on every use, and every writer replaces a share by
 * an atomic rename (new inode), so a ban recorded, a refresh or a restore is
 * seen exactly as tss_share_load would see it. At most `cap` keys are held
 * (least recently used evicted): each is locked memory. */
#ifndef TSS_KEYSTORE_SHARE_CACHE_H
#define TSS_KEYSTORE_SHARE_CACHE_H

#include <stddef.h>

#include "keystore/party_store.h"
#include "mpc/keyshare.h"
#include "util/result.h"

typedef struct tss_share_cache tss_share_cache;

#define TSS_SHARE_CACHE_DEFAULT_CAP 64

TSS_MUST_CHECK tss_result tss_share_cache_new(size_t cap, tss_share_cache **out);
/* Wipes and frees every cached share. NULL is a no-op. */
void tss_share_cache_free(tss_share_cache *c);

/* Same contract as tss_share_load (same checks, same errors, *out a fresh
 * secret-memory share the caller frees with tss_keyshare_free, set only on
 * success), answered from the cache while the file is unchanged. */
TSS_MUST_CHECK tss_result tss_share_cache_load(tss_share_cache *c, const tss_store_ctx *ctx,
                                               const char *key_id, tss_keyshare **out);

/* Loads answered from the cache / from the file (tests, diagnostics). */
/* Drop (and wipe) key_id's cached share: a retired key's secret must not
 * outlive its file in memory (issue 17). NULL c: nothing. */
void tss_share_cache_forget(tss_share_cache *c, const char *key_id);
void tss_share_cache_stats(const tss_share_cache *c, size_t *hits, size_t *misses);

#endif
