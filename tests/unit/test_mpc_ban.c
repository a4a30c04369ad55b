/* Bans across concurrent signing sessions (issue 10, findings 1 and 3).
 *
 * The attack: a malicious signer (party 2) opens many sessions with an honest
 * party (party 1) at once and, in session i, sends an OT-extension message
 * that passes the KOS check exactly when bit i of party 1's Delta is 1. If
 * every session evaluates its check, the pass/fail pattern is Delta. With the
 * key's shared ban state (tss_ban_view, as the party daemon drives it), the
 * first failed check bans party 2 and no further check against it is
 * evaluated in any session: the attacker learns the bits up to the first
 * failure, and nothing leaves any session afterwards.
 *
 * Also: a 32-party share banning party 32 reads back (the ban-list check used
 * to shift a 32-bit word by 32, undefined behaviour; the asan build runs this
 * under UBSan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpc/gf128.h"
#include "mpc/ote.h"
#include "mpc/prg.h"
#include "mpc/sign.h"
#include "tests/unit/harness.h"
#include "tests/unit/mpc_sim.h"
#include "util/secmem.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#define SESSIONS 256 /* one per Delta bit */

static tss_keyshare *k2[2]; /* a 2-of-2 key: party 1 honest, party 2 malicious */
static const uint16_t S12[2] = {1, 2};

/* ---- a sid registry (refuses reuse) and a consumption hook ---------------- */

typedef struct {
    uint8_t (*sids)[TSS_SID_BYTES];
    size_t count, cap;
    int consumed;
} registry;

static registry reg[3];

static tss_result claim(void *ctx, const uint8_t sid[TSS_SID_BYTES]) {
    registry *g = ctx;
    for (size_t i = 0; i < g->count; i++)
        TSS_ENSURE(memcmp(g->sids[i], sid, TSS_SID_BYTES) != 0, TSS_E_PROTOCOL, "sid reused");
    if (g->count == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 64;
        g->sids = realloc(g->sids, g->cap * TSS_SID_BYTES);
        if (!g->sids) abort();
    }
    memcpy(g->sids[g->count++], sid, TSS_SID_BYTES);
    return TSS_OK_RESULT;
}

static tss_result consume(void *ctx, const uint8_t id[TSS_SID_BYTES]) {
    (void)id;
    ((registry *)ctx)->consumed++;
    return TSS_OK_RESULT;
}

/* ---- the shared ban state the daemon keeps per key ------------------------ */

typedef struct {
    bool banned[TSS_MPC_MAX_PARTIES + 1];
    int queries;
} ban_state;

static bool is_banned(void *ctx, uint16_t peer) {
    ban_state *b = ctx;
    b->queries++;
    return peer <= TSS_MPC_MAX_PARTIES && b->banned[peer];
}

/* ---- the malicious receiver's Delta-bit probe ------------------------------ */

static int get_bit(const uint8_t *s, size_t k) { return (s[k / 8] >> (k % 8)) & 1; }
static void flip_bit(uint8_t *s, size_t k) { s[k / 8] ^= (uint8_t)(1u << (k % 8)); }

/* sum_b chi_b y[b] + y[4], written out independently of ote.c (as in
 * test_mpc_ote.c). */
static void col_hash(tss_gf128 *r, const tss_gf128 *chi, const uint8_t *y) {
    tss_gf128 acc = {0, 0}, blk, p;
    for (int b = 0; b < 4; b++) {
        tss_gf128_from_bytes(&blk, y + 16 * b);
        tss_gf128_mul_portable(&p, &chi[b], &blk);
        acc.lo ^= p.lo;
        acc.hi ^= p.hi;
    }
    tss_gf128_from_bytes(&blk, y + 64);
    r->lo = acc.lo ^ blk.lo;
    r->hi = acc.hi ^ blk.hi;
}

/* Party 2's OT-extension message for the 1 -> 2 multiplication of a session,
 * built from its own base-OT seeds: column `col` claims a different choice
 * bit for OT 100, and t~_col is corrected as if Delta_col = 1. Party 1's check
 * then passes iff Delta_col = 1 (the selective failure of mpc/ote.h). */
static void forge_probe(tss_ote_msg *msg, const uint8_t session_id[TSS_SID_BYTES], size_t col) {
    const tss_keyshare *ks = k2[1];
    const tss_ote_receiver_seeds *rs = &ks->peers[tss_keyshare_index(ks, 1)].ote_recv;
    uint8_t sid[TSS_SID_BYTES];
    tss_sign_sid(sid, ks, session_id, S12, 2);
    tss_ote_ctx ctx;
    CHECK_OK(tss_ote_ctx_init(&ctx, ks->keygen_sid, sid, 1, 2));
    static uint8_t t[TSS_OTE_KAPPA][TSS_OTE_COL_BYTES];
    uint8_t x[TSS_OTE_COL_BYTES], xcol[TSS_OTE_COL_BYTES], t1[TSS_OTE_COL_BYTES];
    uint8_t nonce[TSS_PRG_NONCE_BYTES];
    randombytes_buf(x, sizeof x);
    tss_prg_nonce(nonce, "tssd/ote/prg/v1", ctx.sid, 32);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) {
        memcpy(xcol, x, sizeof x);
        if (i == col) flip_bit(xcol, 100);
        tss_prg_expand(t[i], TSS_OTE_COL_BYTES, rs->seed[0][i], nonce);
        tss_prg_expand(t1, TSS_OTE_COL_BYTES, rs->seed[1][i], nonce);
        for (size_t k = 0; k < TSS_OTE_COL_BYTES; k++) msg->u[i][k] = t[i][k] ^ t1[k] ^ xcol[k];
    }
    tss_gf128 chi[TSS_OTE_CHECK_BLOCKS], v, e_hash;
    tss_ote_challenges(&ctx, msg, chi);
    col_hash(&v, chi, x);
    tss_gf128_to_bytes(msg->x, &v);
    uint8_t e[TSS_OTE_COL_BYTES] = {0};
    flip_bit(e, 100);
    col_hash(&e_hash, chi, e);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) {
        col_hash(&v, chi, t[i]);
        if (i == col) {
            v.lo ^= e_hash.lo;
            v.hi ^= e_hash.hi;
        }
        tss_gf128_to_bytes(msg->t[i], &v);
    }
}

/* ---- driving the sessions ---------------------------------------------------- */

typedef struct {
    uint8_t *data;
    size_t len;
} blob;

typedef struct {
    tss_sign *p1;          /* the honest party's session */
    blob r1b, r1p, r2p;    /* party 2's messages to party 1 */
    bool check_passed;     /* the OT check ran and passed */
    bool failed;
    char detail[300];
    size_t sent_round2;    /* messages party 1 sent after round 1 */
    size_t sent_final;     /* final broadcasts (w_i) */
} sess;

static blob copy_blob(const tss_mpc_msg *m) {
    blob b = {malloc(m->len), m->len};
    if (!b.data) abort();
    memcpy(b.data, m->data, m->len);
    return b;
}

static void session_id_of(uint8_t id[TSS_SID_BYTES], int run, size_t i) {
    memset(id, 0x5b, TSS_SID_BYTES);
    id[0] = (uint8_t)run;
    id[1] = (uint8_t)(i >> 8);
    id[2] = (uint8_t)i;
}

static tss_sign_config config(int party, const uint8_t session_id[TSS_SID_BYTES],
                              ban_state *bans) {
    tss_sign_config c = {.share = k2[party - 1], .count = 2};
    memcpy(c.signers, S12, sizeof S12);
    memcpy(c.session_id, session_id, TSS_SID_BYTES);
    c.registry = (tss_sid_registry){claim, &reg[party]};
    c.consume = (tss_consume_hook){consume, &reg[party]};
    c.has_digest = true; /* full signing: w_i would leave at the end */
    memset(c.digest, 0x77, sizeof c.digest);
    if (bans) c.bans = (tss_ban_view){is_banned, bans};
    return c;
}

/* Opens session i on both sides: party 1 is left waiting for party 2's
 * round 1; party 2 (run honestly, then its OT message replaced by the probe)
 * has produced its round-1 and round-2 messages to party 1. */
static void open_session(sess *x, int run, size_t i, ban_state *bans) {
    uint8_t id[TSS_SID_BYTES];
    session_id_of(id, run, i);
    tss_sign_config c1 = config(1, id, bans), c2 = config(2, id, NULL);
    tss_sign *p2 = NULL;
    tss_mpc_outbox o1, o2;
    tss_mpc_outbox_init(&o1);
    tss_mpc_outbox_init(&o2);
    CHECK_OK(tss_sign_new(&x->p1, &c1));
    CHECK_OK(tss_sign_new(&p2, &c2));
    CHECK_OK(tss_sign_start(x->p1, &o1));
    CHECK_OK(tss_sign_start(p2, &o2));
    for (size_t m = 0; m < o2.count; m++) {
        if (o2.msgs[m].type == TSS_MSG_SIGN_R1_BCAST) x->r1b = copy_blob(&o2.msgs[m]);
        if (o2.msgs[m].type == TSS_MSG_SIGN_R1_P2P) x->r1p = copy_blob(&o2.msgs[m]);
    }
    tss_mpc_outbox_clear(&o2);
    for (size_t m = 0; m < o1.count; m++) CHECK_OK(tss_sign_handle(p2, &o1.msgs[m], &o2));
    for (size_t m = 0; m < o2.count; m++)
        if (o2.msgs[m].type == TSS_MSG_SIGN_R2_P2P) x->r2p = copy_blob(&o2.msgs[m]);
    CHECK(x->r1b.data && x->r1p.data && x->r2p.data);
    tss_mpc_outbox_clear(&o1);
    tss_mpc_outbox_clear(&o2);
    tss_sign_free(p2);
    /* The probe of Delta bit i replaces the honest OT-extension message. */
    tss_ote_msg *probe = tss_secret_alloc(sizeof *probe);
    tss_writer w;
    tss_writer_init(&w, TSS_OTE_WIRE_BYTES);
    forge_probe(probe, id, i);
    tss_ote_msg_write(&w, probe);
    CHECK(tss_is_ok(tss_writer_status(&w, "probe")) && w.len == x->r1p.len);
    memcpy(x->r1p.data, w.data, w.len);
    tss_writer_free(&w);
    tss_secret_free(probe);
}

/* Delivers one of party 2's messages to party 1's session i. */
static void deliver(sess *x, uint8_t type, const blob *b) {
    if (x->failed) return;
    tss_mpc_msg m = {.type = type, .from = 2, .to = type == TSS_MSG_SIGN_R1_BCAST ? TSS_MPC_BROADCAST : 1,
                     .data = b->data, .len = b->len};
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    tss_result r = tss_sign_handle(x->p1, &m, &out);
    if (!tss_is_ok(r)) {
        x->failed = true;
        snprintf(x->detail, sizeof x->detail, "%s", tss_error_detail());
        tss_mpc_outbox_clear(&out); /* the daemon discards a failed step's output */
        return;
    }
    for (size_t k = 0; k < out.count; k++) {
        if (out.msgs[k].type == TSS_MSG_SIGN_R2_P2P) x->sent_round2++;
        if (out.msgs[k].type == TSS_MSG_SIGN_FINAL_BCAST) x->sent_final++;
    }
    tss_mpc_outbox_clear(&out);
}

typedef struct {
    size_t evaluated_ote, evaluated_rvole; /* checks evaluated in all sessions */
    size_t after_ban_ote, after_ban_rvole; /* ... of them after the first failure */
    size_t first_fail;                     /* session of the first failed check */
    size_t bits_learned, bits_right;       /* Delta bits the pass/fail pattern gives */
    size_t aborted_naming_2, sent_after_ban, finals;
} outcome;

/* Opens n sessions (all of them before any check), then delivers party 2's
 * round 1 session by session (each runs party 1's OT check), then its
 * round 2 to whatever is still running. With bans, the driver does what the
 * party daemon does: a session reporting tss_sign_ban sets the shared state. */
static outcome attack(int run, size_t n, bool with_bans) {
    ban_state bans;
    memset(&bans, 0, sizeof bans);
    sess *xs = calloc(n, sizeof *xs);
    if (!xs) abort();
    for (size_t i = 0; i < n; i++) open_session(&xs[i], run, i, with_bans ? &bans : NULL);
    const uint8_t *delta = k2[0]->peers[tss_keyshare_index(k2[0], 2)].ote_send.delta;
    outcome o;
    memset(&o, 0, sizeof o);
    o.first_fail = n;
    for (size_t i = 0; i < n; i++) {
        sess *x = &xs[i];
        bool banned_before = o.first_fail < n;
        deliver(x, TSS_MSG_SIGN_R1_BCAST, &x->r1b);
        deliver(x, TSS_MSG_SIGN_R1_P2P, &x->r1p);
        tss_sign_check_counts c = tss_sign_checks(x->p1);
        o.evaluated_ote += c.ote_checks;
        if (banned_before) o.after_ban_ote += c.ote_checks;
        if (banned_before) o.sent_after_ban += x->sent_round2;
        if (c.ote_checks) {
            /* The attacker sees pass (round 2 arrives) or fail (abort). */
            int guess = x->sent_round2 > 0;
            o.bits_learned++;
            o.bits_right += guess == get_bit(delta, i);
            x->check_passed = guess;
        }
        uint16_t ban = tss_sign_ban(x->p1);
        if (ban && o.first_fail == n) o.first_fail = i;
        if (ban && with_bans) bans.banned[ban] = true;
    }
    for (size_t i = 0; i < n; i++) {
        sess *x = &xs[i];
        size_t before = x->sent_final;
        deliver(x, TSS_MSG_SIGN_R2_P2P, &x->r2p);
        tss_sign_check_counts c = tss_sign_checks(x->p1);
        o.evaluated_rvole += c.rvole_checks;
        if (o.first_fail < n) o.after_ban_rvole += c.rvole_checks;
        if (o.first_fail < n) o.sent_after_ban += x->sent_final - before;
        o.finals += x->sent_final;
        if (i != o.first_fail && x->failed && tss_sign_culprit(x->p1) == 2 &&
            tss_sign_ban(x->p1) == 0 && strstr(x->detail, "banned"))
            o.aborted_naming_2++;
    }
    for (size_t i = 0; i < n; i++) {
        tss_sign_free(xs[i].p1);
        free(xs[i].r1b.data);
        free(xs[i].r1p.data);
        free(xs[i].r2p.data);
    }
    free(xs);
    fprintf(stderr,
            "  %s, %zu sessions: first failure in session %zu; checks evaluated: %zu OT, %zu "
            "RVOLE (after the failure: %zu, %zu); Delta bits learned %zu (%zu right); w_i "
            "released %zu\n",
            with_bans ? "shared ban state" : "no shared ban state", n, o.first_fail,
            o.evaluated_ote, o.evaluated_rvole, o.after_ban_ote, o.after_ban_rvole,
            o.bits_learned, o.bits_right, o.finals);
    return o;
}

static void probes_leak_delta_without_a_shared_ban(void) {
    /* What the attack gets when each session only knows its own outcome (the
     * code before issue 10): one Delta bit per session, every one right. */
    size_t n = SANITIZED ? 64 : SESSIONS;
    outcome o = attack(1, n, false);
    CHECK(o.evaluated_ote == n);
    CHECK(o.bits_learned == n && o.bits_right == n);
    CHECK(o.first_fail < n);
    CHECK(o.after_ban_ote > 0); /* checks kept running after a failure */
    CHECK(o.finals > 0);        /* and passed sessions released w_i */
}

static void first_failure_stops_every_concurrent_session(void) {
    outcome o = attack(2, SESSIONS, true);
    CHECK(o.first_fail < SESSIONS);
    /* Zero checks against party 2 after its first failure, in all 256. */
    CHECK(o.after_ban_ote == 0);
    CHECK(o.after_ban_rvole == 0);
    CHECK(o.evaluated_ote == o.first_fail + 1);
    CHECK(o.evaluated_rvole == 0);
    /* The attacker learns only the bits up to the failure. */
    CHECK(o.bits_learned == o.first_fail + 1);
    /* Every other session aborts naming party 2; nothing leaves after the ban
     * (no RVOLE reply, no w_i). */
    CHECK(o.aborted_naming_2 == SESSIONS - 1);
    CHECK(o.sent_after_ban == 0);
    CHECK(o.finals == 0);
}

static void banned_peer_refused_at_creation(void) {
    ban_state bans;
    memset(&bans, 0, sizeof bans);
    bans.banned[2] = true;
    uint8_t id[TSS_SID_BYTES];
    session_id_of(id, 3, 0);
    tss_sign_config c = config(1, id, &bans);
    tss_sign *s = NULL;
    CHECK_ERR(tss_sign_new(&s, &c), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "party 2 is banned") != NULL);
    CHECK(s == NULL);
    /* Banned after creation, before the first message: the session stops at
     * the first message, naming the peer, without evaluating anything. */
    bans.banned[2] = false;
    sess x;
    memset(&x, 0, sizeof x);
    open_session(&x, 3, 1, &bans);
    bans.banned[2] = true;
    deliver(&x, TSS_MSG_SIGN_R1_BCAST, &x.r1b);
    CHECK(x.failed && tss_sign_culprit(x.p1) == 2 && tss_sign_ban(x.p1) == 0);
    CHECK(tss_sign_checks(x.p1).ote_checks == 0);
    tss_sign_free(x.p1);
    free(x.r1b.data);
    free(x.r1p.data);
    free(x.r2p.data);
}

/* ---- finding 3: a 32-party share ---------------------------------------------- */

/* A consistent t-of-n share for party `self` (f(x) = a0 + a1 x), built
 * directly: the decoder's checks (x*G = X_self, public shares on one line
 * through X) pass. */
static tss_keyshare *synthetic_share(uint16_t n, uint16_t self) {
    tss_keyshare *ks = NULL;
    CHECK_OK(tss_keyshare_new(&ks, n));
    snprintf(ks->key_id, sizeof ks->key_id, "wide-%u", n);
    ks->self = self;
    ks->threshold = 2;
    tss_scalar a0, a1, xj, f;
    CHECK_OK(tss_sc_random(&a0));
    CHECK_OK(tss_sc_random(&a1));
    CHECK_OK(tss_pt_mul_base(&ks->X, &a0));
    for (uint16_t k = 0; k < n; k++) {
        ks->parties[k] = (uint16_t)(k + 1);
        tss_sc_set_u64(&xj, k + 1);
        tss_sc_mul(&f, &a1, &xj);
        tss_sc_add(&f, &f, &a0);
        CHECK_OK(tss_pt_mul_base(&ks->X_j[k], &f));
        if (k + 1 == self) ks->x = f;
    }
    randombytes_buf(ks->chain_code, sizeof ks->chain_code);
    randombytes_buf(ks->keygen_sid, sizeof ks->keygen_sid);
    randombytes_buf(ks->peers, n * sizeof *ks->peers);
    return ks;
}

static tss_result round_trip(const tss_keyshare *ks, tss_keyshare **back) {
    tss_writer w;
    tss_writer_init(&w, 4u << 20);
    tss_result r = tss_keyshare_encode(ks, &w);
    if (tss_is_ok(r)) r = tss_keyshare_decode(back, w.data, w.len);
    tss_writer_free(&w);
    return r;
}

static void wide_share_ban_list_reads_back(void) {
    tss_keyshare *ks = synthetic_share(32, 1), *back = NULL;
    CHECK_OK(round_trip(ks, &back));
    tss_keyshare_free(back);
    back = NULL;
    /* Ban party 32 (bit 31, the top bit of the list): it reads back. */
    ks->banned = UINT32_C(1) << 31;
    CHECK_OK(round_trip(ks, &back));
    CHECK(back && back->banned == UINT32_C(1) << 31);
    if (back) {
        static const uint16_t S[2] = {1, 32};
        tss_sign_config c = {.share = back, .count = 2, .registry = {claim, &reg[1]}};
        memcpy(c.signers, S, sizeof S);
        tss_sign *s = NULL;
        CHECK_ERR(tss_sign_new(&s, &c), TSS_E_PROTOCOL);
        CHECK(strstr(tss_error_detail(), "party 32 is banned") != NULL);
    }
    tss_keyshare_free(back);
    back = NULL;
    /* Every other party too, but never this party itself. */
    ks->banned = UINT32_MAX & ~UINT32_C(1);
    CHECK_OK(round_trip(ks, &back));
    CHECK(back && back->banned == (UINT32_MAX & ~UINT32_C(1)));
    tss_keyshare_free(back);
    back = NULL;
    ks->banned = UINT32_MAX;
    CHECK_ERR(round_trip(ks, &back), TSS_E_CORRUPT);
    CHECK(strstr(tss_error_detail(), "names this party itself") != NULL);
    tss_keyshare_free(ks);
    /* 31 parties: bit 31 is out of range. */
    ks = synthetic_share(31, 2);
    ks->banned = UINT32_C(1) << 30;
    CHECK_OK(round_trip(ks, &back));
    tss_keyshare_free(back);
    back = NULL;
    ks->banned = UINT32_C(1) << 31;
    CHECK_ERR(round_trip(ks, &back), TSS_E_CORRUPT);
    CHECK(strstr(tss_error_detail(), "ban list out of range") != NULL);
    CHECK(back == NULL);
    tss_keyshare_free(ks);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    sim_keygen(2, 2, 91, k2);
    RUN(wide_share_ban_list_reads_back);
    RUN(banned_peer_refused_at_creation);
    RUN(probes_leak_delta_without_a_shared_ban);
    RUN(first_failure_stops_every_concurrent_session);
    for (int i = 0; i < 2; i++) tss_keyshare_free(k2[i]);
    for (int i = 0; i < 3; i++) free(reg[i].sids);
    return harness_finish("mpc_ban");
}
