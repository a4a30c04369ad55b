/* The sealed-file container: a public header, an AEAD ciphertext and a
 * checksum. Pure encoding and cryptography; file I/O is elsewhere.
 *
 *   magic "TSSDSEAL" | version u8 | content u8 | kdf u8 | opslimit u32 |
 *   memlimit u64 | salt[16] | aead u8 | nonce[24] | party_id u16 |
 *   identity[32] | ciphertext_len u32 | ciphertext | checksum[32]
 *
 * Big-endian integers. The whole header (everything before the ciphertext) is
 * the AEAD's associated data, so no header field can be changed without the
 * passphrase. The checksum (unkeyed BLAKE2b-256 of everything before it)
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
#define TSS_SEALED_VERSION 1
#define TSS_SEALED_SALT_LEN 16
#define TSS_SEALED_NONCE_LEN 24
#define TSS_SEALED_TAG_LEN 16
#define TSS_SEALED_CHECKSUM_LEN 32
#define TSS_SEALED_HEADER_LEN (8 + 1 + 1 + 1 + 4 + 8 + 16 + 1 + 24 + 2 + 32 + 4)
#define TSS_SEALED_MAX_PLAINTEXT (1u << 20)
#define TSS_SEALED_MAX_FILE \
    (TSS_SEALED_HEADER_LEN + TSS_SEALED_MAX_PLAINTEXT + TSS_SEALED_TAG_LEN + TSS_SEALED_CHECKSUM_LEN)

enum { TSS_CONTENT_MNEMONIC = 1 };
enum { TSS_KDF_ARGON2ID13 = 1 };
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
    uint32_t ciphertext_len;
} tss_sealed_header;

/* Parse and check a whole file: structure, field ranges, exact length and
 * checksum. Needs no passphrase (used by `inspect`). On success *ciphertext
 * points into file. Errors are TSS_E_CORRUPT/TSS_E_TRUNCATED/TSS_E_UNSUPPORTED. */
TSS_MUST_CHECK tss_result tss_sealed_parse(const uint8_t *file, size_t len,
                                           tss_sealed_header *hdr, const uint8_t **ciphertext);

/* Seal plaintext under a passphrase: fresh random salt and nonce. hdr supplies
 * content, kdf params, party id and identity; the rest is filled in. */
TSS_MUST_CHECK tss_result tss_sealed_seal(tss_sealed_header *hdr, const uint8_t *passphrase,
                                          size_t passphrase_len, const uint8_t *plaintext,
                                          size_t plaintext_len, tss_writer *out);

/* Parse, derive the key with Argon2id, decrypt into plaintext (capacity cap).
 * TSS_E_BAD_PASSPHRASE when the tag does not verify. plaintext is wiped on
 * failure. */
TSS_MUST_CHECK tss_result tss_sealed_open(const uint8_t *file, size_t len,
                                          const uint8_t *passphrase, size_t passphrase_len,
                                          tss_sealed_header *hdr, uint8_t *plaintext, size_t cap,
                                          size_t *plaintext_len);

#endif
