/* Transaction files for `tssctl sign-tx`: a JSON object with ethers-style field
 * names turned into a checked tss_eth_tx (the format is in docs/OPERATIONS.md,
 * "Transaction files for `tssctl sign-tx`").
 *
 *   {"type": 2, "chainId": 1, "nonce": 7, "maxPriorityFeePerGas": "1000000000",
 *    "maxFeePerGas": "30000000000", "gasLimit": 21000, "to": "0x...",
 *    "value": "0x...", "data": "0x...",
 *    "accessList": [{"address": "0x...", "storageKeys": ["0x..."]}]}
 *   {"type": 0, "chainId": 1, "nonce": 7, "gasPrice": "20000000000", ...}
 *   {"type": 1, ... "gasPrice": ..., "accessList": [...]}
 *   {"type": 3, ... type 2 keys ..., "maxFeePerBlobGas": "1",
 *    "blobVersionedHashes": ["0x01..."]}
 *   {"type": 4, ... type 2 keys ..., "authorizationList": [{"chainId": 1,
 *    "address": "0x...", "nonce": 0, "yParity": 1, "r": "0x...", "s": "0x..."}]}
 *
 * The input is untrusted (util/json.h parses it under its caps). Quantities are
 * JSON integers or strings (decimal, or "0x" hex), exact, up to 2^64-1 for
 * type, chainId, nonce and gasLimit and up to 2^256-1 for value and fees.
 * Unknown keys are errors; every error names the key path and its line and
 * column. The result passes tss_eth_tx_check. */
#ifndef TSS_ETH_TX_JSON_H
#define TSS_ETH_TX_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "eth/tx.h"
#include "util/result.h"

/* Owned memory behind a parsed tss_eth_tx (data, access list, storage keys,
 * blob versioned hashes, authorizations). */
typedef struct {
    uint8_t *data;
    tss_eth_access_entry *entries;
    uint8_t (*keys)[32];
    uint8_t (*blob_hashes)[32];
    tss_eth_authorization *auths;
} tss_eth_tx_storage;

/* Parse len bytes of JSON text into *out, whose pointers then point into
 * *storage. *out is written only on success; *storage is empty after a
 * failure. Release with tss_eth_tx_storage_free (safe after a failure). */
TSS_MUST_CHECK tss_result tss_eth_tx_from_json(const char *text, size_t len, tss_eth_tx *out,
                                               tss_eth_tx_storage *storage);
void tss_eth_tx_storage_free(tss_eth_tx_storage *storage);

#endif
