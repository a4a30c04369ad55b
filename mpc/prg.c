#include "mpc/prg.h"

#include <string.h>

#include <sodium.h>

void tss_prg_derive(uint8_t out[TSS_PRG_DIGEST_BYTES], const char *tag, const tss_prg_field *fields,
                    size_t nfields) {
    crypto_hash_sha256_state st;
    size_t tag_len = strlen(tag);
    uint8_t tl = (uint8_t)(tag_len > 255 ? 255 : tag_len);
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &tl, 1);
    crypto_hash_sha256_update(&st, (const uint8_t *)tag, tl);
    for (size_t i = 0; i < nfields; i++) {
        uint8_t len[4] = {(uint8_t)(fields[i].n >> 24), (uint8_t)(fields[i].n >> 16),
                          (uint8_t)(fields[i].n >> 8), (uint8_t)fields[i].n};
        crypto_hash_sha256_update(&st, len, 4);
        if (fields[i].n) crypto_hash_sha256_update(&st, fields[i].p, fields[i].n);
    }
    crypto_hash_sha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

void tss_prg_nonce(uint8_t nonce[TSS_PRG_NONCE_BYTES], const char *tag, const uint8_t *sid,
                   size_t sid_len) {
    uint8_t d[TSS_PRG_DIGEST_BYTES];
    tss_prg_field f = {sid, sid_len};
    tss_prg_derive(d, tag, &f, 1);
    memcpy(nonce, d, TSS_PRG_NONCE_BYTES);
}

void tss_prg_expand(uint8_t *out, size_t len, const uint8_t seed[TSS_PRG_SEED_BYTES],
                    const uint8_t nonce[TSS_PRG_NONCE_BYTES]) {
    crypto_stream_chacha20_ietf(out, len, nonce, seed);
}

void tss_prg_xor(uint8_t *out, const uint8_t *in, size_t len, const uint8_t seed[TSS_PRG_SEED_BYTES],
                 const uint8_t nonce[TSS_PRG_NONCE_BYTES]) {
    crypto_stream_chacha20_ietf_xor_ic(out, in, len, nonce, 0, seed);
}

/* ---- 8-lane ChaCha20 (RFC 8439 block function) ---------------------------- */

typedef uint32_t v8u __attribute__((vector_size(32)));

typedef uint8_t v32b __attribute__((vector_size(32)));

#define ROTL(v, r) (((v) << (r)) | ((v) >> (32 - (r))))
/* Rotations by 16 and 8 are byte permutations (one shuffle instead of three
 * shift/or operations). */
#if defined(__clang__)
#define ROTL_BYTES(v, i0, i1, i2, i3)                                              \
    ((v8u)__builtin_shufflevector((v32b)(v), (v32b)(v), i0, i1, i2, i3, 4 + i0, 4 + i1, 4 + i2, \
                                  4 + i3, 8 + i0, 8 + i1, 8 + i2, 8 + i3, 12 + i0, 12 + i1,     \
                                  12 + i2, 12 + i3, 16 + i0, 16 + i1, 16 + i2, 16 + i3, 20 + i0, \
                                  20 + i1, 20 + i2, 20 + i3, 24 + i0, 24 + i1, 24 + i2, 24 + i3, \
                                  28 + i0, 28 + i1, 28 + i2, 28 + i3))
#else
#define ROTL_BYTES(v, i0, i1, i2, i3)                                              \
    ((v8u)__builtin_shuffle((v32b)(v),                                            \
                            (v32b){i0, i1, i2, i3, 4 + i0, 4 + i1, 4 + i2, 4 + i3, 8 + i0,  \
                                   8 + i1, 8 + i2, 8 + i3, 12 + i0, 12 + i1, 12 + i2, 12 + i3, \
                                   16 + i0, 16 + i1, 16 + i2, 16 + i3, 20 + i0, 20 + i1,      \
                                   20 + i2, 20 + i3, 24 + i0, 24 + i1, 24 + i2, 24 + i3,      \
                                   28 + i0, 28 + i1, 28 + i2, 28 + i3}))
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ROTL16(v) ROTL_BYTES(v, 2, 3, 0, 1)
#define ROTL8(v) ROTL_BYTES(v, 3, 0, 1, 2)
#else
#define ROTL16(v) ROTL(v, 16)
#define ROTL8(v) ROTL(v, 8)
#endif

#define QR(a, b, c, d)                                                            \
    do {                                                                          \
        a += b;                                                                   \
        d ^= a;                                                                   \
        d = ROTL16(d);                                                            \
        c += d;                                                                   \
        b ^= c;                                                                   \
        b = ROTL(b, 12);                                                          \
        a += b;                                                                   \
        d ^= a;                                                                   \
        d = ROTL8(d);                                                             \
        c += d;                                                                   \
        b ^= c;                                                                   \
        b = ROTL(b, 7);                                                           \
    } while (0)

static inline uint32_t load32_le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Up to 8 streams (lanes) of len bytes. Lanes beyond n repeat key 0 and are
 * discarded. */
static inline __attribute__((always_inline)) void chacha_lanes(
    uint8_t *out, size_t stride, size_t len, const uint8_t (*keys)[TSS_PRG_SEED_BYTES], size_t n,
    const uint8_t nonce[TSS_PRG_NONCE_BYTES]) {
    uint32_t lanes[16][8];
    v8u s[16], x[16];
    for (size_t l = 0; l < 8; l++) {
        const uint8_t *k = keys[l < n ? l : 0];
        for (size_t w = 0; w < 8; w++) lanes[4 + w][l] = load32_le(k + 4 * w);
    }
    static const uint32_t sigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
    for (size_t w = 0; w < 4; w++) s[w] = (v8u){0} + sigma[w];
    for (size_t w = 0; w < 8; w++) memcpy(&s[4 + w], lanes[4 + w], sizeof s[0]);
    for (size_t w = 0; w < 3; w++) s[13 + w] = (v8u){0} + load32_le(nonce + 4 * w);

    uint8_t block[64];
    for (uint32_t b = 0; (size_t)b * 64 < len; b++) {
        s[12] = (v8u){0} + b;
        for (size_t w = 0; w < 16; w++) x[w] = s[w];
        for (int r = 0; r < 10; r++) {
            QR(x[0], x[4], x[8], x[12]);
            QR(x[1], x[5], x[9], x[13]);
            QR(x[2], x[6], x[10], x[14]);
            QR(x[3], x[7], x[11], x[15]);
            QR(x[0], x[5], x[10], x[15]);
            QR(x[1], x[6], x[11], x[12]);
            QR(x[2], x[7], x[8], x[13]);
            QR(x[3], x[4], x[9], x[14]);
        }
        for (size_t w = 0; w < 16; w++) {
            x[w] += s[w];
            memcpy(lanes[w], &x[w], sizeof x[w]);
        }
        size_t take = len - (size_t)b * 64 < 64 ? len - (size_t)b * 64 : 64;
        for (size_t l = 0; l < n && l < 8; l++) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            uint32_t words[16];
            for (size_t w = 0; w < 16; w++) words[w] = lanes[w][l];
            memcpy(block, words, sizeof block);
#else
            for (size_t w = 0; w < 16; w++)
                for (size_t i = 0; i < 4; i++) block[4 * w + i] = (uint8_t)(lanes[w][l] >> (8 * i));
#endif
            memcpy(out + l * stride + (size_t)b * 64, block, take);
        }
    }
    sodium_memzero(lanes, sizeof lanes);
    sodium_memzero(block, sizeof block);
    sodium_memzero(s, sizeof s);
    sodium_memzero(x, sizeof x);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void expand_many_avx2(
    uint8_t *out, size_t stride, size_t len, const uint8_t (*keys)[TSS_PRG_SEED_BYTES], size_t n,
    const uint8_t nonce[TSS_PRG_NONCE_BYTES]) {
    for (size_t i = 0; i < n; i += 8)
        chacha_lanes(out + i * stride, stride, len, keys + i, n - i, nonce);
}

static int have_avx2(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") ? 1 : 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

void tss_prg_expand_many_generic(uint8_t *out, size_t stride, size_t len,
                                const uint8_t (*keys)[TSS_PRG_SEED_BYTES], size_t n,
                                const uint8_t nonce[TSS_PRG_NONCE_BYTES]) {
    for (size_t i = 0; i < n; i += 8)
        chacha_lanes(out + i * stride, stride, len, keys + i, n - i, nonce);
}

void tss_prg_expand_many(uint8_t *out, size_t stride, size_t len,
                         const uint8_t (*keys)[TSS_PRG_SEED_BYTES], size_t n,
                         const uint8_t nonce[TSS_PRG_NONCE_BYTES]) {
#if defined(__x86_64__)
    if (have_avx2()) {
        expand_many_avx2(out, stride, len, keys, n, nonce);
        return;
    }
#endif
    tss_prg_expand_many_generic(out, stride, len, keys, n, nonce);
}
