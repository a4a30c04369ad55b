/* Spent-id log: an append-only, fsynced file of 32-byte ids that must never
 * be used again (consumed presignature ids, claimed sign sids). One module
 * serves both; see keystore/presig_store.h and keystore/sid_log.h.
 *
 * File layout (docs/PROTOCOL.md "Spent-id log"):
 *   header (32 bytes): magic "TSSDSPNT" | version u8 = 1 | kind u8 |
 *                      reserved u16 = 0 | binding[20]
 *   records: 32 bytes each, the id itself, in append order.
 * binding = BLAKE2b-160(key = "tssd/v1/spent-log", kind u8 || key id), so a
 * log copied to another key's place, or used for the other kind, is refused.
 *
 * Durability: the header is created with an atomic write (temp file, fsync,
 * link, fsync directory), so it is never torn. An append writes one record
 * and fdatasyncs before it reports success; the record is in the in-memory
 * set before the write starts, so a failed append still refuses the id
 * (fail closed) and leaves the handle unusable until reopened.
 *
 * Recovery rule on open, given that only the last append can have been
 * interrupted by a crash:
 *   - a trailing partial record (fewer than 32 bytes) is ignored and
 *     truncated away: its append never completed, so its id was never used;
 *   - a complete final record of 32 zero bytes (a filesystem that committed
 *     the new size before the data) is ignored likewise: no real id is zero;
 *   - every other complete record is kept, even if its append was not yet
 *     acknowledged: refusing an id that was never used is harmless;
 *   - anything else is corruption (TSS_E_CORRUPT, exit 65): bad header,
 *     a zero record before the end, a duplicate id, more records than the cap.
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
#define TSS_SPENT_RECORD_LEN 32
#define TSS_SPENT_HEADER_LEN 32
#define TSS_SPENT_LOG_MAGIC "TSSDSPNT"
#define TSS_SPENT_LOG_VERSION 1
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

/* The header a log of this kind for this key id must start with. */
void tss_spent_log_header(uint8_t out[TSS_SPENT_HEADER_LEN], tss_spent_kind kind,
                          const char *key_id);

typedef struct {
    size_t records;   /* ids kept */
    size_t valid_len; /* bytes to keep: header + records * 32 */
    size_t dropped;   /* torn-tail bytes to truncate (len - valid_len) */
} tss_spent_log_scan;

/* Pure parser (fuzzed): checks the header against kind and key id, applies
 * the recovery rule above, and adds every kept id to set (which must be
 * initialised, and empty). max_records 0 means the default cap. */
TSS_MUST_CHECK tss_result tss_spent_log_parse(const uint8_t *data, size_t len,
                                              tss_spent_kind kind, const char *key_id,
                                              size_t max_records, tss_id_set *set,
                                              tss_spent_log_scan *scan);

typedef struct tss_spent_log tss_spent_log;

/* Open dir/name (creating it with its header if it does not exist; dir must
 * exist and be private), lock it, load it, and truncate a torn tail (fsynced).
 * A symlink or a file group/other can access is TSS_E_PERMISSION. */
TSS_MUST_CHECK tss_result tss_spent_log_open(tss_spent_log **out, const char *dir,
                                             const char *name, tss_spent_kind kind,
                                             const char *key_id, size_t max_records);
bool tss_spent_log_contains(const tss_spent_log *l, const uint8_t id[TSS_SPENT_ID_LEN]);
/* Durably append id: TSS_E_PROTOCOL if it is already there, TSS_E_TOO_LARGE
 * when the log is full, TSS_E_IO if the write or fdatasync failed (the id is
 * then refused by this handle anyway and the handle refuses further appends). */
TSS_MUST_CHECK tss_result tss_spent_log_append(tss_spent_log *l,
                                               const uint8_t id[TSS_SPENT_ID_LEN]);
size_t tss_spent_log_count(const tss_spent_log *l);
/* Bytes of torn tail dropped when this handle was opened. */
size_t tss_spent_log_repaired(const tss_spent_log *l);
const char *tss_spent_log_path(const tss_spent_log *l);
void tss_spent_log_close(tss_spent_log *l);

#endif
