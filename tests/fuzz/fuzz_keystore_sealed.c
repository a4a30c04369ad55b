/* Fuzz the sealed-file parser (header of both format versions, lengths,
 * checksum) and, for storage-key files (version 2), the AEAD open with a
 * fixed key. Unsealing version-1 files is not fuzzed: Argon2id parameters
 * come from the header by design. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
        size_t header_len = tss_sealed_header_len(h.version);
        if (header_len == 0 || ct != data + header_len) __builtin_trap();
        if (size != header_len + h.ciphertext_len + TSS_SEALED_CHECKSUM_LEN) __builtin_trap();
        if (h.version == TSS_SEALED_VERSION_STORAGE) {
            size_t n = strlen(h.key_id);
            if (n < 1 || n > TSS_SEALED_KEY_ID_MAX || h.kdf_id != TSS_KDF_STORAGE_KEY)
                __builtin_trap();
            static const uint8_t key[32] = {1};
            static uint8_t plain[TSS_SEALED_MAX_PLAINTEXT];
            size_t plain_len = 0;
            tss_sealed_header h2;
            tss_result o = tss_sealed_open_with_key(data, size, key, &h2, plain, sizeof plain,
                                                    &plain_len);
            if (tss_is_ok(o) && plain_len != h.ciphertext_len - TSS_SEALED_TAG_LEN)
                __builtin_trap();
        } else if (h.version != TSS_SEALED_VERSION || h.key_id[0] != '\0') {
            __builtin_trap();
        }
    }
    return 0;
}
