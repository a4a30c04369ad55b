/* Constant-time check of the DKG (mpc/dkg.c) under valgrind memcheck: all
 * three rounds of a 2-of-3 keygen in process (see ctime_scalar.c for the
 * mechanics, ctime_common.h for the tracked generator).
 *
 * Secret: everything the library samples once tracking is on -- polynomial
 * coefficients, Schnorr nonces, zero-share contributions, base-OT choice bits,
 * a_i, random points and sender keys -- and, on arrival, the secret part of
 * every round-2 point-to-point message (the share f_j(i) and the zero-share
 * contribution; the wire encrypts them). Public: every broadcast, the base-OT
 * messages. Inside dkg.c (and schnorr.c, base_ot.c) the declassification
 * points are the values a party publishes (its sid share, chain code,
 * commitment and salt, F_k = a_k*G, Schnorr R, the zero-seed confirmations)
 * and the pass/fail bits of the Feldman and own-share checks.
 *
 * After the run every share is declassified and checked: the parties agree
 * on X and on the public shares, x_i*G = X_i, and any two shares interpolate
 * to the key.
 *
 * Run it with tests/ctime/run.sh. Without valgrind it runs once as a smoke test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpc/dkg.h"
#include "mpc/point.h"
#include "mpc/scalar.h"
#include "util/secmem.h"

#include "ctime_common.h"

#define FAIL(...)                                                                 \
    do {                                                                          \
        fprintf(stderr, "ctime_dkg: " __VA_ARGS__);                               \
        fprintf(stderr, " (%s)\n", tss_error_detail());                           \
        return 0;                                                                 \
    } while (0)

#define NP 3
#define THRESHOLD 2
static const uint16_t g_ids[NP] = {1, 2, 3};

/* Bytes of a round-2 point-to-point message that the wire keeps secret:
 * f_j(i) (32) and the zero-share contribution (32); the base-OT msg2 follows. */
#define R2P_SECRET_BYTES (TSS_SC_BYTES + TSS_ZERO_SEED_BYTES)

static int run_dkg(tss_dkg *party[NP]) {
    tss_mpc_outbox pending;
    tss_mpc_outbox_init(&pending);
    for (size_t i = 0; i < NP; i++) {
        tss_dkg_config c = {.self = g_ids[i], .threshold = THRESHOLD, .n = NP};
        memcpy(c.parties, g_ids, sizeof g_ids);
        snprintf(c.key_id, sizeof c.key_id, "ctime-dkg");
        memset(c.session_id, 0x3a, sizeof c.session_id);
        if (!tss_is_ok(tss_dkg_new(&party[i], &c)) || !tss_is_ok(tss_dkg_start(party[i], &pending)))
            FAIL("DKG start for party %u", g_ids[i]);
    }
    while (pending.count) {
        tss_mpc_outbox cur = pending;
        tss_mpc_outbox_init(&pending);
        for (size_t i = 0; i < cur.count; i++) {
            tss_mpc_msg *m = &cur.msgs[i];
            PUBLIC(m->data, m->len);
            if (m->type == TSS_MSG_DKG_R2_P2P) {
                if (m->len < R2P_SECRET_BYTES) FAIL("short round-2 message");
                SECRET(m->data, R2P_SECRET_BYTES);
            }
            for (size_t k = 0; k < NP; k++) {
                if (g_ids[k] == m->from || (m->to != TSS_MPC_BROADCAST && m->to != g_ids[k]))
                    continue;
                if (!tss_is_ok(tss_dkg_handle(party[k], m, &pending)))
                    FAIL("party %u failed on %s from %u", g_ids[k],
                         tss_mpc_msg_type_name(m->type), m->from);
            }
        }
        tss_mpc_outbox_clear(&cur);
    }
    return 1;
}

/* Lagrange coefficient of party a for the set {a, b} at 0: b / (b - a). */
static void lagrange2(tss_scalar *l, uint16_t a, uint16_t b) {
    tss_scalar sa, sb, d;
    tss_sc_set_u64(&sa, a);
    tss_sc_set_u64(&sb, b);
    tss_sc_sub(&d, &sb, &sa);
    tss_sc_inv(&d, &d);
    tss_sc_mul(l, &sb, &d);
}

static int check_shares(tss_keyshare *ks[NP]) {
    for (size_t i = 0; i < NP; i++) {
        PUBLIC(&ks[i]->x, sizeof ks[i]->x);
        PUBLIC(ks[i]->peers, ks[i]->n * sizeof *ks[i]->peers);
        PUBLIC(ks[i]->chain_code, sizeof ks[i]->chain_code);
        if (!tss_pt_eq(&ks[i]->X, &ks[0]->X)) FAIL("parties disagree on X");
        tss_point xi;
        if (!tss_is_ok(tss_pt_mul_base(&xi, &ks[i]->x)) || !tss_pt_eq(&xi, &ks[0]->X_j[i]))
            FAIL("x_%u * G is not the public share", g_ids[i]);
        if (memcmp(ks[i]->chain_code, ks[0]->chain_code, TSS_CHAIN_CODE_BYTES) != 0)
            FAIL("parties disagree on the chain code");
    }
    /* Parties 1 and 3 reconstruct the key. */
    tss_scalar l0, l2, t, x;
    lagrange2(&l0, g_ids[0], g_ids[2]);
    lagrange2(&l2, g_ids[2], g_ids[0]);
    tss_sc_mul(&x, &l0, &ks[0]->x);
    tss_sc_mul(&t, &l2, &ks[2]->x);
    tss_sc_add(&x, &x, &t);
    tss_point X;
    if (!tss_is_ok(tss_pt_mul_base(&X, &x)) || !tss_pt_eq(&X, &ks[0]->X))
        FAIL("two shares do not interpolate to the key");
    /* Pairwise secrets agree: zero seeds, and OT seeds of each direction. */
    for (size_t i = 0; i < NP; i++)
        for (size_t j = 0; j < NP; j++) {
            if (i == j) continue;
            if (memcmp(ks[i]->peers[j].zero_seed, ks[j]->peers[i].zero_seed,
                       TSS_ZERO_SEED_BYTES) != 0)
                FAIL("zero seeds of %u and %u differ", g_ids[i], g_ids[j]);
            const tss_ote_sender_seeds *s = &ks[i]->peers[j].ote_send;
            const tss_ote_receiver_seeds *r = &ks[j]->peers[i].ote_recv;
            for (size_t b = 0; b < TSS_OTE_KAPPA; b++) {
                unsigned d = (s->delta[b / 8] >> (b % 8)) & 1;
                if (memcmp(s->seed[b], r->seed[d][b], TSS_OTE_SEED_BYTES) != 0)
                    FAIL("base OT %zu of pair (%u, %u) differs", b, g_ids[j], g_ids[i]);
            }
        }
    return 1;
}

int main(int argc, char **argv) {
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: %s\n", argv[0]);
        return 2;
    }
    if (ctime_install_rng() != 0 || !tss_is_ok(tss_crypto_init())) {
        fprintf(stderr, "ctime_dkg: libsodium initialisation failed\n");
        return 1;
    }
    if (!RUNNING_ON_VALGRIND)
        fprintf(stderr, "ctime_dkg: not under valgrind; this run checks nothing "
                        "(use tests/ctime/run.sh)\n");
    if (tss_pt_context() == NULL) {
        fprintf(stderr, "ctime_dkg: secp256k1 context creation failed\n");
        return 1;
    }
    tss_dkg *party[NP] = {0};
    tss_keyshare *ks[NP] = {0};
    g_track = 1;
    if (!run_dkg(party)) return 1;
    g_track = 0;
    for (size_t i = 0; i < NP; i++) {
        if (!tss_dkg_finished(party[i]) || !tss_is_ok(tss_dkg_take_share(party[i], &ks[i]))) {
            fprintf(stderr, "ctime_dkg: party %u did not finish\n", g_ids[i]);
            return 1;
        }
        tss_dkg_free(party[i]);
    }
    if (!check_shares(ks)) return 1;
    for (size_t i = 0; i < NP; i++) tss_keyshare_free(ks[i]);
    printf("ctime_dkg: 2-of-3 keygen (three rounds, base OTs both roles) done\n");
    return 0;
}
