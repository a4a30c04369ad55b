/* Constant-time check of the base OT (mpc/base_ot.c), both roles, under
 * valgrind memcheck (see ctime_scalar.c for the mechanics, ctime_common.h for
 * the tracked generator).
 *
 * Secret: the receiver's choice bits (marked undefined) and everything the
 * library samples once tracking is on (the receiver's a_i and random points,
 * the sender's t). Public: msg1 and msg2 (declassified here, as the wire
 * would). Inside base_ot.c the declassification points are: discarded or
 * published random-point candidates, r_c once computed (published), T
 * (published), and the success bits of scalar multiplications (they reveal
 * only a zero scalar). The one region with error reporting off is the
 * libsecp256k1 point addition r_c = a*G - H_c(R) (see util/ctime.h).
 *
 * Parts: a full batch (receiver start, sender respond, receiver finish, with
 * the outputs checked after declassification), then the failure paths: an
 * invalid msg2 for the receiver and an invalid msg1 for the sender.
 *
 * Built a second time with a deliberate branch on the choice bit in
 * base_ot.c (build/ctime-inject/), where tests/ctime/run.sh --expect-flagged
 * requires memcheck to report it: the check can fail.
 *
 * Run it with tests/ctime/run.sh. Without valgrind it runs once as a smoke test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpc/base_ot.h"
#include "mpc/point.h"
#include "util/secmem.h"

#include "ctime_common.h"

#define FAIL(...)                                                                 \
    do {                                                                          \
        fprintf(stderr, "ctime_base_ot: " __VA_ARGS__);                           \
        fprintf(stderr, " (%s)\n", tss_error_detail());                           \
        return 0;                                                                 \
    } while (0)

typedef struct {
    uint8_t choice[TSS_BASE_OT_CHOICE_BYTES];
    tss_base_ot_sender_output s;
    tss_base_ot_receiver_output r;
} ot_run;

static int check_base_ot(void) {
    ot_run *o = tss_secret_alloc(sizeof *o);
    if (!o) FAIL("no memory");
    uint8_t sid[TSS_SID_BYTES];
    public_random(sid, sizeof sid);
    public_random(o->choice, sizeof o->choice);
    SECRET(o->choice, sizeof o->choice);

    tss_writer m1, m2;
    tss_writer_init(&m1, TSS_BASE_OT_MSG1_BYTES);
    tss_writer_init(&m2, TSS_BASE_OT_MSG2_BYTES);
    tss_base_ot_receiver *st = NULL;
    if (!tss_is_ok(tss_base_ot_receiver_start(&st, sid, 1, 2, o->choice, &m1)))
        FAIL("receiver start failed");
    PUBLIC(m1.data, m1.len); /* msg1 goes on the wire */
    if (!tss_is_ok(tss_base_ot_sender_respond(sid, 1, 2, m1.data, m1.len, &m2, &o->s)))
        FAIL("sender rejected an honest msg1");
    PUBLIC(m2.data, m2.len); /* msg2 goes on the wire */
    if (!tss_is_ok(tss_base_ot_receiver_finish(st, m2.data, m2.len, &o->r)))
        FAIL("receiver rejected an honest msg2");
    tss_base_ot_receiver_free(st);

    /* Correctness, after declassification: m_i = m_{i, c_i}. */
    PUBLIC(o, sizeof *o);
    if (memcmp(o->r.choice, o->choice, sizeof o->choice) != 0) FAIL("choice bits not returned");
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT; i++) {
        unsigned c = (o->choice[i / 8] >> (i % 8)) & 1;
        if (memcmp(o->r.m[i], o->s.m[i][c], TSS_BASE_OT_SEED_BYTES) != 0)
            FAIL("OT %u: receiver seed differs from the chosen sender seed", i);
        if (memcmp(o->r.m[i], o->s.m[i][c ^ 1], TSS_BASE_OT_SEED_BYTES) == 0)
            FAIL("OT %u: receiver seed equals the other sender seed", i);
    }

    /* Failure paths, with secrets live: an invalid T for the receiver ... */
    public_random(o->choice, sizeof o->choice);
    SECRET(o->choice, sizeof o->choice);
    m1.len = 0;
    if (!tss_is_ok(tss_base_ot_receiver_start(&st, sid, 1, 2, o->choice, &m1)))
        FAIL("receiver start failed");
    PUBLIC(m1.data, m1.len);
    uint8_t bad_T[TSS_BASE_OT_MSG2_BYTES] = {0x02}; /* x = 0 is not on the curve */
    if (tss_base_ot_receiver_finish(st, bad_T, sizeof bad_T, &o->r).err != TSS_E_INVALID)
        FAIL("receiver accepted an invalid T");
    tss_base_ot_receiver_free(st);
    /* ... and an invalid point in msg1 for the sender (rejected before t exists). */
    memset(m1.data + 100 * 2 * TSS_PT_BYTES, 0, TSS_PT_BYTES);
    m2.len = 0;
    if (tss_base_ot_sender_respond(sid, 1, 2, m1.data, m1.len, &m2, &o->s).err != TSS_E_INVALID)
        FAIL("sender accepted an invalid msg1");

    tss_writer_free(&m1);
    tss_writer_free(&m2);
    tss_secret_free(o);
    return 1;
}

int main(int argc, char **argv) {
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: %s\n", argv[0]);
        return 2;
    }
    if (ctime_install_rng() != 0 || !tss_is_ok(tss_crypto_init())) {
        fprintf(stderr, "ctime_base_ot: libsodium initialisation failed\n");
        return 1;
    }
    if (!RUNNING_ON_VALGRIND)
        fprintf(stderr, "ctime_base_ot: not under valgrind; this run checks nothing "
                        "(use tests/ctime/run.sh)\n");
    if (tss_pt_context() == NULL) {
        fprintf(stderr, "ctime_base_ot: secp256k1 context creation failed\n");
        return 1;
    }
    g_track = 1;
    if (!check_base_ot()) return 1;
    printf("ctime_base_ot: base OT receiver and sender done\n");
    return 0;
}
