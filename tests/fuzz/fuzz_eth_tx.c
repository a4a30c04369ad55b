/* Fuzz the signed-transaction decoder end to end: decode, re-encode (must be
 * byte-identical: the decoder accepts only canonical input), hash and recover
 * the sender (must not crash; may fail for a signature no key produced). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tss_eth_signed_tx stx;
    if (tss_is_ok(tss_eth_tx_decode_signed(&stx, data, size))) {
        tss_writer w;
        tss_writer_init(&w, size + 16);
        if (!tss_is_ok(tss_eth_tx_encode_signed(&stx.tx, &stx.sig, &w))) abort();
        if (w.len != size || memcmp(w.data, data, size) != 0) abort();
        tss_writer_free(&w);
        uint8_t h[32], addr[20];
        if (!tss_is_ok(tss_eth_tx_signing_hash(&stx.tx, h))) abort();
        (void)tss_eth_tx_sender(&stx, addr).err;
    }
    tss_eth_signed_tx_free(&stx);
    return 0;
}
