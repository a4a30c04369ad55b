/* Fuzz mnemonic parsing (the --import path): any accepted sentence must
 * re-encode to a sentence that parses to the same entropy. */
#include <stdlib.h>
#include <string.h>

#include "keystore/bip39.h"
#include "util/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) ready = tss_is_ok(tss_crypto_init());
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    tss_bip39_entropy ent, again;
    if (tss_is_ok(tss_bip39_from_sentence(text, &ent))) {
        char sentence[TSS_BIP39_MAX_SENTENCE];
        if (!tss_is_ok(tss_bip39_to_sentence(&ent, sentence, sizeof sentence))) __builtin_trap();
        if (!tss_is_ok(tss_bip39_from_sentence(sentence, &again))) __builtin_trap();
        if (again.len != ent.len || memcmp(again.bytes, ent.bytes, ent.len)) __builtin_trap();
    }
    free(text);
    return 0;
}
