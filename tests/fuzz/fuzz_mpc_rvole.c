/* Fuzz the RVOLE reply decoder, and the receiver's check on whatever decodes.
 *
 * Invariants: decoding succeeds only for TSS_RVOLE_WIRE_BYTES bytes whose
 * scalars are all < n, and then re-encodes to the same bytes (the encoding is
 * canonical); a failure is TRUNCATED, TRAILING or INVALID; the receiver's
 * check on a decoded reply fails only with TSS_E_PROTOCOL, without output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpc/rvole.h"

static tss_ote_receiver_seeds rs;
static tss_ote_ctx ctx;
static tss_ote_msg msg1;
static tss_rvole_receiver started, st;
static tss_rvole_msg msg;

static void setup(void) {
    static int done;
    if (done) return;
    done = 1;
    if (sodium_init() < 0) abort();
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++)
        for (size_t k = 0; k < TSS_OTE_SEED_BYTES; k++) {
            rs.seed[0][i][k] = (uint8_t)(i * 7 + k);
            rs.seed[1][i][k] = (uint8_t)(i * 13 + k + 101);
        }
    uint8_t kg[32] = {1}, sg[32] = {2};
    tss_scalar b;
    if (!tss_is_ok(tss_ote_ctx_init(&ctx, kg, sg, 2, 1))) abort();
    if (!tss_is_ok(tss_rvole_receiver_start(&started, &ctx, &rs, &msg1, &b))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    tss_result r = tss_rvole_msg_decode(&msg, data, size);
    if (!tss_is_ok(r)) {
        if (r.err != TSS_E_TRUNCATED && r.err != TSS_E_TRAILING && r.err != TSS_E_INVALID) abort();
        if (size == TSS_RVOLE_WIRE_BYTES && r.err != TSS_E_INVALID) abort();
        return 0;
    }
    if (size != TSS_RVOLE_WIRE_BYTES) abort();

    tss_writer w;
    tss_writer_init(&w, TSS_RVOLE_WIRE_BYTES);
    tss_rvole_msg_write(&w, &msg);
    if (!tss_is_ok(tss_writer_status(&w, "fuzz")) || w.len != size || memcmp(w.data, data, size))
        abort();
    tss_writer_free(&w);

    st = started;
    tss_scalar d[2];
    memset(d, 0x5a, sizeof d);
    r = tss_rvole_receiver_finish(&st, &msg, d);
    if (!tss_is_ok(r)) {
        if (r.err != TSS_E_PROTOCOL) abort();
        const uint8_t *p = (const uint8_t *)d;
        for (size_t i = 0; i < sizeof d; i++)
            if (p[i] != 0x5a) abort();
    }
    return 0;
}
