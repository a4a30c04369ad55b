/* Ethereum transactions the signer produces: legacy with EIP-155 replay
 * protection, EIP-2930 (type 1, access list), EIP-1559 (type 2), EIP-4844
 * (type 3, blob transaction without its blobs: the form that is signed and
 * included in blocks) and EIP-7702 (type 4, set-code with an authorization
 * list). Builds the signing hash and the signed serialisation, and decodes a
 * signed transaction back (strict, canonical RLP; decode then encode
 * reproduces the input byte for byte). Also the EIP-7702 authorization
 * signing hash keccak256(0x05 || rlp([chain_id, address, nonce])).
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
/* Blobs per transaction: above any fork's per-block maximum so far (6, 9,
 * 21), far below what would strain the decoder. */
#define TSS_ETH_TX_MAX_BLOB_HASHES 64
#define TSS_ETH_TX_MAX_AUTHORIZATIONS 256
/* The only versioned-hash version defined (EIP-4844 VERSIONED_HASH_VERSION_KZG). */
#define TSS_ETH_BLOB_HASH_VERSION 0x01
/* EIP-7702 MAGIC prefixing an authorization's signing payload. */
#define TSS_ETH_AUTH_MAGIC 0x05

typedef enum {
    TSS_ETH_TX_LEGACY = 0,  /* EIP-155 */
    TSS_ETH_TX_EIP2930 = 1, /* 0x01 || rlp([...]) */
    TSS_ETH_TX_EIP1559 = 2, /* 0x02 || rlp([...]) */
    TSS_ETH_TX_EIP4844 = 3, /* 0x03 || rlp([...]), no blobs/commitments/proofs */
    TSS_ETH_TX_EIP7702 = 4, /* 0x04 || rlp([...]) */
} tss_eth_tx_type;

/* One EIP-7702 authorization tuple [chain_id, address, nonce, y_parity, r, s].
 * Its signature is the authority's, not ours: encoded as given (y_parity and
 * r, s are only range-checked by the encoding; nodes skip invalid tuples). */
typedef struct {
    uint8_t chain_id[32]; /* uint256; 0 = valid on every chain */
    uint8_t address[20];  /* the code to delegate to */
    uint64_t nonce;
    uint8_t y_parity;
    uint8_t r[32];
    uint8_t s[32];
} tss_eth_authorization;

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
    uint8_t gas_price[32];                /* types 0 and 1 */
    uint8_t max_priority_fee_per_gas[32]; /* types 2, 3, 4 */
    uint8_t max_fee_per_gas[32];          /* types 2, 3, 4 */
    bool has_to;                          /* false: contract creation (types 0-2 only) */
    uint8_t to[20];
    uint8_t value[32];
    const uint8_t *data;
    size_t data_len;
    const tss_eth_access_entry *access_list; /* types 1-4 */
    size_t access_list_len;
    uint8_t max_fee_per_blob_gas[32];     /* type 3 */
    const uint8_t (*blob_hashes)[32];     /* type 3: 1..MAX, each version 0x01 */
    size_t blob_hash_count;
    const tss_eth_authorization *authorizations; /* type 4: 1..MAX */
    size_t authorization_count;
} tss_eth_tx;

/* Field checks beyond the types: known type, chain id >= 1, sizes within the
 * caps above, no access list on a legacy transaction, priority fee <= max fee,
 * blob fields only on type 3 and authorizations only on type 4, a recipient
 * (no contract creation) and at least one blob hash / authorization on
 * types 3 and 4, versioned hashes of version 0x01. */
TSS_MUST_CHECK tss_result tss_eth_tx_check(const tss_eth_tx *tx);
/* The unsigned serialisation whose Keccak-256 is signed: legacy
 * rlp([nonce, gasPrice, gasLimit, to, value, data, chainId, 0, 0]);
 * type 1: 0x01 || rlp([chainId, nonce, gasPrice, gasLimit, to, value, data,
 * accessList]); type 2: 0x02 || rlp([chainId, nonce, maxPriorityFee, maxFee,
 * gasLimit, to, value, data, accessList]); type 3: 0x03 || rlp([...type 2...,
 * maxFeePerBlobGas, blobVersionedHashes]); type 4: 0x04 || rlp([...type 2...,
 * authorizationList]). Appended to out. */
TSS_MUST_CHECK tss_result tss_eth_tx_encode_unsigned(const tss_eth_tx *tx, tss_writer *out);
TSS_MUST_CHECK tss_result tss_eth_tx_signing_hash(const tss_eth_tx *tx, uint8_t out[32]);
/* The signed transaction ready for eth_sendRawTransaction (for type 3 this is
 * the form without blobs, which eth_sendRawTransaction does not accept: a
 * client adds the blob sidecar). Legacy: v = chainId * 2 + 35 + recid
 * (computed in 128 bits: any 64-bit chain id); typed: yParity = recid, after
 * the signing fields. sig must pass tss_eth_sig_check (low-s). */
TSS_MUST_CHECK tss_result tss_eth_tx_encode_signed(const tss_eth_tx *tx, const tss_eth_sig *sig,
                                                   tss_writer *out);

typedef struct {
    tss_eth_tx tx; /* data points into the decoded input */
    tss_eth_sig sig;
    /* Owned storage behind tx.access_list, blob_hashes, authorizations. */
    tss_eth_access_entry *entries_;
    uint8_t (*keys_)[32];
    uint8_t (*blob_hashes_)[32];
    tss_eth_authorization *auths_;
} tss_eth_signed_tx;

/* Decode a signed legacy (EIP-155 only) or type 1, 2, 3 (without blobs) or 4
 * transaction; raw must outlive out. Release with tss_eth_signed_tx_free (also
 * safe after a failure). */
TSS_MUST_CHECK tss_result tss_eth_tx_decode_signed(tss_eth_signed_tx *out, const uint8_t *raw,
                                                   size_t len);
void tss_eth_signed_tx_free(tss_eth_signed_tx *stx);

/* Decode the unsigned serialisation (what tss_eth_tx_encode_unsigned gives:
 * legacy EIP-155 rlp([..., chainId, 0, 0]) or 0x0N || rlp([...]) without
 * yParity, r, s); only the canonical encoding is accepted (re-encoding must
 * reproduce raw byte for byte). out->sig is zero. Same ownership as above. */
TSS_MUST_CHECK tss_result tss_eth_tx_decode_unsigned(tss_eth_signed_tx *out, const uint8_t *raw,
                                                     size_t len);
/* The address that signed it (recovered from the signing hash). */
TSS_MUST_CHECK tss_result tss_eth_tx_sender(const tss_eth_signed_tx *stx, uint8_t address[20]);

/* EIP-7702: keccak256(0x05 || rlp([chain_id, address, nonce])), what the
 * authority signs for one authorization tuple. */
TSS_MUST_CHECK tss_result tss_eth_authorization_signing_hash(const uint8_t chain_id[32],
                                                             const uint8_t address[20],
                                                             uint64_t nonce, uint8_t out[32]);
/* The authority (signer) of a tuple, as nodes recover it: y_parity 0/1 and a
 * low-s signature are required (else TSS_E_INVALID: nodes skip the tuple). */
TSS_MUST_CHECK tss_result tss_eth_authorization_authority(const tss_eth_authorization *auth,
                                                          uint8_t address[20]);

#endif
