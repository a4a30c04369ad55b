/* Labelled key derivation from the BIP-39 seed (the party's root secret).
 * Each key is BLAKE2b-256 keyed by the 64-byte seed over a fixed label, so
 * keys for different purposes are independent. */
#ifndef TSS_KEYSTORE_DERIVE_H
#define TSS_KEYSTORE_DERIVE_H

#include <stdint.h>

#include "keystore/bip39.h"
#include "util/result.h"

#define TSS_IDENTITY_PUBLIC_LEN 32
#define TSS_IDENTITY_SECRET_LEN 64
#define TSS_STORAGE_KEY_LEN 32
/* "ed25519:" + 44 base64 chars + NUL */
#define TSS_IDENTITY_TEXT_LEN 53

#define TSS_LABEL_IDENTITY "tssd/v1/identity/ed25519"
#define TSS_LABEL_STORAGE "tssd/v1/storage/xchacha20poly1305"

/* The secrets derived from one mnemonic; lives in secret memory. */
typedef struct {
    uint8_t identity_secret[TSS_IDENTITY_SECRET_LEN]; /* libsodium Ed25519 secret key */
    uint8_t identity_public[TSS_IDENTITY_PUBLIC_LEN];
    uint8_t storage_key[TSS_STORAGE_KEY_LEN];
} tss_party_keys;

TSS_MUST_CHECK tss_result tss_derive_party_keys(const uint8_t seed[TSS_BIP39_SEED_LEN],
                                                tss_party_keys *out);
/* Entropy -> seed (empty BIP-39 passphrase) -> keys. */
TSS_MUST_CHECK tss_result tss_derive_from_entropy(const tss_bip39_entropy *ent,
                                                  tss_party_keys *out);
/* "ed25519:<base64>" */
void tss_identity_format(const uint8_t pub[TSS_IDENTITY_PUBLIC_LEN],
                         char out[TSS_IDENTITY_TEXT_LEN]);
TSS_MUST_CHECK tss_result tss_identity_parse(const char *text,
                                             uint8_t pub[TSS_IDENTITY_PUBLIC_LEN]);

#endif
