/* Spent-id log: an append-only, fsynced file of 32-byte ids that must never
 * be used again (consumed presignature ids, claimed sign sids). One module
 * serves both; see keystore/presig_store.h and keystore/sid_log.h.
 *
 * File layout, version 2 (docs/PROTOCOL.md "Spent-id log"):
 *   header (48 bytes): magic "TSSDSPNT" | version u8 = 2 | kind u8 |
 *                      reserved u16 = 0 | binding[20] | tag[16]
 *   record i (48 bytes each, i = 0, 1, ... in append order): id[32] | tag[16]
 * binding = BLAKE2b-160(key = "tssd/v1/spent-log", kind u8 || key id), so a
 * log copied to another key's place, or used for the other kind, is refused.
 * Every tag is a MAC under a key only the party has:
 *   mac_key  = BLAKE2b-256(key = storage key, "tssd/v2/spent-log-mac" || kind || key id)
 *   header tag = BLAKE2b-128(key = mac_key, u64le(2^64-1) || header[0..32])
 *   record tag = BLAKE2b-128(key = mac_key, u64le(i) || id)
 * A flipped byte anywhere, a record moved, removed or inserted in the middle,
 * or a record from another key's log, fails its tag. (Cutting whole records
 * off the end cannot be told from an older file: like restoring a backup,
 * which docs/OPERATIONS.md forbids.)
 *
 * Version 1 (32-byte header without tag, 32-byte records without tags) is
 * read with its own rules and migrated on open: rewritten atomically as
 * version 2 before the handle is returned.
 *
 * Durability: the header is created with an atomic write (temp file, fsync,
 * link, fsync directory), so it is never torn. An append writes one record
 * and fdatasyncs before it reports success; the record is in the in-memory
 * set before the write starts, so a failed append still refuses the id
 * (fail closed). The handle is then "unverified": the next append first
 * re-reads and verifies the whole file (and drops a torn tail the failed
 * write left), so a full disk recovers without a restart once space is free.
 *
 * Recovery rule on open, given that only the last append can have been
 * interrupted by a crash, and that an append that did not complete was never
 * acknowledged (so its id was never used: the presignature's share was
 * withheld, the sign round 1 was not sent):
 *   - a trailing partial record (fewer than 48 bytes) is ignored and
 *     truncated away;
 *   - a complete final record of 48 zero bytes (a filesystem that committed
 *     the new size before the data) is ignored likewise;
 *   - every other complete record must carry a valid tag and is kept, even
 *     if its append was not yet acknowledged (refusing an unused id is
 *     harmless);
 *   - anything else is corruption (TSS_E_CORRUPT, exit 65), reported with
 *     the record number and byte offset: bad header or header tag, a record
 *     whose tag fails, a zero record before the end, a duplicate id, more
 *     records than the cap. The caller refuses the key until an operator
 *     acts (docs/OPERATIONS.md "Damaged state files").
 *
 * Not thread-safe: one handle per file per process. The file is flock()ed
 * while open, so a second handle (or process) fails instead of racing. */
#ifndef TSS_KEYSTORE_SPENT_LOG_H
#define TSS_KEYSTORE_SPENT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

#define TSS_SPENT_ID_LEN 32
#define TSS_SPENT_TAG_LEN 16
#define TSS_SPENT_RECORD_LEN 48
#define TSS_SPENT_HEADER_LEN 48
#define TSS_SPENT_MAC_KEY_LEN 32
#define TSS_SPENT_LOG_MAGIC "TSSDSPNT"
#define TSS_SPENT_LOG_VERSION 2
/* Version 1: 32-byte header and records, no tags (migrated on open). */
#define TSS_SPENT_V1_LEN 32
/* Default and absolute record caps: 2^22 records = 128 MiB on disk and about
 * 40 bytes per record in memory. */
#define TSS_SPENT_LOG_DEFAULT_MAX (1u << 22)
#define TSS_SPENT_LOG_ABSOLUTE_MAX (1u << 24)

typedef enum {
    TSS_SPENT_PRESIG = 1,
    TSS_SPENT_SIGN_SID = 2,
    TSS_SPENT_WIRE_SESSION = 3 /* keystore/session_log.h */
} tss_spent_kind;

/* A set of 32-byte ids: dense array plus an open-addressing index keyed with
 * random SipHash keys (a hostile file cannot force collisions). */
typedef struct {
    uint8_t (*ids)[TSS_SPENT_ID_LEN];
    size_t count, ids_cap;
    uint32_t *slots; /* 0 = empty, else index + 1 */
    size_t nslots;   /* power of two */
    uint8_t key[16];
} tss_id_set;

void tss_id_set_init(tss_id_set *s);
bool tss_id_set_contains(const tss_id_set *s, const uint8_t id[TSS_SPENT_ID_LEN]);
/* *added is false when the id was already present. */
TSS_MUST_CHECK tss_result tss_id_set_add(tss_id_set *s, const uint8_t id[TSS_SPENT_ID_LEN],
                                         bool *added);
void tss_id_set_free(tss_id_set *s);

/* The MAC key of the log of this kind for this key id (secret: wipe it). */
void tss_spent_log_mac_key(uint8_t out[TSS_SPENT_MAC_KEY_LEN],
                           const uint8_t storage_key[32], tss_spent_kind kind,
                           const char *key_id);
/* The header a log of this kind for this key id must start with. */
void tss_spent_log_header(uint8_t out[TSS_SPENT_HEADER_LEN], tss_spent_kind kind,
                          const char *key_id, const uint8_t mac_key[TSS_SPENT_MAC_KEY_LEN]);
/* Record number index of id, as written to the file. */
void tss_spent_log_record(uint8_t out[TSS_SPENT_RECORD_LEN],
                          const uint8_t mac_key[TSS_SPENT_MAC_KEY_LEN], uint64_t index,
                          const uint8_t id[TSS_SPENT_ID_LEN]);

typedef struct {
    unsigned version; /* of the file parsed: 1 (to migrate) or 2 */
    size_t records;   /* ids kept */
    size_t valid_len; /* bytes to keep: header + records * record length */
    size_t dropped;   /* torn-tail bytes to truncate (len - valid_len) */
} tss_spent_log_scan;

/* Pure parser (fuzzed): checks the header against kind, key id and mac_key,
 * applies the recovery rule above, and adds every kept id to set (which
 * must be initialised, and empty). max_records 0 means the default cap.
 * Errors name the record number and byte offset, not the file. */
TSS_MUST_CHECK tss_result tss_spent_log_parse(const uint8_t *data, size_t len,
                                              tss_spent_kind kind, const char *key_id,
                                              const uint8_t mac_key[TSS_SPENT_MAC_KEY_LEN],
                                              size_t max_records, tss_id_set *set,
                                              tss_spent_log_scan *scan);

typedef struct tss_spent_log tss_spent_log;

/* Open dir/name (creating it with its header if it does not exist; dir must
 * exist and be private), lock it, load and verify it with the MAC key derived
 * from storage_key (the party's), truncate a torn tail (fsynced), and migrate
 * a version-1 file. A symlink or a file group/other can access is
 * TSS_E_PERMISSION; damage is TSS_E_CORRUPT naming the file and record. */
TSS_MUST_CHECK tss_result tss_spent_log_open(tss_spent_log **out, const char *dir,
                                             const char *name, tss_spent_kind kind,
                                             const char *key_id, const uint8_t storage_key[32],
                                             size_t max_records);
bool tss_spent_log_contains(const tss_spent_log *l, const uint8_t id[TSS_SPENT_ID_LEN]);
/* Durably append id: TSS_E_PROTOCOL if it is already there, TSS_E_TOO_LARGE
 * when the log is full, TSS_E_IO if the write or fdatasync failed (the id is
 * then refused by this handle anyway, and the next append re-verifies the
 * file first: TSS_E_IO again while that fails, TSS_E_CORRUPT if it shows
 * damage). */
TSS_MUST_CHECK tss_result tss_spent_log_append(tss_spent_log *l,
                                               const uint8_t id[TSS_SPENT_ID_LEN]);
size_t tss_spent_log_count(const tss_spent_log *l);

/* Operator repair of a damaged log (tss-keystore salvage-log; the party must
 * not hold it open). Keeps every non-zero id of every complete record,
 * authentic or not (refusing an id is always harmless), renames the damaged
 * file to <name>.damaged-<unix time> (*saved: its path), and writes the ids
 * as a fresh version-2 log atomically. *authentic counts the records whose
 * tag verified, *damaged those whose tag did not (their original ids are
 * lost: sessions with those ids are no longer refused). A log that verifies
 * is left alone (*saved is empty). */
TSS_MUST_CHECK tss_result tss_spent_log_salvage(const char *dir, const char *name,
                                                tss_spent_kind kind, const char *key_id,
                                                const uint8_t storage_key[32], size_t *authentic,
                                                size_t *damaged, char *saved, size_t saved_cap);
/* Bytes of torn tail dropped when this handle was opened (or re-verified). */
size_t tss_spent_log_repaired(const tss_spent_log *l);
/* True if the file was a version-1 log, rewritten as version 2 by open. */
bool tss_spent_log_migrated(const tss_spent_log *l);
const char *tss_spent_log_path(const tss_spent_log *l);
void tss_spent_log_close(tss_spent_log *l);

#endif
