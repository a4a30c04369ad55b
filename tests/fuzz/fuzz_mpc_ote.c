/* Fuzz the OT-extension message decoder, and the sender's consistency check
 * on whatever decodes.
 *
 * Invariants: decoding succeeds exactly for TSS_OTE_WIRE_BYTES bytes (any
 * content) and re-encodes to the same bytes; the embedded reader agrees; the
 * sender's check on a decoded message fails only with TSS_E_PROTOCOL and
 * never writes its outputs then. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpc/ote.h"

static tss_ote_receiver_seeds rs;
static tss_ote_sender_seeds ss;
static tss_ote_ctx ctx;
static tss_ote_msg msg;
static uint8_t v0[TSS_OTE_XI][TSS_OTE_MSG_BYTES], v1[TSS_OTE_XI][TSS_OTE_MSG_BYTES];

/* Deterministic correlated seeds (the fuzzer wants reproducible runs). */
static void setup(void) {
    static int done;
    if (done) return;
    done = 1;
    /* The OT-extension scratch lives in guarded secret memory (sodium_malloc). */
    if (sodium_init() < 0) abort();
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) {
        for (size_t k = 0; k < TSS_OTE_SEED_BYTES; k++) {
            rs.seed[0][i][k] = (uint8_t)(i * 7 + k);
            rs.seed[1][i][k] = (uint8_t)(i * 13 + k + 101);
        }
        if (i % 3 == 0) ss.delta[i / 8] |= (uint8_t)(1u << (i % 8));
        memcpy(ss.seed[i], rs.seed[(ss.delta[i / 8] >> (i % 8)) & 1][i], TSS_OTE_SEED_BYTES);
    }
    uint8_t kg[32] = {1}, sg[32] = {2};
    if (!tss_is_ok(tss_ote_ctx_init(&ctx, kg, sg, 1, 2))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    tss_result r = tss_ote_msg_decode(&msg, data, size);
    if ((size == TSS_OTE_WIRE_BYTES) != tss_is_ok(r)) abort();

    tss_reader rd;
    tss_reader_init(&rd, data, size);
    tss_ote_msg_read_fields(&rd, &msg);
    if (tss_is_ok(tss_reader_status(&rd, "fuzz")) != (size >= TSS_OTE_WIRE_BYTES)) abort();
    if (!tss_is_ok(r)) return 0;

    tss_writer w;
    tss_writer_init(&w, TSS_OTE_WIRE_BYTES);
    tss_ote_msg_write(&w, &msg);
    if (!tss_is_ok(tss_writer_status(&w, "fuzz")) || w.len != size || memcmp(w.data, data, size))
        abort();
    tss_writer_free(&w);

    memset(v0, 0x5a, sizeof v0);
    r = tss_ote_send(&ctx, &ss, &msg, v0, v1);
    if (!tss_is_ok(r)) {
        if (r.err != TSS_E_PROTOCOL) abort();
        if (v0[0][0] != 0x5a || v0[TSS_OTE_XI - 1][TSS_OTE_MSG_BYTES - 1] != 0x5a) abort();
    }
    return 0;
}
