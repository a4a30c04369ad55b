/* Ethereum views of a secp256k1 ECDSA signature (r, s, recovery id).
 *
 * Ethereum accepts only low-s signatures (EIP-2) and encodes only the parity of
 * R's y coordinate, so the recovery id here is 0 or 1; ids 2 and 3 (x(R) >= n)
 * cannot be expressed and the signer must sign again. Everything here works on
 * public data with libsecp256k1's static context (no secret keys). */
#ifndef TSS_ETH_SIG_H
#define TSS_ETH_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

#define TSS_ETH_SIG_RSV_LEN 65
#define TSS_ETH_SIG_DER_MAX 72

typedef struct {
    uint8_t r[32]; /* big-endian */
    uint8_t s[32]; /* big-endian */
    int recid;     /* y parity of R: 0 or 1 */
} tss_eth_sig;

/* r and s in [1, n-1], s <= n/2, recid in {0, 1}. */
TSS_MUST_CHECK tss_result tss_eth_sig_check(const tss_eth_sig *sig);
/* Replace a high s by n - s and flip the recovery id (R's y parity flips with
 * -s). *flipped (may be NULL) tells whether it changed. r and s must be in range. */
TSS_MUST_CHECK tss_result tss_eth_sig_normalize(tss_eth_sig *sig, bool *flipped);
/* The public key (65 bytes uncompressed) that produced sig over digest. */
TSS_MUST_CHECK tss_result tss_eth_sig_recover(const uint8_t digest[32], const tss_eth_sig *sig,
                                              uint8_t pubkey_out[65]);
TSS_MUST_CHECK tss_result tss_eth_sig_recover_address(const uint8_t digest[32],
                                                      const tss_eth_sig *sig,
                                                      uint8_t address_out[20]);
/* sig is a valid low-s signature of digest under pubkey (33 or 65 bytes) AND its
 * recovery id recovers that same key, so its v is right too. */
TSS_MUST_CHECK tss_result tss_eth_sig_verify(const uint8_t digest[32], const tss_eth_sig *sig,
                                             const uint8_t *pubkey, size_t pubkey_len);
/* r || s || v with v = 27 + recid (eth_sign / personal_sign form). */
TSS_MUST_CHECK tss_result tss_eth_sig_to_rsv(const tss_eth_sig *sig,
                                             uint8_t out[TSS_ETH_SIG_RSV_LEN]);
/* The inverse; v may be 27/28 or 0/1. The result passes tss_eth_sig_check. */
TSS_MUST_CHECK tss_result tss_eth_sig_from_rsv(tss_eth_sig *sig,
                                               const uint8_t in[TSS_ETH_SIG_RSV_LEN]);
/* ASN.1 DER (SEQUENCE of two INTEGERs), at most 72 bytes. */
TSS_MUST_CHECK tss_result tss_eth_sig_to_der(const tss_eth_sig *sig,
                                             uint8_t out[TSS_ETH_SIG_DER_MAX], size_t *out_len);

#endif
