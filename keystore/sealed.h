/* The sealed-file container: a public header, an AEAD ciphertext and a
 * checksum. Pure encoding and cryptography; file I/O is elsewhere.
 *
 * Format version 1 (passphrase-sealed: content 1 = mnemonic, 4 = approver
 * key; KDF 1 = Argon2id):
 *   magic "TSSDSEAL" | version u8 | content u8 | kdf u8 | opslimit u32 |
 *   memlimit u64 | salt[16] | aead u8 | nonce[24] | party_id u16 |
 *   identity[32] | ciphertext_len u32 | ciphertext | checksum[32]
 *
 * Format version 2 (sealed with the party's 32-byte storage key: content 2 =
 * key share, 3 = presignature; KDF 0 = none, opslimit, memlimit and salt all
 * zero): the same fields, plus the key id the file belongs to between the
 * identity and ciphertext_len:
 *   ... | identity[32] | key_id_len u8 (1..64) | key_id[64] (zero padded) |
 *   ciphertext_len u32 | ciphertext | checksum[32]
 *
 * Big-endian integers. The whole header (everything before the ciphertext) is
 * the AEAD's associated data, so no header field can be changed without the
 * passphrase (or storage key): a share or presignature file renamed to
 * another key id is caught by comparing the authenticated key id with the
 * file name. The checksum (unkeyed BLAKE2b-256 of everything before it)
 * tells accidental corruption or naive tampering (exit 65) apart from a wrong
 * passphrase (exit 77) before Argon2id runs; it is not a security boundary,
 * the AEAD tag is. */
#ifndef TSS_KEYSTORE_SEALED_H
#define TSS_KEYSTORE_SEALED_H

#include <stddef.h>
#include <stdint.h>

#include "util/bytes.h"
#include "util/result.h"

#define TSS_SEALED_MAGIC "TSSDSEAL"
#define TSS_SEALED_VERSION 1         /* passphrase-sealed mnemonic */
#define TSS_SEALED_VERSION_STORAGE 2 /* storage-key-sealed share / presignature */
#define TSS_SEALED_KEY_ID_MAX 64
#define TSS_SEALED_SALT_LEN 16
#define TSS_SEALED_NONCE_LEN 24
#define TSS_SEALED_TAG_LEN 16
#define TSS_SEALED_CHECKSUM_LEN 32
#define TSS_SEALED_HEADER_LEN (8 + 1 + 1 + 1 + 4 + 8 + 16 + 1 + 24 + 2 + 32 + 4)
#define TSS_SEALED_MAX_PLAINTEXT (1u << 20)
#define TSS_SEALED_HEADER_V2_LEN (TSS_SEALED_HEADER_LEN + 1 + TSS_SEALED_KEY_ID_MAX)
#define TSS_SEALED_MAX_FILE                                                                 \
    (TSS_SEALED_HEADER_V2_LEN + TSS_SEALED_MAX_PLAINTEXT + TSS_SEALED_TAG_LEN +             \
     TSS_SEALED_CHECKSUM_LEN)

/* Content 4: an approver's Ed25519 key (policy/approver_key.h), format 1
 * (passphrase-sealed); its header's identity is the approver's public key. */
enum {
    TSS_CONTENT_MNEMONIC = 1,
    TSS_CONTENT_KEYSHARE = 2,
    TSS_CONTENT_PRESIG = 3,
    TSS_CONTENT_APPROVER_KEY = 4
};
enum { TSS_KDF_STORAGE_KEY = 0, TSS_KDF_ARGON2ID13 = 1 };
enum { TSS_AEAD_XCHACHA20POLY1305 = 1 };

/* Bounds accepted when reading a header (libsodium's Argon2id minimums; the
 * maximums keep a corrupt header from demanding absurd work or memory). */
#define TSS_KDF_OPS_MIN 1u
#define TSS_KDF_OPS_MAX 32u
#define TSS_KDF_MEM_MIN 8192ull
#define TSS_KDF_MEM_MAX (4ull << 30)

typedef struct {
    uint32_t opslimit;
    uint64_t memlimit; /* bytes */
} tss_kdf_params;

typedef struct {
    const char *name;
    tss_kdf_params params;
} tss_kdf_profile;

/* "interactive", "moderate" (default), "sensitive": libsodium's Argon2id
 * presets. */
TSS_MUST_CHECK tss_result tss_kdf_profile_lookup(const char *name, tss_kdf_params *out);
const tss_kdf_profile *tss_kdf_profiles(size_t *count);

typedef struct {
    uint8_t version;
    uint8_t content;
    uint8_t kdf_id;
    tss_kdf_params kdf;
    uint8_t salt[TSS_SEALED_SALT_LEN];
    uint8_t aead_id;
    uint8_t nonce[TSS_SEALED_NONCE_LEN];
    uint16_t party_id;
    uint8_t identity[32];
    char key_id[TSS_SEALED_KEY_ID_MAX + 1]; /* version 2 only; NUL-terminated ("" in v1) */
    uint32_t ciphertext_len;
} tss_sealed_header;

/* Header length of a format version (0 if unknown). */
size_t tss_sealed_header_len(uint8_t version);

/* Parse and check a whole file of either version: structure, field ranges,
 * exact length and checksum. Needs no passphrase (used by `inspect`). On
 * success *ciphertext points into file, right after the header
 * (tss_sealed_header_len(hdr->version) bytes). Errors are
 * TSS_E_CORRUPT/TSS_E_TRUNCATED/TSS_E_UNSUPPORTED. */
TSS_MUST_CHECK tss_result tss_sealed_parse(const uint8_t *file, size_t len,
                                           tss_sealed_header *hdr, const uint8_t **ciphertext);

/* Seal plaintext under a passphrase: fresh random salt and nonce. hdr supplies
 * content, kdf params, party id and identity; the rest is filled in. */
TSS_MUST_CHECK tss_result tss_sealed_seal(tss_sealed_header *hdr, const uint8_t *passphrase,
                                          size_t passphrase_len, const uint8_t *plaintext,
                                          size_t plaintext_len, tss_writer *out);

/* Parse, derive the key with Argon2id, decrypt into plaintext (capacity cap).
 * TSS_E_BAD_PASSPHRASE when the tag does not verify. plaintext is wiped on
 * failure. A version-2 (storage-key) file is refused (TSS_E_UNSUPPORTED). */
TSS_MUST_CHECK tss_result tss_sealed_open(const uint8_t *file, size_t len,
                                          const uint8_t *passphrase, size_t passphrase_len,
                                          tss_sealed_header *hdr, uint8_t *plaintext, size_t cap,
                                          size_t *plaintext_len);

/* Seal plaintext (content TSS_CONTENT_KEYSHARE or TSS_CONTENT_PRESIG) under
 * the 32-byte storage key, format version 2: fresh random nonce, no KDF.
 * hdr supplies content, party id, identity and key id (1..64 characters of
 * [A-Za-z0-9._-]); the rest is filled in. */
TSS_MUST_CHECK tss_result tss_sealed_seal_with_key(tss_sealed_header *hdr,
                                                   const uint8_t key[32],
                                                   const uint8_t *plaintext,
                                                   size_t plaintext_len, tss_writer *out);

/* Parse a version-2 file and decrypt it with the storage key into plaintext
 * (capacity cap). A version-1 (passphrase) file is refused
 * (TSS_E_UNSUPPORTED); a tag that does not verify is TSS_E_CORRUPT (the file
 * was modified, or sealed by another party's storage key). The caller checks
 * the header's content, party id, identity and key id against what it
 * expects. plaintext is wiped on failure. */
TSS_MUST_CHECK tss_result tss_sealed_open_with_key(const uint8_t *file, size_t len,
                                                   const uint8_t key[32],
                                                   tss_sealed_header *hdr, uint8_t *plaintext,
                                                   size_t cap, size_t *plaintext_len);

#endif
