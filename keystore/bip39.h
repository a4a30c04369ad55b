/* BIP-39 mnemonics (English list only): generation, validation, seed.
 *
 * The secret is kept as entropy (16..32 bytes) in secret memory; the sentence
 * is rebuilt when needed. Word lookup is a constant-time scan of the whole
 * list, so the time taken does not depend on which words a mnemonic holds. */
#ifndef TSS_KEYSTORE_BIP39_H
#define TSS_KEYSTORE_BIP39_H

#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

#define TSS_BIP39_MAX_ENTROPY 32
#define TSS_BIP39_MAX_WORDS 24
/* 24 words of at most 8 letters, 23 spaces, NUL. */
#define TSS_BIP39_MAX_SENTENCE (TSS_BIP39_MAX_WORDS * 9)
#define TSS_BIP39_SEED_LEN 64

typedef struct {
    uint8_t bytes[TSS_BIP39_MAX_ENTROPY];
    size_t len; /* 16, 20, 24, 28 or 32 */
} tss_bip39_entropy;

/* Words for an entropy length and back: 12<->16 ... 24<->32. */
size_t tss_bip39_words_for_entropy(size_t entropy_len);

/* Fresh entropy for a 12- or 24-word mnemonic (15/18/21 also accepted). */
TSS_MUST_CHECK tss_result tss_bip39_generate(tss_bip39_entropy *out, size_t words);

/* The sentence (single spaces) for entropy; out must hold TSS_BIP39_MAX_SENTENCE. */
TSS_MUST_CHECK tss_result tss_bip39_to_sentence(const tss_bip39_entropy *ent, char *out,
                                                size_t out_cap);

/* Parse and validate a sentence: words separated by ASCII whitespace (any
 * amount), lower or upper case, each in the list, 12/15/18/21/24 words, valid
 * checksum. Non-ASCII input is refused: the English list is ASCII, so NFKD
 * normalisation is the identity on everything accepted. */
TSS_MUST_CHECK tss_result tss_bip39_from_sentence(const char *sentence, tss_bip39_entropy *out);

/* PBKDF2-HMAC-SHA512(sentence, "mnemonic" || passphrase, 2048) -> 64 bytes.
 * The BIP-39 passphrase must be ASCII (NFKD of ASCII is itself); tssd itself
 * always uses the empty one. */
TSS_MUST_CHECK tss_result tss_bip39_seed(const tss_bip39_entropy *ent, const char *passphrase,
                                         uint8_t seed[TSS_BIP39_SEED_LEN]);

#endif
