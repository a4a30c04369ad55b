/* Fuzz the signing decoders: round-2 message, final broadcast, presignature
 * and key-share encodings (first byte selects). */
#include <stddef.h>
#include <stdint.h>

#include "mpc/keyshare.h"
#include "mpc/sign.h"
#include "util/secmem.h"

tss_result tss_sign_fuzz_decode_r2p(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) ready = tss_is_ok(tss_crypto_init());
    if (size < 1) return 0;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    switch (data[0] & 3) {
    case 0: (void)tss_sign_fuzz_decode_r2p(in, len).err; break;
    case 1: {
        tss_sign_partial p;
        (void)tss_sign_partial_decode(&p, 2, in, len).err;
        break;
    }
    case 2: {
        tss_presig *p = NULL;
        if (tss_is_ok(tss_presig_decode(&p, in, len))) tss_presig_free(p);
        break;
    }
    default: {
        tss_keyshare *ks = NULL;
        if (tss_is_ok(tss_keyshare_decode(&ks, in, len))) tss_keyshare_free(ks);
    }
    }
    return 0;
}
