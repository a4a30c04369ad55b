/* An approver's Ed25519 signing key, sealed under a passphrase like a
 * party's mnemonic (keystore/sealed.h format 1, content 4, Argon2id +
 * XChaCha20-Poly1305): DIR/<name>.approver, mode 0600 in a 0700 directory.
 * Plaintext: seed[32] | name_len u8 | name. The header's identity field is
 * the public key, so `approver-keygen`'s pin can be re-read without the
 * passphrase; the name is inside the AEAD so a renamed file is caught. */
#ifndef TSS_POLICY_APPROVER_KEY_H
#define TSS_POLICY_APPROVER_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "keystore/sealed.h"
#include "policy/approval.h"
#include "util/result.h"

#define TSS_APPROVER_KEY_SUFFIX ".approver"

typedef struct {
    char name[TSS_APPROVER_NAME_MAX + 1];
    uint8_t public_key[32];
    uint8_t secret_key[64]; /* libsodium form: seed | public key */
} tss_approver_key;

/* Generate a key for name, seal it, write DIR/<name>.approver atomically
 * (never over an existing file: TSS_E_EXISTS). DIR is created 0700 if
 * missing. pk_out gets the public key to pin. */
TSS_MUST_CHECK tss_result tss_approver_key_generate(const char *dir, const char *name,
                                                    const tss_kdf_params *kdf,
                                                    const uint8_t *pass, size_t pass_len,
                                                    uint8_t pk_out[32]);

/* Read and unseal path into *out (allocate it with tss_secret_alloc; wiped
 * on failure). Refuses a file group/other can read (TSS_E_PERMISSION), a
 * file of another content (TSS_E_CORRUPT), a wrong passphrase
 * (TSS_E_BAD_PASSPHRASE), and a name inside that differs from the file name. */
TSS_MUST_CHECK tss_result tss_approver_key_load(const char *path, const uint8_t *pass,
                                                size_t pass_len, tss_approver_key *out);

/* "ed25519:<base64>", the form party configs pin (out: at least 54 bytes). */
void tss_approver_key_pin_text(char *out, size_t cap, const uint8_t pk[32]);

#endif
