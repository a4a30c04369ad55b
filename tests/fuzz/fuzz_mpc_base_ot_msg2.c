/* Fuzz the base-OT msg2 decoder (msg2 is the sender's one point T) and the
 * receiver's last step. Properties: an accepted message is canonical and has
 * the exact length; a receiver fed an accepted message finishes, and its
 * state is never reusable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpc/base_ot.h"
#include "util/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tss_is_ok(tss_crypto_init())) abort();
    static tss_base_ot_msg2 m;
    if (!tss_is_ok(tss_base_ot_msg2_decode(&m, data, size))) return 0;
    if (size != TSS_BASE_OT_MSG2_BYTES) abort();
    uint8_t enc[TSS_PT_BYTES];
    tss_pt_encode(enc, &m.T);
    if (memcmp(enc, data, TSS_PT_BYTES) != 0) abort();
    /* A fresh receiver per valid message (the state is single-use). */
    static const uint8_t sid[TSS_SID_BYTES];
    uint8_t choice[TSS_BASE_OT_CHOICE_BYTES];
    memset(choice, 0x5a, sizeof choice);
    tss_base_ot_receiver *st = NULL;
    tss_writer w;
    tss_writer_init(&w, TSS_BASE_OT_MSG1_BYTES);
    if (!tss_is_ok(tss_base_ot_receiver_start(&st, sid, 1, 2, choice, &w))) abort();
    tss_writer_free(&w);
    tss_base_ot_receiver_output *out = tss_secret_alloc(sizeof *out);
    if (!out) abort();
    /* A valid T always finishes (there is nothing else to check). */
    if (!tss_is_ok(tss_base_ot_receiver_finish(st, data, size, out))) abort();
    if (tss_base_ot_receiver_finish(st, data, size, out).err != TSS_E_USAGE) abort();
    tss_base_ot_receiver_free(st);
    tss_secret_free(out);
    return 0;
}
