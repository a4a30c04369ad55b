#include "eth/u256.h"

#include <stdbool.h>
#include <string.h>

void tss_eth_u256_from_u64(uint8_t out[32], uint64_t v) {
    memset(out, 0, 24);
    for (size_t i = 0; i < 8; i++) out[24 + i] = (uint8_t)(v >> (56 - 8 * i));
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* acc = acc * base + digit; false on overflow. */
static bool mul_add(uint8_t acc[32], unsigned base, unsigned digit) {
    unsigned carry = digit;
    for (size_t i = 32; i-- > 0;) {
        unsigned v = acc[i] * base + carry;
        acc[i] = (uint8_t)v;
        carry = v >> 8;
    }
    return carry == 0;
}

tss_result tss_eth_u256_parse(uint8_t out[32], const char *text, const char *what) {
    uint8_t acc[32] = {0};
    unsigned base = 10;
    const char *p = text;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    TSS_ENSURE(*p, TSS_E_INVALID, "%s: empty number", what);
    TSS_ENSURE(base == 16 || p[0] != '0' || p[1] == '\0', TSS_E_INVALID,
               "%s: decimal number with a leading zero", what);
    for (; *p; p++) {
        int d = hex_value(*p);
        TSS_ENSURE(d >= 0 && (unsigned)d < base, TSS_E_INVALID, "%s: invalid %s digit '%c'", what,
                   base == 16 ? "hex" : "decimal", *p);
        TSS_ENSURE(mul_add(acc, base, (unsigned)d), TSS_E_TOO_LARGE,
                   "%s: number exceeds 2^256-1", what);
    }
    memcpy(out, acc, 32);
    return TSS_OK_RESULT;
}

tss_result tss_eth_u64_parse(uint64_t *out, const char *text, const char *what) {
    uint8_t be[32];
    TSS_GUARD(tss_eth_u256_parse(be, text, what));
    for (size_t i = 0; i < 24; i++)
        TSS_ENSURE(be[i] == 0, TSS_E_TOO_LARGE, "%s: number exceeds 2^64-1", what);
    uint64_t v = 0;
    for (size_t i = 24; i < 32; i++) v = (v << 8) | be[i];
    *out = v;
    return TSS_OK_RESULT;
}

void tss_eth_u256_to_dec(char out[TSS_ETH_U256_DEC_SIZE], const uint8_t in[32]) {
    uint8_t n[32];
    memcpy(n, in, 32);
    char rev[TSS_ETH_U256_DEC_SIZE];
    size_t len = 0;
    bool nonzero;
    do {
        /* n /= 10, collecting the remainder. */
        unsigned rem = 0;
        nonzero = false;
        for (size_t i = 0; i < 32; i++) {
            unsigned cur = (rem << 8) | n[i];
            n[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
            nonzero |= n[i] != 0;
        }
        rev[len++] = (char)('0' + rem);
    } while (nonzero);
    for (size_t i = 0; i < len; i++) out[i] = rev[len - 1 - i];
    out[len] = '\0';
}

int tss_eth_u256_cmp(const uint8_t a[32], const uint8_t b[32]) {
    int c = memcmp(a, b, 32);
    return (c > 0) - (c < 0);
}
