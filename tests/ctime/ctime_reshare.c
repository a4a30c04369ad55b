/* Constant-time check of the reshare (mpc/reshare.c) under valgrind memcheck:
 * a 2-of-3 key (keygen untracked) reshared by dealers {1, 2} to {1, 2, 4}
 * (party 3 replaced by a party that holds no share), all three rounds in
 * process (see ctime_scalar.c for the mechanics, ctime_common.h for the
 * tracked generator).
 *
 * Secret: the old shares x_i (marked before the run), everything the library
 * samples once tracking is on (coefficients, Schnorr nonces, zero-share
 * contributions, base-OT secrets), and on arrival the secret part of every
 * round-2 point-to-point message (f_i(j) and the zero-share contribution; the
 * wire encrypts them). Public: every broadcast and the base-OT messages.
 *
 * After the run the new shares are declassified and checked: same X, x'_j*G
 * = X'_j, and two new shares interpolate to the key.
 *
 * Run it with tests/ctime/run.sh. Without valgrind it runs once as a smoke test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpc/dkg.h"
#include "mpc/point.h"
#include "mpc/reshare.h"
#include "mpc/scalar.h"
#include "util/secmem.h"

#include "ctime_common.h"

#define FAIL(...)                                                                 \
    do {                                                                          \
        fprintf(stderr, "ctime_reshare: " __VA_ARGS__);                           \
        fprintf(stderr, " (%s)\n", tss_error_detail());                           \
        return 0;                                                                 \
    } while (0)

#define NP 3
static const uint16_t g_old[NP] = {1, 2, 3};
static const uint16_t g_dealers[2] = {1, 2};
static const uint16_t g_new[NP] = {1, 2, 4};
#define NU 3 /* U = {1, 2, 4} */

typedef tss_result (*handle_fn)(void *p, const tss_mpc_msg *m, tss_mpc_outbox *o);
static tss_result dkg_handle(void *p, const tss_mpc_msg *m, tss_mpc_outbox *o) {
    return tss_dkg_handle(p, m, o);
}
static tss_result reshare_handle(void *p, const tss_mpc_msg *m, tss_mpc_outbox *o) {
    return tss_reshare_handle(p, m, o);
}

/* Delivers until quiet; reshare round-2 p2p payloads are secret but for the
 * trailing base-OT msg2 of a sender that is a new party (all are here). */
static int deliver(void **party, const uint16_t *ids, size_t n, handle_fn h,
                   tss_mpc_outbox *pending) {
    while (pending->count) {
        tss_mpc_outbox cur = *pending;
        tss_mpc_outbox_init(pending);
        for (size_t i = 0; i < cur.count; i++) {
            tss_mpc_msg *m = &cur.msgs[i];
            PUBLIC(m->data, m->len);
            if (m->type == TSS_MSG_RESHARE_R2_P2P) {
                if (m->len < TSS_BASE_OT_MSG2_BYTES) FAIL("short round-2 message");
                SECRET(m->data, m->len - TSS_BASE_OT_MSG2_BYTES);
            }
            if (m->type == TSS_MSG_DKG_R2_P2P) SECRET(m->data, TSS_SC_BYTES + TSS_ZERO_SEED_BYTES);
            for (size_t k = 0; k < n; k++) {
                if (ids[k] == m->from || (m->to != TSS_MPC_BROADCAST && m->to != ids[k])) continue;
                if (!tss_is_ok(h(party[k], m, pending)))
                    FAIL("party %u failed on %s from %u", ids[k], tss_mpc_msg_type_name(m->type),
                         m->from);
            }
        }
        tss_mpc_outbox_clear(&cur);
    }
    return 1;
}

static int keygen(tss_keyshare *ks[NP]) {
    tss_dkg *party[NP];
    tss_mpc_outbox pending;
    tss_mpc_outbox_init(&pending);
    for (size_t i = 0; i < NP; i++) {
        tss_dkg_config c = {.self = g_old[i], .threshold = 2, .n = NP};
        memcpy(c.parties, g_old, sizeof g_old);
        snprintf(c.key_id, sizeof c.key_id, "ctime-reshare");
        memset(c.session_id, 0x3b, sizeof c.session_id);
        if (!tss_is_ok(tss_dkg_new(&party[i], &c)) || !tss_is_ok(tss_dkg_start(party[i], &pending)))
            FAIL("DKG start for party %u", g_old[i]);
    }
    if (!deliver((void **)party, g_old, NP, dkg_handle, &pending)) return 0;
    for (size_t i = 0; i < NP; i++) {
        if (!tss_dkg_finished(party[i]) || !tss_is_ok(tss_dkg_take_share(party[i], &ks[i])))
            FAIL("keygen party %u did not finish", g_old[i]);
        tss_dkg_free(party[i]);
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
        fprintf(stderr, "ctime_reshare: libsodium initialisation failed\n");
        return 1;
    }
    if (!RUNNING_ON_VALGRIND)
        fprintf(stderr, "ctime_reshare: not under valgrind; this run checks nothing "
                        "(use tests/ctime/run.sh)\n");
    if (tss_pt_context() == NULL) return 1;
    tss_keyshare *old[NP] = {0}, *nw[NP] = {0};
    if (!keygen(old)) return 1;
    for (size_t i = 0; i < NP; i++) SECRET(&old[i]->x, sizeof old[i]->x);

    g_track = 1;
    tss_reshare *party[NU] = {0};
    tss_mpc_outbox pending;
    tss_mpc_outbox_init(&pending);
    for (size_t i = 0; i < NU; i++) {
        tss_reshare_config c = {.self = g_new[i], .X = old[0]->X, .old_threshold = 2,
                                .new_threshold = 2, .new_n = NP};
        snprintf(c.key_id, sizeof c.key_id, "ctime-reshare");
        memset(c.session_id, 0x3c, sizeof c.session_id);
        memcpy(c.dealers, g_dealers, sizeof g_dealers);
        memcpy(c.new_parties, g_new, sizeof g_new);
        c.old_share = g_new[i] <= 2 ? old[g_new[i] - 1] : NULL;
        if (!tss_is_ok(tss_reshare_new(&party[i], &c)) ||
            !tss_is_ok(tss_reshare_start(party[i], &pending))) {
            fprintf(stderr, "ctime_reshare: start for party %u failed\n", g_new[i]);
            return 1;
        }
    }
    if (!deliver((void **)party, g_new, NU, reshare_handle, &pending)) return 1;
    g_track = 0;
    for (size_t i = 0; i < NU; i++) {
        if (!tss_reshare_finished(party[i]) || !tss_is_ok(tss_reshare_take_share(party[i], &nw[i]))) {
            fprintf(stderr, "ctime_reshare: party %u did not finish\n", g_new[i]);
            return 1;
        }
        tss_reshare_free(party[i]);
        PUBLIC(&nw[i]->x, sizeof nw[i]->x);
        PUBLIC(nw[i]->peers, nw[i]->n * sizeof *nw[i]->peers);
        tss_point xi;
        if (!tss_pt_eq(&nw[i]->X, &old[0]->X) || !tss_is_ok(tss_pt_mul_base(&xi, &nw[i]->x)) ||
            !tss_pt_eq(&xi, &nw[i]->X_j[i])) {
            fprintf(stderr, "ctime_reshare: party %u's new share is wrong\n", g_new[i]);
            return 1;
        }
    }
    /* New parties 2 and 4 reconstruct the key. */
    tss_scalar l, t, x;
    uint16_t pair[2] = {2, 4};
    if (!tss_is_ok(tss_lagrange_at_zero(&l, 2, pair, 2))) return 1;
    tss_sc_mul(&x, &l, &nw[1]->x);
    if (!tss_is_ok(tss_lagrange_at_zero(&l, 4, pair, 2))) return 1;
    tss_sc_mul(&t, &l, &nw[2]->x);
    tss_sc_add(&x, &x, &t);
    tss_point X;
    if (!tss_is_ok(tss_pt_mul_base(&X, &x)) || !tss_pt_eq(&X, &old[0]->X)) {
        fprintf(stderr, "ctime_reshare: new shares do not interpolate to the key\n");
        return 1;
    }
    for (size_t i = 0; i < NP; i++) tss_keyshare_free(old[i]), tss_keyshare_free(nw[i]);
    printf("ctime_reshare: 2-of-3 reshare {1,2} -> {1,2,4} (three rounds, base OTs) done\n");
    return 0;
}
