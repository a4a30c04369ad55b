/* 256-bit unsigned quantities as 32 bytes big-endian (Ethereum's value, fee and
 * gas price fields), with strict text parsing for callers such as the CLI. */
#ifndef TSS_ETH_U256_H
#define TSS_ETH_U256_H

#include <stdint.h>

#include "util/result.h"

/* Decimal digits of 2^256-1 plus NUL. */
#define TSS_ETH_U256_DEC_SIZE 79

void tss_eth_u256_from_u64(uint8_t out[32], uint64_t v);
/* Decimal ("0", "1000", no sign, no leading zeros) or "0x" + 1..64 hex digits.
 * Overflow beyond 2^256-1 is an error. */
TSS_MUST_CHECK tss_result tss_eth_u256_parse(uint8_t out[32], const char *text, const char *what);
/* The same text forms, at most 2^64-1. */
TSS_MUST_CHECK tss_result tss_eth_u64_parse(uint64_t *out, const char *text, const char *what);
/* Decimal text of a quantity. */
void tss_eth_u256_to_dec(char out[TSS_ETH_U256_DEC_SIZE], const uint8_t in[32]);
/* -1, 0, 1 as a <, ==, > b (public data: not constant time). */
int tss_eth_u256_cmp(const uint8_t a[32], const uint8_t b[32]);

#endif
