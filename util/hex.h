/* Hex and base64 encoding (libsodium, constant time) with strict decoding. */
#ifndef TSS_UTIL_HEX_H
#define TSS_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

/* Lower-case hex of n bytes into out (capacity >= 2n+1), NUL-terminated. */
void tss_hex_encode(char *out, const uint8_t *in, size_t n);
/* Exactly out_len bytes from hex text of length 2*out_len; an optional "0x"
 * prefix is accepted. Anything else is an error naming `what`. */
TSS_MUST_CHECK tss_result tss_hex_decode(uint8_t *out, size_t out_len, const char *hex,
                                         const char *what);
/* Standard base64 with padding; out capacity from tss_base64_len(n). */
size_t tss_base64_len(size_t n);
void tss_base64_encode(char *out, size_t out_cap, const uint8_t *in, size_t n);
/* Exactly out_len bytes from standard padded base64. */
TSS_MUST_CHECK tss_result tss_base64_decode(uint8_t *out, size_t out_len, const char *b64,
                                            const char *what);

#endif
