#include "eth/eip191.h"

#include <stdio.h>

#include "eth/keccak.h"

tss_result tss_eip191_digest(uint8_t out[32], const uint8_t *msg, size_t len) {
    static const char prefix[] = "\x19" "Ethereum Signed Message:\n";
    char dec[24];
    int n = snprintf(dec, sizeof dec, "%zu", len);
    TSS_ENSURE(n > 0 && (size_t)n < sizeof dec, TSS_E_INTERNAL, "eip191: length formatting");
    tss_keccak_chunk parts[3] = {
        {prefix, sizeof prefix - 1},
        {dec, (size_t)n},
        {msg, len},
    };
    return tss_keccak256_chunks(out, parts, 3);
}
