/* Ethereum transactions the signer produces: legacy with EIP-155 replay
 * protection, and EIP-1559 (type 2). Builds the signing hash and the signed
 * serialisation, and decodes a signed transaction back (strict, canonical RLP;
 * decode then encode reproduces the input byte for byte).
 *
 * Quantities that can exceed 64 bits (value, fees) are 32 bytes big-endian.
 * Pointers in a tss_eth_tx are borrowed; the caller keeps them alive. */
#ifndef TSS_ETH_TX_H
#define TSS_ETH_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eth/sig.h"
#include "util/bytes.h"
#include "util/result.h"

/* geth's txMaxSize: larger transactions are not relayed. */
#define TSS_ETH_TX_MAX_SIZE (128 * 1024)
#define TSS_ETH_TX_MAX_ACCESS_ENTRIES 1024
#define TSS_ETH_TX_MAX_STORAGE_KEYS 4096 /* in total over all entries */

typedef enum {
    TSS_ETH_TX_LEGACY = 0,  /* EIP-155 */
    TSS_ETH_TX_EIP1559 = 2, /* 0x02 || rlp([...]) */
} tss_eth_tx_type;

typedef struct {
    uint8_t address[20];
    const uint8_t (*storage_keys)[32];
    size_t storage_key_count;
} tss_eth_access_entry;

typedef struct {
    tss_eth_tx_type type;
    uint64_t chain_id; /* >= 1 */
    uint64_t nonce;
    uint64_t gas_limit;
    uint8_t gas_price[32];                /* legacy only */
    uint8_t max_priority_fee_per_gas[32]; /* type 2 only */
    uint8_t max_fee_per_gas[32];          /* type 2 only */
    bool has_to;                          /* false: contract creation */
    uint8_t to[20];
    uint8_t value[32];
    const uint8_t *data;
    size_t data_len;
    const tss_eth_access_entry *access_list; /* type 2 only */
    size_t access_list_len;
} tss_eth_tx;

/* Field checks beyond the types: known type, chain id >= 1, sizes within the
 * caps above, no access list on a legacy transaction, priority fee <= max fee. */
TSS_MUST_CHECK tss_result tss_eth_tx_check(const tss_eth_tx *tx);
/* The unsigned serialisation whose Keccak-256 is signed: legacy
 * rlp([nonce, gasPrice, gasLimit, to, value, data, chainId, 0, 0]); type 2
 * 0x02 || rlp([chainId, nonce, maxPriorityFee, maxFee, gasLimit, to, value, data,
 * accessList]). Appended to out. */
TSS_MUST_CHECK tss_result tss_eth_tx_encode_unsigned(const tss_eth_tx *tx, tss_writer *out);
TSS_MUST_CHECK tss_result tss_eth_tx_signing_hash(const tss_eth_tx *tx, uint8_t out[32]);
/* The signed transaction ready for eth_sendRawTransaction. Legacy:
 * v = chainId * 2 + 35 + recid (computed in 128 bits: any 64-bit chain id);
 * type 2: yParity = recid. sig must pass tss_eth_sig_check (low-s). */
TSS_MUST_CHECK tss_result tss_eth_tx_encode_signed(const tss_eth_tx *tx, const tss_eth_sig *sig,
                                                   tss_writer *out);

typedef struct {
    tss_eth_tx tx; /* data points into the decoded input */
    tss_eth_sig sig;
    /* Owned storage behind tx.access_list. */
    tss_eth_access_entry *entries_;
    uint8_t (*keys_)[32];
} tss_eth_signed_tx;

/* Decode a signed legacy (EIP-155 only) or type-2 transaction; raw must outlive
 * out. Release with tss_eth_signed_tx_free (also safe after a failure). */
TSS_MUST_CHECK tss_result tss_eth_tx_decode_signed(tss_eth_signed_tx *out, const uint8_t *raw,
                                                   size_t len);
void tss_eth_signed_tx_free(tss_eth_signed_tx *stx);
/* The address that signed it (recovered from the signing hash). */
TSS_MUST_CHECK tss_result tss_eth_tx_sender(const tss_eth_signed_tx *stx, uint8_t address[20]);

#endif
