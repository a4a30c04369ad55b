/* Keccak-256 as Ethereum uses it: the original Keccak padding (0x01), not the
 * FIPS 202 SHA3-256 padding (0x06). Computed by wolfSSL's SHA-3 with the
 * Keccak-256 flag; wolfSSL errors become tss_result here. */
#ifndef TSS_ETH_KECCAK_H
#define TSS_ETH_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

#define TSS_KECCAK256_LEN 32

/* One piece of a message hashed as the concatenation of its pieces. */
typedef struct {
    const void *data;
    size_t len;
} tss_keccak_chunk;

TSS_MUST_CHECK tss_result tss_keccak256(uint8_t out[TSS_KECCAK256_LEN], const void *data,
                                        size_t len);
/* Keccak-256 of chunks[0] || chunks[1] || ... without copying them together. */
TSS_MUST_CHECK tss_result tss_keccak256_chunks(uint8_t out[TSS_KECCAK256_LEN],
                                               const tss_keccak_chunk *chunks, size_t n);

#endif
