/* Base58 and Base58Check (Bitcoin alphabet), for extended public keys.
 * Everything here handles public data: the conversions are variable time. */
#ifndef TSS_UTIL_BASE58_H
#define TSS_UTIL_BASE58_H

#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

/* Upper bound on the payload Base58Check takes here (an xpub is 78 bytes):
 * keeps the quadratic conversion and the buffers small and bounded. */
#define TSS_B58_MAX_PAYLOAD 128
/* Characters for TSS_B58_MAX_PAYLOAD + 4 checksum bytes (log 256 / log 58 < 1.37), + NUL. */
#define TSS_B58_MAX_TEXT 184

/* Base58Check: text = Base58(payload || SHA-256d(payload)[0..4]). out must
 * hold TSS_B58_MAX_TEXT bytes or be at least as long as the text + NUL. */
TSS_MUST_CHECK tss_result tss_b58check_encode(char *out, size_t cap, const uint8_t *payload,
                                              size_t len);
/* Decodes exactly want bytes of payload (after stripping the 4-byte checksum);
 * refuses characters outside the alphabet, a wrong length or checksum, and
 * text longer than TSS_B58_MAX_TEXT - 1. what names the field in errors. */
TSS_MUST_CHECK tss_result tss_b58check_decode(uint8_t *payload, size_t want, const char *text,
                                              size_t text_len, const char *what);

#endif
