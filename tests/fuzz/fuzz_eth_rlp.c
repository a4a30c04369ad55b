/* Fuzz the RLP decoder. Property: whatever tss_rlp_validate accepts is canonical,
 * so re-encoding the decoded tree reproduces the input byte for byte. The same
 * input also goes through the signed-transaction decoder (same property). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/rlp.h"
#include "eth/tx.h"

static void reencode(tss_reader *r, tss_writer *w) {
    while (tss_reader_remaining(r) > 0) {
        tss_rlp_item it;
        if (!tss_is_ok(tss_rlp_read_item(r, &it, "item"))) abort(); /* validated already */
        if (!it.is_list) {
            tss_rlp_put_bytes(w, it.payload, it.len);
            continue;
        }
        tss_reader inner;
        tss_writer sub;
        tss_reader_init(&inner, it.payload, it.len);
        tss_writer_init(&sub, w->max);
        reencode(&inner, &sub);
        tss_rlp_put_list(w, &sub);
        tss_writer_free(&sub);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 18)) return 0;
    if (tss_is_ok(tss_rlp_validate(data, size))) {
        tss_reader r;
        tss_writer w;
        tss_reader_init(&r, data, size);
        tss_writer_init(&w, size + 16);
        reencode(&r, &w);
        if (w.err || w.len != size || memcmp(w.data, data, size) != 0) abort();
        tss_writer_free(&w);
    }

    tss_eth_signed_tx stx;
    if (tss_is_ok(tss_eth_tx_decode_signed(&stx, data, size))) {
        tss_writer w;
        tss_writer_init(&w, size + 16);
        if (!tss_is_ok(tss_eth_tx_encode_signed(&stx.tx, &stx.sig, &w))) abort();
        if (w.len != size || memcmp(w.data, data, size) != 0) abort();
        tss_writer_free(&w);
    }
    tss_eth_signed_tx_free(&stx);
    return 0;
}
