/* Fuzz the sealed-file parser (header, lengths, checksum). Unsealing is not
 * fuzzed: Argon2id parameters come from the header by design. */
#include <stddef.h>
#include <stdint.h>

#include "keystore/sealed.h"
#include "util/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) ready = tss_is_ok(tss_crypto_init());
    tss_sealed_header h;
    const uint8_t *ct = NULL;
    tss_result r = tss_sealed_parse(data, size, &h, &ct);
    if (tss_is_ok(r)) {
        /* Invariants a successful parse promises. */
        if (ct != data + TSS_SEALED_HEADER_LEN) __builtin_trap();
        if (size != TSS_SEALED_HEADER_LEN + h.ciphertext_len + TSS_SEALED_CHECKSUM_LEN)
            __builtin_trap();
    }
    return 0;
}
