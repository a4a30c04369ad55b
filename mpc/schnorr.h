/* Schnorr proof of knowledge of x with X = x*G (non-interactive, Fiat-Shamir).
 *
 *   prover: k random, R = k*G, e = Hs("schnorr-pok", sid, prover, X, R, aux),
 *           z = k + e*x
 *   verify: z*G == R + e*X
 * The challenge binds the session id (no replay across sessions), the prover id
 * (no copying another party's proof as one's own), the statement X and the
 * caller's aux bytes (e.g. the coefficient index), under its own purpose tag.
 * Encoding (65 bytes): R compressed (33) || z big-endian (32, < n). */
#ifndef TSS_MPC_SCHNORR_H
#define TSS_MPC_SCHNORR_H

#include <stddef.h>
#include <stdint.h>

#include "mpc/point.h"
#include "mpc/scalar.h"
#include "mpc/transcript.h"
#include "util/bytes.h"
#include "util/result.h"

#define TSS_SCHNORR_BYTES (TSS_PT_BYTES + TSS_SC_BYTES)
#define TSS_SCHNORR_AUX_MAX 1024

typedef struct {
    tss_point R;
    tss_scalar z;
} tss_schnorr_proof;

/* X must equal x*G (checked: a mismatch is a caller bug, TSS_E_USAGE).
 * *out is written only on success. aux may be NULL when aux_len is 0. */
TSS_MUST_CHECK tss_result tss_schnorr_prove(tss_schnorr_proof *out, const uint8_t sid[TSS_SID_BYTES],
                                            uint32_t prover, const tss_scalar *x,
                                            const tss_point *X, const void *aux, size_t aux_len);
/* TSS_E_PROTOCOL naming the prover when the proof does not verify. */
TSS_MUST_CHECK tss_result tss_schnorr_verify(const tss_schnorr_proof *p,
                                             const uint8_t sid[TSS_SID_BYTES], uint32_t prover,
                                             const tss_point *X, const void *aux, size_t aux_len);

void tss_schnorr_encode(uint8_t out[TSS_SCHNORR_BYTES], const tss_schnorr_proof *p);
void tss_schnorr_write(tss_writer *w, const tss_schnorr_proof *p);
/* Reads 65 bytes from a larger message: R must be a valid point, z < n. */
TSS_MUST_CHECK tss_result tss_schnorr_read(tss_reader *rd, tss_schnorr_proof *p);
/* A standalone proof: exactly 65 bytes. */
TSS_MUST_CHECK tss_result tss_schnorr_decode(tss_schnorr_proof *p, const uint8_t *in, size_t len);

#endif
