/* Recursive Length Prefix (Ethereum yellow paper, appendix B).
 *
 * Encoding appends to a tss_writer (sticky error, capped). Decoding reads
 * through the bounded tss_reader and accepts only the canonical form, so every
 * accepted input re-encodes to the same bytes: lengths without leading zeros,
 * a single byte below 0x80 as itself, the long form only for lengths above 55,
 * integers without leading zero bytes (zero is the empty string). A failure
 * marks the reader (sticky) and returns a result that names the rule broken. */
#ifndef TSS_ETH_RLP_H
#define TSS_ETH_RLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/bytes.h"
#include "util/result.h"

/* Deepest list nesting tss_rlp_validate accepts (a transaction needs 4). */
#define TSS_RLP_MAX_DEPTH 16

/* ---- encoding ---- */

/* A byte string. */
void tss_rlp_put_bytes(tss_writer *w, const void *p, size_t n);
/* A big-endian unsigned integer of any width, leading zeros stripped (0 -> 0x80). */
void tss_rlp_put_uint_be(tss_writer *w, const uint8_t *be, size_t n);
void tss_rlp_put_u64(tss_writer *w, uint64_t v);
/* A 256-bit quantity stored as 32 bytes big-endian. */
void tss_rlp_put_u256(tss_writer *w, const uint8_t be[32]);
/* The header of a list whose encoded items take payload_len bytes. */
void tss_rlp_put_list_header(tss_writer *w, size_t payload_len);
/* A list whose items were encoded into payload; payload's error carries over. */
void tss_rlp_put_list(tss_writer *w, const tss_writer *payload);

/* ---- decoding ---- */

typedef struct {
    bool is_list;
    const uint8_t *payload; /* the string bytes, or the list's encoded items */
    size_t len;
} tss_rlp_item;

/* One item, header checked for canonical form; the payload is borrowed. */
TSS_MUST_CHECK tss_result tss_rlp_read_item(tss_reader *r, tss_rlp_item *item, const char *what);
/* A list: *inner becomes a reader over its items. Finish with tss_rlp_end_list. */
TSS_MUST_CHECK tss_result tss_rlp_read_list(tss_reader *r, tss_reader *inner, const char *what);
/* Requires inner to be consumed exactly; a failure in inner also marks r. */
TSS_MUST_CHECK tss_result tss_rlp_end_list(tss_reader *r, const tss_reader *inner,
                                           const char *what);
/* A byte string of at most max_len bytes, borrowed. */
TSS_MUST_CHECK tss_result tss_rlp_read_string(tss_reader *r, size_t max_len, const uint8_t **p,
                                              size_t *len, const char *what);
/* A byte string of exactly n bytes, copied. */
TSS_MUST_CHECK tss_result tss_rlp_read_fixed(tss_reader *r, uint8_t *out, size_t n,
                                             const char *what);
/* A canonical integer of at most width bytes, right-aligned into out[width]. */
TSS_MUST_CHECK tss_result tss_rlp_read_uint_be(tss_reader *r, uint8_t *out, size_t width,
                                               const char *what);
TSS_MUST_CHECK tss_result tss_rlp_read_u64(tss_reader *r, uint64_t *out, const char *what);
TSS_MUST_CHECK tss_result tss_rlp_read_u256(tss_reader *r, uint8_t out[32], const char *what);

/* data is exactly one canonical item (nested lists included, depth capped). */
TSS_MUST_CHECK tss_result tss_rlp_validate(const uint8_t *data, size_t len);

#endif
