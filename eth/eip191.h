/* EIP-191 version 0x45 ("personal_sign") message digests. */
#ifndef TSS_ETH_EIP191_H
#define TSS_ETH_EIP191_H

#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

/* keccak256("\x19Ethereum Signed Message:\n" || decimal(len) || msg). */
TSS_MUST_CHECK tss_result tss_eip191_digest(uint8_t out[32], const uint8_t *msg, size_t len);

#endif
