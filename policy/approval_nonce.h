/* Durable record of approval nonces already used by this party, so an
 * approval cannot be replayed, even after a restart.
 *
 * File <state>/approval-nonces (docs/PROTOCOL.md "Approval nonce record"),
 * rewritten atomically (temp file, fsync, rename, fsync dir) on each record:
 *   magic "TSSDAPNC" | version u8 = 1 | reserved[3] = 0 | high_water u64 |
 *   count u32 | count x (id[32] | expires u64) | tag[32]
 * tag = BLAKE2b-256(key = mac_key, every byte before it); mac_key is derived
 * from the party's storage key, so an edit (a removed nonce) is refused.
 * Ids are strictly ascending (one encoding per set; no duplicates).
 * high_water is the latest wall-clock time the store has seen: expiry is
 * judged against max(now, high_water), so stepping the clock back cannot
 * revive an approval whose nonce was pruned.
 * Bounded: an entry is pruned once expires + skew < time (the approval is
 * refused as expired from then on anyway); at most TSS_APPROVAL_NONCE_MAX
 * live entries, beyond which new approvals are refused (fail closed).
 *
 * Not thread-safe; one handle per file per process. */
#ifndef TSS_POLICY_APPROVAL_NONCE_H
#define TSS_POLICY_APPROVAL_NONCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

#define TSS_APPROVAL_NONCE_MAGIC "TSSDAPNC"
#define TSS_APPROVAL_NONCE_VERSION 1
#define TSS_APPROVAL_NONCE_ID_LEN 32
#define TSS_APPROVAL_NONCE_MAX 65536
#define TSS_APPROVAL_NONCE_HEADER_LEN (8 + 1 + 3 + 8 + 4)
#define TSS_APPROVAL_NONCE_RECORD_LEN (TSS_APPROVAL_NONCE_ID_LEN + 8)
#define TSS_APPROVAL_NONCE_FILE_MAX                                                         \
    (TSS_APPROVAL_NONCE_HEADER_LEN + TSS_APPROVAL_NONCE_MAX * TSS_APPROVAL_NONCE_RECORD_LEN + 32)
#define TSS_APPROVAL_NONCE_FILE "approval-nonces"

typedef struct {
    uint8_t id[TSS_APPROVAL_NONCE_ID_LEN];
    uint64_t expires;
} tss_approval_nonce_entry;

typedef struct tss_approval_nonce_store tss_approval_nonce_store;

/* The MAC key of the store, from the party's storage key (secret: wipe it). */
void tss_approval_nonce_mac_key(uint8_t out[32], const uint8_t storage_key[32]);

/* Pure parser (fuzzed): verify tag, structure and order; *entries is
 * malloc'd (free it). Errors are TSS_E_CORRUPT naming the record. */
TSS_MUST_CHECK tss_result tss_approval_nonce_parse(const uint8_t *data, size_t len,
                                                   const uint8_t mac_key[32],
                                                   tss_approval_nonce_entry **entries,
                                                   size_t *count, uint64_t *high_water);

/* Open dir/name (dir must exist and be private; a missing file is an empty
 * store, written on the first record). */
TSS_MUST_CHECK tss_result tss_approval_nonce_open(tss_approval_nonce_store **out,
                                                  const char *dir, const char *name,
                                                  const uint8_t mac_key[32]);
void tss_approval_nonce_close(tss_approval_nonce_store *s);
bool tss_approval_nonce_contains(const tss_approval_nonce_store *s,
                                 const uint8_t id[TSS_APPROVAL_NONCE_ID_LEN]);
/* max(now, high-water mark). */
uint64_t tss_approval_nonce_time(const tss_approval_nonce_store *s, uint64_t now);
/* Add n entries (none may be present), prune entries with expires + skew <
 * time, raise the high-water mark to now, and write the file durably. On a
 * write failure the entries stay in memory (refused) and TSS_E_IO returns. */
TSS_MUST_CHECK tss_result tss_approval_nonce_record(tss_approval_nonce_store *s,
                                                    const tss_approval_nonce_entry *e, size_t n,
                                                    uint64_t now, uint32_t skew);
size_t tss_approval_nonce_count(const tss_approval_nonce_store *s);
const char *tss_approval_nonce_path(const tss_approval_nonce_store *s);

#endif
