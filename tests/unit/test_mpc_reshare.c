/* Refresh and reshare (mpc/reshare.h): the same X for every (t,N) -> (t',N')
 * change, every new signer subset signs, old and new shares do not mix, and
 * an abort naming the culprit for every tampered check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>

#include "mpc/reshare.h"
#include "mpc/sign.h"
#include "tests/unit/harness.h"
#include "tests/unit/mpc_sim.h"
#include "util/secmem.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#define IDS (TSS_MPC_MAX_PARTIES + 1)

/* ---- running a reshare ------------------------------------------------------ */

static tss_result deliver(void *party, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    return tss_reshare_handle(party, m, out);
}

typedef struct {
    uint16_t t_old, t_new, n_new;
    const uint16_t *dealers;
    const uint16_t *new_parties;
    uint8_t session_byte;
    bool receivers_get_old; /* old parties that only receive pass their old share */
    /* By party id: a replacement old share (a malicious dealer's view). */
    tss_keyshare *override[IDS];
    sim_hook hook;
    void *hook_ctx;
} spec;

typedef struct {
    sim_net net;
    tss_reshare *rs[TSS_MPC_MAX_PARTIES];
    tss_keyshare *out[IDS];     /* new shares by id */
    uint8_t tr[IDS][TSS_HASH_BYTES];
    bool finished[IDS];
} run;

static bool in_list(const uint16_t *ids, size_t n, uint16_t id) {
    for (size_t k = 0; k < n; k++)
        if (ids[k] == id) return true;
    return false;
}

/* old: shares by id (NULL where a party holds none). */
static void run_reshare(run *r, tss_keyshare **old, const spec *s) {
    memset(r, 0, sizeof *r);
    r->net.deliver = deliver;
    r->net.hook = s->hook;
    r->net.hook_ctx = s->hook_ctx;
    const tss_keyshare *any = old[s->dealers[0]];
    tss_mpc_outbox init;
    tss_mpc_outbox_init(&init);
    for (uint16_t id = 1; id < IDS; id++) {
        bool dealer = in_list(s->dealers, s->t_old, id);
        if (!dealer && !in_list(s->new_parties, s->n_new, id)) continue;
        tss_reshare_config c = {.self = id, .old_threshold = s->t_old,
                                .new_threshold = s->t_new, .new_n = s->n_new, .X = any->X};
        snprintf(c.key_id, sizeof c.key_id, "%s", any->key_id);
        memset(c.session_id, s->session_byte, TSS_SID_BYTES);
        memcpy(c.dealers, s->dealers, s->t_old * sizeof *s->dealers);
        memcpy(c.new_parties, s->new_parties, s->n_new * sizeof *s->new_parties);
        if (dealer || s->receivers_get_old) c.old_share = s->override[id] ? s->override[id] : old[id];
        size_t i = r->net.n++;
        r->net.ids[i] = id;
        CHECK_OK(tss_reshare_new(&r->rs[i], &c));
        CHECK_OK(tss_reshare_start(r->rs[i], &init));
        r->net.party[i] = r->rs[i];
    }
    sim_run(&r->net, &init);
    tss_mpc_outbox_clear(&init);
    for (size_t i = 0; i < r->net.n; i++) {
        uint16_t id = r->net.ids[i];
        if (!tss_reshare_finished(r->rs[i])) continue;
        r->finished[id] = true;
        CHECK_OK(tss_reshare_transcript(r->rs[i], r->tr[id]));
        if (tss_reshare_is_new_party(r->rs[i])) CHECK_OK(tss_reshare_take_share(r->rs[i], &r->out[id]));
    }
}

static void free_run(run *r) {
    for (size_t i = 0; i < r->net.n; i++) tss_reshare_free(r->rs[i]);
    for (int id = 0; id < IDS; id++) tss_keyshare_free(r->out[id]);
}

static void free_shares(tss_keyshare **sh) {
    for (int id = 0; id < IDS; id++) tss_keyshare_free(sh[id]), sh[id] = NULL;
}

/* Honest keygen among 1..n; shares by id. */
static void keygen(tss_keyshare **by_id, size_t n, uint16_t t, uint8_t session_byte) {
    tss_keyshare *sh[TSS_MPC_MAX_PARTIES];
    memset(by_id, 0, IDS * sizeof *by_id);
    sim_keygen(n, t, session_byte, sh);
    for (size_t i = 0; i < n; i++) by_id[i + 1] = sh[i];
}

/* Σ λ_k x_k over the given shares (ids taken from each share). */
static void interpolate(tss_scalar *x, tss_keyshare *const *sh, size_t count) {
    uint16_t ids[TSS_MPC_MAX_PARTIES];
    for (size_t k = 0; k < count; k++) ids[k] = sh[k]->self;
    tss_sc_set_zero(x);
    for (size_t k = 0; k < count; k++) {
        tss_scalar l, term;
        CHECK_OK(tss_lagrange_at_zero(&l, ids[k], ids, count));
        tss_sc_mul(&term, &l, &sh[k]->x);
        tss_sc_add(x, x, &term);
    }
}

/* ---- signing with the new shares -------------------------------------------- */

static tss_result claim_any(void *ctx, const uint8_t sid[TSS_SID_BYTES]) {
    (void)ctx, (void)sid;
    return TSS_OK_RESULT;
}
static tss_result consume_any(void *ctx, const uint8_t id[TSS_SID_BYTES]) {
    (void)ctx, (void)id;
    return TSS_OK_RESULT;
}

typedef struct {
    tss_sign_partial partials[TSS_MPC_MAX_PARTIES];
    size_t n;
} collector;

static sim_action collect_hook(void *ctx, tss_mpc_msg *m, uint16_t recipient) {
    collector *c = ctx;
    (void)recipient;
    if (m->type != TSS_MSG_SIGN_FINAL_BCAST) return SIM_DELIVER;
    bool seen = false;
    for (size_t i = 0; i < c->n; i++) seen |= c->partials[i].party == m->from;
    if (!seen && tss_is_ok(tss_sign_partial_decode(&c->partials[c->n], m->from, m->data, m->len)))
        c->n++;
    return SIM_DROP;
}

static tss_result sign_deliver(void *party, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    return tss_sign_handle(party, m, out);
}

/* Full signing of a fixed digest by `signers`; true when the signature verifies under X. */
static bool signs(tss_keyshare **by_id, const uint16_t *signers, uint16_t t) {
    static uint32_t session_no = 1;
    collector col = {0};
    sim_net net;
    memset(&net, 0, sizeof net);
    net.n = t;
    net.deliver = sign_deliver;
    net.hook = collect_hook;
    net.hook_ctx = &col;
    uint8_t digest[32];
    memset(digest, 0x5c, sizeof digest);
    tss_mpc_outbox init;
    tss_mpc_outbox_init(&init);
    tss_sign *sg[TSS_MPC_MAX_PARTIES] = {0};
    bool ok = true;
    uint32_t sess = session_no++;
    for (uint16_t k = 0; k < t; k++) {
        tss_sign_config c = {.share = by_id[signers[k]], .count = t, .has_digest = true};
        memcpy(c.signers, signers, t * sizeof *signers);
        memset(c.session_id, 0x3c, TSS_SID_BYTES);
        memcpy(c.session_id, &sess, sizeof sess);
        memcpy(c.digest, digest, sizeof digest);
        c.registry = (tss_sid_registry){claim_any, NULL};
        c.consume = (tss_consume_hook){consume_any, NULL};
        net.ids[k] = signers[k];
        ok &= tss_is_ok(tss_sign_new(&sg[k], &c)) && tss_is_ok(tss_sign_start(sg[k], &init));
        net.party[k] = sg[k];
    }
    if (ok) sim_run(&net, &init);
    tss_mpc_outbox_clear(&init);
    for (uint16_t k = 0; k < t; k++) {
        ok &= net.error[k] == TSS_OK && sg[k] && tss_sign_finished(sg[k]);
        tss_sign_free(sg[k]);
    }
    tss_signature sig;
    if (ok) ok = col.n == t && tss_is_ok(tss_sign_assemble(col.partials, col.n,
                                                           &by_id[signers[0]]->X, digest, &sig));
    if (ok) {
        const secp256k1_context *ctx = tss_pt_context();
        uint8_t compact[64];
        memcpy(compact, sig.r, 32);
        memcpy(compact + 32, sig.s, 32);
        secp256k1_ecdsa_signature esig;
        ok = secp256k1_ecdsa_signature_parse_compact(ctx, &esig, compact) &&
             secp256k1_ecdsa_verify(ctx, &esig, digest, &by_id[signers[0]]->X.pk);
    }
    return ok;
}

/* Every t-subset of parties signs (the sanitizer build: the first and last). */
static void every_subset_signs(tss_keyshare **by_id, const uint16_t *parties, size_t n, uint16_t t) {
    uint32_t subsets = 0, total = 0;
    for (uint32_t mask = 0; mask < (UINT32_C(1) << n); mask++)
        if ((size_t)__builtin_popcount(mask) == t) total++;
    for (uint32_t mask = 0; mask < (UINT32_C(1) << n); mask++) {
        if ((size_t)__builtin_popcount(mask) != t) continue;
        subsets++;
        if (SANITIZED && subsets != 1 && subsets != total) continue;
        uint16_t signers[TSS_MPC_MAX_PARTIES];
        size_t c = 0;
        for (size_t k = 0; k < n; k++)
            if (mask >> k & 1) signers[c++] = parties[k];
        bool ok = signs(by_id, signers, t);
        if (!ok) fprintf(stderr, "  subset mask %#x of %zu failed to sign\n", mask, n);
        CHECK(ok);
    }
}

/* ---- checks on a finished run ----------------------------------------------- */

static void check_run(run *r, tss_keyshare **old, const spec *s) {
    const tss_keyshare *o = old[s->dealers[0]];
    tss_scalar x;
    interpolate(&x, (tss_keyshare *const[]){old[s->dealers[0]], old[s->dealers[1]],
                                            s->t_old > 2 ? old[s->dealers[2]] : NULL},
                s->t_old);
    uint16_t first = r->net.ids[0];
    for (size_t i = 0; i < r->net.n; i++) {
        uint16_t id = r->net.ids[i];
        CHECK(r->net.error[i] == TSS_OK);
        CHECK(r->finished[id]);
        CHECK(memcmp(r->tr[id], r->tr[first], TSS_HASH_BYTES) == 0);
        CHECK((r->out[id] != NULL) == in_list(s->new_parties, s->n_new, id));
    }
    tss_keyshare *nw[TSS_MPC_MAX_PARTIES];
    for (size_t j = 0; j < s->n_new; j++) {
        nw[j] = r->out[s->new_parties[j]];
        CHECK(nw[j] != NULL);
        if (!nw[j]) return;
        const tss_keyshare *k = nw[j];
        CHECK(tss_pt_eq(&k->X, &o->X));
        CHECK(memcmp(k->chain_code, o->chain_code, TSS_CHAIN_CODE_BYTES) == 0);
        CHECK(strcmp(k->key_id, o->key_id) == 0);
        CHECK(k->threshold == s->t_new && k->n == s->n_new);
        CHECK(memcmp(k->keygen_sid, o->keygen_sid, TSS_SID_BYTES) != 0);
        CHECK(memcmp(k->keygen_sid, nw[0]->keygen_sid, TSS_SID_BYTES) == 0);
        for (size_t m = 0; m < s->n_new; m++) CHECK(tss_pt_eq(&k->X_j[m], &nw[0]->X_j[m]));
        /* The new share round-trips through the keystore encoding (which
         * re-checks x*G == X_j and that the public shares interpolate to X). */
        tss_writer w;
        tss_writer_init(&w, 4u << 20);
        CHECK_OK(tss_keyshare_encode(k, &w));
        tss_keyshare *back = NULL;
        CHECK_OK(tss_keyshare_decode(&back, w.data, w.len));
        tss_keyshare_free(back);
        tss_writer_free(&w);
    }
    /* Any t' consecutive new shares give x; t'-1 do not; an old share in
     * place of a new one does not. */
    for (size_t start = 0; start < s->n_new; start++) {
        tss_keyshare *pick[TSS_MPC_MAX_PARTIES];
        for (size_t k = 0; k < s->t_new; k++) pick[k] = nw[(start + k) % s->n_new];
        tss_scalar y;
        interpolate(&y, pick, s->t_new);
        CHECK(tss_sc_eq(&y, &x));
        interpolate(&y, pick, (size_t)s->t_new - 1);
        CHECK(!tss_sc_eq(&y, &x));
        for (size_t k = 0; k < s->t_new; k++) {
            tss_keyshare *keep = pick[k];
            if (!old[keep->self]) continue;
            pick[k] = old[keep->self];
            interpolate(&y, pick, s->t_new);
            CHECK(!tss_sc_eq(&y, &x));
            pick[k] = keep;
        }
    }
    /* Fresh pairwise material, consistent between the two ends and not the old one. */
    for (size_t a = 0; a < s->n_new; a++)
        for (size_t b = 0; b < s->n_new; b++) {
            if (a == b) continue;
            const tss_keyshare_peer *pa = &nw[a]->peers[b], *pb = &nw[b]->peers[a];
            CHECK(memcmp(pa->zero_seed, pb->zero_seed, TSS_ZERO_SEED_BYTES) == 0);
            int bad = 0;
            for (int k = 0; k < TSS_OTE_KAPPA; k++) {
                int bit = (pa->ote_send.delta[k / 8] >> (k % 8)) & 1;
                bad |= memcmp(pa->ote_send.seed[k], pb->ote_recv.seed[bit][k], 32) != 0;
                bad |= memcmp(pa->ote_send.seed[k], pb->ote_recv.seed[!bit][k], 32) == 0;
            }
            CHECK(!bad);
            const tss_keyshare *op = old[nw[a]->self];
            int ob = op ? tss_keyshare_index(op, nw[b]->self) : -1;
            if (ob >= 0) {
                CHECK(memcmp(op->peers[ob].zero_seed, pa->zero_seed, TSS_ZERO_SEED_BYTES) != 0);
                CHECK(memcmp(&op->peers[ob].ote_send, &pa->ote_send, sizeof pa->ote_send) != 0);
            }
        }
}

/* ---- scenarios ------------------------------------------------------------------- */

static void reshare_2of3_replace_party3_by_party4(void) {
    tss_keyshare *old[IDS];
    keygen(old, 3, 2, 1);
    /* Party 3 is lost: 1 and 2 deal to {1, 2, 4}. */
    spec s = {.t_old = 2, .t_new = 2, .n_new = 3, .dealers = (const uint16_t[]){1, 2},
              .new_parties = (const uint16_t[]){1, 2, 4}, .session_byte = 10};
    run r;
    run_reshare(&r, old, &s);
    check_run(&r, old, &s);
    every_subset_signs(r.out, s.new_parties, 3, 2);
    /* Party 3's old share cannot sign with a new share. */
    tss_keyshare *mixed[IDS] = {0};
    mixed[1] = r.out[1];
    mixed[3] = old[3];
    CHECK(!signs(mixed, (const uint16_t[]){1, 3}, 2));
    free_run(&r);
    free_shares(old);
}

static void reshare_2of3_to_3of5(void) {
    tss_keyshare *old[IDS];
    keygen(old, 3, 2, 2);
    spec s = {.t_old = 2, .t_new = 3, .n_new = 5, .dealers = (const uint16_t[]){1, 3},
              .new_parties = (const uint16_t[]){1, 2, 3, 4, 5}, .session_byte = 11,
              .receivers_get_old = true};
    run r;
    run_reshare(&r, old, &s);
    check_run(&r, old, &s);
    every_subset_signs(r.out, s.new_parties, 5, 3);
    free_run(&r);
    free_shares(old);
}

static void reshare_3of5_to_2of3_with_dealers_leaving(void) {
    tss_keyshare *old[IDS];
    keygen(old, 5, 3, 3);
    /* Dealers 4 and 5 leave the committee; 1 joins without dealing. */
    spec s = {.t_old = 3, .t_new = 2, .n_new = 3, .dealers = (const uint16_t[]){2, 4, 5},
              .new_parties = (const uint16_t[]){1, 2, 3}, .session_byte = 12};
    run r;
    run_reshare(&r, old, &s);
    check_run(&r, old, &s);
    every_subset_signs(r.out, s.new_parties, 3, 2);
    free_run(&r);
    free_shares(old);
}

static void refresh_keeps_key_and_bans(void) {
    tss_keyshare *old[IDS];
    keygen(old, 3, 2, 4);
    old[1]->banned = 1u << 2; /* party 1 banned party 3 under the old share */
    run r;
    memset(&r, 0, sizeof r);
    r.net.deliver = deliver;
    tss_mpc_outbox init;
    tss_mpc_outbox_init(&init);
    uint8_t sid[TSS_SID_BYTES];
    memset(sid, 13, sizeof sid);
    for (uint16_t id = 1; id <= 3; id++) {
        tss_reshare_config c;
        CHECK_OK(tss_reshare_refresh_config(&c, old[id], (const uint16_t[]){2, 3}, sid));
        r.net.ids[r.net.n] = id;
        CHECK_OK(tss_reshare_new(&r.rs[r.net.n], &c));
        CHECK_OK(tss_reshare_start(r.rs[r.net.n], &init));
        r.net.party[r.net.n] = r.rs[r.net.n];
        r.net.n++;
    }
    sim_run(&r.net, &init);
    tss_mpc_outbox_clear(&init);
    for (size_t i = 0; i < 3; i++) {
        uint16_t id = r.net.ids[i];
        r.finished[id] = tss_reshare_finished(r.rs[i]);
        if (!r.finished[id]) continue;
        CHECK_OK(tss_reshare_transcript(r.rs[i], r.tr[id]));
        CHECK_OK(tss_reshare_take_share(r.rs[i], &r.out[id]));
    }
    spec s = {.t_old = 2, .t_new = 2, .n_new = 3, .dealers = (const uint16_t[]){2, 3},
              .new_parties = (const uint16_t[]){1, 2, 3}};
    check_run(&r, old, &s);
    if (r.out[1] && r.out[2]) {
        CHECK(r.out[1]->banned == 1u << 2);
        CHECK(r.out[2]->banned == 0);
        /* 1 refuses 3 after the refresh as before; 1 with 2 and 2 with 3 sign. */
        CHECK(signs(r.out, (const uint16_t[]){1, 2}, 2));
        CHECK(signs(r.out, (const uint16_t[]){2, 3}, 2));
        /* A pre-refresh share with a post-refresh one does not sign. */
        tss_keyshare *mixed[IDS] = {0};
        mixed[2] = old[2];
        mixed[3] = r.out[3];
        CHECK(!signs(mixed, (const uint16_t[]){2, 3}, 2));
    }
    free_run(&r);
    free_shares(old);
}

/* ---- tampering ------------------------------------------------------------------- */

typedef struct {
    uint8_t type;
    uint16_t from;
    uint16_t only_to; /* 0: every recipient */
    size_t offset;
} tamper;

static sim_action tamper_hook(void *ctx, tss_mpc_msg *m, uint16_t recipient) {
    const tamper *t = ctx;
    if (m->type == t->type && m->from == t->from && (!t->only_to || t->only_to == recipient) &&
        t->offset < m->len)
        m->data[t->offset] ^= 0x01;
    return SIM_DELIVER;
}

/* The standard scenario (2-of-3 replace 3 by 4, old parties pass their
 * shares) with a tamper; victim `victim` must abort naming `culprit` with a
 * detail containing `phrase`. */
static void expect(const char *label, tss_keyshare **old, tss_keyshare **override, sim_hook hook,
                   void *ctx, uint16_t victim, uint16_t culprit, const char *phrase) {
    static uint8_t session = 40;
    spec s = {.t_old = 2, .t_new = 2, .n_new = 3, .dealers = (const uint16_t[]){1, 2},
              .new_parties = (const uint16_t[]){1, 2, 4}, .session_byte = session++,
              .receivers_get_old = true, .hook = hook, .hook_ctx = ctx};
    if (override) memcpy(s.override, override, sizeof s.override);
    run r;
    run_reshare(&r, old, &s);
    bool ok = true;
    for (size_t i = 0; i < r.net.n; i++) {
        if (r.net.ids[i] != victim) continue;
        ok &= !r.finished[victim];
        ok &= r.net.error[i] == TSS_E_PROTOCOL;
        ok &= tss_reshare_culprit(r.rs[i]) == culprit;
        ok &= strstr(r.net.detail[i], phrase) != NULL;
        if (!ok)
            fprintf(stderr, "  %s: party %u: culprit %u, detail: %s\n", label, victim,
                    tss_reshare_culprit(r.rs[i]), r.net.detail[i]);
    }
    CHECK(ok);
    free_run(&r);
}

static void tampered_checks_abort_naming_culprit(void) {
    tss_keyshare *old[IDS];
    keygen(old, 3, 2, 5);
    const size_t F1 = TSS_HASH_BYTES + 2 + TSS_PT_BYTES + 7; /* inside F_1 */
    const size_t CC = TSS_HASH_BYTES + 2 + 2 * TSS_PT_BYTES;
    const size_t POK0_Z = CC + TSS_CHAIN_CODE_BYTES + TSS_PT_BYTES + 20;

    /* Commitment F_1 of dealer 2 altered: its PoK no longer verifies (or the
     * point does not decode), at every receiver. */
    tamper t = {TSS_MSG_RESHARE_R2_BCAST, 2, 0, F1};
    expect("commitment", old, NULL, tamper_hook, &t, 4, 2, "party 2");
    /* PoK of the constant term. */
    t = (tamper){TSS_MSG_RESHARE_R2_BCAST, 2, 0, POK0_Z};
    expect("pok", old, NULL, tamper_hook, &t, 4, 2, "proof of knowledge for a coefficient");
    /* f_2(4) altered on the way to party 4: Feldman. */
    t = (tamper){TSS_MSG_RESHARE_R2_P2P, 2, 4, 5};
    expect("share", old, NULL, tamper_hook, &t, 4, 2, "Feldman");
    /* Round-1 echo: party 4 is shown a different round-1 broadcast of party 1. */
    t = (tamper){TSS_MSG_RESHARE_R1_BCAST, 1, 4, 3};
    expect("echo r1", old, NULL, tamper_hook, &t, 4, 0, "saw different round-1");
    expect("echo r1 at 2", old, NULL, tamper_hook, &t, 2, 0, "saw different round-1");
    /* Round-1/2 echo: party 1 is shown a different digest in 2's round 3. */
    t = (tamper){TSS_MSG_RESHARE_R3_BCAST, 2, 1, 3};
    expect("echo r2", old, NULL, tamper_hook, &t, 1, 0, "saw different round-1/2");
    /* A round-2 broadcast of dealer 1 shown altered to party 4 only (its
     * chain code): party 4 sees the dealers disagree. */
    t = (tamper){TSS_MSG_RESHARE_R2_BCAST, 1, 4, CC + 3};
    expect("split r2", old, NULL, tamper_hook, &t, 4, 0, "disagree on the chain code");
    /* New public share's PoK in round 3. */
    t = (tamper){TSS_MSG_RESHARE_R3_BCAST, 4, 0, TSS_HASH_BYTES + TSS_PT_BYTES + 40};
    expect("public share pok", old, NULL, tamper_hook, &t, 1, 4, "new share");
    /* Pairwise confirmation of {2, 4} as party 4 broadcasts it. */
    t = (tamper){TSS_MSG_RESHARE_R3_BCAST, 4, 0,
                 TSS_HASH_BYTES + TSS_PT_BYTES + TSS_SCHNORR_BYTES + TSS_HASH_BYTES + 1};
    expect("pair check", old, NULL, tamper_hook, &t, 2, 4, "pairwise confirmation");
    /* Base-OT msg2 of 4 to 1 substituted: invalid point or confirmation mismatch. */
    t = (tamper){TSS_MSG_RESHARE_R2_P2P, 4, 1, TSS_ZERO_SEED_BYTES + 1};
    expect("base ot", old, NULL, tamper_hook, &t, 1, 4, "party 4");

    /* A malicious dealer 2 deals another secret (x_2 + 1) consistently:
     * every check of its own messages passes. The old parties name it; party
     * 4, without the old public shares, sees the sum fail (no culprit). */
    tss_keyshare *evil[IDS] = {0};
    CHECK_OK(tss_keyshare_new(&evil[2], old[2]->n));
    {
        tss_keyshare_peer *peers = evil[2]->peers;
        *evil[2] = *old[2];
        evil[2]->peers = peers;
        memcpy(peers, old[2]->peers, old[2]->n * sizeof *peers);
        tss_scalar one;
        tss_sc_set_one(&one);
        tss_sc_add(&evil[2]->x, &evil[2]->x, &one);
    }
    expect("x sum (old party)", old, evil, NULL, NULL, 1, 2, "Lagrange-weighted old public share");
    expect("x sum (new party)", old, evil, NULL, NULL, 4, 0, "do not add up to the public key");
    /* The same dealer with another chain code (its secret honest). */
    evil[2]->x = old[2]->x;
    evil[2]->chain_code[0] ^= 1;
    expect("chain code (old party)", old, evil, NULL, NULL, 1, 2, "chain code differs");
    expect("chain code (new party)", old, evil, NULL, NULL, 4, 0, "disagree on the chain code");
    tss_keyshare_free(evil[2]);
    free_shares(old);
}

/* After a refresh, a party dealing with its pre-refresh share (an old-epoch
 * party) is named by the holders of the new epoch and nobody finishes. */
static void old_epoch_share_cannot_deal(void) {
    tss_keyshare *old[IDS];
    keygen(old, 3, 2, 6);
    spec s = {.t_old = 2, .t_new = 2, .n_new = 3, .dealers = (const uint16_t[]){1, 3},
              .new_parties = (const uint16_t[]){1, 2, 3}, .session_byte = 14};
    run r1;
    run_reshare(&r1, old, &s);
    check_run(&r1, old, &s);
    /* New epoch: 1 and 2 hold refreshed shares, 3 still its old one. */
    tss_keyshare *mix[IDS] = {0};
    mix[1] = r1.out[1];
    mix[2] = r1.out[2];
    mix[3] = old[3];
    spec s2 = {.t_old = 2, .t_new = 2, .n_new = 3, .dealers = (const uint16_t[]){1, 3},
               .new_parties = (const uint16_t[]){1, 2, 3}, .session_byte = 15,
               .receivers_get_old = true};
    run r2;
    run_reshare(&r2, mix, &s2);
    for (size_t i = 0; i < r2.net.n; i++) {
        uint16_t id = r2.net.ids[i];
        CHECK(!r2.finished[id]);
        if (id == 1 || id == 2) {
            CHECK(tss_reshare_culprit(r2.rs[i]) == 3);
            CHECK(strstr(r2.net.detail[i], "Lagrange-weighted") != NULL);
        }
    }
    free_run(&r2);
    free_run(&r1);
    free_shares(old);
}

/* A relay shows party 4 an altered round-3 broadcast of party 1 (the pair
 * confirmation for {1, 2}, which 4 does not check): every party finishes,
 * but 4's epoch transcript differs, so the coordinator, which commits only
 * on identical transcripts, does not commit inconsistent views. */
static void split_round3_view_changes_transcript(void) {
    tss_keyshare *old[IDS];
    keygen(old, 3, 2, 8);
    tamper t = {TSS_MSG_RESHARE_R3_BCAST, 1, 4,
                TSS_HASH_BYTES + TSS_PT_BYTES + TSS_SCHNORR_BYTES + 1};
    spec s = {.t_old = 2, .t_new = 2, .n_new = 3, .dealers = (const uint16_t[]){1, 2},
              .new_parties = (const uint16_t[]){1, 2, 4}, .session_byte = 16,
              .hook = tamper_hook, .hook_ctx = &t};
    run r;
    run_reshare(&r, old, &s);
    CHECK(r.finished[1] && r.finished[2] && r.finished[4]);
    CHECK(memcmp(r.tr[1], r.tr[2], TSS_HASH_BYTES) == 0);
    CHECK(memcmp(r.tr[4], r.tr[2], TSS_HASH_BYTES) != 0);
    free_run(&r);
    free_shares(old);
}

/* Messages a role does not send, wrong rounds, outsiders and duplicates. */
static sim_action redirect_hook(void *ctx, tss_mpc_msg *m, uint16_t recipient) {
    int *mode = ctx;
    (void)recipient;
    if (*mode == 1 && m->type == TSS_MSG_RESHARE_R1_BCAST && m->from == 4) m->type = TSS_MSG_RESHARE_R3_BCAST;
    if (*mode == 2 && m->type == TSS_MSG_RESHARE_R1_BCAST && m->from == 2) m->from = 3;
    return SIM_DELIVER;
}

static void unexpected_messages_abort(void) {
    tss_keyshare *old[IDS];
    keygen(old, 3, 2, 7);
    int mode = 1; /* a round-3 broadcast while we wait for round 1 */
    expect("wrong round", old, NULL, redirect_hook, &mode, 1, 4, "wrong round");
    mode = 2; /* party 3 is not in this session (the lost party of the old epoch) */
    expect("outsider", old, NULL, redirect_hook, &mode, 1, 0, "not a peer");

    /* A dealer-only party receives a point-to-point message it has no use for. */
    tss_reshare_config c = {.self = 5, .old_threshold = 2, .dealers = {1, 5}, .new_threshold = 2,
                            .new_n = 2, .new_parties = {1, 2}, .X = old[1]->X};
    snprintf(c.key_id, sizeof c.key_id, "%s", old[1]->key_id);
    CHECK_ERR(tss_reshare_new(&(tss_reshare *){NULL}, &c), TSS_E_INVALID); /* no old share */
    c.self = 2, c.dealers[1] = 2, c.new_parties[0] = 3, c.new_parties[1] = 4;
    c.old_share = old[2];
    tss_reshare *rs;
    CHECK_OK(tss_reshare_new(&rs, &c));
    CHECK(!tss_reshare_is_new_party(rs));
    uint16_t ids[TSS_MPC_MAX_PARTIES];
    CHECK(tss_reshare_participants(rs, ids) == 4);
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    CHECK_OK(tss_reshare_start(rs, &out));
    CHECK(out.count == 1); /* a dealer-only party sends no base-OT messages */
    CHECK(tss_reshare_waiting_for(rs, ids) == 3);
    uint8_t junk[TSS_RESHARE_R1_P2P_BYTES] = {0};
    tss_mpc_msg m = {.type = TSS_MSG_RESHARE_R1_P2P, .from = 3, .to = 2, .data = junk,
                     .len = sizeof junk};
    CHECK_ERR(tss_reshare_handle(rs, &m, &out), TSS_E_PROTOCOL);
    CHECK(tss_reshare_culprit(rs) == 3);
    tss_mpc_outbox_clear(&out);
    tss_reshare_free(rs);

    /* Configuration errors. */
    tss_reshare_config b = c;
    b.old_threshold = 3;
    CHECK_ERR(tss_reshare_new(&rs, &b), TSS_E_INVALID); /* differs from the old share's */
    b = c, b.dealers[1] = 9;
    CHECK_ERR(tss_reshare_new(&rs, &b), TSS_E_INVALID); /* not an old party */
    b = c, b.new_threshold = 3;
    CHECK_ERR(tss_reshare_new(&rs, &b), TSS_E_INVALID);
    b = c, b.new_parties[1] = 3;
    CHECK_ERR(tss_reshare_new(&rs, &b), TSS_E_INVALID);
    b = c, b.X = old[1]->X_j[0];
    CHECK_ERR(tss_reshare_new(&rs, &b), TSS_E_INVALID);
    free_shares(old);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    RUN(reshare_2of3_replace_party3_by_party4);
    RUN(reshare_2of3_to_3of5);
    RUN(reshare_3of5_to_2of3_with_dealers_leaving);
    RUN(refresh_keeps_key_and_bans);
    RUN(tampered_checks_abort_naming_culprit);
    RUN(old_epoch_share_cannot_deal);
    RUN(split_round3_view_changes_transcript);
    RUN(unexpected_messages_abort);
    return harness_finish("mpc_reshare");
}
