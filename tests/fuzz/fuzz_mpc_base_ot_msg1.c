/* Fuzz the base-OT msg1 decoder and the sender that consumes it. Properties:
 * an accepted message is canonical (re-encodes byte for byte) and has the exact
 * length; the sender either answers with a full msg2 or fails cleanly (e.g. a
 * slot that sums to infinity). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpc/base_ot.h"
#include "util/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tss_is_ok(tss_crypto_init())) abort();
    static tss_base_ot_msg1 m;
    if (!tss_is_ok(tss_base_ot_msg1_decode(&m, data, size))) return 0;
    if (size != TSS_BASE_OT_MSG1_BYTES) abort();
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT; i++)
        for (unsigned j = 0; j < 2; j++) {
            uint8_t enc[TSS_PT_BYTES];
            tss_pt_encode(enc, &m.r[i][j]);
            if (memcmp(enc, data + (2 * i + j) * TSS_PT_BYTES, TSS_PT_BYTES) != 0) abort();
        }
    static const uint8_t sid[TSS_SID_BYTES];
    tss_base_ot_sender_output *out = tss_secret_alloc(sizeof *out);
    if (!out) abort();
    tss_writer w;
    tss_writer_init(&w, TSS_BASE_OT_MSG2_BYTES);
    if (tss_is_ok(tss_base_ot_sender_respond(sid, 1, 2, data, size, &w, out)) &&
        w.len != TSS_BASE_OT_MSG2_BYTES)
        abort();
    tss_writer_free(&w);
    tss_secret_free(out);
    return 0;
}
