#include "keystore/bip39.h"

#include <ctype.h>
#include <string.h>

#include <sodium.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/pwdbased.h>

#include "keystore/bip39_wordlist.h"
#include "util/secmem.h"

#define WORD_SLOT 8 /* longest English word */

size_t tss_bip39_words_for_entropy(size_t entropy_len) {
    if (entropy_len < 16 || entropy_len > 32 || entropy_len % 4) return 0;
    return entropy_len * 3 / 4;
}

static size_t entropy_for_words(size_t words) {
    if (words < 12 || words > 24 || words % 3) return 0;
    return words * 4 / 3;
}

/* Bit i (MSB first) of entropy||checksum. */
static unsigned get_bit(const uint8_t *buf, size_t i) { return (buf[i / 8] >> (7 - i % 8)) & 1; }

tss_result tss_bip39_generate(tss_bip39_entropy *out, size_t words) {
    size_t len = entropy_for_words(words);
    TSS_ENSURE(len, TSS_E_USAGE, "a mnemonic has 12, 15, 18, 21 or 24 words, not %zu", words);
    randombytes_buf(out->bytes, len);
    out->len = len;
    return TSS_OK_RESULT;
}

tss_result tss_bip39_to_sentence(const tss_bip39_entropy *ent, char *out, size_t out_cap) {
    size_t words = tss_bip39_words_for_entropy(ent->len);
    TSS_ENSURE(words, TSS_E_INVALID, "entropy of %zu bytes is not a BIP-39 length", ent->len);
    TSS_ENSURE(out_cap >= TSS_BIP39_MAX_SENTENCE, TSS_E_INTERNAL, "sentence buffer too small");
    uint8_t buf[TSS_BIP39_MAX_ENTROPY + 1];
    memcpy(buf, ent->bytes, ent->len);
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, ent->bytes, ent->len);
    buf[ent->len] = digest[0];
    size_t pos = 0;
    for (size_t w = 0; w < words; w++) {
        unsigned idx = 0;
        for (size_t b = 0; b < 11; b++) idx = (idx << 1) | get_bit(buf, w * 11 + b);
        /* Indexing the list by a secret index: the list is small and public;
         * we accept this cache-timing exposure only at provisioning time. */
        const char *word = tss_bip39_english[idx];
        size_t wl = strlen(word);
        if (w) out[pos++] = ' ';
        memcpy(out + pos, word, wl);
        pos += wl;
    }
    out[pos] = '\0';
    tss_wipe(buf, sizeof buf);
    tss_wipe(digest, sizeof digest);
    return TSS_OK_RESULT;
}

/* Index of a word (padded to WORD_SLOT) by scanning the whole list with
 * constant-time comparisons; -1 if absent. */
static int lookup_word_ct(const char slot[WORD_SLOT]) {
    uint32_t found = 0, index = 0;
    for (uint32_t i = 0; i < 2048; i++) {
        char cand[WORD_SLOT] = {0};
        const char *w = tss_bip39_english[i];
        for (size_t k = 0; k < WORD_SLOT && w[k]; k++) cand[k] = w[k];
        uint32_t diff = 0;
        for (size_t k = 0; k < WORD_SLOT; k++) diff |= (uint8_t)(cand[k] ^ slot[k]);
        uint32_t eq = (uint32_t)((diff - 1) >> 31) & 1; /* 1 iff diff == 0 */
        uint32_t mask = 0u - eq;
        index |= i & mask;
        found |= eq;
    }
    return found ? (int)index : -1;
}

tss_result tss_bip39_from_sentence(const char *sentence, tss_bip39_entropy *out) {
    uint16_t indices[TSS_BIP39_MAX_WORDS];
    size_t words = 0;
    const char *p = sentence;
    tss_result r = TSS_OK_RESULT;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (!*p) break;
        char slot[WORD_SLOT] = {0};
        size_t len = 0;
        while (*p && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
            unsigned char c = (unsigned char)*p++;
            if (c >= 0x80) {
                r = tss_fail(TSS_E_INVALID,
                             "mnemonic contains non-ASCII text; only the English word list is "
                             "supported");
                goto out;
            }
            if (len < WORD_SLOT) slot[len] = (char)tolower(c);
            len++;
        }
        if (words == TSS_BIP39_MAX_WORDS) {
            r = tss_fail(TSS_E_INVALID, "mnemonic has more than %d words", TSS_BIP39_MAX_WORDS);
            goto out;
        }
        int idx = len <= WORD_SLOT ? lookup_word_ct(slot) : -1;
        tss_wipe(slot, sizeof slot);
        if (idx < 0) {
            /* Name the position, not the word: the word is part of a secret. */
            r = tss_fail(TSS_E_INVALID, "mnemonic word %zu is not in the BIP-39 English list",
                         words + 1);
            goto out;
        }
        indices[words++] = (uint16_t)idx;
    }
    size_t ent_len = entropy_for_words(words);
    if (!ent_len) {
        r = tss_fail(TSS_E_INVALID, "mnemonic has %zu words; expected 12, 15, 18, 21 or 24",
                     words);
        goto out;
    }
    uint8_t buf[TSS_BIP39_MAX_ENTROPY + 1] = {0};
    for (size_t i = 0; i < words * 11; i++) {
        unsigned bit = (indices[i / 11] >> (10 - i % 11)) & 1;
        buf[i / 8] |= (uint8_t)(bit << (7 - i % 8));
    }
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, buf, ent_len);
    size_t cs_bits = ent_len / 4;
    uint8_t cs_mask = (uint8_t)(0xff << (8 - cs_bits));
    int checksum_ok = ((digest[0] ^ buf[ent_len]) & cs_mask) == 0;
    if (checksum_ok) {
        memcpy(out->bytes, buf, ent_len);
        out->len = ent_len;
    } else {
        r = tss_fail(TSS_E_INVALID, "mnemonic checksum is wrong (a word is mistyped or missing)");
    }
    tss_wipe(buf, sizeof buf);
    tss_wipe(digest, sizeof digest);
out:
    tss_wipe(indices, sizeof indices);
    return r;
}

tss_result tss_bip39_seed(const tss_bip39_entropy *ent, const char *passphrase,
                          uint8_t seed[TSS_BIP39_SEED_LEN]) {
    for (const char *c = passphrase; *c; c++)
        TSS_ENSURE((unsigned char)*c < 0x80, TSS_E_INVALID,
                   "BIP-39 passphrase must be ASCII (NFKD normalisation is not implemented)");
    size_t plen = strlen(passphrase);
    TSS_ENSURE(plen <= 256, TSS_E_INVALID, "BIP-39 passphrase longer than 256 bytes");
    char *sentence = tss_secret_alloc(TSS_BIP39_MAX_SENTENCE);
    char *salt = tss_secret_alloc(8 + 257);
    tss_result r = TSS_OK_RESULT;
    if (!sentence || !salt) {
        r = tss_fail(TSS_E_NOMEM, "secret memory allocation failed");
        goto out;
    }
    r = tss_bip39_to_sentence(ent, sentence, TSS_BIP39_MAX_SENTENCE);
    if (!tss_is_ok(r)) goto out;
    memcpy(salt, "mnemonic", 8);
    memcpy(salt + 8, passphrase, plen);
    if (wc_PBKDF2(seed, (const byte *)sentence, (int)strlen(sentence), (const byte *)salt,
                  (int)(8 + plen), 2048, TSS_BIP39_SEED_LEN, WC_SHA512) != 0)
        r = tss_fail(TSS_E_CRYPTO, "PBKDF2-HMAC-SHA512 failed (wolfSSL)");
out:
    tss_secret_free(sentence);
    tss_secret_free(salt);
    if (!tss_is_ok(r)) tss_wipe(seed, TSS_BIP39_SEED_LEN);
    return r;
}
