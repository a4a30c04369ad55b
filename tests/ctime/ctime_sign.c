/* Constant-time check of DKLS23 signing under valgrind memcheck (the approach
 * of libsecp256k1's ctime_tests; see ctime_scalar.c for the mechanics).
 *
 * What is secret here:
 *  - Every byte libsodium's generator produces once the check starts: the
 *    program installs a randombytes implementation that returns the system
 *    generator's bytes marked undefined. So everything the library samples
 *    (nonces r_i, masks phi_i, RVOLE choice bits beta and eta, the OT
 *    extension's padding rows, commitment salts, sid contributions) is
 *    tracked without a test seam in the library.
 *  - Key material, marked undefined explicitly: the key share's x_i, its
 *    pairwise zero-share seeds and OT-extension seeds (both directions), and
 *    the component checks' seeds, Delta, choice bits and RVOLE inputs.
 *
 * What is public: whatever a party sends. The in-process network below marks
 * every message payload defined before delivering it (the wire is the
 * declassification boundary), and the component checks do the same with the
 * OT-extension and RVOLE messages. Anything else the library reveals it
 * declassifies itself, with a comment, through util/ctime.h.
 *
 * Parts (1 and 2 also run the failure path of their check):
 *  0. The portable GF(2^128), ChaCha20 and transpose code, which the OT
 *     extension uses on CPUs without PCLMULQDQ, AVX2 or SSE2.
 *  1. OT extension: receiver (secret seeds and choices), sender (secret Delta
 *     and seeds), consistency-check failure on a tampered message.
 *  2. RVOLE: receiver start, sender reply with secret a = (r_i, sk_i),
 *     receiver finish; and a tampered reply failing the mu check.
 *  3. Points: k*G, k*P, and the constant-time k*P == Q comparison.
 *  4. A full 2-of-2 signing session (three rounds and assembly) and a
 *     presigning session followed by tss_presig_finish with secret phi, v,
 *     from key shares made by a DKG run beforehand (the DKG is not checked:
 *     it runs before tracking starts).
 * Outputs are checked for correctness after they are declassified.
 *
 * Run it with tests/ctime/run.sh. Without valgrind it runs once as a smoke test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <valgrind/memcheck.h>

#include "mpc/dkg.h"
#include "mpc/gf128.h"
#include "mpc/ote.h"
#include "mpc/ote_transpose.h"
#include "mpc/point.h"
#include "mpc/prg.h"
#include "mpc/rvole.h"
#include "mpc/scalar.h"
#include "mpc/sign.h"
#include "util/secmem.h"

#include "ctime_common.h"

#define FAIL(...)                                                                 \
    do {                                                                          \
        fprintf(stderr, "ctime_sign: " __VA_ARGS__);                              \
        fprintf(stderr, " (%s)\n", tss_error_detail());                           \
        return 0;                                                                 \
    } while (0)

static void secret_scalar(tss_scalar *s) {
    uint8_t b[TSS_SC_BYTES];
    public_random(b, sizeof b);
    tss_sc_from_bytes_reduce(s, b);
    SECRET(s, sizeof *s);
}

/* ---- 0. fallback paths ------------------------------------------------------ */

/* The OT extension dispatches to PCLMULQDQ, AVX2 and SSE2 code where the CPU
 * has them (valgrind passes the host's features through), so the portable
 * versions it would use elsewhere are run here directly on secret inputs. */
static int check_fallbacks(void) {
    enum { N = 5 };
    tss_gf128 a[N], b[N], r;
    static uint8_t keys[9][TSS_PRG_SEED_BYTES], stream[9][TSS_OTE_COL_BYTES];
    static uint8_t cols[TSS_OTE_KAPPA][TSS_OTE_COL_BYTES], rows[TSS_OTE_XI][TSS_OTE_KAPPA_BYTES];
    uint8_t nonce[TSS_PRG_NONCE_BYTES];
    public_random(a, sizeof a);
    public_random(b, sizeof b);
    public_random(keys, sizeof keys);
    public_random(cols, sizeof cols);
    public_random(nonce, sizeof nonce);
    SECRET(a, sizeof a);
    SECRET(b, sizeof b);
    SECRET(keys, sizeof keys);
    SECRET(cols, sizeof cols);

    tss_gf128_mul_portable(&r, &a[0], &b[0]);
    PUBLIC(&r, sizeof r);
    tss_gf128_dot_portable(&r, a, b, N);
    PUBLIC(&r, sizeof r);
    if (tss_gf128_have_clmul()) {
        tss_gf128_mul_clmul(&r, &a[0], &b[0]);
        PUBLIC(&r, sizeof r);
    }
    /* 9 keys: one full group of 8 lanes and a partial one. */
    tss_prg_expand_many_generic(&stream[0][0], TSS_OTE_COL_BYTES, TSS_OTE_COL_BYTES,
                                (const uint8_t(*)[TSS_PRG_SEED_BYTES])keys, 9, nonce);
    PUBLIC(stream, sizeof stream);
    tss_ote_transpose_portable(rows, (const uint8_t(*)[TSS_OTE_COL_BYTES])cols, TSS_OTE_XI);
    PUBLIC(rows, sizeof rows);
    return 1;
}

/* ---- 1. OT extension ------------------------------------------------------ */

/* Matching base-OT outputs: the sender's seed i is the receiver's seed
 * (Delta_i, i). Built from public bytes, then marked secret. */
static void make_seeds(tss_ote_receiver_seeds *rs, tss_ote_sender_seeds *ss) {
    public_random(rs, sizeof *rs);
    public_random(ss->delta, sizeof ss->delta);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++)
        memcpy(ss->seed[i], rs->seed[(ss->delta[i / 8] >> (i % 8)) & 1][i], TSS_OTE_SEED_BYTES);
    SECRET(rs, sizeof *rs);
    SECRET(ss, sizeof *ss);
}

static void make_ctx(tss_ote_ctx *ctx, uint16_t sender, uint16_t receiver) {
    uint8_t keygen_sid[TSS_OTE_SID_BYTES], sign_sid[TSS_OTE_SID_BYTES];
    public_random(keygen_sid, sizeof keygen_sid);
    public_random(sign_sid, sizeof sign_sid);
    if (!tss_is_ok(tss_ote_ctx_init(ctx, keygen_sid, sign_sid, sender, receiver))) abort();
}

typedef struct {
    tss_ote_receiver_seeds rs;
    tss_ote_sender_seeds ss;
    tss_ote_msg msg, bad;
    uint8_t choices[TSS_OTE_XI_BYTES];
    uint8_t out[TSS_OTE_XI][TSS_OTE_MSG_BYTES];
    uint8_t v0[TSS_OTE_XI][TSS_OTE_MSG_BYTES], v1[TSS_OTE_XI][TSS_OTE_MSG_BYTES];
} ote_run;

static int check_ote(void) {
    ote_run *o = tss_secret_alloc(sizeof *o);
    if (!o) FAIL("no memory");
    tss_ote_ctx ctx;
    make_ctx(&ctx, 1, 2);
    make_seeds(&o->rs, &o->ss);
    public_random(o->choices, sizeof o->choices);
    SECRET(o->choices, sizeof o->choices);

    if (!tss_is_ok(tss_ote_receive(&ctx, &o->rs, o->choices, &o->msg, o->out)))
        FAIL("OT-extension receiver failed");
    PUBLIC(&o->msg, sizeof o->msg); /* sent to the extension sender */
    if (!tss_is_ok(tss_ote_send(&ctx, &o->ss, &o->msg, o->v0, o->v1)))
        FAIL("OT-extension sender rejected an honest message");
    /* Failure path: a tampered u-matrix fails the consistency check. */
    o->bad = o->msg;
    o->bad.u[7][3] ^= 0x10;
    tss_result r = tss_ote_send(&ctx, &o->ss, &o->bad, o->v0 + 0, o->v1 + 0);
    if (r.err != TSS_E_PROTOCOL) FAIL("tampered OT-extension message was not rejected");

    /* Correctness (outputs declassified): out_j = v_{choice_j, j}. */
    PUBLIC(o, sizeof *o);
    for (size_t j = 0; j < TSS_OTE_XI; j++) {
        const uint8_t *want = (o->choices[j / 8] >> (j % 8)) & 1 ? o->v1[j] : o->v0[j];
        if (memcmp(o->out[j], want, TSS_OTE_MSG_BYTES) != 0) FAIL("OT %zu: wrong output", j);
    }
    tss_secret_free(o);
    return 1;
}

/* ---- 2. RVOLE -------------------------------------------------------------- */

typedef struct {
    tss_ote_receiver_seeds rs;
    tss_ote_sender_seeds ss;
    tss_rvole_receiver st;
    tss_ote_msg msg1;
    tss_rvole_msg msg2;
} rvole_run;

static int check_rvole(void) {
    rvole_run *v = tss_secret_alloc(sizeof *v);
    if (!v) FAIL("no memory");
    tss_ote_ctx ctx;
    tss_scalar a[TSS_RVOLE_L], b, c[TSS_RVOLE_L], d[TSS_RVOLE_L];
    make_ctx(&ctx, 3, 4);
    make_seeds(&v->rs, &v->ss);
    secret_scalar(&a[0]); /* r_i */
    secret_scalar(&a[1]); /* sk_i */

    /* beta comes from the (tracked) generator inside receiver_start. */
    if (!tss_is_ok(tss_rvole_receiver_start(&v->st, &ctx, &v->rs, &v->msg1, &b)))
        FAIL("RVOLE receiver start failed");
    PUBLIC(&v->msg1, sizeof v->msg1); /* round-1 message */
    if (!tss_is_ok(tss_rvole_sender_reply(&ctx, &v->ss, &v->msg1, a, &v->msg2, c)))
        FAIL("RVOLE sender rejected an honest message");
    PUBLIC(&v->msg2, sizeof v->msg2); /* round-2 message */
    if (!tss_is_ok(tss_rvole_receiver_finish(&v->st, &v->msg2, d)))
        FAIL("RVOLE receiver rejected an honest reply");

    /* Correctness: c_k + d_k = a_k * b. */
    PUBLIC(a, sizeof a);
    PUBLIC(&b, sizeof b);
    PUBLIC(c, sizeof c);
    PUBLIC(d, sizeof d);
    for (size_t k = 0; k < TSS_RVOLE_L; k++) {
        tss_scalar lhs, rhs;
        tss_sc_add(&lhs, &c[k], &d[k]);
        tss_sc_mul(&rhs, &a[k], &b);
        if (!tss_sc_eq(&lhs, &rhs)) FAIL("RVOLE: c + d != a * b");
    }

    /* Failure path: a tampered eta' fails the mu check. */
    SECRET(a, sizeof a);
    if (!tss_is_ok(tss_rvole_receiver_start(&v->st, &ctx, &v->rs, &v->msg1, &b)))
        FAIL("RVOLE receiver start failed");
    PUBLIC(&v->msg1, sizeof v->msg1);
    if (!tss_is_ok(tss_rvole_sender_reply(&ctx, &v->ss, &v->msg1, a, &v->msg2, c)))
        FAIL("RVOLE sender rejected an honest message");
    PUBLIC(&v->msg2, sizeof v->msg2);
    tss_scalar one;
    tss_sc_set_one(&one);
    tss_sc_add(&v->msg2.eta, &v->msg2.eta, &one);
    tss_result r = tss_rvole_receiver_finish(&v->st, &v->msg2, d);
    if (r.err != TSS_E_PROTOCOL) FAIL("tampered RVOLE reply was not rejected");
    tss_sc_wipe(a, TSS_RVOLE_L);
    tss_secret_free(v);
    return 1;
}

/* ---- 3. points -------------------------------------------------------------- */

static int check_points(void) {
    tss_scalar k, base;
    tss_point P, Q, kG, kP;
    secret_scalar(&base);
    PUBLIC(&base, sizeof base);
    if (!tss_is_ok(tss_pt_mul_base(&P, &base))) FAIL("public P");
    secret_scalar(&k);
    PUBLIC(&k, sizeof k);
    if (!tss_is_ok(tss_pt_mul_var(&Q, &P, &k))) FAIL("public Q = k*P");
    SECRET(&k, sizeof k);

    if (!tss_is_ok(tss_pt_mul_base(&kG, &k))) FAIL("k*G");
    PUBLIC(&kG, sizeof kG); /* e.g. R_i = r_i*G, sent in round 2 */
    /* tss_pt_mul: secret k, product public by its contract (point.h). */
    if (!tss_is_ok(tss_pt_mul(&kP, &P, &k))) FAIL("k*P");
    if (!tss_pt_eq(&kP, &Q)) FAIL("k*P differs from the variable-time product");
    /* Secret product compared without leaving constant time; the answer is
     * the public outcome of a protocol check. */
    int eq = tss_pt_mul_matches(&P, &k, &Q);
    PUBLIC(&eq, sizeof eq);
    if (eq != 1) FAIL("k*P == Q not recognised");
    eq = tss_pt_mul_matches(&P, &k, &kG);
    PUBLIC(&eq, sizeof eq);
    if (eq != 0) FAIL("k*P == k*G claimed");
    /* k = 0 is the one failure, and its outcome is public. */
    tss_sc_set_zero(&k);
    SECRET(&k, sizeof k);
    if (tss_pt_mul_base(&kG, &k).err != TSS_E_CRYPTO) FAIL("0*G accepted");
    if (tss_pt_mul(&kP, &P, &k).err != TSS_E_CRYPTO) FAIL("0*P accepted");
    return 1;
}

/* ---- 4. signing sessions over an in-process network --------------------- */

#define NP 2
static const uint16_t g_ids[NP] = {1, 2};

typedef tss_result (*handle_fn)(void *party, const tss_mpc_msg *m, tss_mpc_outbox *out);

typedef struct {
    void *party[NP];
    handle_fn handle;
    tss_sign_partial partials[NP];
    size_t npartials;
} net;

/* Delivers every message (and everything it causes) to its recipients.
 * Final signing broadcasts go to the assembler instead. */
static int run_net(net *n, tss_mpc_outbox *pending) {
    while (pending->count) {
        tss_mpc_outbox cur = *pending;
        tss_mpc_outbox_init(pending);
        for (size_t i = 0; i < cur.count; i++) {
            tss_mpc_msg *m = &cur.msgs[i];
            /* The wire: what a party sends is public. */
            PUBLIC(m->data, m->len);
            if (m->type == TSS_MSG_SIGN_FINAL_BCAST) {
                if (n->npartials == NP ||
                    !tss_is_ok(tss_sign_partial_decode(&n->partials[n->npartials++], m->from,
                                                       m->data, m->len)))
                    FAIL("bad final broadcast from %u", m->from);
                continue;
            }
            for (size_t k = 0; k < NP; k++) {
                if (g_ids[k] == m->from || (m->to != TSS_MPC_BROADCAST && m->to != g_ids[k]))
                    continue;
                if (!tss_is_ok(n->handle(n->party[k], m, pending)))
                    FAIL("party %u failed on %s from %u", g_ids[k],
                         tss_mpc_msg_type_name(m->type), m->from);
            }
        }
        tss_mpc_outbox_clear(&cur);
    }
    return 1;
}

static tss_result dkg_handle(void *p, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    return tss_dkg_handle(p, m, out);
}

static tss_result sign_handle(void *p, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    return tss_sign_handle(p, m, out);
}

/* Untracked: the key shares come from a real DKG (2-of-2). */
static int keygen(tss_keyshare *shares[NP]) {
    net n = {.handle = dkg_handle};
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    for (size_t i = 0; i < NP; i++) {
        tss_dkg_config c = {.self = g_ids[i], .threshold = NP, .n = NP};
        memcpy(c.parties, g_ids, sizeof g_ids);
        snprintf(c.key_id, sizeof c.key_id, "ctime-key");
        memset(c.session_id, 0x5c, sizeof c.session_id);
        if (!tss_is_ok(tss_dkg_new((tss_dkg **)&n.party[i], &c)) ||
            !tss_is_ok(tss_dkg_start(n.party[i], &out)))
            FAIL("DKG start");
    }
    if (!run_net(&n, &out)) return 0;
    for (size_t i = 0; i < NP; i++) {
        if (!tss_dkg_finished(n.party[i]) || !tss_is_ok(tss_dkg_take_share(n.party[i], &shares[i])))
            FAIL("DKG did not finish");
        tss_dkg_free(n.party[i]);
    }
    return 1;
}

/* The long-term secrets of a share. */
static void mark_share_secret(tss_keyshare *ks) {
    SECRET(&ks->x, sizeof ks->x);
    SECRET(ks->peers, ks->n * sizeof *ks->peers); /* zero-share and OT seeds */
}

static tss_result claim_sid(void *ctx, const uint8_t sid[TSS_SID_BYTES]) {
    (void)ctx;
    (void)sid;
    return TSS_OK_RESULT;
}

static tss_result consume_presig(void *ctx, const uint8_t id[TSS_SID_BYTES]) {
    (void)id;
    ++*(int *)ctx;
    return TSS_OK_RESULT;
}

/* One session: full signing when digest is non-NULL, else presigning. */
static int run_session(net *n, tss_keyshare *shares[NP], const uint8_t *digest, uint8_t session,
                       int *consumed) {
    memset(n, 0, sizeof *n);
    n->handle = sign_handle;
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    for (size_t i = 0; i < NP; i++) {
        tss_sign_config c = {.share = shares[i], .count = NP};
        memcpy(c.signers, g_ids, sizeof g_ids);
        memset(c.session_id, session, sizeof c.session_id);
        c.registry = (tss_sid_registry){claim_sid, NULL};
        c.consume = (tss_consume_hook){consume_presig, consumed};
        if (digest) {
            c.has_digest = true;
            memcpy(c.digest, digest, TSS_DIGEST_BYTES);
        }
        if (!tss_is_ok(tss_sign_new((tss_sign **)&n->party[i], &c)) ||
            !tss_is_ok(tss_sign_start(n->party[i], &out)))
            FAIL("sign start for party %u", g_ids[i]);
    }
    if (!run_net(n, &out)) return 0;
    for (size_t i = 0; i < NP; i++)
        if (!tss_sign_finished(n->party[i])) FAIL("party %u did not finish", g_ids[i]);
    return 1;
}

static int assemble(net *n, const tss_keyshare *ks, const uint8_t digest[TSS_DIGEST_BYTES]) {
    tss_signature sig;
    if (n->npartials != NP) FAIL("%zu partial signatures", n->npartials);
    /* Public data only; it verifies against X before returning. */
    if (!tss_is_ok(tss_sign_assemble(n->partials, NP, &ks->X, digest, &sig)))
        FAIL("assembly or verification failed");
    return 1;
}

static int check_signing(void) {
    tss_keyshare *shares[NP];
    g_track = 0;
    if (!keygen(shares)) return 0;
    g_track = 1;
    for (size_t i = 0; i < NP; i++) mark_share_secret(shares[i]);

    uint8_t digest[TSS_DIGEST_BYTES];
    int consumed = 0;
    net n;

    /* Full signing: rounds 1-3 and tss_presig_finish inside. */
    public_random(digest, sizeof digest);
    if (!run_session(&n, shares, digest, 0x01, &consumed) || !assemble(&n, shares[0], digest))
        return 0;
    for (size_t i = 0; i < NP; i++) tss_sign_free(n.party[i]);

    /* Presigning, then the online step from each presignature. */
    tss_presig *pre[NP];
    if (!run_session(&n, shares, NULL, 0x02, &consumed)) return 0;
    for (size_t i = 0; i < NP; i++) {
        if (!tss_is_ok(tss_sign_take_presig(n.party[i], &pre[i]))) FAIL("no presignature");
        tss_sign_free(n.party[i]);
    }
    public_random(digest, sizeof digest);
    net online = {.handle = sign_handle};
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    for (size_t i = 0; i < NP; i++) {
        /* Already secret (derived from tracked randomness); made explicit. */
        SECRET(&pre[i]->phi, sizeof pre[i]->phi);
        SECRET(&pre[i]->v, sizeof pre[i]->v);
        tss_consume_hook hook = {consume_presig, &consumed};
        if (!tss_is_ok(tss_presig_finish(pre[i], shares[i], g_ids, NP, digest, &hook, &out)))
            FAIL("presignature finish for party %u", g_ids[i]);
        tss_presig_free(pre[i]);
    }
    if (!run_net(&online, &out) || !assemble(&online, shares[0], digest)) return 0;
    if (consumed != 2 * NP) FAIL("%d presignatures consumed, expected %d", consumed, 2 * NP);

    for (size_t i = 0; i < NP; i++) tss_keyshare_free(shares[i]);
    return 1;
}

int main(int argc, char **argv) {
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: %s\n", argv[0]);
        return 2;
    }
    /* Installed before libsodium starts; tracking stays off until the
     * secp256k1 context, libsodium's canaries and the key shares exist. */
    if (ctime_install_rng() != 0 || !tss_is_ok(tss_crypto_init())) {
        fprintf(stderr, "ctime_sign: libsodium initialisation failed\n");
        return 1;
    }
    if (!RUNNING_ON_VALGRIND)
        fprintf(stderr, "ctime_sign: not under valgrind; this run checks nothing "
                        "(use tests/ctime/run.sh)\n");
    if (tss_pt_context() == NULL) {
        fprintf(stderr, "ctime_sign: secp256k1 context creation failed\n");
        return 1;
    }
    g_track = 1;
    int ok = check_fallbacks() && check_ote() && check_rvole() && check_points() && check_signing();
    if (!ok) return 1;
    printf("ctime_sign: OT extension, RVOLE, points, signing and presigning done\n");
    return 0;
}
