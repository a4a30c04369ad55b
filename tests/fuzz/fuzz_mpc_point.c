/* Fuzz the point and scalar decoders. Properties: an accepted point encoding is
 * canonical (re-encodes byte for byte); the strict scalar decoder accepts
 * exactly the values the reducing decoder leaves unchanged; wide reduction
 * never fails. Input: 33-byte point || 32-byte scalar || 64-byte wide value,
 * each part optional. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpc/point.h"
#include "mpc/scalar.h"
#include "util/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tss_is_ok(tss_crypto_init())) abort();
    tss_reader rd;
    tss_reader_init(&rd, data, size);
    tss_point p;
    if (tss_is_ok(tss_pt_read(&rd, &p, "fuzz point"))) {
        uint8_t enc[TSS_PT_BYTES];
        tss_pt_encode(enc, &p);
        if (memcmp(enc, data, TSS_PT_BYTES) != 0) abort();
    }
    if (size >= TSS_PT_BYTES + TSS_SC_BYTES) {
        const uint8_t *in = data + TSS_PT_BYTES;
        tss_scalar s, r;
        uint8_t out[TSS_SC_BYTES];
        tss_sc_from_bytes_reduce(&r, in);
        tss_sc_to_bytes(out, &r);
        int unchanged = memcmp(out, in, TSS_SC_BYTES) == 0;
        if (tss_is_ok(tss_sc_from_bytes(&s, in, "fuzz scalar")) != unchanged) abort();
        if (unchanged && !tss_sc_eq(&s, &r)) abort();
    }
    if (size >= TSS_PT_BYTES + TSS_SC_BYTES + TSS_SC_WIDE_BYTES) {
        tss_scalar w;
        uint8_t out[TSS_SC_BYTES], back[TSS_SC_BYTES];
        tss_sc_from_wide(&w, data + TSS_PT_BYTES + TSS_SC_BYTES);
        tss_sc_to_bytes(out, &w);
        tss_scalar chk;
        if (!tss_is_ok(tss_sc_from_bytes(&chk, out, "wide"))) abort(); /* always < n */
        tss_sc_to_bytes(back, &chk);
        if (memcmp(out, back, sizeof out) != 0) abort();
    }
    return 0;
}
