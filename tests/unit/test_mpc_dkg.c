/* DKG: correctness for every small (t, N), reconstruction, key-share
 * encoding, and an abort naming the culprit for every tampered message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpc/dkg.h"
#include "tests/unit/harness.h"
#include "tests/unit/mpc_sim.h"
#include "util/secmem.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static tss_result deliver(void *party, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    return tss_dkg_handle(party, m, out);
}

typedef struct {
    sim_net net;
    tss_dkg *dkg[TSS_MPC_MAX_PARTIES];
    tss_keyshare *share[TSS_MPC_MAX_PARTIES];
} run;

/* Runs a DKG among parties 1..n (or the given ids) with an optional hook. */
static void run_dkg(run *r, size_t n, uint16_t t, const uint16_t *ids, uint8_t session_byte,
                    sim_hook hook, void *hook_ctx) {
    memset(r, 0, sizeof *r);
    r->net.n = n;
    r->net.deliver = deliver;
    r->net.hook = hook;
    r->net.hook_ctx = hook_ctx;
    tss_mpc_outbox init;
    tss_mpc_outbox_init(&init);
    for (size_t i = 0; i < n; i++) {
        tss_dkg_config c = {.self = ids ? ids[i] : (uint16_t)(i + 1), .threshold = t,
                            .n = (uint16_t)n};
        for (size_t k = 0; k < n; k++) c.parties[k] = ids ? ids[k] : (uint16_t)(k + 1);
        snprintf(c.key_id, sizeof c.key_id, "test-key");
        memset(c.session_id, session_byte, sizeof c.session_id);
        r->net.ids[i] = c.self;
        CHECK_OK(tss_dkg_new(&r->dkg[i], &c));
        CHECK_OK(tss_dkg_start(r->dkg[i], &init));
        r->net.party[i] = r->dkg[i];
    }
    sim_run(&r->net, &init);
    tss_mpc_outbox_clear(&init);
    for (size_t i = 0; i < n; i++)
        if (tss_dkg_finished(r->dkg[i])) CHECK_OK(tss_dkg_take_share(r->dkg[i], &r->share[i]));
}

static void free_run(run *r) {
    for (size_t i = 0; i < r->net.n; i++) {
        tss_dkg_free(r->dkg[i]);
        tss_keyshare_free(r->share[i]);
    }
}

/* x = sum lambda_k x_k over the given share indices. */
static void interpolate(tss_scalar *x, tss_keyshare **sh, const size_t *idx, size_t count) {
    uint16_t ids[TSS_MPC_MAX_PARTIES];
    for (size_t k = 0; k < count; k++) ids[k] = sh[idx[k]]->self;
    tss_sc_set_zero(x);
    for (size_t k = 0; k < count; k++) {
        tss_scalar l, term;
        CHECK_OK(tss_lagrange_at_zero(&l, ids[k], ids, count));
        tss_sc_mul(&term, &l, &sh[idx[k]]->x);
        tss_sc_add(x, x, &term);
    }
}

static void check_outputs(run *r, size_t n, size_t t) {
    for (size_t i = 0; i < n; i++) {
        CHECK(r->net.error[i] == TSS_OK);
        CHECK(r->share[i] != NULL);
        if (!r->share[i]) return;
    }
    tss_keyshare **sh = r->share;
    for (size_t i = 1; i < n; i++) {
        CHECK(tss_pt_eq(&sh[i]->X, &sh[0]->X));
        CHECK(memcmp(sh[i]->keygen_sid, sh[0]->keygen_sid, TSS_SID_BYTES) == 0);
        CHECK(memcmp(sh[i]->chain_code, sh[0]->chain_code, TSS_CHAIN_CODE_BYTES) == 0);
        for (size_t k = 0; k < n; k++) CHECK(tss_pt_eq(&sh[i]->X_j[k], &sh[0]->X_j[k]));
    }
    /* Any t consecutive (cyclically) shares reconstruct x with X = x*G; t-1 do not. */
    for (size_t start = 0; start < n; start++) {
        size_t idx[TSS_MPC_MAX_PARTIES];
        for (size_t k = 0; k < t; k++) idx[k] = (start + k) % n;
        tss_scalar x, y;
        tss_point X;
        interpolate(&x, sh, idx, t);
        CHECK_OK(tss_pt_mul_base(&X, &x));
        CHECK(tss_pt_eq(&X, &sh[0]->X));
        interpolate(&y, sh, idx, t - 1);
        CHECK(!tss_sc_eq(&x, &y));
    }
    /* Pairwise material is consistent: zero seeds equal, OT seeds correlated. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j) continue;
            const tss_keyshare_peer *a = &sh[i]->peers[j], *b = &sh[j]->peers[i];
            CHECK(memcmp(a->zero_seed, b->zero_seed, TSS_ZERO_SEED_BYTES) == 0);
            int bad = 0;
            for (int k = 0; k < TSS_OTE_KAPPA; k++) {
                int bit = (a->ote_send.delta[k / 8] >> (k % 8)) & 1;
                bad |= memcmp(a->ote_send.seed[k], b->ote_recv.seed[bit][k], 32) != 0;
                bad |= memcmp(a->ote_send.seed[k], b->ote_recv.seed[!bit][k], 32) == 0;
            }
            CHECK(!bad);
        }
}

static void dkg_every_small_configuration(void) {
    for (size_t n = 2; n <= 7; n++)
        for (size_t t = 2; t <= n; t++) {
            /* The sanitizer build covers the edges of the grid only. */
            if (SANITIZED && n > 3 && t != 2 && t != n) continue;
            run r;
            run_dkg(&r, n, (uint16_t)t, NULL, 1, NULL, NULL);
            check_outputs(&r, n, t);
            free_run(&r);
        }
}

static void dkg_large_and_sparse_ids(void) {
    uint16_t ids[16];
    for (int i = 0; i < 16; i++) ids[i] = (uint16_t)(2 * i + 1); /* 1,3,...,31 */
    run r;
    size_t n = SANITIZED ? 9 : 16, t = SANITIZED ? 5 : 9;
    run_dkg(&r, n, (uint16_t)t, ids, 2, NULL, NULL);
    check_outputs(&r, n, t);
    free_run(&r);
}

static void keyshare_round_trip_and_rejects_corruption(void) {
    run r;
    run_dkg(&r, 3, 2, NULL, 3, NULL, NULL);
    CHECK(r.share[1] != NULL);
    if (!r.share[1]) return;
    tss_writer w;
    tss_writer_init(&w, 4u << 20);
    CHECK_OK(tss_keyshare_encode(r.share[1], &w));
    tss_keyshare *back = NULL;
    CHECK_OK(tss_keyshare_decode(&back, w.data, w.len));
    if (back) {
        tss_writer w2;
        tss_writer_init(&w2, 4u << 20);
        CHECK_OK(tss_keyshare_encode(back, &w2));
        CHECK(w2.len == w.len && memcmp(w2.data, w.data, w.len) == 0);
        tss_writer_free(&w2);
        tss_keyshare_free(back);
    }
    /* Truncation, trailing bytes, and corrupted fields are refused. */
    CHECK_ERR(tss_keyshare_decode(&back, w.data, w.len - 1), TSS_E_TRUNCATED);
    tss_write_u8(&w, 0);
    CHECK_ERR(tss_keyshare_decode(&back, w.data, w.len), TSS_E_TRAILING);
    w.len--;
    size_t id_len = strlen(r.share[1]->key_id);
    size_t at_x = 8 + 1 + 4 + id_len + 6 + 2 * 3;
    w.data[at_x + 31] ^= 1; /* secret no longer matches its public share */
    CHECK_ERR(tss_keyshare_decode(&back, w.data, w.len), TSS_E_CORRUPT);
    w.data[at_x + 31] ^= 1;
    w.data[at_x + 32 + 33 + 33 + 5] ^= 1; /* public share of party 2 */
    CHECK(!tss_is_ok(tss_keyshare_decode(&back, w.data, w.len)));
    w.data[at_x + 32 + 33 + 33 + 5] ^= 1;
    w.data[8] = 0xee; /* an unknown version (1 and 2 are known) */
    CHECK_ERR(tss_keyshare_decode(&back, w.data, w.len), TSS_E_UNSUPPORTED);
    w.data[8] = 1;
    w.data[8 + 1 + 4 + id_len + 2 + 1] = 4; /* threshold 4 > n */
    CHECK_ERR(tss_keyshare_decode(&back, w.data, w.len), TSS_E_CORRUPT);
    tss_writer_free(&w);
    free_run(&r);
}

static void config_is_validated(void) {
    tss_dkg *d;
    tss_dkg_config c = {.self = 1, .threshold = 2, .n = 3, .parties = {1, 2, 3}};
    snprintf(c.key_id, sizeof c.key_id, "k");
    CHECK_OK(tss_dkg_new(&d, &c));
    tss_dkg_free(d);
    tss_dkg_config bad = c;
    bad.threshold = 1;
    CHECK_ERR(tss_dkg_new(&d, &bad), TSS_E_INVALID);
    bad = c, bad.threshold = 4;
    CHECK_ERR(tss_dkg_new(&d, &bad), TSS_E_INVALID);
    bad = c, bad.self = 4;
    CHECK_ERR(tss_dkg_new(&d, &bad), TSS_E_INVALID);
    bad = c, bad.parties[1] = 1;
    CHECK_ERR(tss_dkg_new(&d, &bad), TSS_E_INVALID);
    bad = c, bad.parties[2] = 33;
    CHECK_ERR(tss_dkg_new(&d, &bad), TSS_E_INVALID);
    bad = c, bad.n = 1;
    CHECK_ERR(tss_dkg_new(&d, &bad), TSS_E_INVALID);
    bad = c, snprintf(bad.key_id, sizeof bad.key_id, "bad/id");
    CHECK_ERR(tss_dkg_new(&d, &bad), TSS_E_INVALID);
}

/* ---- tampering ------------------------------------------------------------- */

typedef enum {
    T_TRUNCATE,     /* drop the last byte */
    T_EXTEND,       /* append a byte */
    T_FLIP,         /* xor one byte at `offset` */
    T_SET,          /* set byte at `offset` to `value` */
    T_SET16,        /* set 16 bytes from `offset` to `value` (a scalar >= n with 0xff) */
    T_DROP,         /* never deliver */
    T_DUPLICATE,    /* deliver twice (handled by the hook's counter) */
    T_RELABEL,      /* claim another sender */
    T_RETYPE,       /* change the message type */
    T_READDRESS,    /* point-to-point message addressed to someone else */
} tamper_kind;

typedef struct {
    uint8_t type;
    uint16_t from;
    int only_to; /* 0: every recipient */
    tamper_kind kind;
    size_t offset;
    uint8_t value;
    int hits;
    /* Replay: payloads captured from another session, by recipient. */
    tss_mpc_msg *replay[TSS_MPC_MAX_PARTIES + 1];
} tamper;

static tamper tp_make(uint8_t type, uint16_t from, int only_to, tamper_kind kind, size_t offset,
                      uint8_t value) {
    tamper t;
    memset(&t, 0, sizeof t);
    t.type = type, t.from = from, t.only_to = only_to, t.kind = kind, t.offset = offset;
    t.value = value;
    return t;
}
#define TP(...) TP_(__VA_ARGS__, 0, 0)
#define TP_(a, b, c, d, e, f, ...) tp_make(a, b, c, d, e, f)

static sim_action tamper_hook(void *ctx, tss_mpc_msg *m, uint16_t recipient) {
    tamper *tp = ctx;
    if (m->type != tp->type || m->from != tp->from) return SIM_DELIVER;
    if (tp->only_to && recipient != tp->only_to) return SIM_DELIVER;
    tp->hits++;
    if (tp->replay[recipient]) {
        tss_mpc_msg *old = tp->replay[recipient];
        free(m->data);
        m->data = malloc(old->len);
        memcpy(m->data, old->data, old->len);
        m->len = old->len;
        return SIM_DELIVER;
    }
    switch (tp->kind) {
    case T_TRUNCATE: m->len--; break;
    case T_EXTEND:
        m->data = realloc(m->data, m->len + 1);
        m->data[m->len++] = 0;
        break;
    case T_FLIP: m->data[tp->offset % m->len] ^= 0x01; break;
    case T_SET: m->data[tp->offset % m->len] = tp->value; break;
    case T_SET16:
        for (size_t i = 0; i < 16; i++) m->data[(tp->offset + i) % m->len] = tp->value;
        break;
    case T_DROP: return SIM_DROP;
    case T_RELABEL: m->from = tp->value; break;
    case T_RETYPE: m->type = tp->value; break;
    case T_READDRESS: m->to = tp->value; break;
    default: break;
    }
    return SIM_DELIVER;
}

/* Duplicates are injected by delivering the same message a second time. */
static tss_result deliver_twice(void *party, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    static tamper *dup;
    if (!party) { /* configuration call */
        dup = (tamper *)(void *)m;
        return TSS_OK_RESULT;
    }
    TSS_GUARD(tss_dkg_handle(party, m, out));
    if (dup && m->type == dup->type && m->from == dup->from) return tss_dkg_handle(party, m, out);
    return TSS_OK_RESULT;
}

/* Expect: every party in `victims` (0-terminated) failed with a protocol
 * error naming `culprit`, and at least one honest party did not finish (so
 * the session fails as a whole: the coordinator commits a key only when every
 * party reports success). */
static void expect_abort(const char *label, run *r, const uint16_t *victims, uint16_t culprit,
                         const char *needle) {
    size_t honest_unfinished = 0;
    for (size_t i = 0; i < r->net.n; i++)
        if (r->net.ids[i] != culprit && !tss_dkg_finished(r->dkg[i])) honest_unfinished++;
    if (!honest_unfinished) fprintf(stderr, "  %s: every honest party finished\n", label);
    CHECK(honest_unfinished > 0);
    for (const uint16_t *v = victims; *v; v++) {
        size_t i = (size_t)(*v - 1);
        /* An echo mismatch is unattributable (culprit 0) and names the peer in its text. */
        char echo[64];
        snprintf(echo, sizeof echo, "party %u saw different", culprit);
        bool named = tss_dkg_culprit(r->dkg[i]) == culprit ||
                     (tss_dkg_culprit(r->dkg[i]) == 0 && strstr(r->net.detail[i], echo));
        bool ok = r->net.error[i] == TSS_E_PROTOCOL && named &&
                  (!needle || strstr(r->net.detail[i], needle));
        if (!ok)
            fprintf(stderr, "  %s: party %u: error %s culprit %u (expected %u): %s\n", label, *v,
                    tss_err_name(r->net.error[i]), tss_dkg_culprit(r->dkg[i]), culprit,
                    r->net.detail[i]);
        CHECK(ok);
    }
}

static void run_tampered(const char *label, tamper tp, const uint16_t *victims, uint16_t culprit) {
    run r;
    run_dkg(&r, 3, 2, NULL, 9, tamper_hook, &tp);
    CHECK(tp.hits > 0);
    expect_abort(label, &r, victims, culprit, NULL);
    free_run(&r);
}

static const uint16_t ALL_HONEST[] = {1, 3, 0};
static const uint16_t P1[] = {1, 0};

static void tampered_round1_aborts_naming_sender(void) {
    run_tampered("r1b truncated", TP(TSS_MSG_DKG_R1_BCAST, 2, 0, T_TRUNCATE), ALL_HONEST, 2);
    run_tampered("r1b extended", TP(TSS_MSG_DKG_R1_BCAST, 2, 0, T_EXTEND), ALL_HONEST, 2);
    /* A commitment that does not open (flipped for everyone). */
    run_tampered("r1b commitment", TP(TSS_MSG_DKG_R1_BCAST, 2, 0, T_FLIP, 40), ALL_HONEST, 2);
    /* Equivocation: only party 1 sees another sid share; the round-1 echo
     * digest catches it before anything derived from round 1 is used. */
    run_tampered("r1b equivocation", TP(TSS_MSG_DKG_R1_BCAST, 2, 1, T_FLIP, 3), P1, 2);
    run_tampered("r1p truncated", TP(TSS_MSG_DKG_R1_P2P, 2, 1, T_TRUNCATE), P1, 2);
    run_tampered("r1p extended", TP(TSS_MSG_DKG_R1_P2P, 2, 1, T_EXTEND), P1, 2);
    /* Invalid point encoding in the base-OT message. */
    run_tampered("r1p bad point", TP(TSS_MSG_DKG_R1_P2P, 2, 1, T_SET, 66 * 5, 0x05), P1, 2);
}

static void tampered_round2_aborts_naming_sender(void) {
    /* Layout: count(2) | F (t x 33) | chain code (32) | salt (32) | proofs (t x 65) | r1 digest. */
    const size_t t = 2, f0 = 2, cc = 2 + t * 33, salt = cc + 32, proofs = salt + 32,
                 r1d = proofs + t * 65;
    run_tampered("r2b count", TP(TSS_MSG_DKG_R2_BCAST, 2, 0, T_SET, 1, 3), ALL_HONEST, 2);
    run_tampered("r2b F point invalid", TP(TSS_MSG_DKG_R2_BCAST, 2, 0, T_SET, f0, 0x07),
                 ALL_HONEST, 2);
    run_tampered("r2b F changed", TP(TSS_MSG_DKG_R2_BCAST, 2, 0, T_FLIP, f0 + 33 + 10),
                 ALL_HONEST, 2);
    run_tampered("r2b chain code", TP(TSS_MSG_DKG_R2_BCAST, 2, 0, T_FLIP, cc + 1), ALL_HONEST, 2);
    run_tampered("r2b salt", TP(TSS_MSG_DKG_R2_BCAST, 2, 0, T_FLIP, salt + 5), ALL_HONEST, 2);
    /* Bad proof of knowledge (the commitment still opens: proofs are not committed). */
    run_tampered("r2b proof z", TP(TSS_MSG_DKG_R2_BCAST, 2, 0, T_FLIP, proofs + 33 + 20),
                 ALL_HONEST, 2);
    run_tampered("r2b proof R", TP(TSS_MSG_DKG_R2_BCAST, 2, 0, T_FLIP, proofs + 65 + 12),
                 ALL_HONEST, 2);
    run_tampered("r2b r1 digest", TP(TSS_MSG_DKG_R2_BCAST, 2, 0, T_FLIP, r1d + 4), ALL_HONEST, 2);
    run_tampered("r2b truncated", TP(TSS_MSG_DKG_R2_BCAST, 2, 0, T_TRUNCATE), ALL_HONEST, 2);
    run_tampered("r2b extended", TP(TSS_MSG_DKG_R2_BCAST, 2, 0, T_EXTEND), ALL_HONEST, 2);
    /* Point-to-point: share (Feldman), zero seed, base-OT reply. */
    run_tampered("r2p wrong share", TP(TSS_MSG_DKG_R2_P2P, 2, 1, T_FLIP, 31), P1, 2);
    /* 16 bytes of 0xff: >= n whatever the rest (one byte left it intact 1 in 256). */
    run_tampered("r2p share >= n", TP(TSS_MSG_DKG_R2_P2P, 2, 1, T_SET16, 0, 0xff), P1, 2);
    run_tampered("r2p zero seed", TP(TSS_MSG_DKG_R2_P2P, 2, 1, T_FLIP, 40), P1, 2);
    run_tampered("r2p bad OT point", TP(TSS_MSG_DKG_R2_P2P, 2, 1, T_SET, 64, 0x04), P1, 2);
    run_tampered("r2p truncated", TP(TSS_MSG_DKG_R2_P2P, 2, 1, T_TRUNCATE), P1, 2);
    run_tampered("r2p extended", TP(TSS_MSG_DKG_R2_P2P, 2, 1, T_EXTEND), P1, 2);
}

static void tampered_round3_aborts_naming_sender(void) {
    run_tampered("r3b public share", TP(TSS_MSG_DKG_R3_BCAST, 2, 0, T_FLIP, 10), ALL_HONEST, 2);
    run_tampered("r3b proof", TP(TSS_MSG_DKG_R3_BCAST, 2, 0, T_FLIP, 33 + 40), ALL_HONEST, 2);
    run_tampered("r3b echo digest", TP(TSS_MSG_DKG_R3_BCAST, 2, 0, T_FLIP, 33 + 65 + 3),
                 ALL_HONEST, 2);
    run_tampered("r3b zero check", TP(TSS_MSG_DKG_R3_BCAST, 2, 0, T_FLIP, 33 + 65 + 32 + 3),
                 P1, 2);
    run_tampered("r3b truncated", TP(TSS_MSG_DKG_R3_BCAST, 2, 0, T_TRUNCATE), ALL_HONEST, 2);
}

static void wrong_round_address_type_and_sender(void) {
    /* A round-2 broadcast presented as round-3 arrives while we wait for round 2. */
    run_tampered("retyped to round 3", TP(TSS_MSG_DKG_R2_BCAST, 2, 0, T_RETYPE, 0, TSS_MSG_DKG_R3_BCAST),
                 ALL_HONEST, 2);
    run_tampered("unknown type", TP(TSS_MSG_DKG_R1_BCAST, 2, 0, T_RETYPE, 0, 0x7e), ALL_HONEST, 2);
    /* A point-to-point payload presented as a broadcast. */
    run_tampered("p2p as broadcast", TP(TSS_MSG_DKG_R1_P2P, 2, 1, T_RETYPE, 0, TSS_MSG_DKG_R1_BCAST),
                 P1, 2);
    run_tampered("misaddressed", TP(TSS_MSG_DKG_R1_P2P, 2, 1, T_READDRESS, 0, 3), P1, 2);
    /* A message claiming a sender outside the session cannot be attributed. */
    run_tampered("unknown sender", TP(TSS_MSG_DKG_R1_BCAST, 2, 1, T_RELABEL, 0, 9), P1, 0);
    /* Party 2's broadcast relabelled as party 3's: 3 is then seen twice. */
    run_tampered("relabelled sender", TP(TSS_MSG_DKG_R1_BCAST, 2, 1, T_RELABEL, 0, 3), P1, 3);
}

static void duplicates_abort(void) {
    static const uint8_t types[] = {TSS_MSG_DKG_R1_BCAST, TSS_MSG_DKG_R1_P2P, TSS_MSG_DKG_R2_BCAST,
                                    TSS_MSG_DKG_R2_P2P, TSS_MSG_DKG_R3_BCAST};
    for (size_t i = 0; i < sizeof types; i++) {
        tamper tp = TP(types[i], 2, 0, T_DUPLICATE);
        run r;
        CHECK_OK(deliver_twice(NULL, (const tss_mpc_msg *)(void *)&tp, NULL));
        memset(&r, 0, sizeof r);
        /* run_dkg with the duplicating delivery function */
        r.net.n = 3;
        tss_mpc_outbox init;
        tss_mpc_outbox_init(&init);
        for (size_t k = 0; k < 3; k++) {
            tss_dkg_config c = {.self = (uint16_t)(k + 1), .threshold = 2, .n = 3, .parties = {1, 2, 3}};
            snprintf(c.key_id, sizeof c.key_id, "dup");
            r.net.ids[k] = c.self;
            CHECK_OK(tss_dkg_new(&r.dkg[k], &c));
            CHECK_OK(tss_dkg_start(r.dkg[k], &init));
            r.net.party[k] = r.dkg[k];
        }
        r.net.deliver = deliver_twice;
        sim_run(&r.net, &init);
        tss_mpc_outbox_clear(&init);
        const uint16_t victims[] = {1, 3, 0}; /* both receive party 2's duplicates */
        expect_abort(tss_mpc_msg_type_name(types[i]), &r, victims, 2, "duplicate");
        free_run(&r);
    }
    CHECK_OK(deliver_twice(NULL, NULL, NULL));
}

static void dropped_messages_leave_parties_waiting_for_sender(void) {
    static const uint8_t types[] = {TSS_MSG_DKG_R1_BCAST, TSS_MSG_DKG_R1_P2P, TSS_MSG_DKG_R2_BCAST,
                                    TSS_MSG_DKG_R2_P2P, TSS_MSG_DKG_R3_BCAST};
    for (size_t i = 0; i < sizeof types; i++) {
        tamper tp = TP(types[i], 2, 1, T_DROP);
        run r;
        run_dkg(&r, 3, 2, NULL, 4, tamper_hook, &tp);
        CHECK(!tss_dkg_finished(r.dkg[0]));
        uint16_t ids[TSS_MPC_MAX_PARTIES];
        size_t count = tss_dkg_waiting_for(r.dkg[0], ids);
        CHECK(count == 1 && ids[0] == 2);
        CHECK(r.net.error[0] == TSS_OK);
        free_run(&r);
    }
}

/* Messages recorded in session A and replayed into session B are refused. */
static tss_mpc_msg recorded[TSS_MPC_MAX_PARTIES + 1];
static uint8_t record_type;
static sim_action record_hook(void *ctx, tss_mpc_msg *m, uint16_t recipient) {
    (void)ctx;
    if (m->type == record_type && m->from == 2 && !recorded[recipient].data) {
        recorded[recipient] = *m;
        recorded[recipient].data = malloc(m->len);
        memcpy(recorded[recipient].data, m->data, m->len);
    }
    return SIM_DELIVER;
}

static void replay_from_another_session_aborts(void) {
    static const uint8_t types[] = {TSS_MSG_DKG_R1_BCAST, TSS_MSG_DKG_R2_BCAST, TSS_MSG_DKG_R2_P2P,
                                    TSS_MSG_DKG_R3_BCAST};
    for (size_t i = 0; i < sizeof types; i++) {
        memset(recorded, 0, sizeof recorded);
        record_type = types[i];
        run a;
        run_dkg(&a, 3, 2, NULL, 5, record_hook, NULL);
        check_outputs(&a, 3, 2);
        free_run(&a);
        tamper tp = TP(types[i], 2, 0, T_FLIP);
        for (int k = 1; k <= 3; k++) tp.replay[k] = recorded[k].data ? &recorded[k] : NULL;
        run b;
        run_dkg(&b, 3, 2, NULL, 6, tamper_hook, &tp);
        uint16_t victims[] = {1, types[i] == TSS_MSG_DKG_R2_P2P ? 0 : 3, 0};
        expect_abort(tss_mpc_msg_type_name(types[i]), &b, victims, 2, NULL);
        free_run(&b);
        for (int k = 0; k <= TSS_MPC_MAX_PARTIES; k++) free(recorded[k].data);
    }
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    RUN(config_is_validated);
    RUN(dkg_every_small_configuration);
    RUN(dkg_large_and_sparse_ids);
    RUN(keyshare_round_trip_and_rejects_corruption);
    RUN(tampered_round1_aborts_naming_sender);
    RUN(tampered_round2_aborts_naming_sender);
    RUN(tampered_round3_aborts_naming_sender);
    RUN(wrong_round_address_type_and_sender);
    RUN(duplicates_abort);
    RUN(dropped_messages_leave_parties_waiting_for_sender);
    RUN(replay_from_another_session_aborts);
    return harness_finish("mpc_dkg");
}
