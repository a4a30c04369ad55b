#include "keystore/sealed.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "util/secmem.h"

#define CHECKSUM_LABEL "tssd/v1/sealed-file-checksum"

static const tss_kdf_profile profiles[] = {
    {"interactive", {2, 64ull << 20}},
    {"moderate", {3, 256ull << 20}},
    {"sensitive", {4, 1ull << 30}},
};

_Static_assert(crypto_pwhash_argon2id_SALTBYTES == TSS_SEALED_SALT_LEN, "salt size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == TSS_SEALED_NONCE_LEN, "nonce");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == TSS_SEALED_TAG_LEN, "tag");

const tss_kdf_profile *tss_kdf_profiles(size_t *count) {
    *count = sizeof profiles / sizeof profiles[0];
    return profiles;
}

tss_result tss_kdf_profile_lookup(const char *name, tss_kdf_params *out) {
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
        if (strcmp(profiles[i].name, name) == 0) {
            *out = profiles[i].params;
            return TSS_OK_RESULT;
        }
    }
    return tss_fail(TSS_E_USAGE, "unknown --kdf profile '%s' (interactive, moderate, sensitive)",
                    name);
}

size_t tss_sealed_header_len(uint8_t version) {
    switch (version) {
    case TSS_SEALED_VERSION: return TSS_SEALED_HEADER_LEN;
    case TSS_SEALED_VERSION_STORAGE: return TSS_SEALED_HEADER_V2_LEN;
    default: return 0;
    }
}

static bool key_id_char_ok(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

static bool key_id_ok(const char *id, size_t len) {
    if (len < 1 || len > TSS_SEALED_KEY_ID_MAX) return false;
    for (size_t i = 0; i < len; i++)
        if (!key_id_char_ok(id[i])) return false;
    return true;
}

static void encode_header(const tss_sealed_header *h, tss_writer *w) {
    tss_write_bytes(w, TSS_SEALED_MAGIC, 8);
    tss_write_u8(w, h->version);
    tss_write_u8(w, h->content);
    tss_write_u8(w, h->kdf_id);
    tss_write_u32(w, h->kdf.opslimit);
    tss_write_u64(w, h->kdf.memlimit);
    tss_write_bytes(w, h->salt, sizeof h->salt);
    tss_write_u8(w, h->aead_id);
    tss_write_bytes(w, h->nonce, sizeof h->nonce);
    tss_write_u16(w, h->party_id);
    tss_write_bytes(w, h->identity, sizeof h->identity);
    if (h->version == TSS_SEALED_VERSION_STORAGE) {
        uint8_t padded[TSS_SEALED_KEY_ID_MAX] = {0};
        size_t n = strnlen(h->key_id, TSS_SEALED_KEY_ID_MAX);
        memcpy(padded, h->key_id, n);
        tss_write_u8(w, (uint8_t)n);
        tss_write_bytes(w, padded, sizeof padded);
    }
    tss_write_u32(w, h->ciphertext_len);
}

static void checksum(uint8_t out[TSS_SEALED_CHECKSUM_LEN], const uint8_t *data, size_t len) {
    crypto_generichash(out, TSS_SEALED_CHECKSUM_LEN, data, len, (const uint8_t *)CHECKSUM_LABEL,
                       sizeof CHECKSUM_LABEL - 1);
}

/* Version-specific field rules, checked after the checksum. */
static tss_result check_fields(const tss_sealed_header *hdr) {
    if (hdr->version == TSS_SEALED_VERSION) {
        TSS_ENSURE(hdr->content == TSS_CONTENT_MNEMONIC ||
                       hdr->content == TSS_CONTENT_APPROVER_KEY,
                   TSS_E_UNSUPPORTED,
                   "sealed file content type %u is not supported in format version 1",
                   hdr->content);
        TSS_ENSURE(hdr->kdf_id == TSS_KDF_ARGON2ID13, TSS_E_UNSUPPORTED,
                   "sealed file KDF id %u is not supported", hdr->kdf_id);
        TSS_ENSURE(hdr->kdf.opslimit >= TSS_KDF_OPS_MIN && hdr->kdf.opslimit <= TSS_KDF_OPS_MAX,
                   TSS_E_CORRUPT, "sealed file: Argon2id opslimit %u out of range %u..%u",
                   hdr->kdf.opslimit, TSS_KDF_OPS_MIN, TSS_KDF_OPS_MAX);
        TSS_ENSURE(hdr->kdf.memlimit >= TSS_KDF_MEM_MIN && hdr->kdf.memlimit <= TSS_KDF_MEM_MAX,
                   TSS_E_CORRUPT, "sealed file: Argon2id memlimit %llu out of range",
                   (unsigned long long)hdr->kdf.memlimit);
    } else {
        TSS_ENSURE(hdr->content == TSS_CONTENT_KEYSHARE || hdr->content == TSS_CONTENT_PRESIG,
                   TSS_E_UNSUPPORTED,
                   "sealed file content type %u is not supported in format version 2",
                   hdr->content);
        TSS_ENSURE(hdr->kdf_id == TSS_KDF_STORAGE_KEY, TSS_E_UNSUPPORTED,
                   "sealed file KDF id %u is not supported in format version 2", hdr->kdf_id);
        static const uint8_t zero_salt[TSS_SEALED_SALT_LEN] = {0};
        TSS_ENSURE(hdr->kdf.opslimit == 0 && hdr->kdf.memlimit == 0 &&
                       memcmp(hdr->salt, zero_salt, sizeof zero_salt) == 0,
                   TSS_E_CORRUPT, "sealed file: storage-key file with non-zero KDF fields");
    }
    TSS_ENSURE(hdr->aead_id == TSS_AEAD_XCHACHA20POLY1305, TSS_E_UNSUPPORTED,
               "sealed file AEAD id %u is not supported", hdr->aead_id);
    TSS_ENSURE(hdr->ciphertext_len >= TSS_SEALED_TAG_LEN, TSS_E_CORRUPT,
               "sealed file: ciphertext shorter than its tag");
    return TSS_OK_RESULT;
}

tss_result tss_sealed_parse(const uint8_t *file, size_t len, tss_sealed_header *hdr,
                            const uint8_t **ciphertext) {
    tss_reader r;
    tss_reader_init(&r, file, len);
    const uint8_t *magic = tss_read_view(&r, 8);
    if (!magic || memcmp(magic, TSS_SEALED_MAGIC, 8) != 0)
        return tss_fail(r.err ? TSS_E_TRUNCATED : TSS_E_CORRUPT,
                        "not a tssd sealed file (bad magic)");
    hdr->version = tss_read_u8(&r);
    hdr->content = tss_read_u8(&r);
    hdr->kdf_id = tss_read_u8(&r);
    hdr->kdf.opslimit = tss_read_u32(&r);
    hdr->kdf.memlimit = tss_read_u64(&r);
    tss_read_bytes(&r, hdr->salt, sizeof hdr->salt);
    hdr->aead_id = tss_read_u8(&r);
    tss_read_bytes(&r, hdr->nonce, sizeof hdr->nonce);
    hdr->party_id = tss_read_u16(&r);
    tss_read_bytes(&r, hdr->identity, sizeof hdr->identity);
    memset(hdr->key_id, 0, sizeof hdr->key_id);
    uint8_t key_id_len = 0;
    uint8_t padded[TSS_SEALED_KEY_ID_MAX] = {0};
    /* Unknown versions are read with the version-1 layout so that the
     * checksum still runs first and a flipped version byte reads as corruption. */
    bool v2 = hdr->version == TSS_SEALED_VERSION_STORAGE;
    if (v2) {
        key_id_len = tss_read_u8(&r);
        tss_read_bytes(&r, padded, sizeof padded);
    }
    hdr->ciphertext_len = tss_read_u32(&r);
    TSS_GUARD(tss_reader_status(&r, "sealed file header"));
    size_t header_len = v2 ? TSS_SEALED_HEADER_V2_LEN : TSS_SEALED_HEADER_LEN;

    /* Checksum first: a flipped byte anywhere is reported as corruption. */
    TSS_ENSURE(hdr->ciphertext_len <= TSS_SEALED_MAX_PLAINTEXT + TSS_SEALED_TAG_LEN,
               TSS_E_CORRUPT, "sealed file: ciphertext length %u exceeds the limit",
               hdr->ciphertext_len);
    size_t body = header_len + (size_t)hdr->ciphertext_len;
    TSS_ENSURE(len >= body + TSS_SEALED_CHECKSUM_LEN, TSS_E_TRUNCATED,
               "sealed file is truncated: %zu bytes, header announces %zu", len,
               body + TSS_SEALED_CHECKSUM_LEN);
    TSS_ENSURE(len == body + TSS_SEALED_CHECKSUM_LEN, TSS_E_CORRUPT,
               "sealed file has %zu unexpected trailing bytes",
               len - body - TSS_SEALED_CHECKSUM_LEN);
    uint8_t sum[TSS_SEALED_CHECKSUM_LEN];
    checksum(sum, file, body);
    TSS_ENSURE(sodium_memcmp(sum, file + body, sizeof sum) == 0, TSS_E_CORRUPT,
               "sealed file checksum mismatch: the file is corrupt or was modified");

    TSS_ENSURE(hdr->version == TSS_SEALED_VERSION || v2, TSS_E_UNSUPPORTED,
               "sealed file format version %u is not supported (this build reads %u and %u)",
               hdr->version, TSS_SEALED_VERSION, TSS_SEALED_VERSION_STORAGE);
    if (v2) {
        bool ok = key_id_len >= 1 && key_id_len <= TSS_SEALED_KEY_ID_MAX &&
                  key_id_ok((const char *)padded, key_id_len);
        for (size_t i = key_id_len; ok && i < sizeof padded; i++) ok = padded[i] == 0;
        TSS_ENSURE(ok, TSS_E_CORRUPT, "sealed file: invalid key id field in the header");
        memcpy(hdr->key_id, padded, key_id_len);
    }
    TSS_GUARD(check_fields(hdr));
    *ciphertext = file + header_len;
    return TSS_OK_RESULT;
}

static tss_result derive_key(uint8_t key[32], const tss_sealed_header *h, const uint8_t *pw,
                             size_t pw_len) {
    if (crypto_pwhash(key, 32, (const char *)pw, pw_len, h->salt, h->kdf.opslimit,
                      (size_t)h->kdf.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return tss_fail(TSS_E_NOMEM, "Argon2id failed (memlimit %llu bytes: out of memory?)",
                        (unsigned long long)h->kdf.memlimit);
    return TSS_OK_RESULT;
}

/* Header, then the ciphertext (reserved in the writer and encrypted in place,
 * with the header as associated data), then the checksum over both. */
static tss_result write_sealed(tss_writer *out, const tss_sealed_header *hdr,
                               size_t header_len, const uint8_t *plaintext,
                               size_t plaintext_len, const uint8_t key[32]) {
    size_t header_at = out->len;
    encode_header(hdr, out);
    size_t ct_at = out->len;
    uint8_t zeros[256] = {0};
    for (size_t left = hdr->ciphertext_len; left;) {
        size_t n = left < sizeof zeros ? left : sizeof zeros;
        tss_write_bytes(out, zeros, n);
        left -= n;
    }
    TSS_GUARD(tss_writer_status(out, "sealed file"));
    unsigned long long ct_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out->data + ct_at, &ct_len, plaintext,
                                               plaintext_len, out->data + header_at, header_len,
                                               NULL, hdr->nonce, key);
    uint8_t sum[TSS_SEALED_CHECKSUM_LEN];
    checksum(sum, out->data + header_at, out->len - header_at);
    tss_write_bytes(out, sum, sizeof sum);
    return tss_writer_status(out, "sealed file");
}

/* Decrypt a parsed file's ciphertext; false (plaintext wiped) if the tag
 * does not verify. */
static bool open_sealed(const uint8_t *file, const uint8_t *ct, const tss_sealed_header *hdr,
                        size_t header_len, const uint8_t key[32], uint8_t *plaintext,
                        size_t *plaintext_len) {
    unsigned long long out_len = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plaintext, &out_len, NULL, ct,
                                                   hdr->ciphertext_len, file, header_len,
                                                   hdr->nonce, key) != 0) {
        tss_wipe(plaintext, hdr->ciphertext_len - TSS_SEALED_TAG_LEN);
        return false;
    }
    *plaintext_len = (size_t)out_len;
    return true;
}

tss_result tss_sealed_seal(tss_sealed_header *hdr, const uint8_t *passphrase,
                           size_t passphrase_len, const uint8_t *plaintext, size_t plaintext_len,
                           tss_writer *out) {
    TSS_ENSURE(plaintext_len <= TSS_SEALED_MAX_PLAINTEXT, TSS_E_TOO_LARGE,
               "plaintext too large to seal");
    TSS_ENSURE(hdr->content == TSS_CONTENT_MNEMONIC || hdr->content == TSS_CONTENT_APPROVER_KEY,
               TSS_E_USAGE, "content type %u cannot be sealed with a passphrase", hdr->content);
    TSS_ENSURE(hdr->kdf.opslimit >= TSS_KDF_OPS_MIN && hdr->kdf.opslimit <= TSS_KDF_OPS_MAX &&
                   hdr->kdf.memlimit >= TSS_KDF_MEM_MIN && hdr->kdf.memlimit <= TSS_KDF_MEM_MAX,
               TSS_E_USAGE, "Argon2id parameters out of range");
    hdr->version = TSS_SEALED_VERSION;
    memset(hdr->key_id, 0, sizeof hdr->key_id);
    hdr->kdf_id = TSS_KDF_ARGON2ID13;
    hdr->aead_id = TSS_AEAD_XCHACHA20POLY1305;
    hdr->ciphertext_len = (uint32_t)(plaintext_len + TSS_SEALED_TAG_LEN);
    randombytes_buf(hdr->salt, sizeof hdr->salt);
    randombytes_buf(hdr->nonce, sizeof hdr->nonce);

    uint8_t *key = tss_secret_alloc(32);
    TSS_ENSURE(key, TSS_E_NOMEM, "secret memory allocation failed");
    tss_result r = derive_key(key, hdr, passphrase, passphrase_len);
    if (tss_is_ok(r))
        r = write_sealed(out, hdr, TSS_SEALED_HEADER_LEN, plaintext, plaintext_len, key);
    tss_secret_free(key);
    return r;
}

tss_result tss_sealed_open(const uint8_t *file, size_t len, const uint8_t *passphrase,
                           size_t passphrase_len, tss_sealed_header *hdr, uint8_t *plaintext,
                           size_t cap, size_t *plaintext_len) {
    const uint8_t *ct = NULL;
    TSS_GUARD(tss_sealed_parse(file, len, hdr, &ct));
    TSS_ENSURE(hdr->version == TSS_SEALED_VERSION, TSS_E_UNSUPPORTED,
               "this file is sealed with a storage key (content type %u), not a passphrase",
               hdr->content);
    size_t pt_len = hdr->ciphertext_len - TSS_SEALED_TAG_LEN;
    TSS_ENSURE(pt_len <= cap, TSS_E_CORRUPT, "sealed content larger than expected (%zu bytes)",
               pt_len);
    uint8_t *key = tss_secret_alloc(32);
    TSS_ENSURE(key, TSS_E_NOMEM, "secret memory allocation failed");
    tss_result r = derive_key(key, hdr, passphrase, passphrase_len);
    if (tss_is_ok(r) &&
        !open_sealed(file, ct, hdr, TSS_SEALED_HEADER_LEN, key, plaintext, plaintext_len))
        r = tss_fail(TSS_E_BAD_PASSPHRASE,
                     "cannot unseal: wrong passphrase (or the file was re-checksummed after "
                     "tampering)");
    tss_secret_free(key);
    return r;
}

tss_result tss_sealed_seal_with_key(tss_sealed_header *hdr, const uint8_t key[32],
                                    const uint8_t *plaintext, size_t plaintext_len,
                                    tss_writer *out) {
    TSS_ENSURE(plaintext_len <= TSS_SEALED_MAX_PLAINTEXT, TSS_E_TOO_LARGE,
               "plaintext too large to seal");
    TSS_ENSURE(hdr->content == TSS_CONTENT_KEYSHARE || hdr->content == TSS_CONTENT_PRESIG,
               TSS_E_USAGE, "content type %u cannot be sealed with the storage key",
               hdr->content);
    size_t id_len = strnlen(hdr->key_id, sizeof hdr->key_id);
    TSS_ENSURE(id_len <= TSS_SEALED_KEY_ID_MAX && key_id_ok(hdr->key_id, id_len), TSS_E_USAGE,
               "key id must be 1..%d characters of [A-Za-z0-9._-]", TSS_SEALED_KEY_ID_MAX);
    hdr->version = TSS_SEALED_VERSION_STORAGE;
    hdr->kdf_id = TSS_KDF_STORAGE_KEY;
    hdr->kdf.opslimit = 0;
    hdr->kdf.memlimit = 0;
    memset(hdr->salt, 0, sizeof hdr->salt);
    hdr->aead_id = TSS_AEAD_XCHACHA20POLY1305;
    hdr->ciphertext_len = (uint32_t)(plaintext_len + TSS_SEALED_TAG_LEN);
    randombytes_buf(hdr->nonce, sizeof hdr->nonce);

    return write_sealed(out, hdr, TSS_SEALED_HEADER_V2_LEN, plaintext, plaintext_len, key);
}

tss_result tss_sealed_open_with_key(const uint8_t *file, size_t len, const uint8_t key[32],
                                    tss_sealed_header *hdr, uint8_t *plaintext, size_t cap,
                                    size_t *plaintext_len) {
    const uint8_t *ct = NULL;
    TSS_GUARD(tss_sealed_parse(file, len, hdr, &ct));
    TSS_ENSURE(hdr->version == TSS_SEALED_VERSION_STORAGE, TSS_E_UNSUPPORTED,
               "this file is sealed with a passphrase (format version %u), not a storage key",
               hdr->version);
    size_t pt_len = hdr->ciphertext_len - TSS_SEALED_TAG_LEN;
    TSS_ENSURE(pt_len <= cap, TSS_E_CORRUPT, "sealed content larger than expected (%zu bytes)",
               pt_len);
    TSS_ENSURE(open_sealed(file, ct, hdr, TSS_SEALED_HEADER_V2_LEN, key, plaintext,
                           plaintext_len),
               TSS_E_CORRUPT,
               "sealed file does not authenticate under this party's storage key: it was "
               "modified, or sealed by another party");
    return TSS_OK_RESULT;
}
