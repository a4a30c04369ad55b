/* PRG and per-run derivations for the OT-extension layer.
 *
 * PRG(seed, nonce) is the ChaCha20-IETF keystream (libsodium) under the 32-byte
 * seed as key, block counter 0. A base-OT seed is reused in every extension run
 * for its key, so each run uses a fresh nonce derived from the run's sid:
 * ChaCha20 is a PRF of (key, nonce, counter), so distinct nonces give
 * independent streams from one secret seed. (This replaces hashing every seed
 * with the sid: same security under the PRF assumption, and 512 fewer SHA-256
 * calls per run.)
 *
 * tss_prg_derive is the small-input derivation hash: SHA-256 over
 *   u8 len(tag) || tag || for each field: u32be len || bytes
 * used for sids, nonces and keys. Tags name the purpose and carry a version. */
#ifndef TSS_MPC_PRG_H
#define TSS_MPC_PRG_H

#include <stddef.h>
#include <stdint.h>

#define TSS_PRG_SEED_BYTES 32
#define TSS_PRG_NONCE_BYTES 12
#define TSS_PRG_DIGEST_BYTES 32

typedef struct {
    const void *p;
    size_t n;
} tss_prg_field;

/* out = SHA-256(u8 len(tag) || tag || (u32be len || field)*). tag is at most
 * 255 bytes (longer tags are truncated; all our tags are short constants). */
void tss_prg_derive(uint8_t out[TSS_PRG_DIGEST_BYTES], const char *tag, const tss_prg_field *fields,
                    size_t nfields);

/* The nonce of one run: the first 12 bytes of tss_prg_derive(tag, sid). */
void tss_prg_nonce(uint8_t nonce[TSS_PRG_NONCE_BYTES], const char *tag, const uint8_t *sid,
                   size_t sid_len);

/* out = PRG(seed, nonce)[0 .. len). len < 2^38 (libsodium aborts beyond). */
void tss_prg_expand(uint8_t *out, size_t len, const uint8_t seed[TSS_PRG_SEED_BYTES],
                    const uint8_t nonce[TSS_PRG_NONCE_BYTES]);
/* out = in XOR PRG(seed, nonce)[0 .. len). out may equal in. */
void tss_prg_xor(uint8_t *out, const uint8_t *in, size_t len, const uint8_t seed[TSS_PRG_SEED_BYTES],
                 const uint8_t nonce[TSS_PRG_NONCE_BYTES]);

/* Many PRG streams at once: for l < n, out + l*stride receives
 * PRG(keys[l], nonce)[0 .. len). Same output as tss_prg_expand per key, but
 * computed 8 keys at a time with SIMD (AVX2 when the CPU has it, else SSE2 or
 * plain C): the OT extension expands 256-1536 short streams per run, where
 * per-call overhead dominates. */
void tss_prg_expand_many(uint8_t *out, size_t stride, size_t len,
                         const uint8_t (*keys)[TSS_PRG_SEED_BYTES], size_t n,
                         const uint8_t nonce[TSS_PRG_NONCE_BYTES]);
/* The same without CPU-specific code paths (exposed to test it everywhere). */
void tss_prg_expand_many_generic(uint8_t *out, size_t stride, size_t len,
                                 const uint8_t (*keys)[TSS_PRG_SEED_BYTES], size_t n,
                                 const uint8_t nonce[TSS_PRG_NONCE_BYTES]);

#endif
