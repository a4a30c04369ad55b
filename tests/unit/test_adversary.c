/* Adversarial relay and party scenarios, in process (issue 10, findings 2
 * and 6): three parties run the real mpc/ state machines behind the real
 * wire/secure channel, each bound to the session context it derives from its
 * own view of SESSION_START (tss_secure_context_init, tss_secure_mpc_sid,
 * as daemon/party/session.c does). Everything between them goes through a
 * scripted relay that sits where the coordinator sits and may replay from
 * another session, mix session kinds, reorder, drop, duplicate, substitute or
 * alter messages; a scripted party may author bad messages itself.
 *
 * Each party handles a PROTOCOL_MSG as the daemon does (session.c, feed): a
 * message that does not open is an abort naming "the coordinator or party N"
 * (reason relay-or-party), never a ban; a resent duplicate is dropped; a
 * round-2 message that overtook its sender's broadcast is held; a failed mpc
 * check aborts naming the mpc culprit, and bans only if mpc/ says so.
 *
 * For every scenario: no honest party bans another, no invalid signature is
 * assembled, and the abort names the right culprit (or relay-or-party). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpc/dkg.h"
#include "mpc/sign.h"
#include "tests/unit/harness.h"
#include "tests/unit/mpc_sim.h"
#include "util/secmem.h"
#include "wire/msg.h"
#include "wire/secure.h"

#define NP 3
#define MAX_Q 4096
#define MAX_HELD 64

static uint8_t id_sk[NP + 1][64];
static tss_secure_peer roster[NP];
static tss_keyshare *key3[NP]; /* a 3-of-3 key: every signer sees two peers */

/* ---- messages on the wire --------------------------------------------------------- */

typedef struct {
    uint16_t from, to; /* claimed sender; recipient (a party id) */
    uint8_t type;
    uint8_t *buf; /* an encoded PROTOCOL_MSG envelope */
    size_t len;
} wmsg;

typedef struct {
    wmsg m[MAX_Q];
    size_t n;
} wlist;

static void wlist_push(wlist *l, uint16_t from, uint16_t to, uint8_t type, const uint8_t *b,
                       size_t len) {
    CHECK(l->n < MAX_Q);
    if (l->n >= MAX_Q) return;
    wmsg *m = &l->m[l->n++];
    *m = (wmsg){.from = from, .to = to, .type = type, .buf = malloc(len), .len = len};
    memcpy(m->buf, b, len);
}

static void wlist_free(wlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->m[i].buf);
    l->n = 0;
}

/* The recorded message of (type, from, to), or NULL. */
static const wmsg *wlist_find(const wlist *l, uint8_t type, uint16_t from, uint16_t to) {
    for (size_t i = 0; i < l->n; i++)
        if (l->m[i].type == type && l->m[i].from == from && l->m[i].to == to) return &l->m[i];
    return NULL;
}

/* ---- parties ------------------------------------------------------------------------ */

typedef struct {
    uint8_t sids[64][TSS_SID_BYTES];
    size_t count;
} registry; /* the per-key sign-sid log, in memory */

static registry g_reg[NP + 1];

static tss_result claim(void *ctx, const uint8_t sid[TSS_SID_BYTES]) {
    registry *g = ctx;
    for (size_t i = 0; i < g->count; i++)
        TSS_ENSURE(memcmp(g->sids[i], sid, TSS_SID_BYTES) != 0, TSS_E_PROTOCOL, "sid reused");
    TSS_ENSURE(g->count < 64, TSS_E_TOO_LARGE, "registry full");
    memcpy(g->sids[g->count++], sid, TSS_SID_BYTES);
    return TSS_OK_RESULT;
}

static tss_result consume(void *ctx, const uint8_t id[TSS_SID_BYTES]) {
    (void)ctx, (void)id;
    return TSS_OK_RESULT;
}

typedef struct world world;

typedef struct {
    uint16_t id;
    tss_wire_session_start view; /* what the relay told this party */
    tss_secure_session *sec;
    tss_dkg *dkg;
    tss_sign *sign;
    wlist *held;
    bool aborted, finished;
    uint8_t reason;
    uint16_t culprit, ban;
    char text[700];
    unsigned opened;
} hparty;

/* What the relay does with one delivery. It may replace m->buf (freeing the
 * old one) to substitute a message. */
typedef enum { R_DELIVER, R_DROP, R_TWICE } raction;
typedef raction (*relay_fn)(world *w, wmsg *m);
/* A malicious author: may change an mpc message (a copy) before its sender
 * seals it for one recipient. */
typedef void (*author_fn)(world *w, const hparty *p, tss_mpc_msg *m, uint16_t recipient);

struct world {
    hparty p[NP];
    wlist q, tape, finals;
    bool lifo; /* deliver newest first (reordering) */
    relay_fn relay;
    author_fn author;
    const wlist *other; /* a recorded session to replay from */
    int hits;
};

static hparty *party_of(world *w, uint16_t id) {
    return id >= 1 && id <= NP ? &w->p[id - 1] : NULL;
}

static void hp_abort(hparty *p, uint8_t reason, uint16_t culprit, const char *what,
                     const char *detail) {
    if (p->aborted) return;
    p->aborted = true;
    p->reason = reason;
    p->culprit = culprit;
    snprintf(p->text, sizeof p->text, "%s%s", what, detail);
}

/* Seal and queue an outbox: broadcasts go to every other party of the
 * sender's view (sealed per recipient so a malicious author may equivocate),
 * final signing messages to the coordinator. */
static void emit(world *w, hparty *p, tss_mpc_outbox *out) {
    for (size_t i = 0; i < out->count; i++) {
        const tss_mpc_msg *m = &out->msgs[i];
        uint16_t to_list[NP];
        size_t nto = 0;
        if (m->to == TSS_MPC_BROADCAST) {
            for (size_t k = 0; k < p->view.count; k++)
                if (p->view.parties[k] != p->id) to_list[nto++] = p->view.parties[k];
        } else {
            to_list[nto++] = m->to;
        }
        for (size_t k = 0; k < nto; k++) {
            uint8_t *copy = malloc(m->len ? m->len : 1);
            memcpy(copy, m->data, m->len);
            tss_mpc_msg c = *m;
            c.data = copy;
            if (w->author) w->author(w, p, &c, to_list[k]);
            tss_writer pw, ew;
            tss_writer_init(&pw, TSS_SECURE_MAX_SEALED);
            tss_writer_init(&ew, TSS_SECURE_MAX_SEALED + TSS_WIRE_PROTOCOL_ENVELOPE_LEN);
            tss_wire_protocol_msg env;
            CHECK_OK(tss_secure_seal(p->sec, &c, &env, &pw));
            CHECK_OK(tss_wire_protocol_msg_encode(&ew, &env, TSS_SECURE_MAX_SEALED));
            if (m->type == TSS_MSG_SIGN_FINAL_BCAST) {
                if (k == 0) wlist_push(&w->finals, p->id, 0, m->type, ew.data, ew.len);
            } else {
                wlist_push(&w->q, p->id, to_list[k], m->type, ew.data, ew.len);
                wlist_push(&w->tape, p->id, to_list[k], m->type, ew.data, ew.len);
            }
            tss_writer_free(&pw);
            tss_writer_free(&ew);
            free(copy);
        }
    }
    tss_mpc_outbox_clear(out);
}

static void check_done(hparty *p) {
    if (p->aborted || p->finished) return;
    if (p->dkg && tss_dkg_finished(p->dkg)) p->finished = true;
    if (p->sign && tss_sign_finished(p->sign)) p->finished = true;
}

/* The daemon's handling of one PROTOCOL_MSG (session.c, feed). Returns
 * false when the message must be held. */
static bool hp_feed(world *w, hparty *p, const uint8_t *buf, size_t len, bool *bcast) {
    *bcast = false;
    if (p->aborted) return true;
    tss_wire_protocol_msg env;
    if (!tss_is_ok(tss_wire_protocol_msg_decode(&env, buf, len, TSS_SECURE_MAX_SEALED))) {
        hp_abort(p, TSS_WIRE_ABORT_MISBEHAVIOUR, 0, "malformed PROTOCOL_MSG from the coordinator: ",
                 tss_error_detail());
        return true;
    }
    tss_mpc_msg m;
    tss_result r = tss_secure_open(p->sec, &env, &m);
    if (r.err == TSS_E_NOT_FOUND) return false;
    if (r.err == TSS_E_EXISTS) return true;
    if (!tss_is_ok(r)) {
        char t[600];
        snprintf(t, sizeof t, "refused a message claiming to be from party %u (the coordinator or "
                 "party %u): ", env.sender, env.sender);
        hp_abort(p, TSS_WIRE_ABORT_RELAY_OR_PARTY, env.sender, t, tss_error_detail());
        return true;
    }
    p->opened++;
    *bcast = tss_secure_type_is_broadcast(m.type);
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    r = p->dkg ? tss_dkg_handle(p->dkg, &m, &out) : tss_sign_handle(p->sign, &m, &out);
    tss_secure_msg_clear(&m);
    if (!tss_is_ok(r)) {
        tss_mpc_outbox_clear(&out);
        uint16_t culprit = p->dkg ? tss_dkg_culprit(p->dkg) : tss_sign_culprit(p->sign);
        p->ban = p->sign ? tss_sign_ban(p->sign) : 0;
        hp_abort(p, TSS_WIRE_ABORT_MISBEHAVIOUR, culprit, "", tss_error_detail());
        return true;
    }
    emit(w, p, &out);
    check_done(p);
    return true;
}

static void hp_deliver(world *w, hparty *p, const wmsg *m) {
    bool bcast;
    if (!hp_feed(w, p, m->buf, m->len, &bcast)) {
        CHECK(p->held->n < MAX_HELD);
        wlist_push(p->held, m->from, m->to, m->type, m->buf, m->len);
        return;
    }
    for (bool again = bcast; again && !p->aborted;) {
        again = false;
        for (size_t i = 0; i < p->held->n && !p->aborted; i++) {
            wmsg h = p->held->m[i];
            bool b2;
            if (hp_feed(w, p, h.buf, h.len, &b2)) {
                free(h.buf);
                p->held->m[i--] = p->held->m[--p->held->n];
                again |= b2;
            }
        }
    }
}

/* A SESSION_START as the coordinator would send it. */
static tss_wire_session_start start_of(uint8_t kind, const char *key_id, uint16_t t,
                                       uint8_t sid_byte) {
    tss_wire_session_start st;
    memset(&st, 0, sizeof st);
    memset(st.session_id, sid_byte, sizeof st.session_id);
    st.kind = kind;
    snprintf(st.key_id, sizeof st.key_id, "%s", key_id);
    st.threshold = t;
    st.count = NP;
    for (uint16_t i = 0; i < NP; i++) st.parties[i] = (uint16_t)(i + 1);
    st.round_timeout_ms = 1000;
    if (kind == TSS_WIRE_KIND_SIGN) memset(st.digest, 0x42, sizeof st.digest);
    return st;
}

/* session_setup of the daemon, for one party and its view. */
static void hp_start(world *w, hparty *p, uint16_t id, const tss_wire_session_start *view) {
    memset(p, 0, sizeof *p);
    p->id = id;
    p->view = *view;
    p->held = calloc(1, sizeof *p->held);
    const tss_keyshare *share = view->kind == TSS_WIRE_KIND_KEYGEN ? NULL : key3[id - 1];
    tss_secure_context ctx;
    tss_secure_context_init(&ctx, view, share ? share->keygen_sid : NULL, share ? share->n : 0);
    tss_secure_peer peers[NP];
    for (size_t k = 0; k < view->count; k++) peers[k] = roster[view->parties[k] - 1];
    CHECK_OK(tss_secure_session_new(&p->sec, &ctx, id, id_sk[id], peers, view->count));
    uint8_t sid[TSS_SID_BYTES];
    tss_secure_mpc_sid(sid, view);
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    if (!share) {
        tss_dkg_config c = {.self = id, .threshold = view->threshold, .n = view->count};
        memcpy(c.parties, view->parties, view->count * sizeof view->parties[0]);
        snprintf(c.key_id, sizeof c.key_id, "%s", view->key_id);
        memcpy(c.session_id, sid, sizeof sid);
        CHECK_OK(tss_dkg_new(&p->dkg, &c));
        CHECK_OK(tss_dkg_start(p->dkg, &out));
    } else {
        tss_sign_config c = {.share = share, .count = view->count};
        memcpy(c.signers, view->parties, view->count * sizeof view->parties[0]);
        memcpy(c.session_id, sid, sizeof sid);
        c.registry = (tss_sid_registry){claim, &g_reg[id]};
        c.consume = (tss_consume_hook){consume, NULL};
        c.has_digest = view->kind == TSS_WIRE_KIND_SIGN;
        memcpy(c.digest, view->digest, sizeof c.digest);
        c.path = view->path;
        CHECK_OK(tss_sign_new(&p->sign, &c));
        CHECK_OK(tss_sign_start(p->sign, &out));
    }
    emit(w, p, &out);
}

static void world_free(world *w) {
    for (size_t i = 0; i < NP; i++) {
        hparty *p = &w->p[i];
        tss_secure_session_free(p->sec);
        tss_dkg_free(p->dkg);
        tss_sign_free(p->sign);
        if (p->held) wlist_free(p->held);
        free(p->held);
    }
    wlist_free(&w->q);
    wlist_free(&w->tape);
    wlist_free(&w->finals);
    free(w);
}

/* Runs a session: views[i] is what party i+1 is told. */
static world *run(const tss_wire_session_start *views, relay_fn relay, author_fn author,
                  const wlist *other, bool lifo) {
    world *w = calloc(1, sizeof *w);
    w->relay = relay;
    w->author = author;
    w->other = other;
    w->lifo = lifo;
    for (uint16_t i = 0; i < NP; i++) hp_start(w, &w->p[i], (uint16_t)(i + 1), &views[i]);
    while (w->q.n) {
        wmsg m;
        if (w->lifo) {
            m = w->q.m[--w->q.n];
        } else {
            m = w->q.m[0];
            memmove(w->q.m, w->q.m + 1, --w->q.n * sizeof m);
        }
        raction a = w->relay ? w->relay(w, &m) : R_DELIVER;
        hparty *p = party_of(w, m.to);
        if (p && a != R_DROP) hp_deliver(w, p, &m);
        if (p && a == R_TWICE) hp_deliver(w, p, &m);
        free(m.buf);
    }
    return w;
}

static world *run_same(const tss_wire_session_start *st, relay_fn relay, author_fn author,
                       const wlist *other, bool lifo) {
    tss_wire_session_start views[NP] = {*st, *st, *st};
    return run(views, relay, author, other, lifo);
}

/* The coordinator's side of a signing session: verify every final message
 * against its own context and assemble; true if a signature came out (it is
 * verified against X inside tss_sign_assemble). */
static bool coordinator_assembles(const world *w, const tss_wire_session_start *st) {
    tss_secure_context ctx;
    tss_secure_context_init(&ctx, st, NULL, 0);
    tss_sign_partial parts[NP];
    size_t n = 0;
    for (size_t i = 0; i < w->finals.n && n < NP; i++) {
        tss_wire_protocol_msg env;
        tss_secure_signed_view v;
        if (tss_is_ok(tss_wire_protocol_msg_decode(&env, w->finals.m[i].buf, w->finals.m[i].len,
                                                   TSS_SECURE_MAX_SEALED)) &&
            tss_is_ok(tss_secure_verify_signed(&ctx, roster, NP, &env, &v)) &&
            tss_is_ok(tss_sign_partial_decode(&parts[n], v.from, v.data, v.len)))
            n++;
    }
    if (n != NP) return false;
    tss_signature sig;
    tss_point key; /* X, or the child key under the session's path */
    if (!tss_is_ok(tss_sign_child_key(&key, NULL, key3[0], &st->path))) return false;
    return tss_is_ok(tss_sign_assemble(parts, n, &key, st->digest, &sig));
}

/* ---- assertions -------------------------------------------------------------------- */

static void no_bans(const world *w) {
    for (size_t i = 0; i < NP; i++) CHECK(w->p[i].ban == 0);
}

static bool relay_or_party(const hparty *p, uint16_t culprit) {
    char want[64];
    snprintf(want, sizeof want, "the coordinator or party %u", culprit);
    return p->aborted && p->reason == TSS_WIRE_ABORT_RELAY_OR_PARTY && p->culprit == culprit &&
           strstr(p->text, want) != NULL;
}

static bool none_finished(const world *w) {
    for (size_t i = 0; i < NP; i++)
        if (w->p[i].finished) return false;
    return true;
}

static bool all_finished(const world *w) {
    for (size_t i = 0; i < NP; i++)
        if (!w->p[i].finished || w->p[i].aborted) return false;
    return true;
}

/* ---- relay scripts ----------------------------------------------------------------- */

/* Replace party 1's round-1 OT-extension message to party 2 with the one
 * recorded in w->other. */
static raction replay_r1p_1_to_2(world *w, wmsg *m) {
    if (m->type == TSS_MSG_SIGN_R1_P2P && m->from == 1 && m->to == 2) {
        const wmsg *o = wlist_find(w->other, TSS_MSG_SIGN_R1_P2P, 1, 2);
        CHECK(o != NULL);
        if (o) {
            free(m->buf);
            m->buf = malloc(o->len), m->len = o->len;
            memcpy(m->buf, o->buf, o->len);
            w->hits++;
        }
    }
    return R_DELIVER;
}

/* Same for the DKG base-OT msg1 (0x12) of party 1 to party 2. */
static raction replay_base_ot_1_to_2(world *w, wmsg *m) {
    if (m->type == TSS_MSG_DKG_R1_P2P && m->from == 1 && m->to == 2) {
        const wmsg *o = wlist_find(w->other, TSS_MSG_DKG_R1_P2P, 1, 2);
        CHECK(o != NULL);
        if (o) {
            free(m->buf);
            m->buf = malloc(o->len), m->len = o->len;
            memcpy(m->buf, o->buf, o->len);
            w->hits++;
        }
    }
    return R_DELIVER;
}

/* Party 1's round-1 broadcast, as shown to party 3 only, from another session. */
static raction replay_r1b_1_to_3(world *w, wmsg *m) {
    if (m->type == TSS_MSG_SIGN_R1_BCAST && m->from == 1 && m->to == 3) {
        const wmsg *o = wlist_find(w->other, TSS_MSG_SIGN_R1_BCAST, 1, 3);
        CHECK(o != NULL);
        if (o) {
            free(m->buf);
            m->buf = malloc(o->len), m->len = o->len;
            memcpy(m->buf, o->buf, o->len);
            w->hits++;
        }
    }
    return R_DELIVER;
}

static raction twice(world *w, wmsg *m) {
    (void)m;
    w->hits++;
    return R_TWICE;
}

static raction drop_r1p_1_to_2(world *w, wmsg *m) {
    if (m->type == TSS_MSG_SIGN_R1_P2P && m->from == 1 && m->to == 2) {
        w->hits++;
        return R_DROP;
    }
    return R_DELIVER;
}

/* Flip a ciphertext byte of party 2's round-2 message to party 3. */
static raction flip_r2p_2_to_3(world *w, wmsg *m) {
    if (m->type == TSS_MSG_SIGN_R2_P2P && m->from == 2 && m->to == 3) {
        m->buf[TSS_WIRE_PROTOCOL_ENVELOPE_LEN + 40] ^= 0x01;
        w->hits++;
    }
    return R_DELIVER;
}

/* Drop every keygen round-2 message: the keygen never completes. */
static raction drop_dkg_round2(world *w, wmsg *m) {
    (void)w;
    return m->type == TSS_MSG_DKG_R2_BCAST || m->type == TSS_MSG_DKG_R2_P2P ? R_DROP : R_DELIVER;
}

/* ---- malicious authors ---------------------------------------------------------------- */

/* Party 1 signs a second, different round-1 broadcast for party 3. */
static void equivocate_r1b(world *w, const hparty *p, tss_mpc_msg *m, uint16_t to) {
    if (p->id == 1 && m->type == TSS_MSG_SIGN_R1_BCAST && to == 3) {
        m->data[0] ^= 0x01; /* its sid contribution */
        w->hits++;
    }
}

/* Party 1 sends party 2 an OT-extension message whose consistency data is
 * wrong (last byte of t~): party 2's check fails on a message party 1 authored. */
static void bad_ote(world *w, const hparty *p, tss_mpc_msg *m, uint16_t to) {
    if (p->id == 1 && m->type == TSS_MSG_SIGN_R1_P2P && to == 2) {
        m->data[m->len - 1] ^= 0x01;
        w->hits++;
    }
}

/* ---- scenarios ------------------------------------------------------------------------- */

static void honest_signing_and_presigning(void) {
    tss_wire_session_start st = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x01);
    world *w = run_same(&st, NULL, NULL, NULL, false);
    CHECK(all_finished(w));
    no_bans(w);
    CHECK(coordinator_assembles(w, &st));
    /* The coordinator's context for another digest does not verify them. */
    tss_wire_session_start other = st;
    other.digest[0] ^= 1;
    CHECK(!coordinator_assembles(w, &other));
    world_free(w);
    st = start_of(TSS_WIRE_KIND_PRESIGN, key3[0]->key_id, NP, 0x02);
    w = run_same(&st, NULL, NULL, NULL, false);
    CHECK(all_finished(w));
    no_bans(w);
    world_free(w);
}

/* Attack A: party 1's round-1 message from a presign session, replayed into
 * a sign session under the same wire session id. Before the fix it opened
 * (the binding covered only the session id) and party 2's OT-extension check
 * failed: party 2 banned honest party 1. */
static void attack_a_replay_presign_into_sign(void) {
    tss_wire_session_start pre = start_of(TSS_WIRE_KIND_PRESIGN, key3[0]->key_id, NP, 0x10);
    world *w1 = run_same(&pre, NULL, NULL, NULL, false);
    CHECK(all_finished(w1));
    tss_wire_session_start sg = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x10);
    world *w2 = run_same(&sg, replay_r1p_1_to_2, NULL, &w1->tape, false);
    CHECK(w2->hits == 1);
    no_bans(w2);
    CHECK(relay_or_party(&w2->p[1], 1));
    CHECK(strstr(w2->p[1].text, "forged or altered in transit") != NULL);
    CHECK(!w2->p[1].finished);
    CHECK(!coordinator_assembles(w2, &sg));
    world_free(w1);
    world_free(w2);
}

/* Attack C: "presign" announced to party 1, "sign" to parties 2 and 3, under
 * one session id. Before the fix every party opened every message and the
 * OT-extension checks failed both ways: honest parties banned each other. */
static void attack_c_mixed_kinds(void) {
    tss_wire_session_start pre = start_of(TSS_WIRE_KIND_PRESIGN, key3[0]->key_id, NP, 0x20);
    tss_wire_session_start sg = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x20);
    tss_wire_session_start views[NP] = {pre, sg, sg};
    world *w = run(views, NULL, NULL, NULL, false);
    no_bans(w);
    CHECK(none_finished(w));
    /* Party 1 cannot open 2's and 3's messages, nor they 1's. */
    CHECK(relay_or_party(&w->p[0], 2) || relay_or_party(&w->p[0], 3));
    CHECK(relay_or_party(&w->p[1], 1));
    CHECK(relay_or_party(&w->p[2], 1));
    CHECK(!coordinator_assembles(w, &sg));
    world_free(w);
    /* The same with another key id or signer-set threshold announced to one party. */
    tss_wire_session_start odd = sg;
    snprintf(odd.key_id, sizeof odd.key_id, "%s", "another-key");
    odd.session_id[0] ^= 0x40, sg.session_id[0] ^= 0x40;
    tss_wire_session_start v2[NP] = {sg, sg, odd};
    /* Party 3 loads key3 whatever the key id says here (the daemon would load
     * the named key): the context still differs in the key id. */
    w = run(v2, NULL, NULL, NULL, false);
    no_bans(w);
    CHECK(none_finished(w));
    CHECK(relay_or_party(&w->p[0], 3) && relay_or_party(&w->p[1], 3));
    world_free(w);
}

/* HD derivation: signing under a path through the channel verifies under
 * the child key only; a party told another path (by a relay) cannot open the
 * others' messages (the path is in the session context): it aborts naming the
 * relay or the sender, nobody is banned, no signature comes out. */
static void hd_path_in_context(void) {
    tss_wire_session_start sg = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x30);
    CHECK_OK(tss_bip32_path_parse(&sg.path, "m/0/7/42"));
    world *w = run_same(&sg, NULL, NULL, NULL, false);
    CHECK(all_finished(w));
    no_bans(w);
    CHECK(coordinator_assembles(w, &sg));
    tss_wire_session_start root = sg;
    root.path.depth = 0; /* the same partials do not verify as the key's own signature */
    CHECK(!coordinator_assembles(w, &root));
    world_free(w);
    tss_wire_session_start odd = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x31);
    sg = odd;
    CHECK_OK(tss_bip32_path_parse(&sg.path, "m/0/7/42"));
    CHECK_OK(tss_bip32_path_parse(&odd.path, "m/0/7/43"));
    tss_wire_session_start views[NP] = {sg, sg, odd};
    w = run(views, NULL, NULL, NULL, false);
    no_bans(w);
    CHECK(none_finished(w));
    CHECK(relay_or_party(&w->p[0], 3) && relay_or_party(&w->p[1], 3));
    CHECK(strstr(w->p[0].text, "forged or altered in transit") != NULL);
    CHECK(w->p[2].aborted);
    CHECK(!coordinator_assembles(w, &sg));
    world_free(w);
}

/* Attack B through the channel: a base-OT message of another keygen under
 * the same wire session id (refused before the fix only while the first was
 * live), substituted in transit. It no longer opens (the key id differs, so
 * the context does); before the fix it opened and the keygen "succeeded"
 * with base-OT seeds that disagree. */
static void attack_b_replayed_base_ot(void) {
    tss_wire_session_start k1 = start_of(TSS_WIRE_KIND_KEYGEN, "key-b1", 2, 0x30);
    world *w1 = run_same(&k1, NULL, NULL, NULL, false);
    CHECK(all_finished(w1));
    tss_wire_session_start k2 = start_of(TSS_WIRE_KIND_KEYGEN, "key-b2", 2, 0x30);
    world *w2 = run_same(&k2, replay_base_ot_1_to_2, NULL, &w1->tape, false);
    CHECK(w2->hits == 1);
    CHECK(relay_or_party(&w2->p[1], 1));
    CHECK(none_finished(w2));
    world_free(w1);
    world_free(w2);
}

/* Attack B where the channel cannot tell: the relay reruns a keygen that
 * never completed under the same session id and context (the durable wire
 * session log refuses this in the daemon; here it is bypassed) and replays
 * party 1's base-OT message from the first run. Before the fix the keygen
 * "succeeded" with the same X everywhere and a key that could never sign;
 * now the pairwise base-OT transcript confirmation fails in round 3. */
static void attack_b_rerun_same_context(void) {
    tss_wire_session_start k = start_of(TSS_WIRE_KIND_KEYGEN, "key-b3", 2, 0x32);
    world *w1 = run_same(&k, drop_dkg_round2, NULL, NULL, false);
    CHECK(none_finished(w1));
    world *w2 = run_same(&k, replay_base_ot_1_to_2, NULL, &w1->tape, false);
    CHECK(w2->hits == 1);
    for (int i = 0; i < 2; i++) { /* the pair {1, 2} */
        hparty *p = &w2->p[i];
        CHECK(p->aborted && !p->finished);
        CHECK(strstr(p->text, "pairwise confirmation differs") != NULL);
        CHECK(p->culprit == (i == 0 ? 2 : 1));
    }
    world_free(w1);
    world_free(w2);
}

/* A broadcast replayed from another session of the same kind and key, shown
 * to one party only (equivocation by the relay). */
static void replay_from_another_session(void) {
    tss_wire_session_start s1 = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x40);
    world *w1 = run_same(&s1, NULL, NULL, NULL, false);
    CHECK(all_finished(w1));
    tss_wire_session_start s2 = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x41);
    world *w2 = run_same(&s2, replay_r1b_1_to_3, NULL, &w1->tape, false);
    CHECK(w2->hits == 1);
    no_bans(w2);
    CHECK(relay_or_party(&w2->p[2], 1));
    CHECK(none_finished(w2));
    CHECK(!coordinator_assembles(w2, &s2));
    world_free(w1);
    world_free(w2);
}

/* Reordering (newest first) and duplicating every message: the session still
 * completes with a valid signature, nobody is blamed. */
static void reorder_and_duplicate(void) {
    tss_wire_session_start st = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x50);
    world *w = run_same(&st, NULL, NULL, NULL, true);
    CHECK(all_finished(w));
    CHECK(coordinator_assembles(w, &st));
    world_free(w);
    st = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x51);
    w = run_same(&st, twice, NULL, NULL, false);
    CHECK(w->hits > 0);
    CHECK(all_finished(w));
    no_bans(w);
    CHECK(coordinator_assembles(w, &st));
    world_free(w);
    st = start_of(TSS_WIRE_KIND_KEYGEN, "key-dup", 2, 0x52);
    w = run_same(&st, twice, NULL, NULL, true);
    CHECK(all_finished(w));
    world_free(w);
}

/* A dropped message: nobody aborts or bans; party 2 waits for party 1 (its
 * round timer names "the coordinator or party 1" in the daemon). */
static void drop(void) {
    tss_wire_session_start st = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x60);
    world *w = run_same(&st, drop_r1p_1_to_2, NULL, NULL, false);
    CHECK(w->hits == 1);
    no_bans(w);
    CHECK(none_finished(w));
    for (size_t i = 0; i < NP; i++) CHECK(!w->p[i].aborted);
    uint16_t ids[TSS_MPC_MAX_PARTIES];
    size_t n = tss_sign_waiting_for(w->p[1].sign, ids);
    CHECK(n == 1 && ids[0] == 1);
    world_free(w);
}

/* An altered ciphertext: relay-or-party, no ban. */
static void substitute(void) {
    tss_wire_session_start st = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x70);
    world *w = run_same(&st, flip_r2p_2_to_3, NULL, NULL, false);
    CHECK(w->hits == 1);
    no_bans(w);
    CHECK(relay_or_party(&w->p[2], 2));
    CHECK(!coordinator_assembles(w, &st));
    world_free(w);
}

/* A malicious signer equivocates its round-1 broadcast (one version to party
 * 2, another to party 3). The echo comparison ends the session before any
 * check that bans; no honest party is named alone. */
static void party_equivocates_broadcast(void) {
    tss_wire_session_start st = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x80);
    world *w = run_same(&st, NULL, equivocate_r1b, NULL, false);
    CHECK(w->hits == 1);
    no_bans(w);
    CHECK(none_finished(w));
    for (size_t i = 1; i < NP; i++) {
        hparty *p = &w->p[i];
        CHECK(p->aborted);
        CHECK(p->culprit == 0 || p->culprit == 1);
        CHECK(strstr(p->text, "round-1 broadcasts") != NULL);
    }
    CHECK(!coordinator_assembles(w, &st));
    world_free(w);
}

/* Positive control: a check that fails on a message the peer authored in
 * this session still bans it (and only it). */
static void authored_bad_ote_is_banned(void) {
    tss_wire_session_start st = start_of(TSS_WIRE_KIND_SIGN, key3[0]->key_id, NP, 0x90);
    world *w = run_same(&st, NULL, bad_ote, NULL, false);
    CHECK(w->hits == 1);
    CHECK(w->p[1].ban == 1 && w->p[1].culprit == 1);
    CHECK(w->p[1].reason == TSS_WIRE_ABORT_MISBEHAVIOUR);
    CHECK(w->p[0].ban == 0 && w->p[2].ban == 0);
    CHECK(!coordinator_assembles(w, &st));
    world_free(w);
}

int main(void) {
    CHECK_OK(tss_crypto_init());
    for (unsigned i = 1; i <= NP; i++) {
        uint8_t seed[32];
        memset(seed, (int)(0x70 + i), sizeof seed);
        crypto_sign_seed_keypair(roster[i - 1].identity, id_sk[i], seed);
        roster[i - 1].id = (uint16_t)i;
    }
    sim_keygen(NP, NP, 0xa7, key3);
    RUN(honest_signing_and_presigning);
    RUN(attack_a_replay_presign_into_sign);
    RUN(attack_c_mixed_kinds);
    RUN(hd_path_in_context);
    RUN(attack_b_replayed_base_ot);
    RUN(attack_b_rerun_same_context);
    RUN(replay_from_another_session);
    RUN(reorder_and_duplicate);
    RUN(drop);
    RUN(substitute);
    RUN(party_equivocates_broadcast);
    RUN(authored_bad_ote_is_banned);
    for (size_t i = 0; i < NP; i++) tss_keyshare_free(key3[i]);
    return harness_finish("adversary");
}
