#include "util/hex.h"

#include <string.h>

#include <sodium.h>

void tss_hex_encode(char *out, const uint8_t *in, size_t n) {
    sodium_bin2hex(out, 2 * n + 1, in, n);
}

tss_result tss_hex_decode(uint8_t *out, size_t out_len, const char *hex, const char *what) {
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex += 2;
    size_t bin_len = 0;
    const char *end = NULL;
    size_t hex_len = strlen(hex);
    TSS_ENSURE(hex_len == 2 * out_len, TSS_E_INVALID, "%s: expected %zu hex digits, got %zu",
               what, 2 * out_len, hex_len);
    if (sodium_hex2bin(out, out_len, hex, hex_len, NULL, &bin_len, &end) != 0 ||
        bin_len != out_len || *end != '\0') {
        sodium_memzero(out, out_len);
        return tss_fail(TSS_E_INVALID, "%s: not valid hex", what);
    }
    return TSS_OK_RESULT;
}

size_t tss_base64_len(size_t n) {
    return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
}

void tss_base64_encode(char *out, size_t out_cap, const uint8_t *in, size_t n) {
    sodium_bin2base64(out, out_cap, in, n, sodium_base64_VARIANT_ORIGINAL);
}

tss_result tss_base64_decode(uint8_t *out, size_t out_len, const char *b64, const char *what) {
    size_t bin_len = 0;
    const char *end = NULL;
    if (sodium_base642bin(out, out_len, b64, strlen(b64), NULL, &bin_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bin_len != out_len || *end != '\0') {
        sodium_memzero(out, out_len);
        return tss_fail(TSS_E_INVALID, "%s: expected base64 of %zu bytes", what, out_len);
    }
    return TSS_OK_RESULT;
}
