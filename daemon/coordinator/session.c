/* Coordinator sessions: operator requests (OP_REQUEST) become keygen, signing
 * and presigning sessions among party daemons, whose protocol messages the
 * coordinator relays without being able to read the private ones
 * (wire/secure.h). See docs/PROTOCOL.md "Sessions".
 *
 *  - Every session has a fresh random 16-byte id and a round timer
 *    (timeouts.round) re-armed on each message relayed; when it fires the
 *    parties that have progressed least are named. A party that disconnects,
 *    or that reports SESSION_ABORT (naming a culprit), ends the session; the
 *    others get SESSION_ABORT(cancelled).
 *  - Keygen: committed to the registry only when every party reported
 *    SESSION_RESULT with the same public key.
 *  - Signing: the final 0x61 broadcasts are not relayed but collected; each
 *    is verified against the signer's identity pinned at keygen
 *    (tss_secure_verify_signed), then tss_sign_assemble verifies the
 *    signature against X before anything is returned. When the coordinator
 *    chose the quorum and N > t, one failure is retried with another quorum
 *    that excludes the culprit.
 *  - Presigned signing: a sign request (unless OP_FLAG_NO_PRESIGN) takes the
 *    oldest presignature of the key whose signer set is online (and equals
 *    the named signers, if any), marks it used durably in the key's
 *    presignature record (registry.c) BEFORE sending SESSION_START kind 4,
 *    so no id is ever handed out twice, even across a restart. If the
 *    presigned session fails, the request continues with full signing
 *    (another quorum if the coordinator chose it and a party is at fault).
 *  - Admission (admission.h): a request starts only when the coordinator and
 *    its parties have room for one more session, else it waits in the bounded
 *    queue; a party's "busy" abort puts it back at the head, blaming nobody.
 *  - Every request ends with one audit record (audit.c). Its reply waits for
 *    the record's fdatasync when the outcome must be durable (a key created,
 *    a signature released, presignatures recorded); read-only and refused
 *    requests are never fsync'd on their own.
 *  - Each operator's requests pass its token bucket first (rate_limit). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "daemon/coordinator/admission.h"
#include "daemon/coordinator/coord.h"
#include "daemon/coordinator/pool.h"
#include "daemon/coordinator/store.h"
#include "keystore/derive.h"
#include "mpc/point.h"
#include "mpc/sign.h"
#include "policy/request.h"
#include "util/hex.h"
#include "util/log.h"
#include "wire/secure.h"

#define MAX_ATTEMPTS 2
#define PROGRESS_DONE 0xff

/* A party id as a bit of request.excluded; ids come from the wire (a culprit
 * field), so one out of range maps to no bit instead of an undefined shift. */
static uint64_t party_bit(unsigned id) { return id < 64 ? UINT64_C(1) << id : 0; }

struct request {
    request *next;
    coord *co;
    peer *op; /* NULL once the operator has gone */
    char op_name[80];
    tss_wire_op_request rq;
    key_entry *key;
    int attempts;
    uint64_t excluded; /* bit id (1..32): not to be chosen again; see party_bit */
    uint16_t presign_ok;
    bool no_presig;       /* a presigned attempt failed: full signing from now on */
    int presig_attempts;  /* presigned sessions started (not counted in MAX_ATTEMPTS) */
    uint8_t presign_id[TSS_WIRE_PRESIGN_ID_LEN]; /* of the presigned session */
    csession *active;
    int64_t started;
    bool finished;
    bool pool; /* a refill of the presignature pool (pool.c): no operator, never queued */
    char fallback[120]; /* SIGN: why no presignature was used (the last reason) */
    coord_store_cost db; /* storage round trips made for this request (store.h) */
    uint8_t *content; /* owned copies behind rq.request and rq.approvals */
};

struct csession {
    csession *next;
    coord *co;
    request *req;
    uint8_t sid[TSS_WIRE_SESSION_ID_LEN];
    char sid_hex[2 * TSS_WIRE_SESSION_ID_LEN + 1];
    uint8_t kind;
    uint16_t threshold, count;
    uint16_t parties[TSS_WIRE_MAX_PARTIES];
    uint8_t progress[TSS_WIRE_MAX_PARTIES + 1];
    tss_secure_peer peers[TSS_WIRE_MAX_PARTIES];
    tss_secure_context ctx; /* public part: what the final signing messages are bound to */
    uint8_t identities[TSS_WIRE_MAX_PARTIES + 1][32];
    uint8_t digest[TSS_WIRE_DIGEST_LEN];
    uint8_t X[TSS_WIRE_POINT_LEN];
    uint8_t chain_code[TSS_WIRE_CHAIN_CODE_LEN];
    bool have_X;
    tss_sign_partial partials[TSS_WIRE_MAX_PARTIES];
    size_t n_partials;
    uint8_t presign_id[TSS_WIRE_PRESIGN_ID_LEN];
    bool have_presign_id;
    tss_timer timer;
    tss_deferred release; /* the deferred free */
    int64_t started;
    bool done;
    /* Policy refusals (abort reason 9) collected until every signer has
     * either refused or sent a message (it decided to sign). */
    size_t n_refused;
    char refusals[TSS_WIRE_MAX_ERROR_TEXT + 1];
};

static bool in_set(const uint16_t *ids, uint16_t count, unsigned id) {
    for (size_t i = 0; i < count; i++)
        if (ids[i] == id) return true;
    return false;
}

/* Connected and responsive (liveness.c): may be given a session. */
static bool party_online(coord *co, unsigned id) { return coord_party_available(co, id); }

/* Connected (responsive or not): frames can still be queued to it. */
static bool party_connected(coord *co, unsigned id) {
    return id >= 1 && id <= TSS_WIRE_MAX_PARTIES && co->parties[id].conn &&
           co->parties[id].conn->hello && tss_dconn_is_open(co->parties[id].conn->conn);
}

static void list_ids(char *out, size_t cap, const uint16_t *ids, size_t n) {
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o + 8 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%u", i ? "," : "", ids[i]);
}

/* ---- replies ------------------------------------------------------------------------- */

static void json_safe(char *out, size_t cap, const char *in) {
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < cap; i++)
        out[j++] = (in[i] == '"' || in[i] == '\\' || (unsigned char)in[i] < 0x20) ? '\'' : in[i];
    out[j] = '\0';
}

/* An operator awaiting answers is not idle, however long its requests take
 * (a keygen on a loaded machine outlasts timeouts.idle). */
static void request_attach_operator(request *rq, peer *p) {
    rq->op = p;
    if (p->awaiting++ == 0) tss_dconn_hold_idle(p->conn, true);
}

static void request_detach_operator(request *rq) {
    peer *p = rq->op;
    if (!p) return;
    rq->op = NULL;
    if (--p->awaiting == 0) tss_dconn_hold_idle(p->conn, false);
}

static void request_free(request *rq) {
    coord *co = rq->co;
    request_detach_operator(rq);
    for (request **pp = &co->requests; *pp; pp = &(*pp)->next)
        if (*pp == rq) {
            *pp = rq->next;
            break;
        }
    free(rq->content);
    free(rq);
}

/* Send the response (if the operator is still there), audit, free. */
static void request_finish(request *rq, tss_wire_op_response *resp) {
    coord *co = rq->co;
    rq->finished = true;
    resp->request_id = rq->rq.request_id;
    resp->command = rq->rq.command;
    char digest[65] = "", signers[160] = "", detail[TSS_WIRE_MAX_ERROR_TEXT + 1], sid[33];
    /* The presignature a presigned signature used: with several coordinators
     * on one ledger, an audit reader can check no id was ever used twice. */
    char presign[2 * TSS_WIRE_PRESIGN_ID_LEN + 1] = "";
    if (rq->rq.command == TSS_WIRE_OP_SIGN && resp->status == 0 && resp->presigned)
        tss_hex_encode(presign, rq->presign_id, sizeof rq->presign_id);
    char path[TSS_BIP32_PATH_TEXT_MAX];
    tss_bip32_path_format(path, sizeof path, &rq->rq.path);
    if (rq->rq.command == TSS_WIRE_OP_SIGN) tss_hex_encode(digest, rq->rq.digest, 32);
    if (resp->has_signature) list_ids(signers, sizeof signers, resp->signers, resp->signer_count);
    tss_hex_encode(sid, resp->session_id, sizeof resp->session_id);
    json_safe(detail, sizeof detail, resp->text);
    bool durable = (resp->status == 0 || resp->status == TSS_WIRE_ERR_PENDING) &&
                   rq->rq.command != TSS_WIRE_OP_KEYS;
    coord_store_cost_take(co, NULL);
    tss_result ar = coord_store_release(
        co, rq->op_name, durable,
        "\"request\":\"%s\",\"key\":\"%s\",\"digest\":\"%s\",\"signers\":[%s],"
        "\"outcome\":\"%s\",\"culprit\":%u,\"detail\":\"%s\",\"session\":\"%s\","
        "\"attempts\":%d,\"durationMs\":%lld,\"presigned\":%u,\"path\":\"%s\"%s%s%s",
        tss_wire_op_name(rq->rq.command), rq->rq.key_id, digest, signers,
        resp->status == TSS_WIRE_ERR_PENDING ? "pending" : resp->status ? "error" : "ok",
        resp->culprit, detail, sid, rq->attempts,
        (long long)(tss_now_ms() - rq->started), resp->presigned, path,
        presign[0] ? ",\"presignId\":\"" : "", presign, presign[0] ? "\"" : "");
    coord_store_cost_take(co, &rq->db);
    if (rq->db.calls)
        tss_log(LOG_INFO, "request %s key=%s: storage %u round trip(s) %llu us",
                tss_wire_op_name(rq->rq.command), rq->rq.key_id, rq->db.calls,
                (unsigned long long)rq->db.us);
    if (!tss_is_ok(ar) && durable) {
        /* Fail closed: an outcome whose audit row is not committed is not
         * released (a signature is withheld; the operator may retry). */
        char why[160];
        snprintf(why, sizeof why, "%.159s", tss_error_detail());
        bool sig = resp->has_signature;
        uint8_t keep_sid[16];
        memcpy(keep_sid, resp->session_id, sizeof keep_sid);
        memset(resp, 0, sizeof *resp);
        resp->request_id = rq->rq.request_id;
        resp->command = rq->rq.command;
        resp->status = TSS_WIRE_ERR_INTERNAL;
        memcpy(resp->session_id, keep_sid, sizeof keep_sid);
        snprintf(resp->text, sizeof resp->text, "%s not released: its audit record is not "
                 "committed (%s)", sig ? "signature" : "outcome", why);
        for (char *c = resp->text; *c; c++)
            if (*c < 0x20 || *c > 0x7e) *c = '?';
        tss_log(LOG_ERR, "request %s key=%s from operator=%s: %s", tss_wire_op_name(rq->rq.command),
                rq->rq.key_id, rq->op_name, resp->text);
        /* Best effort (the store just failed): what was withheld. */
        json_safe(detail, sizeof detail, resp->text);
        coord_audit(co, rq->op_name, false,
                    "\"request\":\"%s\",\"key\":\"%s\",\"digest\":\"%s\",\"outcome\":\"withheld\","
                    "\"detail\":\"%s\",\"session\":\"%s\"",
                    tss_wire_op_name(rq->rq.command), rq->rq.key_id, digest, detail, sid);
    } else if (!tss_is_ok(ar)) {
        tss_log(LOG_ERR, "audit record dropped: %s", tss_error_detail());
    }
    if (rq->op && tss_dconn_is_open(rq->op->conn)) {
        tss_writer w;
        tss_writer_init(&w, co->lim.max_frame);
        tss_result r = tss_wire_op_response_encode(&w, resp);
        if (tss_is_ok(r)) coord_audit_reply(co, rq->op, TSS_WIRE_OP_RESPONSE, w.data, w.len);
        else tss_log(LOG_WARNING, "cannot answer operator=%s: %s", rq->op_name, tss_error_detail());
        tss_writer_free(&w);
    }
    if (rq->pool)
        coord_pool_refill_done(co, rq->rq.key_id, resp->status == 0 && resp->presigned > 0,
                               resp->status != 0);
    request_free(rq);
}

static void request_error(request *rq, uint16_t code, uint16_t culprit,
                          const uint8_t *sid, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void request_error(request *rq, uint16_t code, uint16_t culprit, const uint8_t *sid,
                          const char *fmt, ...) {
    tss_wire_op_response resp;
    memset(&resp, 0, sizeof resp);
    resp.status = code;
    resp.culprit = culprit;
    /* A presign batch that fails part-way still reports what it made. */
    if (rq->rq.command == TSS_WIRE_OP_PRESIGN) resp.presigned = rq->presign_ok;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(resp.text, sizeof resp.text, fmt, ap);
    va_end(ap);
    for (char *c = resp.text; *c; c++)
        if (*c < 0x20 || *c > 0x7e) *c = '?';
    if (sid) memcpy(resp.session_id, sid, sizeof resp.session_id);
    tss_log(LOG_WARNING, "request %s key=%s from operator=%s failed: %s",
            tss_wire_op_name(rq->rq.command), rq->rq.key_id, rq->op_name, resp.text);
    request_finish(rq, &resp);
}

/* ---- sessions -------------------------------------------------------------------------- */

static void session_unlink(csession *s) {
    coord *co = s->co;
    for (csession **pp = &co->sessions; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            co->n_sessions--;
            break;
        }
    /* Killed, not just disarmed: a caller up the stack (a relay that sent,
     * failed the session through a callee, then touches it) cannot re-arm
     * the timer of a session about to be freed. */
    tss_timer_kill(co->loop, &s->timer);
    for (size_t i = 0; i < s->count; i++) coord_party_release(co, s->parties[i]);
    coord_admission_kick(co);
    coord_pool_kick(co);
}

static void session_free_deferred(void *arg) { free(arg); }

/* Ends s; frees it only after the current batch (daemon/loop.h rule 1). */
static void session_end(csession *s) {
    if (s->done) return;
    s->done = true;
    session_unlink(s);
    if (s->req && s->req->active == s) s->req->active = NULL;
    tss_loop_defer_node(s->co->loop, &s->release, session_free_deferred, s);
}

static void send_to_party(coord *co, unsigned id, tss_wire_type type, const uint8_t *p, size_t n) {
    if (!party_connected(co, id)) return;
    if (!tss_is_ok(tss_dconn_send(co->parties[id].conn->conn, type, p, n)))
        tss_log(LOG_WARNING, "party=%u: cannot send %s: %s", id, tss_wire_type_name(type),
                tss_error_detail());
}

static void request_next(request *rq);
static void request_wait(request *rq, bool at_head);
static tss_result start_session(request *rq, uint8_t kind, const uint16_t *parties, uint16_t count);

/* The session failed; tell the other parties, then retry or answer. */
static void session_fail(csession *s, uint8_t reason, uint16_t culprit, unsigned reporter,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void session_fail(csession *s, uint8_t reason, uint16_t culprit, unsigned reporter,
                         const char *fmt, ...) {
    if (s->done) return;
    coord *co = s->co;
    char text[TSS_WIRE_MAX_ERROR_TEXT + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    for (char *c = text; *c; c++)
        if (*c < 0x20 || *c > 0x7e) *c = '?';
    bool busy = reason == TSS_WIRE_ABORT_BUSY;
    if (busy) /* capacity, not a fault: nobody is named */
        tss_log(LOG_NOTICE, "session=%s kind=%s key=%s: party %u is busy, request queued again: %s",
                s->sid_hex, tss_wire_kind_name(s->kind), s->req ? s->req->rq.key_id : "?",
                reporter, text);
    else
        tss_log(LOG_WARNING, "session=%s kind=%s key=%s failed (%s, culprit party=%u): %s",
                s->sid_hex, tss_wire_kind_name(s->kind), s->req ? s->req->rq.key_id : "?",
                tss_wire_abort_reason_name(reason), culprit, text);
    tss_wire_session_abort a;
    memset(&a, 0, sizeof a);
    memcpy(a.session_id, s->sid, sizeof a.session_id);
    a.reason = TSS_WIRE_ABORT_CANCELLED;
    a.culprit = culprit;
    snprintf(a.text, sizeof a.text, "%s", text);
    tss_writer w;
    tss_writer_init(&w, 1024);
    if (tss_is_ok(tss_wire_session_abort_encode(&w, &a)))
        for (size_t i = 0; i < s->count; i++)
            if (s->parties[i] != reporter && s->progress[s->parties[i]] != PROGRESS_DONE)
                send_to_party(co, s->parties[i], TSS_WIRE_SESSION_ABORT, w.data, w.len);
    tss_writer_free(&w);
    request *rq = s->req;
    uint8_t sid[TSS_WIRE_SESSION_ID_LEN];
    memcpy(sid, s->sid, sizeof sid);
    uint8_t kind = s->kind;
    session_end(s);
    if (busy) coord_party_busy(co, reporter);
    if (!rq) return;
    if (busy && rq->pool) { /* a refill never queues: the pool tries again later */
        coord_pool_refill_done(co, rq->rq.key_id, false, false);
        request_free(rq);
        return;
    }
    if (busy) {
        rq->attempts--; /* it never ran */
        request_wait(rq, true);
        return;
    }
    int max_attempts = MAX_ATTEMPTS + rq->presig_attempts;
    if (kind == TSS_WIRE_KIND_SIGN_PRESIG) {
        /* The presignature is spent either way; sign in full from now on. A party
         * that refused (it lacks or has consumed that presignature) is healthy. */
        rq->no_presig = true;
        snprintf(rq->fallback, sizeof rq->fallback, "the presigned attempt failed: %.80s", text);
        if (reason == TSS_WIRE_ABORT_REFUSED && rq->attempts < max_attempts) {
            tss_log(LOG_NOTICE, "request sign key=%s: presigned signing refused (%s); full signing",
                    rq->rq.key_id, text);
            request_next(rq);
            return;
        }
    }
    /* Retry once with another quorum when the coordinator chose it. */
    if ((kind == TSS_WIRE_KIND_SIGN || kind == TSS_WIRE_KIND_PRESIGN ||
         kind == TSS_WIRE_KIND_SIGN_PRESIG) &&
        rq->rq.count == 0 && rq->attempts < max_attempts && culprit) {
        rq->excluded |= party_bit(culprit);
        tss_log(LOG_NOTICE, "request %s key=%s: retrying without party %u",
                tss_wire_op_name(rq->rq.command), rq->rq.key_id, culprit);
        request_next(rq);
        return;
    }
    if (kind == TSS_WIRE_KIND_PRESIGN && rq->presign_ok) {
        tss_wire_op_response resp;
        memset(&resp, 0, sizeof resp);
        resp.presigned = rq->presign_ok;
        memcpy(resp.session_id, sid, sizeof sid);
        snprintf(resp.text, sizeof resp.text, "stopped after %u: %.200s", rq->presign_ok, text);
        request_finish(rq, &resp);
        return;
    }
    if (reason == TSS_WIRE_ABORT_POLICY) { /* no retry: the answer is the parties' */
        request_error(rq, TSS_WIRE_ERR_UNAUTHORIZED, 0, sid, "%s", text);
        return;
    }
    uint16_t code = reason == TSS_WIRE_ABORT_TIMEOUT ? TSS_WIRE_ERR_LIMIT : TSS_WIRE_ERR_PROTOCOL;
    request_error(rq, code, culprit, sid, "%s session failed: %s", tss_wire_kind_name(kind), text);
}

static void on_session_timer(void *arg) {
    csession *s = arg;
    if (s->n_refused) { /* a signer never decided: the refusals are still the answer */
        session_fail(s, TSS_WIRE_ABORT_POLICY, 0, 0, "%s", s->refusals);
        return;
    }
    uint8_t min = PROGRESS_DONE;
    for (size_t i = 0; i < s->count; i++)
        if (s->progress[s->parties[i]] < min) min = s->progress[s->parties[i]];
    uint16_t late[TSS_WIRE_MAX_PARTIES] = {0};
    uint16_t n = 0;
    for (size_t i = 0; i < s->count; i++)
        if (s->progress[s->parties[i]] == min) late[n++] = s->parties[i];
    char list[160];
    list_ids(list, sizeof list, late, n);
    session_fail(s, TSS_WIRE_ABORT_TIMEOUT, n ? late[0] : 0, 0,
                 "party %s timed out: no message for round %u within %llums", list,
                 (unsigned)min + 1, (unsigned long long)s->co->cfg.timeouts.round);
}

static void touch(csession *s) {
    if (s->done) return;
    if (!tss_is_ok(tss_timer_arm(s->co->loop, &s->timer,
                                 tss_now_ms() + (int64_t)s->co->cfg.timeouts.round)))
        session_fail(s, TSS_WIRE_ABORT_INTERNAL, 0, 0, "cannot arm the round timer");
}

/* The identities pinned in keys/<key>.json must be the ones the parties
 * present: a mismatch is a damaged key file (or a re-keyed party), never
 * grounds to blame a party for messages that fail to verify. */
static tss_result identities_match(const request *rq, const uint16_t *parties, uint16_t count) {
    const coord *co = rq->co;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *seen_key = co->parties[parties[i]].hello.identity_key;
        if (memcmp(rq->key->identities[parties[i]], seen_key, 32) == 0) continue;
        char pinned[TSS_IDENTITY_TEXT_LEN], seen[TSS_IDENTITY_TEXT_LEN];
        tss_identity_format(rq->key->identities[parties[i]], pinned);
        tss_identity_format(seen_key, seen);
        return tss_fail(TSS_E_CORRUPT,
                        "%s/keys/%s.json pins identity %s for party %u, but the party presents "
                        "%s: the key file is damaged (or the party's mnemonic changed); no "
                        "party is blamed; see docs/OPERATIONS.md \"Damaged state files\"",
                        co->cfg.state_dir, rq->rq.key_id, pinned, parties[i], seen);
    }
    return TSS_OK_RESULT;
}

static tss_result start_session(request *rq, uint8_t kind, const uint16_t *parties,
                                uint16_t count) {
    coord *co = rq->co;
    TSS_ENSURE(co->n_sessions < (size_t)co->cfg.limits.max_sessions, TSS_E_TOO_LARGE,
               "coordinator at limits.max_sessions (%lld)", (long long)co->cfg.limits.max_sessions);
    for (size_t i = 0; i < count; i++)
        TSS_ENSURE(party_online(co, parties[i]), TSS_E_NOT_FOUND,
                   "party %u is not connected%s", parties[i],
                   party_connected(co, parties[i]) ? " (connected but unresponsive)" : "");
    if (kind != TSS_WIRE_KIND_KEYGEN) TSS_GUARD(identities_match(rq, parties, count));
    csession *s = calloc(1, sizeof *s);
    TSS_ENSURE(s != NULL, TSS_E_NOMEM, "no memory for a session");
    s->co = co;
    s->req = rq;
    s->kind = kind;
    s->count = count;
    memcpy(s->parties, parties, count * sizeof parties[0]);
    s->threshold = kind == TSS_WIRE_KIND_KEYGEN ? rq->rq.threshold : rq->key->info.threshold;
    randombytes_buf(s->sid, sizeof s->sid);
    tss_hex_encode(s->sid_hex, s->sid, sizeof s->sid);
    /* Used once per store, across coordinators sharing it (store.h). */
    coord_store_cost_take(co, NULL);
    tss_result cr = coord_store_session_id_claim(co, s->sid);
    coord_store_cost_take(co, &rq->db);
    if (!tss_is_ok(cr)) {
        free(s);
        return cr;
    }
    memcpy(s->digest, rq->rq.digest, sizeof s->digest);
    for (size_t i = 0; i < count; i++) {
        unsigned id = parties[i];
        const uint8_t *ident = kind == TSS_WIRE_KIND_KEYGEN ? co->parties[id].hello.identity_key
                                                            : rq->key->identities[id];
        memcpy(s->identities[id], ident, 32);
        s->peers[i].id = (uint16_t)id;
        memcpy(s->peers[i].identity, ident, 32);
    }
    s->started = tss_now_ms();
    tss_timer_init(&s->timer, on_session_timer, s);
    tss_wire_session_start st;
    memset(&st, 0, sizeof st);
    memcpy(st.session_id, s->sid, sizeof st.session_id);
    st.kind = kind;
    snprintf(st.key_id, sizeof st.key_id, "%s", rq->rq.key_id);
    st.threshold = s->threshold;
    st.count = count;
    memcpy(st.parties, parties, count * sizeof parties[0]);
    st.round_timeout_ms = (uint32_t)co->cfg.timeouts.round;
    if (kind == TSS_WIRE_KIND_SIGN || kind == TSS_WIRE_KIND_SIGN_PRESIG)
        memcpy(st.digest, rq->rq.digest, sizeof st.digest);
    if (kind == TSS_WIRE_KIND_SIGN_PRESIG)
        memcpy(st.presign_id, rq->presign_id, sizeof st.presign_id);
    if (kind != TSS_WIRE_KIND_KEYGEN) st.path = rq->rq.path;
    if (kind == TSS_WIRE_KIND_SIGN || kind == TSS_WIRE_KIND_SIGN_PRESIG) {
        st.request = rq->rq.request;
        st.request_len = rq->rq.request_len;
        st.approvals = rq->rq.approvals;
        st.approvals_len = rq->rq.approvals_len;
    }
    if (kind != TSS_WIRE_KIND_KEYGEN && rq->key) st.epoch = rq->key->info.epoch;
    tss_secure_context_init(&s->ctx, &st, NULL, 0); /* only ctx.pub is used: no share here */
    tss_writer w;
    tss_writer_init(&w, 4096 + 2 * TSS_BIP32_MAX_DEPTH + st.request_len + st.approvals_len);
    tss_result r = tss_wire_session_start_encode(&w, &st);
    if (!tss_is_ok(r)) {
        tss_writer_free(&w);
        free(s);
        return r;
    }
    s->next = co->sessions;
    co->sessions = s;
    co->n_sessions++;
    for (size_t i = 0; i < count; i++) coord_party_take(co, parties[i]);
    rq->active = s;
    rq->attempts++;
    char list[160];
    list_ids(list, sizeof list, parties, count);
    char path[TSS_BIP32_PATH_TEXT_MAX];
    tss_bip32_path_format(path, sizeof path, &st.path);
    tss_log(LOG_INFO, "session=%s kind=%s key=%s path=%s parties=%s threshold=%u operator=%s: "
            "starting", s->sid_hex, tss_wire_kind_name(kind), rq->rq.key_id, path, list,
            s->threshold, rq->op_name);
    for (size_t i = 0; i < count; i++) send_to_party(co, parties[i], TSS_WIRE_SESSION_START, w.data, w.len);
    tss_writer_free(&w);
    touch(s);
    return TSS_OK_RESULT;
}

/* Pick t online parties of the key, not excluded, with room for a session:
 * the least loaded first, ties in rotating order. 1: chosen; 0: fewer than t
 * are connected (an error); -1: enough are connected but not enough have
 * room (wait). */
static int choose_quorum(request *rq, uint16_t *out) {
    coord *co = rq->co;
    const tss_wire_key_info *k = &rq->key->info;
    uint16_t cand[TSS_WIRE_MAX_PARTIES];
    size_t nc = 0, online = 0;
    for (size_t i = 0; i < k->count; i++) {
        unsigned id = k->parties[(i + co->rotate) % k->count];
        if (!party_online(co, id) || (rq->excluded & party_bit(id))) continue;
        online++;
        if (coord_party_has_room(co, id)) cand[nc++] = (uint16_t)id;
    }
    if (online < k->threshold) return 0;
    if (nc < k->threshold) return -1;
    co->rotate++;
    /* stable insertion sort by load keeps the rotation among equals */
    for (size_t i = 1; i < nc; i++) {
        uint16_t c = cand[i];
        size_t j = i;
        while (j > 0 && coord_party_load(co, cand[j - 1]) > coord_party_load(co, c)) {
            cand[j] = cand[j - 1];
            j--;
        }
        cand[j] = c;
    }
    /* the first t, ascending */
    for (size_t i = 0; i < k->threshold; i++)
        for (size_t j = i + 1; j < k->threshold; j++)
            if (cand[j] < cand[i]) {
                uint16_t t = cand[i];
                cand[i] = cand[j];
                cand[j] = t;
            }
    memcpy(out, cand, k->threshold * sizeof out[0]);
    return 1;
}

static bool all_have_room(const coord *co, const uint16_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!coord_party_has_room(co, ids[i])) return false;
    return true;
}

/* The oldest presignature of the key whose signer set is online, not
 * excluded and has room (and equals the named signers, if any); -1 if none. */
static long find_presig(request *rq) {
    const key_entry *k = rq->key;
    for (size_t i = 0; i < k->n_presigs; i++) {
        const coord_presig *p = &k->presigs[i];
        if (rq->rq.count && (p->count != rq->rq.count ||
                             memcmp(p->signers, rq->rq.parties, p->count * sizeof p->signers[0])))
            continue;
        /* Pool per path: a presignature serves only the path it was made for. */
        if (!tss_bip32_path_eq(&p->path, &rq->rq.path)) continue;
        bool usable = true;
        for (size_t j = 0; usable && j < p->count; j++)
            usable = party_online(rq->co, p->signers[j]) &&
                     !(rq->excluded & party_bit(p->signers[j])) &&
                     coord_party_has_room(rq->co, p->signers[j]);
        if (usable) return (long)i;
    }
    return -1;
}

/* Sign with a presignature if there is a usable one: mark it used durably,
 * then start the kind-4 session. false: sign in full instead. */
static bool start_presigned(request *rq) {
    coord *co = rq->co;
    if (rq->rq.flags & TSS_WIRE_OP_FLAG_NO_PRESIGN) {
        snprintf(rq->fallback, sizeof rq->fallback, "full signing requested (no-presign)");
        return false;
    }
    if (rq->no_presig) return false; /* rq->fallback says why */
    if (co->n_sessions >= (size_t)co->cfg.limits.max_sessions) return false;
    long i = find_presig(rq);
    if (i < 0) {
        size_t for_path = 0;
        for (size_t j = 0; j < rq->key->n_presigs; j++)
            for_path += tss_bip32_path_eq(&rq->key->presigs[j].path, &rq->rq.path);
        snprintf(rq->fallback, sizeof rq->fallback, "%s",
                 for_path == 0 ? "no presignature ready (pool empty)"
                 : rq->rq.count ? "no presignature ready for the named signers"
                                : "no presignature whose signers are all available with room");
        return false;
    }
    /* Before taking one: a key-file mismatch must not burn presignatures. */
    if (!tss_is_ok(identities_match(rq, rq->key->presigs[i].signers, rq->key->presigs[i].count))) {
        snprintf(rq->fallback, sizeof rq->fallback, "the key file's pinned identities differ");
        return false;
    }
    coord_presig p;
    coord_store_cost_take(co, NULL);
    tss_result r = coord_store_presig_claim(co, rq->key, (size_t)i, &p);
    char hex[2 * TSS_WIRE_PRESIGN_ID_LEN + 1];
    tss_hex_encode(hex, p.id, sizeof p.id);
    /* Another coordinator sharing the store took it first: try the next. */
    for (int tries = 0; r.err == TSS_E_NOT_FOUND && tries < 8; tries++) {
        tss_log(LOG_INFO, "key=%s: %s", rq->rq.key_id, tss_error_detail());
        if ((i = find_presig(rq)) < 0) return false;
        r = coord_store_presig_claim(co, rq->key, (size_t)i, &p);
        tss_hex_encode(hex, p.id, sizeof p.id);
    }
    coord_store_cost_take(co, &rq->db);
    if (!tss_is_ok(r)) {
        tss_log(LOG_ERR, "key=%s: cannot mark presignature %s used (%s); signing in full",
                rq->rq.key_id, hex, tss_error_detail());
        snprintf(rq->fallback, sizeof rq->fallback, "cannot mark a presignature used");
        return false;
    }
    memcpy(rq->presign_id, p.id, sizeof p.id);
    rq->presig_attempts++;
    tss_log(LOG_INFO, "request sign key=%s: presignature %s marked used (%zu left)", rq->rq.key_id,
            hex, rq->key->n_presigs);
    r = start_session(rq, TSS_WIRE_KIND_SIGN_PRESIG, p.signers, p.count);
    if (tss_is_ok(r)) return true;
    tss_log(LOG_WARNING, "key=%s: cannot start presigned signing (%s); signing in full",
            rq->rq.key_id, tss_error_detail());
    snprintf(rq->fallback, sizeof rq->fallback, "cannot start presigned signing");
    rq->presig_attempts--;
    return false;
}

/* Start the (next) session of a request if the coordinator and its parties
 * have room; errors (nobody to run it with) answer the request. */
static coord_admit try_start(request *rq) {
    coord *co = rq->co;
    uint16_t ids[TSS_WIRE_MAX_PARTIES];
    uint16_t count = rq->rq.count;
    uint8_t kind = rq->rq.command == TSS_WIRE_OP_KEYGEN ? TSS_WIRE_KIND_KEYGEN
                   : rq->rq.command == TSS_WIRE_OP_SIGN ? TSS_WIRE_KIND_SIGN
                                                        : TSS_WIRE_KIND_PRESIGN;
    if (co->stopping) {
        request_error(rq, TSS_WIRE_ERR_SHUTDOWN, 0, NULL, "coordinator shutting down");
        return COORD_ADMIT_STARTED;
    }
    if (rq->key && rq->key->info.retired) { /* retired while it waited or between attempts */
        request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL, "key %s is retired: it no longer signs",
                      rq->rq.key_id);
        return COORD_ADMIT_STARTED;
    }
    if (co->n_sessions >= (size_t)co->cfg.limits.max_sessions) return COORD_ADMIT_WAIT;
    if (kind == TSS_WIRE_KIND_SIGN && start_presigned(rq)) return COORD_ADMIT_STARTED;
    if (count) {
        memcpy(ids, rq->rq.parties, count * sizeof ids[0]);
    } else if (kind == TSS_WIRE_KIND_KEYGEN) {
        for (unsigned id = 1; id <= TSS_WIRE_MAX_PARTIES; id++)
            if (co->parties[id].configured) ids[count++] = (uint16_t)id;
    } else {
        int c = choose_quorum(rq, ids);
        if (c < 0) return COORD_ADMIT_WAIT;
        if (c == 0) {
            char ex[160] = "";
            if (rq->excluded) {
                uint16_t e[32];
                uint16_t n = 0;
                for (unsigned id = 1; id <= 32; id++)
                    if (rq->excluded & party_bit(id)) e[n++] = (uint16_t)id;
                list_ids(ex, sizeof ex, e, n);
            }
            request_error(rq, TSS_WIRE_ERR_LIMIT, 0, NULL,
                          "fewer than %u parties of key %s are connected%s%s",
                          rq->key->info.threshold, rq->key->info.key_id, ex[0] ? " excluding " : "",
                          ex);
            return COORD_ADMIT_STARTED;
        }
        count = rq->key->info.threshold;
    }
    /* Named (or all) parties: wait for room only if they are all connected;
     * one that is not fails the request at once. */
    bool connected = true;
    for (size_t i = 0; i < count; i++) connected = connected && party_online(co, ids[i]);
    if (connected && !all_have_room(co, ids, count)) return COORD_ADMIT_WAIT;
    tss_result r = start_session(rq, kind, ids, count);
    if (!tss_is_ok(r)) {
        if (r.err == TSS_E_CORRUPT) tss_log(LOG_ERR, "%s", tss_error_detail());
        request_error(rq, r.err == TSS_E_TOO_LARGE ? TSS_WIRE_ERR_LIMIT : TSS_WIRE_ERR_PROTOCOL, 0,
                      NULL, "%s", tss_error_detail());
    }
    return COORD_ADMIT_STARTED;
}

/* Queue a request that cannot start now; a full queue refuses it. */
static void request_wait(request *rq, bool at_head) {
    tss_result r = coord_queue_push(rq->co, rq, at_head);
    if (!tss_is_ok(r)) {
        request_error(rq, TSS_WIRE_ERR_LIMIT, 0, NULL, "%s", tss_error_detail());
        return;
    }
    tss_log(LOG_DEBUG, "request %s key=%s from operator=%s queued (%zu waiting)",
            tss_wire_op_name(rq->rq.command), rq->rq.key_id, rq->op_name, rq->co->queue.n);
}

/* Start the (next) session of a request, or queue it (a pool refill is
 * dropped instead: the pool tries again when there is room). */
static void request_next(request *rq) {
    if (try_start(rq) != COORD_ADMIT_WAIT) return;
    if (rq->pool) {
        coord_pool_refill_done(rq->co, rq->rq.key_id, false, false);
        request_free(rq);
        return;
    }
    request_wait(rq, false);
}

coord_admit coord_request_admit(request *rq) { return try_start(rq); }

void coord_request_refuse(request *rq, uint16_t code, const char *text) {
    request_error(rq, code, 0, NULL, "%s", text);
}

/* ---- completion ------------------------------------------------------------------------- */

static void keygen_done(csession *s) {
    request *rq = s->req;
    coord *co = s->co;
    tss_wire_key_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.key_id, sizeof info.key_id, "%s", rq->rq.key_id);
    info.threshold = s->threshold;
    info.count = s->count;
    memcpy(info.parties, s->parties, s->count * sizeof s->parties[0]);
    memcpy(info.public_key, s->X, sizeof info.public_key);
    memcpy(info.chain_code, s->chain_code, sizeof info.chain_code);
    info.has_chain_code = 1;
    info.created_ms = (uint64_t)tss_wall_ms();
    uint8_t sid[16];
    memcpy(sid, s->sid, sizeof sid);
    tss_log(LOG_INFO, "session=%s keygen key=%s done in %lldms", s->sid_hex, info.key_id,
            (long long)(tss_now_ms() - s->started));
    tss_result r = coord_store_key_add(co, &info, (const uint8_t(*)[32])s->identities, sid);
    session_end(s);
    if (!tss_is_ok(r)) {
        request_error(rq, TSS_WIRE_ERR_INTERNAL, 0, sid, "cannot commit key %s: %s", info.key_id,
                      tss_error_detail());
        return;
    }
    tss_wire_op_response resp;
    memset(&resp, 0, sizeof resp);
    memcpy(resp.session_id, sid, sizeof sid);
    resp.key_count = 1;
    resp.keys = &info;
    request_finish(rq, &resp);
}

tss_result coord_signing_key(tss_point *out, const key_entry *k, const tss_bip32_path *path) {
    tss_point X;
    TSS_GUARD(tss_pt_decode(&X, k->info.public_key, "public key"));
    if (path->depth == 0) {
        *out = X;
        return TSS_OK_RESULT;
    }
    TSS_ENSURE(k->info.has_chain_code, TSS_E_NOT_FOUND,
               "key %s has no chain code in the registry (registered before tssd kept it): it "
               "cannot sign under a derivation path", k->info.key_id);
    tss_bip32_node root, child;
    tss_bip32_root(&root, &X, k->info.chain_code);
    TSS_GUARD(tss_bip32_derive(&child, NULL, &root, path));
    *out = child.key;
    return TSS_OK_RESULT;
}

static void sign_done(csession *s) {
    request *rq = s->req;
    tss_point X;
    tss_signature sig;
    /* Verified before release against the key it was made for: the child key
     * under the request's path (computed here from the registry's X and chain
     * code, as every signer computed it from its share). */
    tss_result r = coord_signing_key(&X, rq->key, &rq->rq.path);
    if (tss_is_ok(r)) r = tss_sign_assemble(s->partials, s->n_partials, &X, s->digest, &sig);
    if (!tss_is_ok(r)) {
        session_fail(s, TSS_WIRE_ABORT_MISBEHAVIOUR, 0, 0, "assembly failed: %s",
                     tss_error_detail());
        return;
    }
    tss_wire_op_response resp;
    memset(&resp, 0, sizeof resp);
    memcpy(resp.session_id, s->sid, sizeof resp.session_id);
    resp.key_count = 1;
    resp.keys = &rq->key->info;
    resp.has_signature = 1;
    memcpy(resp.r, sig.r, 32);
    memcpy(resp.s, sig.s, 32);
    resp.recid = sig.recid;
    memcpy(resp.digest, s->digest, 32);
    resp.signer_count = s->count;
    memcpy(resp.signers, s->parties, s->count * sizeof s->parties[0]);
    resp.presigned = s->kind == TSS_WIRE_KIND_SIGN_PRESIG;
    /* Full signing says why no presignature was used (text on success). */
    if (!resp.presigned)
        snprintf(resp.text, sizeof resp.text, "full signing: %s",
                 rq->fallback[0] ? rq->fallback : "no presignature ready");
    tss_log(LOG_INFO, "session=%s %s key=%s done in %lldms (verified)", s->sid_hex,
            tss_wire_kind_name(s->kind), rq->rq.key_id, (long long)(tss_now_ms() - s->started));
    session_end(s);
    request_finish(rq, &resp);
}

static void presign_done(csession *s) {
    request *rq = s->req;
    tss_result r = coord_store_presig_add(s->co, rq->key, s->presign_id, s->parties, s->count,
                                          &rq->rq.path);
    if (!tss_is_ok(r)) {
        session_fail(s, TSS_WIRE_ABORT_INTERNAL, 0, 0, "cannot record the presignature: %s",
                     tss_error_detail());
        return;
    }
    rq->presign_ok++;
    tss_log(LOG_INFO, "session=%s presign key=%s done in %lldms (%zu available)", s->sid_hex,
            rq->rq.key_id, (long long)(tss_now_ms() - s->started), rq->key->n_presigs);
    uint8_t sid[16];
    memcpy(sid, s->sid, sizeof sid);
    session_end(s);
    if (rq->presign_ok < rq->rq.presign_count) {
        rq->attempts = 0;
        request_next(rq);
        return;
    }
    tss_wire_op_response resp;
    memset(&resp, 0, sizeof resp);
    memcpy(resp.session_id, sid, sizeof sid);
    resp.presigned = rq->presign_ok;
    request_finish(rq, &resp);
}

/* ---- frames from parties ------------------------------------------------------------------ */

static csession *find_session(coord *co, const uint8_t *sid) {
    for (csession *s = co->sessions; s; s = s->next)
        if (memcmp(s->sid, sid, TSS_WIRE_SESSION_ID_LEN) == 0) return s;
    return NULL;
}

static void refusals_settle(csession *s);

static void on_partial(csession *s, unsigned from, const tss_wire_protocol_msg *env) {
    tss_secure_signed_view view;
    tss_result r = tss_secure_verify_signed(&s->ctx, s->peers, s->count, env, &view);
    if (tss_is_ok(r) && view.type != TSS_MSG_SIGN_FINAL_BCAST)
        r = tss_fail(TSS_E_PROTOCOL, "unexpected message type 0x%02x", view.type);
    for (size_t i = 0; tss_is_ok(r) && i < s->n_partials; i++)
        if (s->partials[i].party == from)
            r = tss_fail(TSS_E_PROTOCOL, "duplicate final message");
    if (tss_is_ok(r))
        r = tss_sign_partial_decode(&s->partials[s->n_partials], (uint16_t)from, view.data, view.len);
    if (!tss_is_ok(r)) {
        session_fail(s, TSS_WIRE_ABORT_MISBEHAVIOUR, (uint16_t)from, 0,
                     "party %u sent a bad final signing message: %s", from, tss_error_detail());
        return;
    }
    s->n_partials++;
    s->progress[from] = PROGRESS_DONE;
    if (s->n_refused) refusals_settle(s);
    else if (s->n_partials == s->count) sign_done(s);
    else touch(s);
}

static void on_protocol_msg(peer *p, const tss_wire_frame *f) {
    coord *co = p->co;
    tss_wire_protocol_msg env;
    tss_result r = tss_wire_protocol_msg_decode(&env, f->payload, f->len, TSS_SECURE_MAX_SEALED);
    if (!tss_is_ok(r)) {
        tss_dconn_fail(p->conn, TSS_WIRE_ERR_PROTOCOL, "malformed PROTOCOL_MSG");
        return;
    }
    csession *s = find_session(co, env.session_id);
    if (!s) {
        tss_log(LOG_DEBUG, "party=%u: PROTOCOL_MSG for an unknown session dropped", p->party_id);
        return;
    }
    unsigned from = p->party_id;
    if (env.sender != from || !in_set(s->parties, s->count, from) ||
        (env.receiver != TSS_WIRE_BROADCAST && !in_set(s->parties, s->count, env.receiver))) {
        session_fail(s, TSS_WIRE_ABORT_MISBEHAVIOUR, (uint16_t)from, 0,
                     "party %u sent a PROTOCOL_MSG as %u to %u outside the session", from,
                     env.sender, env.receiver);
        return;
    }
    if ((s->kind == TSS_WIRE_KIND_SIGN || s->kind == TSS_WIRE_KIND_SIGN_PRESIG) &&
        env.payload_len > 0 && env.payload[0] == TSS_MSG_SIGN_FINAL_BCAST) {
        on_partial(s, from, &env);
        return;
    }
    if (env.round > s->progress[from] && s->progress[from] != PROGRESS_DONE)
        s->progress[from] = env.round;
    if (s->n_refused) { /* a signer refused: the session cannot finish; relay nothing more */
        refusals_settle(s);
        return;
    }
    if (env.receiver == TSS_WIRE_BROADCAST) {
        for (size_t i = 0; i < s->count; i++)
            if (s->parties[i] != from) send_to_party(co, s->parties[i], TSS_WIRE_PROTOCOL_MSG, f->payload, f->len);
    } else {
        send_to_party(co, env.receiver, TSS_WIRE_PROTOCOL_MSG, f->payload, f->len);
    }
    touch(s);
}

static void on_result(peer *p, const tss_wire_frame *f) {
    tss_wire_session_result res;
    if (!tss_is_ok(tss_wire_session_result_decode(&res, f->payload, f->len))) {
        tss_dconn_fail(p->conn, TSS_WIRE_ERR_PROTOCOL, "malformed SESSION_RESULT");
        return;
    }
    csession *s = find_session(p->co, res.session_id);
    unsigned from = p->party_id;
    if (!s || !in_set(s->parties, s->count, from)) return;
    if (res.kind != s->kind) {
        session_fail(s, TSS_WIRE_ABORT_MISBEHAVIOUR, (uint16_t)from, 0,
                     "party %u reported a %s result for a %s session", from,
                     tss_wire_kind_name(res.kind), tss_wire_kind_name(s->kind));
        return;
    }
    if (s->kind == TSS_WIRE_KIND_KEYGEN) {
        if (s->have_X && (memcmp(s->X, res.data, TSS_WIRE_POINT_LEN) != 0 ||
                          memcmp(s->chain_code, res.data + TSS_WIRE_POINT_LEN,
                                 TSS_WIRE_CHAIN_CODE_LEN) != 0)) {
            session_fail(s, TSS_WIRE_ABORT_MISBEHAVIOUR, (uint16_t)from, 0,
                         "party %u reported a different public key or chain code", from);
            return;
        }
        memcpy(s->X, res.data, TSS_WIRE_POINT_LEN);
        memcpy(s->chain_code, res.data + TSS_WIRE_POINT_LEN, TSS_WIRE_CHAIN_CODE_LEN);
        s->have_X = true;
    } else if (s->kind == TSS_WIRE_KIND_PRESIGN) {
        if (s->have_presign_id && memcmp(s->presign_id, res.data, 32) != 0) {
            session_fail(s, TSS_WIRE_ABORT_MISBEHAVIOUR, (uint16_t)from, 0,
                         "party %u reported a different presignature id", from);
            return;
        }
        memcpy(s->presign_id, res.data, 32);
        s->have_presign_id = true;
    } else {
        return; /* signing: the final broadcast is the result */
    }
    s->progress[from] = PROGRESS_DONE;
    for (size_t i = 0; i < s->count; i++)
        if (s->progress[s->parties[i]] != PROGRESS_DONE) {
            touch(s);
            return;
        }
    if (s->kind == TSS_WIRE_KIND_KEYGEN) keygen_done(s);
    else presign_done(s);
}

/* Every signer has refused or sent a message (its policy allowed the
 * request): answer with all refusals at once. */
static void refusals_settle(csession *s) {
    if (s->done || !s->n_refused) return;
    for (size_t i = 0; i < s->count; i++)
        if (!s->progress[s->parties[i]]) return; /* not decided yet */
    session_fail(s, TSS_WIRE_ABORT_POLICY, 0, 0, "%s", s->refusals);
}

static void on_policy_refusal(csession *s, unsigned from, const char *text) {
    size_t o = strlen(s->refusals);
    /* "refused by policy: party 1 policy: ...; party 3 policy: ..." — the id
     * is the authenticated connection's, the rest is the party's text. */
    snprintf(s->refusals + o, sizeof s->refusals - o, "%sparty %u %s",
             o ? "; " : "refused by policy: ", from, text);
    s->n_refused++;
    s->progress[from] = PROGRESS_DONE;
    tss_log(LOG_WARNING, "session=%s key=%s: party %u refused by its policy: %s", s->sid_hex,
            s->req ? s->req->rq.key_id : "?", from, text);
    refusals_settle(s);
}

static void on_abort(peer *p, const tss_wire_frame *f) {
    tss_wire_session_abort a;
    if (!tss_is_ok(tss_wire_session_abort_decode(&a, f->payload, f->len))) {
        tss_dconn_fail(p->conn, TSS_WIRE_ERR_PROTOCOL, "malformed SESSION_ABORT");
        return;
    }
    csession *s = find_session(p->co, a.session_id);
    if (!s || !in_set(s->parties, s->count, p->party_id)) return;
    if (a.reason == TSS_WIRE_ABORT_POLICY) {
        on_policy_refusal(s, p->party_id, a.text);
        return;
    }
    uint16_t culprit = a.culprit;
    /* A party that cannot take part (no share, refused, local failure) is the one to avoid. */
    if (!culprit && a.reason != TSS_WIRE_ABORT_MISBEHAVIOUR && a.reason != TSS_WIRE_ABORT_BUSY)
        culprit = (uint16_t)p->party_id;
    s->progress[p->party_id] = PROGRESS_DONE; /* it has dropped the session */
    session_fail(s, a.reason, culprit, p->party_id, "%s", a.text);
}

void coord_party_frame(peer *p, const tss_wire_frame *f) {
    switch (f->type) {
    case TSS_WIRE_PROTOCOL_MSG: on_protocol_msg(p, f); return;
    case TSS_WIRE_SESSION_RESULT: on_result(p, f); return;
    case TSS_WIRE_SESSION_ABORT: on_abort(p, f); return;
    default: return;
    }
}

void coord_party_gone(coord *co, unsigned party_id) {
    coord_retire_party_gone(co, party_id);
    for (csession *s = co->sessions, *next; s; s = next) {
        next = s->next;
        if (!s->done && in_set(s->parties, s->count, party_id) &&
            s->progress[party_id] != PROGRESS_DONE) {
            s->progress[party_id] = PROGRESS_DONE;
            session_fail(s, TSS_WIRE_ABORT_DISCONNECTED, (uint16_t)party_id, party_id,
                         "party %u disconnected during the session", party_id);
            next = co->sessions; /* the list may have changed (retry) */
            while (next && next->done) next = next->next;
        }
    }
}

void coord_party_unresponsive(coord *co, unsigned party_id, int64_t silent_ms) {
    for (csession *s = co->sessions, *next; s; s = next) {
        next = s->next;
        if (!s->done && in_set(s->parties, s->count, party_id) &&
            s->progress[party_id] != PROGRESS_DONE) {
            session_fail(s, TSS_WIRE_ABORT_TIMEOUT, (uint16_t)party_id, 0,
                         "party %u unresponsive: no frame for %lldms", party_id,
                         (long long)silent_ms);
            next = co->sessions; /* the list may have changed (retry) */
            while (next && next->done) next = next->next;
        }
    }
}

bool coord_presign_in_flight(coord *co, const char *key_id,
                             const uint8_t id[TSS_WIRE_PRESIGN_ID_LEN]) {
    for (csession *s = co->sessions; s; s = s->next) {
        if (s->done || !s->req || strcmp(s->req->rq.key_id, key_id) != 0) continue;
        if (s->kind == TSS_WIRE_KIND_PRESIGN && s->have_presign_id &&
            memcmp(s->presign_id, id, TSS_WIRE_PRESIGN_ID_LEN) == 0)
            return true;
        /* Being used right now (a PRESIG_RELIST mid-connection can list it):
         * the signing session consumes it, a delete would only fail it. */
        if (s->kind == TSS_WIRE_KIND_SIGN_PRESIG &&
            memcmp(s->req->presign_id, id, TSS_WIRE_PRESIGN_ID_LEN) == 0)
            return true;
    }
    return false;
}

bool coord_pool_presign(coord *co, key_entry *k, const uint16_t *signers, uint16_t count) {
    request *rq = calloc(1, sizeof *rq);
    if (!rq) return false;
    rq->co = co;
    rq->pool = true;
    snprintf(rq->op_name, sizeof rq->op_name, "(pool)");
    rq->rq.command = TSS_WIRE_OP_PRESIGN;
    snprintf(rq->rq.key_id, sizeof rq->rq.key_id, "%s", k->info.key_id);
    rq->rq.presign_count = 1;
    rq->rq.count = count;
    memcpy(rq->rq.parties, signers, count * sizeof signers[0]);
    rq->key = k;
    rq->started = tss_now_ms();
    rq->next = co->requests;
    co->requests = rq;
    if (try_start(rq) == COORD_ADMIT_STARTED) return true; /* running, or answered */
    request_free(rq);
    return false;
}

/* ---- operator requests --------------------------------------------------------------------- */

static void answer_keys(request *rq) {
    coord *co = rq->co;
    /* postgresql: keys (and stock) other coordinators made; from memory
     * when the database is unreachable. */
    if (rq->rq.key_id[0]) (void)coord_store_key_find(co, rq->rq.key_id);
    else coord_store_refresh(co);
    size_t n = 0;
    for (key_entry *k = co->keys; k; k = k->next)
        if (!rq->rq.key_id[0] || strcmp(k->info.key_id, rq->rq.key_id) == 0) n++;
    if (rq->rq.key_id[0] && n == 0) {
        request_error(rq, TSS_WIRE_ERR_UNKNOWN_SESSION, 0, NULL, "no key %s", rq->rq.key_id);
        return;
    }
    if (n > TSS_WIRE_MAX_KEYS) n = TSS_WIRE_MAX_KEYS;
    tss_wire_op_response resp;
    memset(&resp, 0, sizeof resp);
    resp.keys = n ? calloc(n, sizeof *resp.keys) : NULL;
    if (n && !resp.keys) {
        request_error(rq, TSS_WIRE_ERR_INTERNAL, 0, NULL, "out of memory");
        return;
    }
    for (key_entry *k = co->keys; k && resp.key_count < n; k = k->next)
        if (!rq->rq.key_id[0] || strcmp(k->info.key_id, rq->rq.key_id) == 0) {
            resp.keys[resp.key_count] = k->info;
            if (k->info.retired) resp.keys[resp.key_count].presignatures = 0; /* never used */
            resp.key_count++;
        }
    tss_wire_key_info *keys = resp.keys;
    request_finish(rq, &resp);
    free(keys);
}

void coord_operator_request(peer *p, const tss_wire_frame *f) {
    coord *co = p->co;
    tss_wire_op_request q;
    tss_result r = tss_wire_op_request_decode(&q, f->payload, f->len);
    if (!tss_is_ok(r)) {
        char reason[400];
        snprintf(reason, sizeof reason, "bad OP_REQUEST: %s", tss_error_detail());
        tss_dconn_fail(p->conn, TSS_WIRE_ERR_PROTOCOL, reason);
        return;
    }
    char why[200];
    if (!coord_rate_admit(co, p, why, sizeof why)) {
        /* Answered, not audited one by one (coord_rate_admit counts them). */
        tss_wire_op_response resp;
        memset(&resp, 0, sizeof resp);
        resp.request_id = q.request_id;
        resp.command = q.command;
        resp.status = TSS_WIRE_ERR_LIMIT;
        snprintf(resp.text, sizeof resp.text, "%s", why);
        tss_writer w;
        tss_writer_init(&w, co->lim.max_frame);
        if (tss_is_ok(tss_wire_op_response_encode(&w, &resp)))
            coord_audit_reply(co, p, TSS_WIRE_OP_RESPONSE, w.data, w.len);
        tss_writer_free(&w);
        return;
    }
    request *rq = calloc(1, sizeof *rq);
    if (!rq) {
        tss_dconn_fail(p->conn, TSS_WIRE_ERR_INTERNAL, "out of memory");
        return;
    }
    rq->co = co;
    rq->rq = q;
    rq->started = tss_now_ms();
    if (q.request_len + q.approvals_len) { /* the frame's payload goes away after this call */
        rq->content = malloc(q.request_len + q.approvals_len);
        if (!rq->content) {
            free(rq);
            tss_dconn_fail(p->conn, TSS_WIRE_ERR_INTERNAL, "out of memory");
            return;
        }
        memcpy(rq->content, q.request, q.request_len);
        if (q.approvals_len) memcpy(rq->content + q.request_len, q.approvals, q.approvals_len);
        rq->rq.request = rq->content;
        rq->rq.approvals = q.approvals_len ? rq->content + q.request_len : NULL;
    }
    const tss_tls_identity *id = tss_dconn_peer(p->conn);
    snprintf(rq->op_name, sizeof rq->op_name, "%s", id ? id->operator_name : "?");
    rq->next = co->requests;
    co->requests = rq;
    request_attach_operator(rq, p);
    tss_log(LOG_INFO, "operator=%s request %s key=%s", rq->op_name, tss_wire_op_name(q.command),
            q.key_id);
    if (co->stopping) {
        request_error(rq, TSS_WIRE_ERR_SHUTDOWN, 0, NULL, "coordinator shutting down");
        return;
    }
    coord_store_cost_take(co, NULL);
    const char *down = q.command != TSS_WIRE_OP_KEYS ? coord_store_unavailable(co) : NULL;
    if (down) {
        request_error(rq, TSS_WIRE_ERR_INTERNAL, 0, NULL, "%s", down);
        return;
    }
    switch (q.command) {
    case TSS_WIRE_OP_KEYS: answer_keys(rq); return;
    case TSS_WIRE_OP_KEYGEN: {
        if (coord_store_key_find(co, q.key_id) || coord_registry_damaged(co, q.key_id)) {
            request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL, "key %s already exists", q.key_id);
            return;
        }
        for (request *o = co->requests; o; o = o->next)
            if (o != rq && o->rq.command == TSS_WIRE_OP_KEYGEN && strcmp(o->rq.key_id, q.key_id) == 0) {
                request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL,
                              "a keygen of key %s is already running", q.key_id);
                return;
            }
        uint16_t n = 0;
        for (size_t i = 0; i < q.count; i++)
            if (!co->parties[q.parties[i]].configured) {
                request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL, "party %u is not configured",
                              q.parties[i]);
                return;
            }
        for (unsigned i = 1; i <= TSS_WIRE_MAX_PARTIES; i++) n += co->parties[i].configured;
        uint16_t total = q.count ? q.count : n;
        if (q.threshold > total) {
            request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL, "threshold %u exceeds %u parties",
                          q.threshold, total);
            return;
        }
        break;
    }
    case TSS_WIRE_OP_SIGN:
    case TSS_WIRE_OP_PRESIGN: {
        rq->key = coord_store_key_find(co, q.key_id);
        coord_store_cost_take(co, &rq->db);
        if (!rq->key) {
            const char *damaged = coord_registry_damaged(co, q.key_id);
            if (damaged)
                request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL, "key %s is refused: %s",
                              q.key_id, damaged);
            else
                request_error(rq, TSS_WIRE_ERR_UNKNOWN_SESSION, 0, NULL, "no key %s", q.key_id);
            return;
        }
        if (rq->key->info.retired) {
            request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL,
                          "key %s is retired: it no longer signs (its shares are erased; "
                          "`tssctl keys` shows when)", q.key_id);
            return;
        }
        if (q.request_len) {
            /* The parties compute the digest from the content themselves;
             * the coordinator does too, so a request whose digest does not
             * match its content is refused here, not at every party. */
            tss_request content;
            tss_req_view view;
            tss_result cr = tss_request_decode(&content, rq->rq.request, rq->rq.request_len);
            if (tss_is_ok(cr)) cr = tss_request_evaluate(&content, &view);
            if (!tss_is_ok(cr)) {
                request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL, "request content: %s",
                              tss_error_detail());
                return;
            }
            static const uint8_t zero[TSS_WIRE_DIGEST_LEN];
            if (memcmp(rq->rq.digest, zero, sizeof zero) == 0)
                memcpy(rq->rq.digest, view.digest, sizeof rq->rq.digest);
            else if (memcmp(rq->rq.digest, view.digest, sizeof view.digest) != 0) {
                request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL,
                              "the digest sent is not the digest of the request content");
                return;
            }
        }
        tss_point child; /* the path must give a valid child of a key with a chain code */
        if (!tss_is_ok(coord_signing_key(&child, rq->key, &q.path))) {
            request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL, "%s", tss_error_detail());
            return;
        }
        if (q.count) {
            if (q.count != rq->key->info.threshold) {
                request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL,
                              "key %s needs exactly %u signers, %u named", q.key_id,
                              rq->key->info.threshold, q.count);
                return;
            }
            for (size_t i = 0; i < q.count; i++)
                if (!in_set(rq->key->info.parties, rq->key->info.count, q.parties[i])) {
                    request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL,
                                  "party %u holds no share of key %s", q.parties[i], q.key_id);
                    return;
                }
        }
        break;
    }
    case TSS_WIRE_OP_RETIRE: {
        key_entry *k = coord_store_key_find(co, q.key_id);
        if (!k) {
            const char *damaged = coord_registry_damaged(co, q.key_id);
            if (damaged)
                request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL, "key %s is refused: %s",
                              q.key_id, damaged);
            else
                request_error(rq, TSS_WIRE_ERR_UNKNOWN_SESSION, 0, NULL, "no key %s", q.key_id);
            return;
        }
        coord_retire_request(co, rq, k); /* answers when the parties have */
        return;
    }
    default: request_error(rq, TSS_WIRE_ERR_PROTOCOL, 0, NULL, "unsupported request"); return;
    }
    /* Behind the requests already waiting, so arrivals cannot overtake them. */
    if (coord_queue_busy(co)) request_wait(rq, false);
    else request_next(rq);
}

const tss_wire_op_request *coord_request_op(const request *rq) { return &rq->rq; }

void coord_request_answer(request *rq, uint16_t status, const tss_wire_key_info *key,
                          const char *text) {
    tss_wire_op_response resp;
    memset(&resp, 0, sizeof resp);
    resp.status = status;
    snprintf(resp.text, sizeof resp.text, "%s", text);
    for (char *c = resp.text; *c; c++)
        if (*c < 0x20 || *c > 0x7e) *c = '?';
    tss_wire_key_info k;
    if (key) {
        k = *key;
        resp.keys = &k;
        resp.key_count = 1;
    }
    request_finish(rq, &resp);
}

void coord_sessions_cancel_key(coord *co, const char *key_id, const char *why) {
    for (csession *s = co->sessions, *next; s; s = next) {
        next = s->next;
        if (!s->done && s->req && strcmp(s->req->rq.key_id, key_id) == 0) {
            session_fail(s, TSS_WIRE_ABORT_CANCELLED, 0, 0, "%s", why);
            next = co->sessions; /* the list may have changed */
            while (next && next->done) next = next->next;
        }
    }
}

void coord_operator_gone(coord *co, peer *p) {
    for (request *rq = co->requests, *next; rq; rq = next) {
        next = rq->next; /* answering frees rq, nothing else */
        if (rq->op != p) continue;
        rq->op = NULL; /* the connection is closing: nothing to release on it */
        p->awaiting--;
        /* Nobody waits for a queued one any more: it gives its place up. */
        if (coord_queue_remove(co, rq))
            request_error(rq, TSS_WIRE_ERR_LIMIT, 0, NULL,
                          "operator disconnected while the request was queued");
    }
}

void coord_sessions_free(coord *co) {
    coord_queue_flush(co, 0, NULL); /* exit: the requests are freed below */
    while (co->sessions) {
        csession *s = co->sessions;
        co->sessions = s->next;
        free(s);
    }
    co->n_sessions = 0;
    while (co->requests) {
        request *rq = co->requests;
        co->requests = rq->next;
        free(rq);
    }
}
