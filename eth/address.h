/* Ethereum addresses: the last 20 bytes of Keccak-256 of the 64-byte public key
 * X||Y, and their EIP-55 mixed-case checksum text form. */
#ifndef TSS_ETH_ADDRESS_H
#define TSS_ETH_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#include "util/result.h"

#define TSS_ETH_ADDRESS_LEN 20
/* "0x" + 40 hex digits + NUL. */
#define TSS_ETH_ADDRESS_STR_SIZE 43

/* From a SEC1 public key: uncompressed (65 bytes, 0x04||X||Y) or compressed
 * (33 bytes, 0x02/0x03||X). The point is validated; hybrid forms are refused. */
TSS_MUST_CHECK tss_result tss_eth_address_from_pubkey(uint8_t out[TSS_ETH_ADDRESS_LEN],
                                                      const uint8_t *pubkey, size_t len);
/* From a parsed libsecp256k1 public key. */
TSS_MUST_CHECK tss_result tss_eth_address_from_secp(uint8_t out[TSS_ETH_ADDRESS_LEN],
                                                    const secp256k1_pubkey *pk);
/* EIP-55 text: "0x" and 40 hex digits, a letter upper-cased where the matching
 * nibble of keccak256(lower-case hex) is >= 8. */
TSS_MUST_CHECK tss_result tss_eth_address_to_string(char out[TSS_ETH_ADDRESS_STR_SIZE],
                                                    const uint8_t addr[TSS_ETH_ADDRESS_LEN]);
/* Parse "0x" + 40 hex digits. All-lower or all-upper hex carries no checksum and
 * is accepted (*checksummed = false); mixed case must match EIP-55 exactly
 * (*checksummed = true), else TSS_E_INVALID. checksummed may be NULL. */
TSS_MUST_CHECK tss_result tss_eth_address_parse(uint8_t out[TSS_ETH_ADDRESS_LEN],
                                                const char *text, bool *checksummed);

#endif
