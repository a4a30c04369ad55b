/* tss-party sessions: keygen, signing and presigning driven by the
 * coordinator (DESIGN.md §3-§5; frames in docs/PROTOCOL.md).
 *
 * A SESSION_START creates the sans-I/O state machine (mpc/dkg.h or
 * mpc/sign.h) and a party-to-party protection session (wire/secure.h) keyed
 * by the peers' identities pinned in this party's config (never those the
 * coordinator reports). Every outgoing mpc message is sealed, every incoming
 * PROTOCOL_MSG opened, before mpc/ sees it. A round-2 point-to-point message
 * that overtook its sender's round-1 broadcast is held and retried after the
 * next broadcast. Any failure ends the session with a SESSION_ABORT naming
 * the culprit; a round that makes no progress within timeouts.round names the
 * party we are waiting for.
 *
 * Storage: a DKG share is sealed and fsynced (keystore/share_store.h) before
 * SESSION_RESULT is sent; each sign sid is claimed in the per-key sid log
 * before round 1; presignatures go to the per-key presignature store and are
 * consumed durably before w_i leaves. Bans: one ban state per key
 * (keystore/ban_state.h) shared by every session of the key; a peer that
 * fails an OT/RVOLE check is banned there at once, every other in-flight
 * session of the key with it is aborted before it evaluates another check,
 * then the ban is persisted in the share. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "daemon/party/party.h"
#include "keystore/ban_state.h"
#include "keystore/presig_store.h"
#include "keystore/session_log.h"
#include "keystore/share_cache.h"
#include "keystore/share_store.h"
#include "keystore/sid_log.h"
#include "mpc/dkg.h"
#include "mpc/sign.h"
#include "util/hex.h"
#include "util/log.h"
#include "wire/msg.h"
#include "wire/secure.h"

#define MAX_HELD 256 /* reordered messages held per session */


typedef struct {
    uint8_t *data;
    size_t len;
} held_msg;

struct psession {
    psession *next;
    party *pt;
    pcoord *co; /* the coordinator that started it: its frames only, its connection only */
    tss_wire_session_start st;
    char sid_hex[2 * TSS_WIRE_SESSION_ID_LEN + 1];
    tss_secure_session *sec;
    tss_dkg *dkg;
    tss_sign *sign;
    tss_keyshare *share; /* signing */
    pkey *key;
    uint16_t refused_for; /* a banned party this session was refused for */
    bool policy_refused;  /* the signing policy refused it (policy_gate.c) */
    uint8_t *content;     /* owned copies behind st.request and st.approvals */
    tss_timer timer;
    tss_deferred release; /* the deferred free */
    held_msg held[MAX_HELD];
    size_t n_held;
    int64_t started;
    bool done;
};

/* ---- sending ----------------------------------------------------------------------- */

static tss_result send_frame(pcoord *co, tss_wire_type type, tss_writer *w, const char *what) {
    TSS_GUARD(tss_writer_status(w, what));
    TSS_ENSURE(co->conn != NULL, TSS_E_IO, "not connected to coordinator %s", co->addr);
    return tss_dconn_send(co->conn, type, w->data, w->len);
}

static void send_abort(pcoord *co, const uint8_t sid[TSS_WIRE_SESSION_ID_LEN], uint8_t reason,
                       uint16_t culprit, const char *text) {
    tss_wire_session_abort a;
    memset(&a, 0, sizeof a);
    memcpy(a.session_id, sid, sizeof a.session_id);
    a.reason = reason;
    a.culprit = culprit;
    /* Keep the text printable ASCII and within the cap. */
    size_t j = 0;
    for (size_t i = 0; text[i] && j < TSS_WIRE_MAX_ERROR_TEXT; i++)
        a.text[j++] = (text[i] >= 0x20 && text[i] <= 0x7e) ? text[i] : '?';
    a.text[j] = '\0';
    tss_writer w;
    tss_writer_init(&w, 1024);
    tss_result r = tss_wire_session_abort_encode(&w, &a);
    if (tss_is_ok(r)) r = send_frame(co, TSS_WIRE_SESSION_ABORT, &w, "SESSION_ABORT");
    if (!tss_is_ok(r)) tss_log(LOG_WARNING, "cannot send SESSION_ABORT: %s", tss_error_detail());
    tss_writer_free(&w);
}

/* ---- per-key store handles ----------------------------------------------------------- */

tss_result party_key_handles(party *pt, const char *key_id, pkey **out) {
    for (pkey *k = pt->keys_open; k; k = k->next)
        if (strcmp(k->key_id, key_id) == 0) {
            *out = k;
            return TSS_OK_RESULT;
        }
    pkey *k = calloc(1, sizeof *k);
    TSS_ENSURE(k != NULL, TSS_E_NOMEM, "no memory for key handles");
    snprintf(k->key_id, sizeof k->key_id, "%s", key_id);
    tss_ban_state_init(&k->bans, key_id);
    tss_result r = tss_sid_log_open(&k->sids, &pt->store, key_id);
    if (tss_is_ok(r)) r = tss_presig_store_open(&k->presigs, &pt->store, key_id);
    if (!tss_is_ok(r)) {
        tss_sid_log_close(k->sids);
        free(k);
        return r;
    }
    k->next = pt->keys_open;
    pt->keys_open = k;
    *out = k;
    return TSS_OK_RESULT;
}

/* ---- session lifetime ------------------------------------------------------------------ */

static void session_free(psession *s) {
    party *pt = s->pt;
    for (psession **pp = &pt->sessions; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            pt->n_sessions--;
            break;
        }
    tss_timer_disarm(pt->loop, &s->timer);
    tss_secure_session_free(s->sec);
    tss_dkg_free(s->dkg);
    tss_sign_free(s->sign);
    tss_keyshare_free(s->share);
    free(s->content);
    for (size_t i = 0; i < s->n_held; i++) free(s->held[i].data);
    free(s);
}

/* Frees after the current event batch (the session may be on the stack). */
static void session_free_deferred(void *arg) { session_free(arg); }

static void session_end(psession *s) {
    if (s->done) return;
    s->done = true;
    s->pt->n_active--;
    tss_timer_kill(s->pt->loop, &s->timer); /* a later touch cannot re-arm it */
    tss_loop_defer_node(s->pt->loop, &s->release, session_free_deferred, s);
}

static void session_fail(psession *s, uint8_t reason, uint16_t culprit, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void session_fail(psession *s, uint8_t reason, uint16_t culprit, const char *fmt, ...) {
    if (s->done) return;
    char text[TSS_WIRE_MAX_ERROR_TEXT + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    tss_log(LOG_WARNING, "session=%s kind=%s key=%s aborted (%s%s%u): %s", s->sid_hex,
            tss_wire_kind_name(s->st.kind), s->st.key_id, tss_wire_abort_reason_name(reason),
            culprit ? ", culprit party=" : ", culprit ", culprit, text);
    send_abort(s->co, s->st.session_id, reason, culprit, text);
    session_end(s);
}

static void on_round_timer(void *arg) {
    psession *s = arg;
    uint16_t ids[TSS_MPC_MAX_PARTIES];
    size_t n = s->dkg ? tss_dkg_waiting_for(s->dkg, ids) : s->sign ? tss_sign_waiting_for(s->sign, ids) : 0;
    int round = s->dkg ? tss_dkg_round(s->dkg) : 0;
    if (n == 0) {
        session_fail(s, TSS_WIRE_ABORT_TIMEOUT, 0, "party %lld: round timed out",
                     (long long)s->pt->cfg.party_id);
        return;
    }
    char list[160] = "";
    for (size_t i = 0, o = 0; i < n && o < sizeof list - 8; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%u", i ? "," : "", ids[i]);
    char in_round[24] = "";
    if (round) snprintf(in_round, sizeof in_round, " in round %d", round);
    /* The relay may have dropped the message: say so. */
    session_fail(s, TSS_WIRE_ABORT_TIMEOUT, ids[0],
                 "party %lld timed out after %ums waiting for party %s%s (the coordinator or "
                 "party %u)",
                 (long long)s->pt->cfg.party_id, s->st.round_timeout_ms, list, in_round, ids[0]);
}

static void touch(psession *s) {
    if (s->done) return;
    if (!tss_is_ok(tss_timer_arm(s->pt->loop, &s->timer,
                                 tss_now_ms() + (int64_t)s->st.round_timeout_ms)))
        session_fail(s, TSS_WIRE_ABORT_INTERNAL, 0, "cannot arm the round timer");
}

/* ---- mpc plumbing ------------------------------------------------------------------------ */

/* Seal and send every message in the outbox (which is cleared). */
static tss_result send_outbox(psession *s, tss_mpc_outbox *out) {
    tss_result r = TSS_OK_RESULT;
    for (size_t i = 0; tss_is_ok(r) && i < out->count; i++) {
        tss_writer payload, frame;
        tss_writer_init(&payload, TSS_SECURE_MAX_SEALED);
        tss_writer_init(&frame, TSS_SECURE_MAX_SEALED + 64);
        tss_wire_protocol_msg env;
        r = tss_secure_seal(s->sec, &out->msgs[i], &env, &payload);
        if (tss_is_ok(r)) r = tss_wire_protocol_msg_encode(&frame, &env, TSS_SECURE_MAX_SEALED);
        if (tss_is_ok(r)) r = send_frame(s->co, TSS_WIRE_PROTOCOL_MSG, &frame, "PROTOCOL_MSG");
        tss_writer_free(&payload);
        tss_writer_free(&frame);
    }
    tss_mpc_outbox_clear(out);
    return r;
}

static tss_result no_consume(void *ctx, const uint8_t id[TSS_SID_BYTES]) {
    (void)ctx;
    (void)id;
    return TSS_OK_RESULT; /* full signing: the sid log already makes the nonce single-use */
}

/* After progress: check whether the state machine is done and report. */
static void check_finished(psession *s) {
    party *pt = s->pt;
    tss_wire_session_result res;
    memset(&res, 0, sizeof res);
    memcpy(res.session_id, s->st.session_id, sizeof res.session_id);
    res.kind = s->st.kind;
    if (s->dkg) {
        if (!tss_dkg_finished(s->dkg)) return;
        tss_keyshare *share = NULL;
        tss_result r = tss_dkg_take_share(s->dkg, &share);
        if (tss_is_ok(r)) r = tss_share_save(&pt->store, share);
        if (!tss_is_ok(r)) {
            tss_keyshare_free(share);
            session_fail(s, TSS_WIRE_ABORT_INTERNAL, 0, "party %lld cannot store the key share: %s",
                         (long long)pt->cfg.party_id, tss_error_detail());
            return;
        }
        tss_pt_encode(res.data, &share->X);
        memcpy(res.data + TSS_WIRE_POINT_LEN, share->chain_code, TSS_WIRE_CHAIN_CODE_LEN);
        res.data_len = TSS_WIRE_POINT_LEN + TSS_WIRE_CHAIN_CODE_LEN;
        tss_keyshare_free(share);
    } else if (s->sign) {
        if (!tss_sign_finished(s->sign)) return;
        if (s->st.kind == TSS_WIRE_KIND_PRESIGN) {
            tss_presig *p = NULL;
            tss_result r = tss_sign_take_presig(s->sign, &p);
            if (tss_is_ok(r)) r = tss_presig_store_put(s->key->presigs, p);
            if (!tss_is_ok(r)) {
                tss_presig_free(p);
                session_fail(s, TSS_WIRE_ABORT_INTERNAL, 0,
                             "party %lld cannot store the presignature: %s",
                             (long long)pt->cfg.party_id, tss_error_detail());
                return;
            }
            memcpy(res.data, p->presign_id, TSS_WIRE_PRESIGN_ID_LEN);
            party_presig_note(s->key, p->presign_id, s->co);
            res.data_len = TSS_WIRE_PRESIGN_ID_LEN;
            tss_presig_free(p);
        }
    } else {
        return;
    }
    tss_writer w;
    tss_writer_init(&w, 256);
    tss_result r = tss_wire_session_result_encode(&w, &res);
    if (tss_is_ok(r)) r = send_frame(s->co, TSS_WIRE_SESSION_RESULT, &w, "SESSION_RESULT");
    tss_writer_free(&w);
    if (!tss_is_ok(r)) tss_log(LOG_WARNING, "session=%s: cannot send SESSION_RESULT: %s",
                               s->sid_hex, tss_error_detail());
    tss_log(LOG_INFO, "session=%s kind=%s key=%s done in %lldms", s->sid_hex,
            tss_wire_kind_name(s->st.kind), s->st.key_id, (long long)(tss_now_ms() - s->started));
    session_end(s);
}

static bool session_has_party(const psession *s, uint16_t id) {
    for (size_t i = 0; i < s->st.count; i++)
        if (s->st.parties[i] == id) return true;
    return false;
}

/* A ban found in session s: in the key's shared state at once, then every
 * other in-flight session of the key with that peer ends (before it can
 * evaluate another check), then the share is re-sealed with the ban. */
static void ban_peer(psession *s, uint16_t ban) {
    party *pt = s->pt;
    pkey *k = s->key;
    if (!k) return;
    tss_ban_state_set(&k->bans, ban);
    tss_log(LOG_ERR, "key=%s: party %u failed an OT/RVOLE check in session %s: banned for this "
            "key; aborting its other sessions", s->st.key_id, ban, s->sid_hex);
    size_t aborted = 0;
    for (psession *o = pt->sessions; o; o = o->next) {
        if (o == s || o->done || strcmp(o->st.key_id, s->st.key_id) != 0 ||
            !session_has_party(o, ban))
            continue;
        session_fail(o, TSS_WIRE_ABORT_MISBEHAVIOUR, ban,
                     "party %lld: party %u is banned for key %s (it failed an OT/RVOLE check in "
                     "session %.16s); aborted before any further check",
                     (long long)pt->cfg.party_id, ban, s->st.key_id, s->sid_hex);
        aborted++;
    }
    tss_result r = tss_ban_state_persist(&k->bans, &pt->store);
    if (tss_is_ok(r))
        tss_log(LOG_ERR, "key=%s: ban of party %u is on disk (%zu other sessions aborted)",
                s->st.key_id, ban, aborted);
    else
        tss_log(LOG_ERR, "key=%s: ban for party %u not yet on disk: %s; the ban holds in memory "
                "and every session of this key is refused until a retry (on each request) "
                "writes it (%zu other sessions aborted)", s->st.key_id, ban, k->bans.reason,
                aborted);
}

/* A failed mpc step: name the culprit, record a ban if the protocol says so. */
static void mpc_failed(psession *s, const char *detail) {
    party *pt = s->pt;
    uint16_t culprit = s->dkg ? tss_dkg_culprit(s->dkg) : tss_sign_culprit(s->sign);
    uint16_t ban = s->sign ? tss_sign_ban(s->sign) : 0;
    if (ban) ban_peer(s, ban);
    session_fail(s, culprit ? TSS_WIRE_ABORT_MISBEHAVIOUR : TSS_WIRE_ABORT_INTERNAL, culprit,
                 "party %lld: %s%s", (long long)pt->cfg.party_id, detail, ban ? " (banned)" : "");
}

/* Open and feed one PROTOCOL_MSG frame payload; returns false if it was held. */
static bool feed(psession *s, const uint8_t *payload, size_t len, bool *was_broadcast) {
    tss_wire_protocol_msg env;
    *was_broadcast = false;
    tss_result r = tss_wire_protocol_msg_decode(&env, payload, len, TSS_SECURE_MAX_SEALED);
    if (!tss_is_ok(r)) {
        session_fail(s, TSS_WIRE_ABORT_MISBEHAVIOUR, 0, "malformed PROTOCOL_MSG from the coordinator: %s",
                     tss_error_detail());
        return true;
    }
    tss_mpc_msg m;
    memset(&m, 0, sizeof m);
    r = tss_secure_open(s->sec, &env, &m);
    if (r.err == TSS_E_NOT_FOUND) return false;
    if (r.err == TSS_E_EXISTS) { /* a resent duplicate: harmless, nobody to blame */
        tss_log(LOG_DEBUG, "session=%s: %s", s->sid_hex, tss_error_detail());
        return true;
    }
    if (!tss_is_ok(r)) {
        /* The sender field is a claim, not evidence: a message that does not
         * open under this session's context may be the relay's doing. */
        /* A signature or tag that fails under a pin every time points at the
         * pin itself: say where it is configured. */
        bool pin = strstr(tss_error_detail(), "pinned identity") != NULL;
        session_fail(s, TSS_WIRE_ABORT_RELAY_OR_PARTY, env.sender,
                     "party %lld refused a message claiming to be from party %u (the "
                     "coordinator or party %u): %s%s%s%s",
                     (long long)s->pt->cfg.party_id, env.sender, env.sender, tss_error_detail(),
                     pin ? "; if this happens in every session, the pinned identity for this "
                           "party in " : "",
                     pin ? (s->pt->config_path ? s->pt->config_path : "the configuration") : "",
                     pin ? " may be wrong (compare `tss-keystore identity` on its host with "
                           "`tssctl status`), or the relay altered the message" : "");
        return true;
    }
    *was_broadcast = tss_secure_type_is_broadcast(m.type);
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    r = s->dkg ? tss_dkg_handle(s->dkg, &m, &out) : tss_sign_handle(s->sign, &m, &out);
    tss_secure_msg_clear(&m);
    if (!tss_is_ok(r)) {
        tss_mpc_outbox_clear(&out);
        mpc_failed(s, tss_error_detail());
        return true;
    }
    r = send_outbox(s, &out);
    if (!tss_is_ok(r)) {
        session_fail(s, TSS_WIRE_ABORT_INTERNAL, 0, "cannot send: %s", tss_error_detail());
        return true;
    }
    touch(s);
    check_finished(s);
    return true;
}

static void on_protocol_msg(pcoord *co, const tss_wire_frame *f) {
    party *pt = co->pt;
    tss_wire_protocol_msg env;
    if (!tss_is_ok(tss_wire_protocol_msg_decode(&env, f->payload, f->len, TSS_SECURE_MAX_SEALED))) {
        tss_log(LOG_WARNING, "dropping a malformed PROTOCOL_MSG: %s", tss_error_detail());
        return;
    }
    /* Another coordinator's session is not this one's to feed. */
    psession *s = pt->sessions;
    while (s && (s->co != co || memcmp(s->st.session_id, env.session_id,
                                       TSS_WIRE_SESSION_ID_LEN) != 0))
        s = s->next;
    if (!s || s->done) {
        tss_log(LOG_DEBUG, "dropping a PROTOCOL_MSG for an unknown or finished session");
        return;
    }
    bool bcast;
    if (!feed(s, f->payload, f->len, &bcast)) {
        if (s->n_held == MAX_HELD) {
            session_fail(s, TSS_WIRE_ABORT_RELAY_OR_PARTY, env.sender,
                         "more than %d out-of-order messages held (the coordinator or party %u)",
                         MAX_HELD, env.sender);
            return;
        }
        uint8_t *copy = malloc(f->len);
        if (!copy) {
            session_fail(s, TSS_WIRE_ABORT_INTERNAL, 0, "out of memory");
            return;
        }
        memcpy(copy, f->payload, f->len);
        s->held[s->n_held++] = (held_msg){copy, f->len};
        return;
    }
    /* A broadcast may carry the ephemeral key a held message needs: retry them. */
    bool again = bcast;
    while (again && !s->done) {
        again = false;
        for (size_t i = 0; i < s->n_held && !s->done; i++) {
            held_msg h = s->held[i];
            bool b2;
            if (feed(s, h.data, h.len, &b2)) {
                free(h.data);
                s->held[i] = s->held[--s->n_held];
                i--;
                again = again || b2;
            }
        }
    }
}

/* ---- SESSION_START ----------------------------------------------------------------------- */

static tss_result peers_for(party *pt, const tss_wire_session_start *st, tss_secure_peer *peers,
                            bool *self_in) {
    *self_in = false;
    for (size_t i = 0; i < st->count; i++) {
        peers[i].id = st->parties[i];
        if (st->parties[i] == pt->cfg.party_id) {
            memcpy(peers[i].identity, pt->keys->identity_public, TSS_SECURE_IDENTITY_LEN);
            *self_in = true;
            continue;
        }
        size_t k = 0;
        while (k < pt->cfg.peer_count && pt->cfg.peers[k].id != st->parties[i]) k++;
        TSS_ENSURE(k < pt->cfg.peer_count, TSS_E_CONFIG,
                   "party %u is not a pinned peer in this party's config (peers)", st->parties[i]);
        memcpy(peers[i].identity, pt->cfg.peers[k].identity, TSS_SECURE_IDENTITY_LEN);
    }
    return TSS_OK_RESULT;
}

/* Claims the wire session id durably (keystore/session_log.h), then creates
 * the protection session bound to this party's own view of the session
 * (wire/secure.h, tss_secure_context). Runs before any message leaves. */
static tss_result secure_setup(psession *s, const tss_secure_peer *peers) {
    party *pt = s->pt;
    const tss_wire_session_start *st = &s->st;
    if (!pt->wire_sids) TSS_GUARD(tss_session_log_open(&pt->wire_sids, &pt->store));
    TSS_GUARD(tss_session_log_claim(pt->wire_sids, st->session_id));
    tss_secure_context ctx;
    tss_secure_context_init(&ctx, st, s->share ? s->share->keygen_sid : NULL,
                            s->share ? s->share->n : 0);
    return tss_secure_session_new(&s->sec, &ctx, (uint16_t)pt->cfg.party_id,
                                  pt->keys->identity_secret, peers, st->count);
}

static tss_result session_setup(psession *s, tss_mpc_outbox *out) {
    party *pt = s->pt;
    const tss_wire_session_start *st = &s->st;
    tss_secure_peer peers[TSS_WIRE_MAX_PARTIES];
    bool self_in;
    TSS_GUARD(peers_for(pt, st, peers, &self_in));
    TSS_ENSURE(self_in, TSS_E_INVALID, "this party (%lld) is not in the session",
               (long long)pt->cfg.party_id);
    TSS_GUARD(tss_store_key_id_check(st->key_id));
    uint8_t sid[TSS_SID_BYTES];
    tss_secure_mpc_sid(sid, st);
    if (st->kind == TSS_WIRE_KIND_KEYGEN) {
        tss_keyshare *existing = NULL;
        tss_result r = tss_share_load(&pt->store, st->key_id, &existing);
        tss_keyshare_free(existing);
        TSS_ENSURE(r.err == TSS_E_NOT_FOUND, TSS_E_EXISTS,
                   "party %lld already holds a share of key %s", (long long)pt->cfg.party_id,
                   st->key_id);
        tss_dkg_config c;
        memset(&c, 0, sizeof c);
        TSS_GUARD(secure_setup(s, peers));
        c.self = (uint16_t)pt->cfg.party_id;
        c.threshold = st->threshold;
        c.n = st->count;
        memcpy(c.parties, st->parties, st->count * sizeof st->parties[0]);
        snprintf(c.key_id, sizeof c.key_id, "%s", st->key_id);
        memcpy(c.session_id, sid, sizeof sid);
        TSS_GUARD(tss_dkg_new(&s->dkg, &c));
        return tss_dkg_start(s->dkg, out);
    }
    /* A clone of the validated share while its file is unchanged (issue 14). */
    TSS_GUARD(pt->share_cache ? tss_share_cache_load(pt->share_cache, &pt->store, st->key_id, &s->share)
                              : tss_share_load(&pt->store, st->key_id, &s->share));
    /* Issue 17: a share of another epoch never signs (an old-epoch party
     * cannot join a new epoch's session, nor a new share an old one's). */
    TSS_ENSURE(s->share->epoch == st->epoch, TSS_E_INVALID,
               "this party holds epoch %u of key %s, the session is for epoch %u",
               s->share->epoch, st->key_id, st->epoch);
    TSS_ENSURE(s->share->threshold == st->threshold, TSS_E_INVALID,
               "key %s has threshold %u, the session says %u", st->key_id, s->share->threshold,
               st->threshold);
    TSS_GUARD(party_key_handles(pt, st->key_id, &s->key));
    /* Bans on disk join the key's shared state; an unsaved ban refuses the
     * whole key until a retry writes it. */
    tss_ban_state_merge(&s->key->bans, s->share);
    uint64_t unsaved = s->key->bans.unsaved;
    tss_result adm = tss_ban_state_admit(&s->key->bans, &pt->store, st->parties, st->count);
    if (unsaved && !s->key->bans.unsaved)
        tss_log(LOG_NOTICE, "key=%s: the pending ban is now on disk; the key is usable again "
                "without the banned party", st->key_id);
    if (adm.err == TSS_E_PROTOCOL)
        for (size_t i = 0; i < st->count; i++)
            if (tss_ban_state_has(&s->key->bans, st->parties[i])) s->refused_for = st->parties[i];
    TSS_GUARD(adm);
    /* The policy decides before the session id is claimed, a presignature
     * taken or any message sent: a refusal consumes nothing. */
    tss_result pol = party_policy_gate(pt, st, s->sid_hex);
    if (pol.err == TSS_E_PERMISSION) s->policy_refused = true;
    TSS_GUARD(pol);
    /* The context takes the keygen sid and N from our own share. */
    TSS_GUARD(secure_setup(s, peers));
    if (st->kind == TSS_WIRE_KIND_SIGN_PRESIG) {
        tss_presig *p = NULL;
        TSS_GUARD(tss_presig_store_take(s->key->presigs, st->presign_id, &p));
        tss_consume_hook hook = tss_presig_store_consume_hook(s->key->presigs);
        /* Bound to the path it was made for: another path is refused unconsumed. */
        tss_result r = tss_presig_finish_at(p, s->share, st->parties, st->count, &st->path,
                                            st->digest, &hook, out);
        tss_presig_free(p);
        return r;
    }
    tss_sign_config c;
    memset(&c, 0, sizeof c);
    c.share = s->share;
    c.count = st->count;
    memcpy(c.signers, st->parties, st->count * sizeof st->parties[0]);
    memcpy(c.session_id, sid, sizeof sid);
    c.registry = tss_sid_log_registry(s->key->sids);
    c.has_digest = st->kind == TSS_WIRE_KIND_SIGN;
    if (c.has_digest) memcpy(c.digest, st->digest, sizeof c.digest);
    c.consume = (tss_consume_hook){no_consume, NULL};
    c.bans = (tss_ban_view){tss_ban_state_view, &s->key->bans};
    c.path = st->path; /* tss_sign_new derives the tweak from our own share */
    TSS_GUARD(tss_sign_new(&s->sign, &c));
    return tss_sign_start(s->sign, out);
}

static void on_session_start(pcoord *co, const tss_wire_frame *f) {
    party *pt = co->pt;
    tss_wire_session_start st;
    if (!tss_is_ok(tss_wire_session_start_decode(&st, f->payload, f->len))) {
        char reason[400];
        snprintf(reason, sizeof reason, "bad SESSION_START: %s", tss_error_detail());
        tss_dconn_fail(co->conn, TSS_WIRE_ERR_PROTOCOL, reason);
        return;
    }
    /* Any coordinator's session: ids are unique across coordinators (the
     * durable session log refuses a reuse below as well). */
    for (psession *o = pt->sessions; o; o = o->next)
        if (memcmp(o->st.session_id, st.session_id, sizeof st.session_id) == 0) {
            send_abort(co, st.session_id, TSS_WIRE_ABORT_REFUSED, 0, "duplicate session id");
            return;
        }
    /* Capacity counts sessions not yet ended: one the coordinator cancelled
     * just before this START no longer counts even if its free is deferred
     * (ended sessions are freed after each event batch, so their number is
     * bounded by the frames one batch reads).
     * "busy" (never a fault) tells the coordinator to queue and retry. */
    if (pt->n_active >= (size_t)pt->cfg.limits.max_sessions) {
        char text[128];
        snprintf(text, sizeof text, "party %lld busy: at limits.max_sessions (%lld)",
                 (long long)pt->cfg.party_id, (long long)pt->cfg.limits.max_sessions);
        send_abort(co, st.session_id, TSS_WIRE_ABORT_BUSY, 0, text);
        return;
    }
    psession *s = calloc(1, sizeof *s);
    if (!s) {
        send_abort(co, st.session_id, TSS_WIRE_ABORT_INTERNAL, 0, "out of memory");
        return;
    }
    s->pt = pt;
    s->co = co;
    s->st = st;
    if (st.request_len + st.approvals_len) { /* the frame's payload goes away after this call */
        s->content = malloc(st.request_len + st.approvals_len);
        if (!s->content) {
            free(s);
            send_abort(co, st.session_id, TSS_WIRE_ABORT_INTERNAL, 0, "out of memory");
            return;
        }
        memcpy(s->content, st.request, st.request_len);
        if (st.approvals_len) memcpy(s->content + st.request_len, st.approvals, st.approvals_len);
        s->st.request = s->content;
        s->st.approvals = st.approvals_len ? s->content + st.request_len : NULL;
    }
    s->started = tss_now_ms();
    tss_hex_encode(s->sid_hex, st.session_id, sizeof st.session_id);
    tss_timer_init(&s->timer, on_round_timer, s);
    s->next = pt->sessions;
    pt->sessions = s;
    pt->n_sessions++;
    pt->n_active++;
    char path[TSS_BIP32_PATH_TEXT_MAX];
    tss_bip32_path_format(path, sizeof path, &st.path);
    /* The presignature a presigned sign asks for, so the logs of all
     * coordinators' sessions can be checked for an id used twice. */
    char presign[2 * TSS_WIRE_PRESIGN_ID_LEN + 16] = "";
    if (st.kind == TSS_WIRE_KIND_SIGN_PRESIG) {
        memcpy(presign, " presign_id=", 12);
        tss_hex_encode(presign + 12, st.presign_id, TSS_WIRE_PRESIGN_ID_LEN);
    }
    tss_log(LOG_INFO, "session=%s kind=%s key=%s path=%s parties=%u threshold=%u "
            "coordinator=%s%s: starting", s->sid_hex, tss_wire_kind_name(st.kind), st.key_id, path,
            st.count, st.threshold, co->addr, presign);
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    tss_result r = session_setup(s, &out);
    if (!tss_is_ok(r)) {
        tss_mpc_outbox_clear(&out);
        bool local = r.err == TSS_E_IO || r.err == TSS_E_NOMEM || r.err == TSS_E_INTERNAL;
        if (s->policy_refused) /* no fault of anyone: no culprit; the coordinator names us */
            session_fail(s, TSS_WIRE_ABORT_POLICY, 0, "%s", tss_error_detail());
        else
            session_fail(s, local ? TSS_WIRE_ABORT_INTERNAL : TSS_WIRE_ABORT_REFUSED,
                         s->refused_for, "party %lld refused: %s", (long long)pt->cfg.party_id,
                         tss_error_detail());
        return;
    }
    r = send_outbox(s, &out);
    if (!tss_is_ok(r)) {
        session_fail(s, TSS_WIRE_ABORT_INTERNAL, 0, "cannot send: %s", tss_error_detail());
        return;
    }
    if (st.kind == TSS_WIRE_KIND_SIGN_PRESIG) { /* one broadcast and done */
        tss_writer w;
        tss_writer_init(&w, 256);
        tss_wire_session_result res = {.kind = st.kind};
        memcpy(res.session_id, st.session_id, sizeof res.session_id);
        r = tss_wire_session_result_encode(&w, &res);
        if (tss_is_ok(r)) r = send_frame(co, TSS_WIRE_SESSION_RESULT, &w, "SESSION_RESULT");
        tss_writer_free(&w);
        session_end(s);
        return;
    }
    touch(s);
}

static void on_session_abort(pcoord *co, const tss_wire_frame *f) {
    party *pt = co->pt;
    tss_wire_session_abort a;
    if (!tss_is_ok(tss_wire_session_abort_decode(&a, f->payload, f->len))) {
        tss_log(LOG_WARNING, "dropping a malformed SESSION_ABORT: %s", tss_error_detail());
        return;
    }
    for (psession *s = pt->sessions; s; s = s->next)
        if (!s->done && s->co == co &&
            memcmp(s->st.session_id, a.session_id, sizeof a.session_id) == 0) {
            tss_log(LOG_NOTICE, "session=%s aborted by the coordinator (%s): %s", s->sid_hex,
                    tss_wire_abort_reason_name(a.reason), a.text);
            session_end(s);
            return;
        }
}

void party_session_frame(pcoord *co, const tss_wire_frame *f) {
    switch (f->type) {
    case TSS_WIRE_SESSION_START: on_session_start(co, f); return;
    case TSS_WIRE_PROTOCOL_MSG: on_protocol_msg(co, f); return;
    case TSS_WIRE_SESSION_ABORT: on_session_abort(co, f); return;
    default: return;
    }
}

void party_sessions_drop(pcoord *co, const char *why) {
    for (psession *s = co->pt->sessions; s; s = s->next)
        if (!s->done && s->co == co) {
            tss_log(LOG_NOTICE, "session=%s kind=%s key=%s dropped: %s", s->sid_hex,
                    tss_wire_kind_name(s->st.kind), s->st.key_id, why);
            session_end(s);
        }
}

void party_sessions_cancel_key(party *pt, const char *key_id, const char *why) {
    for (psession *s = pt->sessions; s; s = s->next)
        if (!s->done && strcmp(s->st.key_id, key_id) == 0)
            session_fail(s, TSS_WIRE_ABORT_REFUSED, 0, "%s", why);
}

void party_key_close(party *pt, const char *key_id) {
    for (pkey **pp = &pt->keys_open; *pp; pp = &(*pp)->next) {
        pkey *k = *pp;
        if (strcmp(k->key_id, key_id) != 0) continue;
        *pp = k->next;
        tss_sid_log_close(k->sids);
        tss_presig_store_close(k->presigs);
        for (size_t i = 0; i < TSS_PARTY_MAX_COORDINATORS; i++) free(k->inventory[i]);
        free(k->recent);
        free(k);
        return;
    }
}

void party_sessions_free(party *pt) {
    /* Ended sessions are freed by their deferred callback (tss_loop_free). */
    for (psession *s = pt->sessions, *next; s; s = next) {
        next = s->next;
        if (!s->done) session_free(s);
    }
    tss_session_log_close(pt->wire_sids);
    pt->wire_sids = NULL;
    while (pt->keys_open) {
        pkey *k = pt->keys_open;
        pt->keys_open = k->next;
        /* Last chance for a ban held only in memory. */
        if (k->bans.unsaved && !tss_is_ok(tss_ban_state_persist(&k->bans, &pt->store)))
            tss_log(LOG_ERR, "key=%s: exiting with a ban not on disk (%s): it is lost; keep "
                    "the banned party out of this key's signer sets and retire the key",
                    k->key_id, k->bans.reason);
        tss_sid_log_close(k->sids);
        tss_presig_store_close(k->presigs);
        for (size_t i = 0; i < TSS_PARTY_MAX_COORDINATORS; i++) free(k->inventory[i]);
        free(k->recent);
        free(k);
    }
}
