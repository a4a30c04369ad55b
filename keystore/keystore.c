#include "keystore/keystore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "util/secmem.h"

/* Plaintext of a mnemonic file: entropy length u8 || entropy. */
#define MNEMONIC_PLAINTEXT_MAX (1 + TSS_BIP39_MAX_ENTROPY)

static tss_result seal_to_dir(const char *dir, uint16_t party_id, const tss_bip39_entropy *ent,
                              const uint8_t identity[TSS_IDENTITY_PUBLIC_LEN],
                              const tss_passphrase *pass, tss_kdf_params kdf, bool replace,
                              const tss_atomic_hooks *hooks, tss_keystore_info *info) {
    uint8_t *plain = tss_secret_alloc(MNEMONIC_PLAINTEXT_MAX);
    TSS_ENSURE(plain, TSS_E_NOMEM, "secret memory allocation failed");
    plain[0] = (uint8_t)ent->len;
    memcpy(plain + 1, ent->bytes, ent->len);
    tss_sealed_header hdr = {.content = TSS_CONTENT_MNEMONIC, .kdf = kdf, .party_id = party_id};
    memcpy(hdr.identity, identity, TSS_IDENTITY_PUBLIC_LEN);
    tss_writer w;
    tss_writer_init(&w, TSS_SEALED_MAX_FILE);
    tss_result r = tss_sealed_seal(&hdr, pass->bytes, pass->len, plain, 1 + ent->len, &w);
    tss_secret_free(plain);
    if (tss_is_ok(r)) r = tss_file_write_atomic(dir, TSS_MNEMONIC_FILE, w.data, w.len, replace, hooks);
    tss_writer_free(&w);
    if (tss_is_ok(r) && info) {
        info->header = hdr;
        info->party_id = party_id;
        memcpy(info->identity, identity, TSS_IDENTITY_PUBLIC_LEN);
    }
    return r;
}

tss_result tss_keystore_create(const char *dir, uint16_t party_id, const tss_bip39_entropy *ent,
                               const tss_passphrase *pass, tss_kdf_params kdf,
                               tss_keystore_info *info) {
    TSS_ENSURE(party_id >= TSS_PARTY_ID_MIN && party_id <= TSS_PARTY_ID_MAX, TSS_E_USAGE,
               "party id %u out of range %d..%d", party_id, TSS_PARTY_ID_MIN, TSS_PARTY_ID_MAX);
    TSS_ENSURE(tss_bip39_words_for_entropy(ent->len), TSS_E_USAGE, "invalid entropy length");
    TSS_GUARD(tss_dir_ensure_private(dir));
    /* Fail fast before Argon2id; the final link() is what really guarantees it. */
    tss_keystore_info existing;
    tss_result probe = tss_keystore_inspect(dir, &existing);
    if (probe.err != TSS_E_NOT_FOUND)
        return tss_fail(TSS_E_EXISTS, "%s/%s already exists; refusing to overwrite a keystore",
                        dir, TSS_MNEMONIC_FILE);
    tss_party_keys *keys = tss_secret_alloc(sizeof *keys);
    TSS_ENSURE(keys, TSS_E_NOMEM, "secret memory allocation failed");
    tss_result r = tss_derive_from_entropy(ent, keys);
    if (tss_is_ok(r))
        r = seal_to_dir(dir, party_id, ent, keys->identity_public, pass, kdf, false, NULL, info);
    tss_secret_free(keys);
    return r;
}

/* Prefix a failure with the mnemonic file's path, unless it names it already. */
static tss_result named(const char *dir, tss_result r) {
    if (tss_is_ok(r) || strstr(tss_error_detail(), TSS_MNEMONIC_FILE)) return r;
    char detail[600];
    snprintf(detail, sizeof detail, "%s", tss_error_detail());
    return tss_fail(r.err, "%s/%s: %s", dir, TSS_MNEMONIC_FILE, detail);
}

static tss_result read_mnemonic_file(const char *dir, uint8_t **file, size_t *len) {
    TSS_GUARD(tss_dir_check_private(dir));
    return tss_file_read_private(dir, TSS_MNEMONIC_FILE, TSS_SEALED_MAX_FILE, file, len);
}

tss_result tss_keystore_inspect(const char *dir, tss_keystore_info *info) {
    uint8_t *file = NULL;
    size_t len = 0;
    TSS_GUARD(read_mnemonic_file(dir, &file, &len));
    const uint8_t *ct;
    tss_result r = tss_sealed_parse(file, len, &info->header, &ct);
    free(file);
    TSS_GUARD(named(dir, r));
    TSS_ENSURE(info->header.version == TSS_SEALED_VERSION &&
                   info->header.content == TSS_CONTENT_MNEMONIC,
               TSS_E_CORRUPT, "%s/%s is not a sealed mnemonic (format version %u, content %u)",
               dir, TSS_MNEMONIC_FILE, info->header.version, info->header.content);
    info->party_id = info->header.party_id;
    memcpy(info->identity, info->header.identity, TSS_IDENTITY_PUBLIC_LEN);
    return TSS_OK_RESULT;
}

tss_result tss_keystore_unseal(const char *dir, const tss_passphrase *pass,
                               tss_bip39_entropy *ent_out, tss_party_keys *keys_out,
                               tss_keystore_info *info) {
    uint8_t *file = NULL;
    size_t len = 0;
    TSS_GUARD(read_mnemonic_file(dir, &file, &len));
    uint8_t *plain = tss_secret_alloc(MNEMONIC_PLAINTEXT_MAX);
    tss_bip39_entropy *ent = tss_secret_alloc(sizeof *ent);
    tss_party_keys *keys = tss_secret_alloc(sizeof *keys);
    tss_sealed_header hdr;
    size_t plain_len = 0;
    tss_result r;
    if (!plain || !ent || !keys) {
        r = tss_fail(TSS_E_NOMEM, "secret memory allocation failed");
        goto out;
    }
    r = tss_sealed_open(file, len, pass->bytes, pass->len, &hdr, plain, MNEMONIC_PLAINTEXT_MAX,
                        &plain_len);
    if (!tss_is_ok(r)) goto out;
    /* An approver key (same format version) put in the mnemonic's place. */
    if (hdr.content != TSS_CONTENT_MNEMONIC) {
        r = tss_fail(TSS_E_CORRUPT, "not a sealed mnemonic (content %u)", hdr.content);
        goto out;
    }
    /* Authenticated, so a bad layout here is a writer bug or a forged file. */
    if (plain_len < 1 || plain[0] != plain_len - 1 ||
        !tss_bip39_words_for_entropy(plain[0])) {
        r = tss_fail(TSS_E_CORRUPT, "sealed mnemonic has an invalid layout");
        goto out;
    }
    ent->len = plain[0];
    memcpy(ent->bytes, plain + 1, ent->len);
    r = tss_derive_from_entropy(ent, keys);
    if (!tss_is_ok(r)) goto out;
    if (!tss_ct_equal(keys->identity_public, hdr.identity, TSS_IDENTITY_PUBLIC_LEN)) {
        r = tss_fail(TSS_E_CORRUPT, "identity in the header does not match the sealed mnemonic");
        goto out;
    }
    if (ent_out) *ent_out = *ent;
    if (keys_out) *keys_out = *keys;
    if (info) {
        info->header = hdr;
        info->party_id = hdr.party_id;
        memcpy(info->identity, hdr.identity, TSS_IDENTITY_PUBLIC_LEN);
    }
out:
    r = named(dir, r);
    free(file);
    tss_secret_free(plain);
    tss_secret_free(ent);
    tss_secret_free(keys);
    return r;
}

tss_result tss_keystore_passwd(const char *dir, const tss_passphrase *old_pass,
                               const tss_passphrase *new_pass, const tss_kdf_params *new_kdf,
                               const tss_atomic_hooks *hooks) {
    tss_bip39_entropy *ent = tss_secret_alloc(sizeof *ent);
    TSS_ENSURE(ent, TSS_E_NOMEM, "secret memory allocation failed");
    tss_keystore_info info;
    tss_result r = tss_keystore_unseal(dir, old_pass, ent, NULL, &info);
    if (tss_is_ok(r))
        r = seal_to_dir(dir, info.party_id, ent, info.identity, new_pass,
                        new_kdf ? *new_kdf : info.header.kdf, true, hooks, NULL);
    tss_secret_free(ent);
    return r;
}
