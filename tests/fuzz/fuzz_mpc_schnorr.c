/* Fuzz the Schnorr proof decoder and verifier. Properties: an accepted proof is
 * canonical (re-encodes to the input); verification of arbitrary bytes never
 * crashes. The seed corpus holds a valid proof for the statement below, so the
 * verifier's accept path is reached too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpc/schnorr.h"
#include "util/secmem.h"

/* Statement of the seed proof: X = 7*G, sid = 32 zero bytes, prover 1, no aux. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tss_is_ok(tss_crypto_init())) abort();
    static const uint8_t sid[TSS_SID_BYTES];
    tss_scalar seven;
    tss_point X;
    tss_sc_set_u64(&seven, 7);
    if (!tss_is_ok(tss_pt_mul_base(&X, &seven))) abort();
    tss_schnorr_proof p;
    if (!tss_is_ok(tss_schnorr_decode(&p, data, size))) return 0;
    uint8_t enc[TSS_SCHNORR_BYTES];
    tss_schnorr_encode(enc, &p);
    if (size != TSS_SCHNORR_BYTES || memcmp(enc, data, size) != 0) abort();
    (void)tss_schnorr_verify(&p, sid, 1, &X, NULL, 0).err;
    return 0;
}
