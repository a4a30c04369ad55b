/* A party's keystore directory: <dir>/mnemonic.sealed holds the BIP-39
 * entropy sealed under the operator's passphrase. From it come the party's
 * Ed25519 identity and the storage key for its other sealed files. */
#ifndef TSS_KEYSTORE_KEYSTORE_H
#define TSS_KEYSTORE_KEYSTORE_H

#include <stdint.h>

#include "keystore/atomic_file.h"
#include "keystore/bip39.h"
#include "keystore/derive.h"
#include "keystore/passphrase.h"
#include "keystore/sealed.h"
#include "util/result.h"

#define TSS_MNEMONIC_FILE "mnemonic.sealed"
#define TSS_PARTY_ID_MIN 1
#define TSS_PARTY_ID_MAX 32

/* Public facts about a keystore, readable without the passphrase. */
typedef struct {
    tss_sealed_header header;
    uint16_t party_id;
    uint8_t identity[TSS_IDENTITY_PUBLIC_LEN];
} tss_keystore_info;

/* Create dir (0700) if needed and seal ent there. Refuses an existing keystore. */
TSS_MUST_CHECK tss_result tss_keystore_create(const char *dir, uint16_t party_id,
                                              const tss_bip39_entropy *ent,
                                              const tss_passphrase *pass, tss_kdf_params kdf,
                                              tss_keystore_info *info);

/* Read and check the header and checksum (no passphrase). */
TSS_MUST_CHECK tss_result tss_keystore_inspect(const char *dir, tss_keystore_info *info);

/* Unseal: entropy and derived keys (both may live in secret memory; either
 * out-parameter may be NULL). The identity in the header must match the one
 * derived from the unsealed mnemonic. */
TSS_MUST_CHECK tss_result tss_keystore_unseal(const char *dir, const tss_passphrase *pass,
                                              tss_bip39_entropy *ent, tss_party_keys *keys,
                                              tss_keystore_info *info);

/* Re-seal under a new passphrase (and optionally new KDF parameters), with a
 * fresh salt and nonce, atomically: on any failure the old file is intact. */
TSS_MUST_CHECK tss_result tss_keystore_passwd(const char *dir, const tss_passphrase *old_pass,
                                              const tss_passphrase *new_pass,
                                              const tss_kdf_params *new_kdf,
                                              const tss_atomic_hooks *hooks);

#endif
