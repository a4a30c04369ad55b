/* Fuzz the BIP-32 parsers: path text, path wire form, xpub text. Properties:
 * an accepted path re-formats to the same text (canonical) and round-trips
 * through the wire form; an accepted xpub re-encodes to the same text. The
 * first byte selects the parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpc/bip32.h"
#include "util/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tss_is_ok(tss_crypto_init())) abort();
    if (size < 1 || size > 4096) return 0;
    uint8_t mode = data[0];
    data++, size--;
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = '\0';
    if (mode % 3 == 0) {
        tss_bip32_path p, q;
        if (tss_is_ok(tss_bip32_path_parse(&p, text))) {
            char out[TSS_BIP32_PATH_TEXT_MAX];
            tss_bip32_path_format(out, sizeof out, &p);
            if (strcmp(out, text) != 0) abort();
            tss_writer w;
            tss_writer_init(&w, TSS_BIP32_PATH_WIRE_MAX);
            tss_bip32_path_write(&w, &p);
            if (!tss_is_ok(tss_writer_status(&w, "path"))) abort();
            tss_reader rd;
            tss_reader_init(&rd, w.data, w.len);
            if (!tss_is_ok(tss_bip32_path_read(&rd, &q)) || !tss_is_ok(tss_reader_finish(&rd, "p")) ||
                !tss_bip32_path_eq(&p, &q))
                abort();
            tss_writer_free(&w);
        }
    } else if (mode % 3 == 1) {
        tss_bip32_path p;
        tss_reader rd;
        tss_reader_init(&rd, data, size);
        if (tss_is_ok(tss_bip32_path_read(&rd, &p)) && tss_is_ok(tss_reader_finish(&rd, "p"))) {
            tss_writer w;
            tss_writer_init(&w, TSS_BIP32_PATH_WIRE_MAX);
            tss_bip32_path_write(&w, &p);
            if (!tss_is_ok(tss_writer_status(&w, "path")) || w.len != size ||
                memcmp(w.data, data, size) != 0)
                abort();
            tss_writer_free(&w);
        }
    } else {
        tss_bip32_node n;
        bool testnet;
        if (tss_is_ok(tss_bip32_xpub_decode(&n, &testnet, text))) {
            char out[TSS_BIP32_XPUB_TEXT];
            if (!tss_is_ok(tss_bip32_xpub_encode(out, &n, testnet)) || strcmp(out, text) != 0)
                abort();
            tss_bip32_node c;
            (void)tss_bip32_ckd_pub(&c, NULL, &n, 0);
        }
    }
    free(text);
    return 0;
}
