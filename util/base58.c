#include "util/base58.h"

#include <string.h>

#include <sodium.h>

static const char ALPHABET[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static void checksum(uint8_t out[4], const uint8_t *p, size_t len) {
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, p, len);
    crypto_hash_sha256(h, h, sizeof h);
    memcpy(out, h, 4);
}

tss_result tss_b58check_encode(char *out, size_t cap, const uint8_t *payload, size_t len) {
    TSS_ENSURE(len <= TSS_B58_MAX_PAYLOAD, TSS_E_TOO_LARGE, "base58check: payload of %zu bytes",
               len);
    uint8_t buf[TSS_B58_MAX_PAYLOAD + 4];
    memcpy(buf, payload, len);
    checksum(buf + len, payload, len);
    size_t n = len + 4;
    /* Big-endian base-256 to base-58, digits least significant first. */
    uint8_t digits[TSS_B58_MAX_TEXT];
    size_t nd = 0;
    size_t zeros = 0;
    while (zeros < n && buf[zeros] == 0) zeros++;
    for (size_t i = zeros; i < n; i++) {
        unsigned carry = buf[i];
        for (size_t j = 0; j < nd; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            digits[nd++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    TSS_ENSURE(zeros + nd + 1 <= cap, TSS_E_TOO_LARGE, "base58check: output buffer too small");
    size_t o = 0;
    for (size_t i = 0; i < zeros; i++) out[o++] = '1';
    while (nd) out[o++] = ALPHABET[digits[--nd]];
    out[o] = '\0';
    return TSS_OK_RESULT;
}

tss_result tss_b58check_decode(uint8_t *payload, size_t want, const char *text, size_t text_len,
                               const char *what) {
    TSS_ENSURE(want <= TSS_B58_MAX_PAYLOAD, TSS_E_TOO_LARGE, "%s: payload too large", what);
    TSS_ENSURE(text_len > 0 && text_len < TSS_B58_MAX_TEXT, TSS_E_INVALID,
               "%s: %zu characters (expected a Base58Check string)", what, text_len);
    uint8_t bytes[TSS_B58_MAX_TEXT]; /* little-endian base 256 */
    size_t nb = 0, zeros = 0;
    while (zeros < text_len && text[zeros] == '1') zeros++;
    for (size_t i = 0; i < text_len; i++) {
        const char *p = text[i] ? strchr(ALPHABET, text[i]) : NULL;
        TSS_ENSURE(p != NULL, TSS_E_INVALID, "%s: character %zu is not Base58", what, i + 1);
        unsigned carry = (unsigned)(p - ALPHABET);
        for (size_t j = 0; j < nb; j++) {
            carry += (unsigned)bytes[j] * 58;
            bytes[j] = (uint8_t)carry;
            carry >>= 8;
        }
        while (carry) {
            bytes[nb++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    size_t total = zeros + nb;
    TSS_ENSURE(total == want + 4, TSS_E_INVALID, "%s: decodes to %zu bytes, expected %zu", what,
               total, want + 4);
    uint8_t buf[TSS_B58_MAX_PAYLOAD + 4];
    memset(buf, 0, zeros);
    for (size_t i = 0; i < nb; i++) buf[zeros + i] = bytes[nb - 1 - i];
    uint8_t c[4];
    checksum(c, buf, want);
    TSS_ENSURE(memcmp(c, buf + want, 4) == 0, TSS_E_INVALID, "%s: Base58Check checksum mismatch",
               what);
    memcpy(payload, buf, want);
    return TSS_OK_RESULT;
}
