/* The coordinator's presignature record, <state>/presig/<key-id>.log: the
 * presignatures created for a key and which of them were handed out
 * (docs/PROTOCOL.md "Presigned signing", docs/OPERATIONS.md). Append-only
 * text, every record fdatasynced by the caller.
 *
 * Format 2:
 *   "# tssd coordinator presignature record v2\n"
 *   "+ <64 hex id> <signer ids, comma-separated, ascending>[ <path>] <32 hex sum>\n"
 *   "- <64 hex id> <32 hex sum>\n"
 * sum = BLAKE2b-128(key = "tssd/v2/presig-record", key id || 0x0a ||
 *                   u64le(record number) || the line before " <sum>")
 * <path> (issue 15) is the BIP-32 derivation path the presignature was made
 * for, "m/a/b/..." (non-hardened, canonical); a record without one serves the
 * key itself, as every record written before. Records are numbered from 0
 * after the header, so a flipped byte, a line
 * moved, removed or copied from another key's record fails its sum.
 * Cross-checks: a "+" id is new, its signers are threshold-many parties of
 * the key; a "-" names an id recorded by an earlier "+" and not yet taken.
 *
 * Torn tail (bytes after the last newline: a crash mid-append; only the last
 * append can be unfinished because each one is fdatasynced before the next):
 *   - it must be a prefix of a well-formed record, or all NUL bytes (size
 *     committed before data); anything else is damage;
 *   - a torn "+" is dropped: that presignature was never recorded, so never
 *     handed out;
 *   - a torn "-" counts as consumed, never as free: every available id
 *     starting with the hex digits it holds is taken (all of them if it
 *     holds none, or if the tail is NUL bytes);
 * and the caller rewrites the file (atomically) without the tail.
 * Every other defect is TSS_E_CORRUPT naming the line.
 *
 * Format 1 (no sums, header "... v1") is read with the same rules minus the
 * sums, then rewritten as format 2 by the caller (migration). */
#ifndef TSS_DAEMON_PRESIG_RECORD_H
#define TSS_DAEMON_PRESIG_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"
#include "wire/msg.h"

#define TSS_PRECORD_HEADER "# tssd coordinator presignature record v2\n"
#define TSS_PRECORD_HEADER_V1 "# tssd coordinator presignature record v1\n"
#define TSS_PRECORD_MAX (64u * 1024 * 1024)
/* "+ " id " " signers (up to 32 ids of up to 2 digits and commas) [" " path]
 * " " sum "\n" */
#define TSS_PRECORD_LINE_MAX \
    (2 + 64 + 1 + 3 * TSS_WIRE_MAX_PARTIES + 1 + TSS_BIP32_PATH_TEXT_MAX + 1 + 32 + 2)

/* A presignature the coordinator has created and not yet handed out. */
typedef struct {
    uint8_t id[TSS_WIRE_PRESIGN_ID_LEN];
    uint16_t count;
    uint16_t signers[TSS_WIRE_MAX_PARTIES]; /* ascending: the set it is bound to */
    tss_bip32_path path; /* and the derivation path (depth 0: the key itself) */
    int64_t made_ms; /* not in the file: tss_now_ms() when this process recorded or
                        loaded it (0 from the parser); the pool's max_age counts from it */
} tss_precord_entry;

typedef struct {
    unsigned version;          /* of the file: 1 or 2; 0 if empty or a torn header */
    size_t records;            /* complete records */
    size_t keep;               /* bytes before the torn tail */
    size_t torn;               /* bytes of torn tail */
    size_t burned;             /* available ids taken because of a torn "-" */
    tss_precord_entry *avail;  /* available, oldest first (malloc'd) */
    size_t n_avail, cap_avail;
} tss_precord;

/* The key the record belongs to. */
typedef struct {
    const char *key_id;
    uint16_t threshold;
    uint16_t count;
    const uint16_t *parties;
} tss_precord_key;

/* Parse (pure; fuzzed). *out must be zeroed; free it with tss_precord_free
 * whatever the result. */
TSS_MUST_CHECK tss_result tss_precord_parse(const char *data, size_t len,
                                            const tss_precord_key *key, tss_precord *out);
void tss_precord_free(tss_precord *r);

/* Format record number index ('+' with p's signers, or '-') with its sum and
 * newline into out (TSS_PRECORD_LINE_MAX bytes); returns its length. */
size_t tss_precord_line(char *out, const char *key_id, uint64_t index, char op,
                        const tss_precord_entry *p);

#endif
