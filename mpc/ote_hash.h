/* The transcript hash of the OT-extension and RVOLE layer: BLAKE2b (about 3x
 * faster than SHA-256 here, where the u-matrix and the RVOLE reply, 20-48 KiB,
 * are hashed every run).
 *
 *   H(tag, sid; fields) = BLAKE2b-outlen(personal = "tssd-ote-v1", no key) over
 *     u8 len(tag) || tag || u32be 32 || sid || (u32be len || field)*
 *
 * tss_ote_hash_field frames one field; a field too large to hold in memory at
 * once is framed with tss_ote_hash_begin(len) followed by raw chunks. */
#ifndef TSS_MPC_OTE_HASH_H
#define TSS_MPC_OTE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define TSS_OTE_SID_BYTES 32

typedef struct {
    crypto_generichash_blake2b_state st;
    size_t outlen;
} tss_ote_hash;

/* outlen in [16, 64]. */
void tss_ote_hash_init(tss_ote_hash *h, size_t outlen, const char *tag,
                       const uint8_t sid[TSS_OTE_SID_BYTES]);
void tss_ote_hash_field(tss_ote_hash *h, const void *p, size_t n);
/* Frame a field of n bytes that follows in tss_ote_hash_raw chunks. */
void tss_ote_hash_begin(tss_ote_hash *h, size_t n);
void tss_ote_hash_raw(tss_ote_hash *h, const void *p, size_t n);
void tss_ote_hash_u32(tss_ote_hash *h, uint32_t v); /* a 4-byte field */
/* Writes outlen bytes and wipes the state. */
void tss_ote_hash_final(tss_ote_hash *h, uint8_t *out);

#endif
