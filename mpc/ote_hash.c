#include "mpc/ote_hash.h"

#include <string.h>

static const uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES] = "tssd-ote-v1";

static void put_be32(uint8_t b[4], uint32_t v) {
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

void tss_ote_hash_init(tss_ote_hash *h, size_t outlen, const char *tag,
                       const uint8_t sid[TSS_OTE_SID_BYTES]) {
    size_t tag_len = strlen(tag);
    uint8_t tl = (uint8_t)(tag_len > 255 ? 255 : tag_len);
    h->outlen = outlen;
    crypto_generichash_blake2b_init_salt_personal(&h->st, NULL, 0, outlen, NULL, personal);
    crypto_generichash_blake2b_update(&h->st, &tl, 1);
    crypto_generichash_blake2b_update(&h->st, (const uint8_t *)tag, tl);
    tss_ote_hash_field(h, sid, TSS_OTE_SID_BYTES);
}

void tss_ote_hash_begin(tss_ote_hash *h, size_t n) {
    uint8_t len[4];
    put_be32(len, (uint32_t)n);
    crypto_generichash_blake2b_update(&h->st, len, 4);
}

void tss_ote_hash_raw(tss_ote_hash *h, const void *p, size_t n) {
    if (n) crypto_generichash_blake2b_update(&h->st, p, n);
}

void tss_ote_hash_field(tss_ote_hash *h, const void *p, size_t n) {
    tss_ote_hash_begin(h, n);
    tss_ote_hash_raw(h, p, n);
}

void tss_ote_hash_u32(tss_ote_hash *h, uint32_t v) {
    uint8_t b[4];
    put_be32(b, v);
    tss_ote_hash_field(h, b, 4);
}

void tss_ote_hash_final(tss_ote_hash *h, uint8_t *out) {
    crypto_generichash_blake2b_final(&h->st, out, h->outlen);
    sodium_memzero(h, sizeof *h);
}
