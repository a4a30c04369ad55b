/* DKLS23 signing: every signer subset, presignatures, assembly, Ethereum
 * recovery, and an abort (naming the culprit where the protocol can) for
 * every tampered message; bans after failed OT checks; statistics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1_recovery.h>
#include <sodium.h>

#include "eth/address.h"
#include "eth/sig.h"
#include "mpc/sign.h"
#include "tests/unit/harness.h"
#include "tests/unit/mpc_sim.h"
#include "util/secmem.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

/* ---- an in-memory sid registry and presignature store per party ---------- */

typedef struct {
    uint8_t sids[64][TSS_SID_BYTES];
    size_t count;
    int consumed;
    bool fail_consume;
} party_ctx;

static tss_result claim(void *ctx, const uint8_t sid[TSS_SID_BYTES]) {
    party_ctx *p = ctx;
    for (size_t i = 0; i < p->count; i++)
        TSS_ENSURE(memcmp(p->sids[i], sid, TSS_SID_BYTES) != 0, TSS_E_PROTOCOL,
                   "sign sid already used for this key");
    if (p->count < 64) memcpy(p->sids[p->count++], sid, TSS_SID_BYTES);
    return TSS_OK_RESULT;
}

static tss_result consume(void *ctx, const uint8_t id[TSS_SID_BYTES]) {
    party_ctx *p = ctx;
    (void)id;
    TSS_ENSURE(!p->fail_consume, TSS_E_IO, "simulated fsync failure");
    p->consumed++;
    return TSS_OK_RESULT;
}

static party_ctx pctx[TSS_MPC_MAX_PARTIES];
/* The derivation path each party is given (by party id; depth 0: the key itself). */
static tss_bip32_path g_path[TSS_MPC_MAX_PARTIES + 1];

/* ---- running a session ---------------------------------------------------- */

typedef struct {
    sim_hook inner;
    void *inner_ctx;
    tss_sign_partial partials[TSS_MPC_MAX_PARTIES];
    size_t npartials;
    bool bad_partial;
} collector;

/* Final broadcasts go to the assembler (the coordinator), not to parties. */
static sim_action collect_hook(void *ctx, tss_mpc_msg *m, uint16_t recipient) {
    collector *c = ctx;
    if (m->type == TSS_MSG_SIGN_FINAL_BCAST) {
        if (c->inner) (void)c->inner(c->inner_ctx, m, 0);
        bool seen = false;
        for (size_t i = 0; i < c->npartials; i++) seen |= c->partials[i].party == m->from;
        if (!seen && c->npartials < TSS_MPC_MAX_PARTIES) {
            if (tss_is_ok(tss_sign_partial_decode(&c->partials[c->npartials], m->from, m->data,
                                                  m->len)))
                c->npartials++;
            else
                c->bad_partial = true;
        }
        return SIM_DROP;
    }
    return c->inner ? c->inner(c->inner_ctx, m, recipient) : SIM_DELIVER;
}

static tss_result deliver(void *party, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    return tss_sign_handle(party, m, out);
}

typedef struct {
    sim_net net;
    tss_sign *sign[TSS_MPC_MAX_PARTIES];
    collector col;
} session;

static void run_session(session *s, tss_keyshare **shares, const uint16_t *signers, uint16_t t,
                        const uint8_t *digest, uint32_t session_no, sim_hook hook, void *hook_ctx) {
    memset(s, 0, sizeof *s);
    s->col.inner = hook;
    s->col.inner_ctx = hook_ctx;
    s->net.n = t;
    s->net.deliver = deliver;
    s->net.hook = collect_hook;
    s->net.hook_ctx = &s->col;
    tss_mpc_outbox init;
    tss_mpc_outbox_init(&init);
    for (uint16_t k = 0; k < t; k++) {
        tss_keyshare *ks = shares[signers[k] - 1];
        tss_sign_config c = {.share = ks, .count = t};
        memcpy(c.signers, signers, t * sizeof *signers);
        memset(c.session_id, 0xa5, TSS_SID_BYTES);
        memcpy(c.session_id, &session_no, sizeof session_no);
        c.registry = (tss_sid_registry){claim, &pctx[signers[k]]};
        c.consume = (tss_consume_hook){consume, &pctx[signers[k]]};
        c.path = g_path[signers[k]];
        if (digest) {
            c.has_digest = true;
            memcpy(c.digest, digest, TSS_DIGEST_BYTES);
        }
        s->net.ids[k] = signers[k];
        CHECK_OK(tss_sign_new(&s->sign[k], &c));
        if (s->sign[k]) {
            tss_result r = tss_sign_start(s->sign[k], &init);
            if (!tss_is_ok(r)) s->net.error[k] = r.err;
        }
        s->net.party[k] = s->sign[k];
    }
    sim_run(&s->net, &init);
    tss_mpc_outbox_clear(&init);
}

static void free_session(session *s) {
    for (size_t k = 0; k < s->net.n; k++) tss_sign_free(s->sign[k]);
}

static void check_signature(const tss_signature *sig, const uint8_t digest[32],
                            const tss_keyshare *ks) {
    const secp256k1_context *ctx = tss_pt_context();
    uint8_t compact[64];
    memcpy(compact, sig->r, 32);
    memcpy(compact + 32, sig->s, 32);
    secp256k1_ecdsa_signature esig;
    CHECK(secp256k1_ecdsa_signature_parse_compact(ctx, &esig, compact));
    CHECK(secp256k1_ecdsa_verify(ctx, &esig, digest, &ks->X.pk));
    /* Recovery and the Ethereum address. */
    tss_eth_sig es;
    memcpy(es.r, sig->r, 32);
    memcpy(es.s, sig->s, 32);
    es.recid = sig->recid;
    CHECK_OK(tss_eth_sig_check(&es));
    uint8_t addr[20], want[20];
    CHECK_OK(tss_eth_sig_recover_address(digest, &es, addr));
    CHECK_OK(tss_eth_address_from_secp(want, &ks->X.pk));
    CHECK(memcmp(addr, want, 20) == 0);
}

/* Full signing; returns true and the signature when every step succeeded. */
static bool sign_once(tss_keyshare **shares, const uint16_t *signers, uint16_t t,
                      const uint8_t digest[32], uint32_t session_no, tss_signature *sig) {
    session s;
    run_session(&s, shares, signers, t, digest, session_no, NULL, NULL);
    bool ok = s.col.npartials == t;
    for (size_t k = 0; k < t; k++) ok &= s.net.error[k] == TSS_OK && tss_sign_finished(s.sign[k]);
    if (ok) ok = tss_is_ok(tss_sign_assemble(s.col.partials, s.col.npartials,
                                             &shares[signers[0] - 1]->X, digest, sig));
    free_session(&s);
    return ok;
}

static uint32_t next_session = 1;
static uint32_t unique_session(void) { return next_session++; }

static void reset_registries(void) { memset(pctx, 0, sizeof pctx); }

/* ---- tests ------------------------------------------------------------------ */

static void sign_every_subset(void) {
    static const struct { size_t n; uint16_t t; } cfg[] = {{2, 2}, {3, 2}, {3, 3}, {4, 2}, {4, 3}, {5, 3}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        if (SANITIZED && cfg[c].n > 3) continue;
        tss_keyshare *shares[TSS_MPC_MAX_PARTIES];
        sim_keygen(cfg[c].n, cfg[c].t, (uint8_t)(40 + c), shares);
        size_t n = cfg[c].n;
        for (unsigned mask = 0; mask < (1u << n); mask++) {
            if ((unsigned)__builtin_popcount(mask) != cfg[c].t) continue;
            uint16_t signers[TSS_MPC_MAX_PARTIES], t = 0;
            for (size_t i = 0; i < n; i++)
                if (mask >> i & 1) signers[t++] = (uint16_t)(i + 1);
            uint8_t digest[32];
            randombytes_buf(digest, sizeof digest);
            tss_signature sig;
            reset_registries();
            bool ok = sign_once(shares, signers, t, digest, unique_session(), &sig);
            CHECK(ok);
            if (ok) check_signature(&sig, digest, shares[0]);
        }
        for (size_t i = 0; i < n; i++) tss_keyshare_free(shares[i]);
    }
}

static void sign_random_larger_sets(void) {
    if (SANITIZED) return;
    tss_keyshare *shares[TSS_MPC_MAX_PARTIES];
    sim_keygen(7, 4, 50, shares);
    for (int round = 0; round < 4; round++) {
        uint16_t signers[4], t = 0;
        uint32_t mask = 0;
        while (__builtin_popcount(mask) < 4) mask |= 1u << (randombytes_uniform(7));
        for (int i = 0; i < 7; i++)
            if (mask >> i & 1) signers[t++] = (uint16_t)(i + 1);
        uint8_t digest[32];
        randombytes_buf(digest, sizeof digest);
        tss_signature sig;
        reset_registries();
        CHECK(sign_once(shares, signers, t, digest, unique_session(), &sig));
        check_signature(&sig, digest, shares[0]);
    }
    for (int i = 0; i < 7; i++) tss_keyshare_free(shares[i]);
}

static tss_keyshare *k3[3]; /* a 2-of-3 key for the remaining tests */
static const uint16_t S12[] = {1, 2};

static void presign_then_sign_online(void) {
    reset_registries();
    session s;
    run_session(&s, k3, S12, 2, NULL, unique_session(), NULL, NULL);
    tss_presig *p[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        CHECK(tss_sign_finished(s.sign[k]));
        CHECK_OK(tss_sign_take_presig(s.sign[k], &p[k]));
    }
    free_session(&s);
    if (!p[0] || !p[1]) return;
    CHECK(memcmp(p[0]->presign_id, p[1]->presign_id, 32) == 0);
    CHECK(tss_pt_eq(&p[0]->R, &p[1]->R));
    /* Round trip through the store encoding. */
    tss_writer w;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_presig_encode(p[1], &w));
    tss_presig *copy = NULL;
    CHECK_OK(tss_presig_decode(&copy, w.data, w.len));
    CHECK_ERR(tss_presig_decode(&copy, w.data, w.len - 1), TSS_E_TRUNCATED);
    tss_writer_free(&w);
    if (!copy) return;
    tss_presig_free(p[1]);
    p[1] = copy;

    uint8_t digest[32];
    randombytes_buf(digest, sizeof digest);
    /* Bound to its key and signer set: mismatches are refused without consuming. */
    static const uint16_t S13[] = {1, 3};
    tss_consume_hook hook = {consume, &pctx[1]};
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    CHECK_ERR(tss_presig_finish(p[0], k3[0], S13, 2, digest, &hook, &out), TSS_E_INVALID);
    CHECK_ERR(tss_presig_finish(p[0], k3[1], S12, 2, digest, &hook, &out), TSS_E_INVALID);
    CHECK(out.count == 0 && !p[0]->used);
    tss_sign_partial partials[2];
    for (int k = 0; k < 2; k++) {
        tss_consume_hook h = {consume, &pctx[k + 1]};
        int before = pctx[k + 1].consumed;
        CHECK_OK(tss_presig_finish(p[k], k3[k], S12, 2, digest, &h, &out));
        CHECK(pctx[k + 1].consumed == before + 1);
    }
    CHECK(out.count == 2);
    for (size_t k = 0; k < out.count && k < 2; k++)
        CHECK_OK(tss_sign_partial_decode(&partials[k], out.msgs[k].from, out.msgs[k].data,
                                         out.msgs[k].len));
    tss_signature sig;
    CHECK_OK(tss_sign_assemble(partials, 2, &k3[0]->X, digest, &sig));
    check_signature(&sig, digest, k3[0]);
    /* Used twice: refused. */
    CHECK_ERR(tss_presig_finish(p[0], k3[0], S12, 2, digest, &hook, &out), TSS_E_PROTOCOL);
    CHECK_ERR(tss_presig_encode(p[0], &w), TSS_E_USAGE);
    tss_mpc_outbox_clear(&out);
    tss_presig_free(p[0]);
    tss_presig_free(p[1]);
}

static void consumption_failure_withholds_w(void) {
    reset_registries();
    session s;
    run_session(&s, k3, S12, 2, NULL, unique_session(), NULL, NULL);
    tss_presig *p = NULL;
    CHECK_OK(tss_sign_take_presig(s.sign[0], &p));
    CHECK_ERR(tss_sign_take_presig(s.sign[0], &p), TSS_E_USAGE); /* only once */
    free_session(&s);
    if (!p) return;
    pctx[1].fail_consume = true;
    tss_consume_hook hook = {consume, &pctx[1]};
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    uint8_t digest[32] = {1};
    CHECK_ERR(tss_presig_finish(p, k3[0], S12, 2, digest, &hook, &out), TSS_E_IO);
    CHECK(out.count == 0);
    /* Even though persisting failed, the in-memory copy is spent. */
    CHECK(p->used);
    pctx[1].fail_consume = false;
    CHECK_ERR(tss_presig_finish(p, k3[0], S12, 2, digest, &hook, &out), TSS_E_PROTOCOL);
    tss_presig_free(p);
}

static void sid_reuse_refused(void) {
    reset_registries();
    uint8_t digest[32] = {7};
    tss_signature sig;
    CHECK(sign_once(k3, S12, 2, digest, 200, &sig));
    /* Same coordinator session id again: every party refuses at start. */
    session s;
    run_session(&s, k3, S12, 2, digest, 200, NULL, NULL);
    CHECK(s.net.error[0] == TSS_E_PROTOCOL && s.net.error[1] == TSS_E_PROTOCOL);
    CHECK(s.col.npartials == 0);
    free_session(&s);
}

static void signer_set_validated(void) {
    tss_sign *s;
    tss_sign_config c = {.share = k3[0], .count = 2, .signers = {1, 2}};
    c.registry = (tss_sid_registry){claim, &pctx[1]};
    CHECK_OK(tss_sign_new(&s, &c));
    tss_sign_free(s);
    tss_sign_config bad = c;
    bad.count = 3, bad.signers[2] = 3;
    CHECK_ERR(tss_sign_new(&s, &bad), TSS_E_INVALID);
    bad = c, bad.signers[0] = 2, bad.signers[1] = 3; /* self missing */
    CHECK_ERR(tss_sign_new(&s, &bad), TSS_E_INVALID);
    bad = c, bad.signers[1] = 9;
    CHECK_ERR(tss_sign_new(&s, &bad), TSS_E_INVALID);
    bad = c, bad.signers[0] = 2, bad.signers[1] = 1;
    CHECK_ERR(tss_sign_new(&s, &bad), TSS_E_INVALID);
    bad = c, bad.registry.claim = NULL;
    CHECK_ERR(tss_sign_new(&s, &bad), TSS_E_USAGE);
}

/* ---- tampering --------------------------------------------------------------- */

typedef struct {
    uint8_t type;
    uint16_t from;
    int only_to;
    int kind; /* 0 flip, 1 truncate, 2 extend, 3 retype, 4 readdress, 5 relabel, 6 drop, 7 replay */
    size_t offset;
    uint8_t value;
    int hits;
    tss_mpc_msg *replay;
} tamper;

static sim_action tamper_hook(void *ctx, tss_mpc_msg *m, uint16_t recipient) {
    tamper *t = ctx;
    if (m->type != t->type || m->from != t->from) return SIM_DELIVER;
    if (t->only_to && recipient != t->only_to) return SIM_DELIVER;
    t->hits++;
    switch (t->kind) {
    case 0: m->data[t->offset % m->len] ^= 0x01; break;
    case 1: m->len--; break;
    case 2:
        m->data = realloc(m->data, m->len + 1);
        m->data[m->len++] = 0;
        break;
    case 3: m->type = t->value; break;
    case 4: m->to = t->value; break;
    case 5: m->from = t->value; break;
    case 6: return SIM_DROP;
    case 7:
        free(m->data);
        m->data = malloc(t->replay->len);
        memcpy(m->data, t->replay->data, t->replay->len);
        m->len = t->replay->len;
        break;
    }
    return SIM_DELIVER;
}

static tamper TP(uint8_t type, int only_to, int kind, size_t offset, uint8_t value) {
    tamper t;
    memset(&t, 0, sizeof t);
    t.type = type, t.from = 2, t.only_to = only_to, t.kind = kind, t.offset = offset;
    t.value = value;
    return t;
}

/* Party 1 must abort naming the culprit (and ban it after a failed OT check). */
static void expect_culprit(const char *label, tamper t, uint16_t culprit, bool ban,
                           const char *needle) {
    reset_registries();
    session s;
    uint8_t digest[32] = {0x42};
    run_session(&s, k3, S12, 2, digest, unique_session(), tamper_hook, &t);
    CHECK(t.hits > 0);
    /* Never a signature: the assembler must not get both partials. */
    CHECK(s.col.npartials < 2);
    /* An echo mismatch is unattributable (culprit 0) and names the peer in its text. */
    char echo[64];
    snprintf(echo, sizeof echo, "party %u saw different", culprit);
    bool named = tss_sign_culprit(s.sign[0]) == culprit ||
                 (tss_sign_culprit(s.sign[0]) == 0 && strstr(s.net.detail[0], echo));
    bool ok = s.net.error[0] == TSS_E_PROTOCOL && named &&
              tss_sign_ban(s.sign[0]) == (ban ? culprit : 0) &&
              (!needle || strstr(s.net.detail[0], needle));
    if (!ok)
        fprintf(stderr, "  %s: error %s culprit %u ban %u: %s\n", label,
                tss_err_name(s.net.error[0]), tss_sign_culprit(s.sign[0]), tss_sign_ban(s.sign[0]),
                s.net.detail[0]);
    CHECK(ok);
    free_session(&s);
}

static void tampered_messages_abort_naming_culprit(void) {
    /* Round-2 layout: RVOLE reply | R_j | salt | pk_j | Gu | Gv | psi | r1 digest. */
    const size_t rv = TSS_RVOLE_WIRE_BYTES, R = rv, salt = R + 33, pk = salt + 32, gu = pk + 33,
                 gv = gu + 33, psi = gv + 33, r1d = psi + 32;
    expect_culprit("r1b truncated", TP(TSS_MSG_SIGN_R1_BCAST, 0, 1, 0, 0), 2, false, NULL);
    expect_culprit("r1b extended", TP(TSS_MSG_SIGN_R1_BCAST, 0, 2, 0, 0), 2, false, NULL);
    /* Changed in transit, a commitment no longer matches the sender's own view:
     * the round-1 echo catches it (a sender lying in its commitment is caught
     * when R_j does not open it, below). */
    expect_culprit("r1b commitment", TP(TSS_MSG_SIGN_R1_BCAST, 0, 0, 40, 0), 2, false, "different round-1");
    expect_culprit("r1b equivocation", TP(TSS_MSG_SIGN_R1_BCAST, 1, 0, 3, 0), 2, false, "different round-1");
    expect_culprit("r1p u-matrix", TP(TSS_MSG_SIGN_R1_P2P, 1, 0, 1000, 0), 2, true, "consistency");
    expect_culprit("r1p check value", TP(TSS_MSG_SIGN_R1_P2P, 1, 0, TSS_OTE_WIRE_BYTES - 5, 0), 2, true,
                   "consistency");
    expect_culprit("r1p truncated", TP(TSS_MSG_SIGN_R1_P2P, 1, 1, 0, 0), 2, false, NULL);
    expect_culprit("r2p rvole a~", TP(TSS_MSG_SIGN_R2_P2P, 1, 0, 5000, 0), 2, true, "multiplication check");
    expect_culprit("r2p rvole mu", TP(TSS_MSG_SIGN_R2_P2P, 1, 0, rv - 3, 0), 2, true, "multiplication check");
    expect_culprit("r2p R_j", TP(TSS_MSG_SIGN_R2_P2P, 1, 0, R + 20, 0), 2, false, NULL);
    expect_culprit("r2p salt", TP(TSS_MSG_SIGN_R2_P2P, 1, 0, salt + 2, 0), 2, false, "commitment");
    expect_culprit("r2p pk_j", TP(TSS_MSG_SIGN_R2_P2P, 1, 0, pk + 0, 0), 2, false, "Gamma^v");
    expect_culprit("r2p Gamma^u", TP(TSS_MSG_SIGN_R2_P2P, 1, 0, gu + 0, 0), 2, false, "Gamma^u");
    expect_culprit("r2p Gamma^v", TP(TSS_MSG_SIGN_R2_P2P, 1, 0, gv + 0, 0), 2, false, "Gamma^v");
    expect_culprit("r2p r1 digest", TP(TSS_MSG_SIGN_R2_P2P, 1, 0, r1d + 9, 0), 2, false, "different round-1");
    expect_culprit("r2p truncated", TP(TSS_MSG_SIGN_R2_P2P, 1, 1, 0, 0), 2, false, NULL);
    expect_culprit("r2p extended", TP(TSS_MSG_SIGN_R2_P2P, 1, 2, 0, 0), 2, false, NULL);
    expect_culprit("retyped", TP(TSS_MSG_SIGN_R1_BCAST, 0, 3, 0, TSS_MSG_SIGN_R2_P2P), 2, false, NULL);
    expect_culprit("unknown type", TP(TSS_MSG_SIGN_R1_BCAST, 0, 3, 0, 0x77), 2, false, "unknown");
    expect_culprit("misaddressed", TP(TSS_MSG_SIGN_R1_P2P, 1, 4, 0, 3), 2, false, "misaddressed");
    expect_culprit("unknown sender", TP(TSS_MSG_SIGN_R1_BCAST, 1, 5, 0, 9), 0, false, "not a peer");
    (void)psi;
}

/* psi is not covered by a check in DKLS23: a wrong psi makes the assembled
 * signature fail verification, so no invalid signature is ever released. */
static void wrong_psi_or_partial_never_yields_a_signature(void) {
    const size_t psi = TSS_RVOLE_WIRE_BYTES + 33 + 32 + 33 + 33 + 33;
    tamper t = TP(TSS_MSG_SIGN_R2_P2P, 1, 0, psi + 31, 0);
    reset_registries();
    session s;
    uint8_t digest[32] = {9};
    run_session(&s, k3, S12, 2, digest, unique_session(), tamper_hook, &t);
    CHECK(s.col.npartials == 2);
    tss_signature sig;
    CHECK_ERR(tss_sign_assemble(s.col.partials, s.col.npartials, &k3[0]->X, digest, &sig),
              TSS_E_PROTOCOL);
    free_session(&s);
    /* A tampered w, a mismatched R, duplicates, too few. */
    run_session(&s, k3, S12, 2, digest, unique_session(), NULL, NULL);
    CHECK(s.col.npartials == 2);
    tss_sign_partial p[2];
    memcpy(p, s.col.partials, sizeof p);
    CHECK_OK(tss_sign_assemble(p, 2, &k3[0]->X, digest, &sig));
    tss_scalar one;
    tss_sc_set_one(&one);
    tss_sc_add(&p[1].w, &p[1].w, &one);
    CHECK_ERR(tss_sign_assemble(p, 2, &k3[0]->X, digest, &sig), TSS_E_PROTOCOL);
    memcpy(p, s.col.partials, sizeof p);
    tss_pt_generator(&p[1].R);
    CHECK_ERR(tss_sign_assemble(p, 2, &k3[0]->X, digest, &sig), TSS_E_PROTOCOL);
    memcpy(p, s.col.partials, sizeof p);
    p[1].party = p[0].party;
    CHECK_ERR(tss_sign_assemble(p, 2, &k3[0]->X, digest, &sig), TSS_E_PROTOCOL);
    CHECK_ERR(tss_sign_assemble(p, 1, &k3[0]->X, digest, &sig), TSS_E_INVALID);
    uint8_t other[32] = {8};
    memcpy(p, s.col.partials, sizeof p);
    CHECK_ERR(tss_sign_assemble(p, 2, &k3[0]->X, other, &sig), TSS_E_PROTOCOL);
    free_session(&s);
}

static void x_of_R_above_n_is_refused(void) {
    /* Find a point whose x lies in [n, p). */
    static const uint8_t n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    uint8_t enc[33] = {0x02};
    memcpy(enc + 1, n, 32);
    tss_point R;
    while (!tss_is_ok(tss_pt_decode(&R, enc, "R"))) enc[32]++;
    tss_sign_partial p[2] = {{1, R, {{1}}, {{1}}}, {2, R, {{2}}, {{3}}}};
    tss_signature sig;
    uint8_t digest[32] = {1};
    CHECK_ERR(tss_sign_assemble(p, 2, &k3[0]->X, digest, &sig), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "x(R) >= n") != NULL);
}

static void failed_ot_check_bans_peer(void) {
    /* Party 2 cheats in the OT extension towards party 1: 1 bans 2. */
    reset_registries();
    tamper t = TP(TSS_MSG_SIGN_R1_P2P, 1, 0, 77, 0);
    session s;
    uint8_t digest[32] = {3};
    run_session(&s, k3, S12, 2, digest, unique_session(), tamper_hook, &t);
    CHECK(tss_sign_ban(s.sign[0]) == 2);
    free_session(&s);
    /* The caller records the ban in party 1's share: no more sessions with 2. */
    k3[0]->banned |= 1u << tss_keyshare_index(k3[0], 2);
    tss_sign *sg;
    tss_sign_config c = {.share = k3[0], .count = 2, .signers = {1, 2}};
    c.registry = (tss_sid_registry){claim, &pctx[1]};
    CHECK_ERR(tss_sign_new(&sg, &c), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "banned") != NULL);
    /* The ban survives the key-share encoding. */
    tss_writer w;
    tss_writer_init(&w, 4u << 20);
    CHECK_OK(tss_keyshare_encode(k3[0], &w));
    tss_keyshare *back = NULL;
    CHECK_OK(tss_keyshare_decode(&back, w.data, w.len));
    CHECK(back && back->banned == k3[0]->banned);
    tss_keyshare_free(back);
    tss_writer_free(&w);
    /* Other quorums still sign. */
    static const uint16_t S13[] = {1, 3};
    tss_signature sig;
    CHECK(sign_once(k3, S13, 2, digest, unique_session(), &sig));
    k3[0]->banned = 0;
}

static void dropped_messages_leave_party_waiting(void) {
    static const uint8_t types[] = {TSS_MSG_SIGN_R1_BCAST, TSS_MSG_SIGN_R1_P2P, TSS_MSG_SIGN_R2_P2P};
    for (size_t i = 0; i < sizeof types; i++) {
        reset_registries();
        tamper t = TP(types[i], 1, 6, 0, 0);
        session s;
        uint8_t digest[32] = {4};
        run_session(&s, k3, S12, 2, digest, unique_session(), tamper_hook, &t);
        uint16_t ids[TSS_MPC_MAX_PARTIES];
        CHECK(!tss_sign_finished(s.sign[0]) && s.net.error[0] == TSS_OK);
        CHECK(tss_sign_waiting_for(s.sign[0], ids) == 1 && ids[0] == 2);
        free_session(&s);
    }
}

static tss_mpc_msg captured;
static sim_action capture_hook(void *ctx, tss_mpc_msg *m, uint16_t recipient) {
    uint8_t type = *(uint8_t *)ctx;
    if (m->type == type && m->from == 2 && recipient == 1 && !captured.data) {
        captured = *m;
        captured.data = malloc(m->len);
        memcpy(captured.data, m->data, m->len);
    }
    return SIM_DELIVER;
}

static void replay_from_another_session_aborts(void) {
    static const uint8_t types[] = {TSS_MSG_SIGN_R1_BCAST, TSS_MSG_SIGN_R1_P2P, TSS_MSG_SIGN_R2_P2P};
    for (size_t i = 0; i < sizeof types; i++) {
        reset_registries();
        memset(&captured, 0, sizeof captured);
        uint8_t type = types[i], digest[32] = {5};
        session a;
        run_session(&a, k3, S12, 2, digest, unique_session(), capture_hook, &type);
        CHECK(a.col.npartials == 2);
        free_session(&a);
        tamper t = TP(type, 1, 7, 0, 0);
        t.replay = &captured;
        session b;
        run_session(&b, k3, S12, 2, digest, unique_session(), tamper_hook, &t);
        /* Below the channel a replayed OT-extension message is indistinguishable
         * from one party 2 authored (it bans); wire/secure's context binding
         * is what keeps a relay's replay from getting here (test_adversary). */
        CHECK(b.net.error[0] == TSS_E_PROTOCOL);
        CHECK(tss_sign_culprit(b.sign[0]) == 2 ||
              (tss_sign_culprit(b.sign[0]) == 0 && strstr(b.net.detail[0], "party 2 saw different")));
        CHECK(b.col.npartials < 2);
        free_session(&b);
        free(captured.data);
    }
}

/* ---- HD derivation -------------------------------------------------------------- */

static void random_path(tss_bip32_path *p) {
    p->depth = (uint8_t)(1 + randombytes_uniform(5));
    for (unsigned i = 0; i < p->depth; i++)
        p->index[i] = randombytes_uniform(2) ? randombytes_uniform(100)
                                             : randombytes_uniform(TSS_BIP32_HARDENED);
}

static void set_all_paths(const tss_bip32_path *p) {
    for (size_t i = 0; i <= TSS_MPC_MAX_PARTIES; i++) g_path[i] = *p;
}

/* The child key as a watch-only wallet computes it: from the root xpub. */
static void child_from_xpub(tss_point *child, const tss_keyshare *ks, const tss_bip32_path *p) {
    tss_bip32_node root, node, parsed;
    char x[TSS_BIP32_XPUB_TEXT];
    tss_bip32_root(&root, &ks->X, ks->chain_code);
    CHECK_OK(tss_bip32_xpub_encode(x, &root, false));
    CHECK_OK(tss_bip32_xpub_decode(&parsed, NULL, x));
    CHECK_OK(tss_bip32_derive(&node, NULL, &parsed, p));
    *child = node.key;
}

/* Verifies under the child key, recovers the child's address, and not X. */
static void check_child_signature(const tss_signature *sig, const uint8_t digest[32],
                                  const tss_point *child, const tss_point *X) {
    const secp256k1_context *ctx = tss_pt_context();
    uint8_t compact[64];
    memcpy(compact, sig->r, 32);
    memcpy(compact + 32, sig->s, 32);
    secp256k1_ecdsa_signature esig;
    CHECK(secp256k1_ecdsa_signature_parse_compact(ctx, &esig, compact));
    CHECK(secp256k1_ecdsa_verify(ctx, &esig, digest, &child->pk));
    CHECK(!secp256k1_ecdsa_verify(ctx, &esig, digest, &X->pk));
    tss_eth_sig es;
    memcpy(es.r, sig->r, 32);
    memcpy(es.s, sig->s, 32);
    es.recid = sig->recid;
    uint8_t addr[20], want[20];
    CHECK_OK(tss_eth_sig_recover_address(digest, &es, addr));
    CHECK_OK(tss_eth_address_from_secp(want, &child->pk));
    CHECK(memcmp(addr, want, 20) == 0);
}

/* tss_sign_child_key memoises the prefix node per thread: it must equal a
 * fresh derivation for every key, chain code and path, interleaved so that
 * entries are hit, missed and evicted (same X with another chain code too). */
static void child_key_prefix_cache(void) {
    static tss_keyshare fake[3]; /* only X and chain_code are read */
    for (int k = 0; k < 3; k++) {
        tss_scalar x;
        CHECK_OK(tss_sc_random_nonzero(&x));
        CHECK_OK(tss_pt_mul_base(&fake[k].X, &x));
        randombytes_buf(fake[k].chain_code, sizeof fake[k].chain_code);
    }
    fake[2].X = fake[1].X; /* same key, other chain code */
    for (int i = 0; i < 300; i++) {
        const tss_keyshare *ks = &fake[randombytes_uniform(3)];
        tss_bip32_path p = {.depth = (uint8_t)(1 + randombytes_uniform(4))};
        for (unsigned j = 0; j < p.depth; j++) p.index[j] = randombytes_uniform(3); /* shared prefixes */
        if (randombytes_uniform(4) == 0) p.index[p.depth - 1] = randombytes_uniform(TSS_BIP32_HARDENED);
        tss_point got;
        tss_scalar t_got, t_want;
        tss_bip32_node root, want;
        CHECK_OK(tss_sign_child_key(&got, &t_got, ks, &p));
        tss_bip32_root(&root, &ks->X, ks->chain_code);
        CHECK_OK(tss_bip32_derive(&want, &t_want, &root, &p));
        CHECK(tss_pt_eq(&got, &want.key) && tss_sc_eq(&t_got, &t_want));
    }
}

/* 2-of-3 and 3-of-5, every signer subset, a fresh random path each time. */
static void derived_sign_every_subset(void) {
    static const struct { size_t n; uint16_t t; } cfg[] = {{3, 2}, {5, 3}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        if (SANITIZED && cfg[c].n > 3) continue;
        tss_keyshare *shares[TSS_MPC_MAX_PARTIES];
        sim_keygen(cfg[c].n, cfg[c].t, (uint8_t)(90 + c), shares);
        size_t n = cfg[c].n;
        for (unsigned mask = 0; mask < (1u << n); mask++) {
            if ((unsigned)__builtin_popcount(mask) != cfg[c].t) continue;
            uint16_t signers[TSS_MPC_MAX_PARTIES], t = 0;
            for (size_t i = 0; i < n; i++)
                if (mask >> i & 1) signers[t++] = (uint16_t)(i + 1);
            tss_bip32_path path;
            random_path(&path);
            set_all_paths(&path);
            tss_point child, child2;
            tss_scalar tweak;
            CHECK_OK(tss_sign_child_key(&child, &tweak, shares[0], &path));
            child_from_xpub(&child2, shares[0], &path);
            CHECK(tss_pt_eq(&child, &child2));
            uint8_t digest[32];
            randombytes_buf(digest, sizeof digest);
            reset_registries();
            session s;
            run_session(&s, shares, signers, t, digest, unique_session(), NULL, NULL);
            bool ok = s.col.npartials == t;
            for (size_t k = 0; k < t; k++) ok &= s.net.error[k] == TSS_OK;
            CHECK(ok);
            tss_signature sig;
            /* Assembly checks against the key it is given: X refuses, the child accepts. */
            CHECK_ERR(tss_sign_assemble(s.col.partials, s.col.npartials, &shares[0]->X, digest,
                                        &sig), TSS_E_PROTOCOL);
            CHECK_OK(tss_sign_assemble(s.col.partials, s.col.npartials, &child, digest, &sig));
            if (ok) check_child_signature(&sig, digest, &child, &shares[0]->X);
            free_session(&s);
        }
        for (size_t i = 0; i < n; i++) tss_keyshare_free(shares[i]);
    }
    static const tss_bip32_path root;
    set_all_paths(&root);
}

/* A signer given another path aborts: the public key shares do not sum to its
 * child key. No culprit (the parties' views differ; nobody provably cheated),
 * no ban, no signature. */
static void derived_path_mismatch_aborts(void) {
    tss_bip32_path a, b;
    CHECK_OK(tss_bip32_path_parse(&a, "m/0/7"));
    CHECK_OK(tss_bip32_path_parse(&b, "m/0/8"));
    static const tss_bip32_path root;
    const tss_bip32_path *other[] = {&b, &root};
    for (int v = 0; v < 2; v++) {
        set_all_paths(&a);
        g_path[2] = *other[v];
        reset_registries();
        uint8_t digest[32] = {9};
        session s;
        run_session(&s, k3, S12, 2, digest, unique_session(), NULL, NULL);
        CHECK(s.col.npartials == 0);
        for (int k = 0; k < 2; k++) {
            CHECK(s.net.error[k] == TSS_E_PROTOCOL);
            CHECK(strstr(s.net.detail[k], "do not sum") != NULL);
            CHECK(tss_sign_culprit(s.sign[k]) == 0 && tss_sign_ban(s.sign[k]) == 0);
        }
        free_session(&s);
    }
    set_all_paths(&root);
    /* A hardened index never reaches the protocol. */
    tss_sign *sg = NULL;
    tss_sign_config c = {.share = k3[0], .count = 2, .signers = {1, 2}};
    c.registry = (tss_sid_registry){claim, &pctx[1]};
    c.path.depth = 1;
    c.path.index[0] = TSS_BIP32_HARDENED;
    CHECK_ERR(tss_sign_new(&sg, &c), TSS_E_INVALID);
    CHECK(strstr(tss_error_detail(), "hardened") != NULL);
}

/* A presignature is bound to its path (pool per path): finishing it under the
 * key itself or another path (a tweak chosen after R is fixed) is refused
 * without consuming it; under its own path it signs for the child key. */
static void derived_presignature_bound_to_path(void) {
    tss_bip32_path path, other;
    CHECK_OK(tss_bip32_path_parse(&path, "m/44/60/0/0/5"));
    CHECK_OK(tss_bip32_path_parse(&other, "m/44/60/0/0/6"));
    static const tss_bip32_path root;
    set_all_paths(&path);
    reset_registries();
    session s;
    run_session(&s, k3, S12, 2, NULL, unique_session(), NULL, NULL);
    tss_presig *p[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) CHECK_OK(tss_sign_take_presig(s.sign[k], &p[k]));
    free_session(&s);
    set_all_paths(&root);
    if (!p[0] || !p[1]) return;
    CHECK(tss_bip32_path_eq(&p[0]->path, &path));
    /* The path survives the store encoding (format version 2). */
    tss_writer w;
    tss_writer_init(&w, 8192);
    CHECK_OK(tss_presig_encode(p[1], &w));
    tss_presig *copy = NULL;
    CHECK_OK(tss_presig_decode(&copy, w.data, w.len));
    tss_writer_free(&w);
    if (!copy) return;
    CHECK(tss_bip32_path_eq(&copy->path, &path));
    tss_presig_free(p[1]);
    p[1] = copy;
    uint8_t digest[32];
    randombytes_buf(digest, sizeof digest);
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    tss_consume_hook hook = {consume, &pctx[1]};
    CHECK_ERR(tss_presig_finish(p[0], k3[0], S12, 2, digest, &hook, &out), TSS_E_INVALID);
    CHECK(strstr(tss_error_detail(), "bound to its path") != NULL);
    CHECK_ERR(tss_presig_finish_at(p[0], k3[0], S12, 2, &other, digest, &hook, &out),
              TSS_E_INVALID);
    CHECK(out.count == 0 && !p[0]->used && pctx[1].consumed == 0);
    for (int k = 0; k < 2; k++) {
        tss_consume_hook h = {consume, &pctx[k + 1]};
        CHECK_OK(tss_presig_finish_at(p[k], k3[k], S12, 2, &path, digest, &h, &out));
    }
    tss_sign_partial partials[2];
    for (size_t k = 0; k < out.count && k < 2; k++)
        CHECK_OK(tss_sign_partial_decode(&partials[k], out.msgs[k].from, out.msgs[k].data,
                                         out.msgs[k].len));
    tss_point child;
    CHECK_OK(tss_sign_child_key(&child, NULL, k3[0], &path));
    tss_signature sig;
    CHECK(out.count == 2);
    CHECK_OK(tss_sign_assemble(partials, 2, &child, digest, &sig));
    check_child_signature(&sig, digest, &child, &k3[0]->X);
    tss_mpc_outbox_clear(&out);
    tss_presig_free(p[0]);
    tss_presig_free(p[1]);
    /* A presignature made for the key itself is refused under a path too. */
    reset_registries();
    run_session(&s, k3, S12, 2, NULL, unique_session(), NULL, NULL);
    tss_presig *q = NULL;
    CHECK_OK(tss_sign_take_presig(s.sign[0], &q));
    free_session(&s);
    if (!q) return;
    CHECK_ERR(tss_presig_finish_at(q, k3[0], S12, 2, &path, digest, &hook, &out), TSS_E_INVALID);
    CHECK(!q->used && out.count == 0);
    tss_presig_free(q);
}

static void statistics_of_many_signatures(void) {
    size_t total = SANITIZED ? 200 : 10000;
    uint8_t (*rs)[32] = malloc(total * 32);
    size_t recid_seen[2] = {0, 0}, failures = 0, high_s = 0;
    static const uint8_t half_n[32] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
                                       0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};
    for (size_t i = 0; i < total; i++) {
        reset_registries();
        uint8_t digest[32];
        randombytes_buf(digest, sizeof digest);
        tss_signature sig;
        session s;
        run_session(&s, k3, S12, 2, digest, unique_session(), NULL, NULL);
        bool ok = s.col.npartials == 2 &&
                  tss_is_ok(tss_sign_assemble(s.col.partials, 2, &k3[0]->X, digest, &sig));
        free_session(&s);
        if (!ok) {
            failures++;
            memset(rs[i], 0, 32);
            continue;
        }
        memcpy(rs[i], sig.r, 32);
        recid_seen[sig.recid & 1]++;
        high_s += memcmp(sig.s, half_n, 32) > 0;
    }
    CHECK(failures == 0);
    CHECK(high_s == 0);
    CHECK(recid_seen[0] > 0 && recid_seen[1] > 0);
    size_t dup = 0;
    for (size_t i = 0; i < total; i++)
        for (size_t j = i + 1; j < total; j++) dup += memcmp(rs[i], rs[j], 32) == 0;
    CHECK(dup == 0);
    fprintf(stderr, "  %zu signatures: recid 0: %zu, recid 1: %zu, duplicate r: %zu\n", total,
            recid_seen[0], recid_seen[1], dup);
    free(rs);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    secp256k1_selftest();
    sim_keygen(3, 2, 77, k3);
    RUN(signer_set_validated);
    RUN(sign_every_subset);
    RUN(sign_random_larger_sets);
    RUN(presign_then_sign_online);
    RUN(consumption_failure_withholds_w);
    RUN(sid_reuse_refused);
    RUN(tampered_messages_abort_naming_culprit);
    RUN(wrong_psi_or_partial_never_yields_a_signature);
    RUN(x_of_R_above_n_is_refused);
    RUN(failed_ot_check_bans_peer);
    RUN(dropped_messages_leave_party_waiting);
    RUN(replay_from_another_session_aborts);
    RUN(child_key_prefix_cache);
    RUN(derived_sign_every_subset);
    RUN(derived_path_mismatch_aborts);
    RUN(derived_presignature_bound_to_path);
    RUN(statistics_of_many_signatures);
    for (int i = 0; i < 3; i++) tss_keyshare_free(k3[i]);
    return harness_finish("mpc_sign");
}
