/* The coordinator's audit log: hash-chained, rotated segments written with
 * group commit (docs/OPERATIONS.md "Audit log" has the byte-level format).
 *
 *   <dir>/audit-<NNNNNNNN>-<YYYYmmddTHHMMSSZ>.log   segment N, opened at that time
 *
 * Every line is "<body> <hash>\n": body is one JSON object of printable ASCII
 * (0x20..0x7e), hash is 64 lowercase hex of
 *     SHA-256("tssd-audit-v1" 0x00 || previous record's hash (32 bytes) || body).
 * Line 1 of each segment is its header record
 *     {"type":"segment","format":"tssd-audit-1","segment":N,"created":"<ISO>","prev":"<hex>"}
 * whose prev (and chain input) is the last hash of segment N-1, 32 zero bytes
 * for segment 1. So a flipped, removed, inserted or reordered record, or a
 * segment removed or swapped, breaks the chain at a line verify names.
 *
 * Group commit: tss_audit_append only queues a body; tss_audit_flush writes
 * every queued record with one write() and, when one of them was appended as
 * durable (or the caller asks), one fdatasync. The caller answers a request
 * whose outcome needs durability only after that flush. Not thread-safe (the
 * coordinator's loop is single-threaded). */
#ifndef TSS_DAEMON_AUDIT_H
#define TSS_DAEMON_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

#define TSS_AUDIT_HASH_LEN 32
#define TSS_AUDIT_MAX_BODY 4096 /* bytes of one record body */
#define TSS_AUDIT_MAX_LINE (TSS_AUDIT_MAX_BODY + 1 + 2 * TSS_AUDIT_HASH_LEN + 1)
#define TSS_AUDIT_MAX_PENDING (16u * 1024 * 1024) /* queued bytes before appends fail */

typedef struct tss_audit tss_audit;

typedef struct {
    uint64_t rotate_size;   /* bytes; a segment is closed once it reaches this (0: never) */
    uint64_t rotate_age_ms; /* a segment is closed once this old (0: never) */
} tss_audit_options;

/* Open (create) the log in dir: continue the newest segment's chain, drop a
 * torn last line (a crash mid-write; that record was never acknowledged).
 * TSS_E_CORRUPT naming the file if its last complete line is not a record. */
TSS_MUST_CHECK tss_result tss_audit_open(tss_audit **out, const char *dir,
                                         const tss_audit_options *opt, int64_t wall_ms);
/* Flush (with fdatasync) and close; NULL is a no-op. */
void tss_audit_close(tss_audit *a);

/* Queue one record body (a JSON object; bytes outside 0x20..0x7e become '?').
 * durable: the next flush fdatasyncs. Fails only when the queue is full. */
TSS_MUST_CHECK tss_result tss_audit_append(tss_audit *a, const char *body, size_t len,
                                           bool durable);
/* Records queued and not yet written; records written but not yet fdatasynced. */
bool tss_audit_has_pending(const tss_audit *a);
bool tss_audit_has_unsynced(const tss_audit *a);
bool tss_audit_needs_sync(const tss_audit *a); /* a queued record was appended durable */
/* Rotate if due, write every queued record, fdatasync if a durable record
 * was queued or sync is set. On failure the queued records stay queued (and
 * a partial write is cut off again) so the chain on disk stays intact. */
TSS_MUST_CHECK tss_result tss_audit_flush(tss_audit *a, bool sync, int64_t wall_ms);

/* The hash of the last record written, its segment number and file path. */
void tss_audit_head(const tss_audit *a, uint8_t out[TSS_AUDIT_HASH_LEN]);
uint64_t tss_audit_segment(const tss_audit *a);
const char *tss_audit_path(const tss_audit *a);

/* ---- verification ---------------------------------------------------------------------- */

/* The chain state carried from one segment to the next. */
typedef struct {
    bool started;
    uint64_t segment; /* number of the last segment verified */
    uint8_t head[TSS_AUDIT_HASH_LEN];
    uint64_t first_segment;
    uint64_t records, segments;
    /* Optional: a hash recorded elsewhere earlier (the coordinator logs the
     * last hash at each rotation and at exit). Set have_anchor; verification
     * sets anchor_found when a record has that hash, so a log cut back
     * before that record is detected. */
    bool have_anchor, anchor_found;
    uint8_t anchor[TSS_AUDIT_HASH_LEN];
} tss_audit_chain;

void tss_audit_chain_init(tss_audit_chain *c);
/* Verify one whole segment (its bytes) and advance the chain. The first
 * segment seen anchors the chain at its header's prev (segment 1: zeros);
 * every later one must be the next number and link to the head. On failure
 * *line is the 1-based line of the first bad record. */
TSS_MUST_CHECK tss_result tss_audit_verify_segment(tss_audit_chain *c, const uint8_t *buf,
                                                   size_t len, size_t *line);
/* Verify files in order (names need not follow the pattern). On failure
 * *bad_file is the index of the file, *line as above (0: the file itself). */
TSS_MUST_CHECK tss_result tss_audit_verify_files(tss_audit_chain *c, const char *const *paths,
                                                 size_t n, size_t *bad_file, size_t *line);
/* Verify every segment in dir in name order; the number in each name must
 * match its header. The newest segment is read again (up to 0.5 s) while it
 * ends in an incomplete line, so a write in progress is not reported as a
 * cut. *bad_path (cap bytes) names the bad file. */
TSS_MUST_CHECK tss_result tss_audit_verify_dir(tss_audit_chain *c, const char *dir,
                                               char *bad_path, size_t cap, size_t *line);

#endif
