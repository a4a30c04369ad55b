#include "keystore/derive.h"

#include <string.h>

#include <sodium.h>

#include "util/hex.h"
#include "util/secmem.h"

static void kdf(uint8_t out[32], const uint8_t seed[TSS_BIP39_SEED_LEN], const char *label) {
    crypto_generichash(out, 32, (const uint8_t *)label, strlen(label), seed, TSS_BIP39_SEED_LEN);
}

tss_result tss_derive_party_keys(const uint8_t seed[TSS_BIP39_SEED_LEN], tss_party_keys *out) {
    uint8_t ed_seed[crypto_sign_SEEDBYTES];
    kdf(ed_seed, seed, TSS_LABEL_IDENTITY);
    int rc = crypto_sign_seed_keypair(out->identity_public, out->identity_secret, ed_seed);
    tss_wipe(ed_seed, sizeof ed_seed);
    if (rc != 0) {
        tss_wipe(out, sizeof *out);
        return tss_fail(TSS_E_CRYPTO, "Ed25519 key derivation failed");
    }
    kdf(out->storage_key, seed, TSS_LABEL_STORAGE);
    return TSS_OK_RESULT;
}

tss_result tss_derive_from_entropy(const tss_bip39_entropy *ent, tss_party_keys *out) {
    uint8_t *seed = tss_secret_alloc(TSS_BIP39_SEED_LEN);
    TSS_ENSURE(seed, TSS_E_NOMEM, "secret memory allocation failed");
    tss_result r = tss_bip39_seed(ent, "", seed);
    if (tss_is_ok(r)) r = tss_derive_party_keys(seed, out);
    tss_secret_free(seed);
    return r;
}

void tss_identity_format(const uint8_t pub[TSS_IDENTITY_PUBLIC_LEN],
                         char out[TSS_IDENTITY_TEXT_LEN]) {
    memcpy(out, "ed25519:", 8);
    tss_base64_encode(out + 8, TSS_IDENTITY_TEXT_LEN - 8, pub, TSS_IDENTITY_PUBLIC_LEN);
}

tss_result tss_identity_parse(const char *text, uint8_t pub[TSS_IDENTITY_PUBLIC_LEN]) {
    TSS_ENSURE(strncmp(text, "ed25519:", 8) == 0, TSS_E_INVALID,
               "identity must look like ed25519:<base64 of 32 bytes>");
    return tss_base64_decode(pub, TSS_IDENTITY_PUBLIC_LEN, text + 8, "identity");
}
