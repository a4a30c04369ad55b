/* A malicious coordinator for tests/integration/adversary.sh: a frame-level
 * man in the middle between real party daemons and a real tss-coordinator.
 *
 * It listens with the coordinator's certificate (the parties cannot tell it
 * from the coordinator: in the threat model it IS the coordinator) and, for
 * each party that connects, opens a connection to the real coordinator with
 * that party's certificate (urn:tssd:party:<id>), so the real coordinator
 * keeps creating sessions, routing and assembling while this program rewrites
 * what flows through. Everything goes through the project's own event loop,
 * connection and frame code (daemon/conn.h, wire/); only the test script
 * builds this, no production binary contains it.
 *
 *   evil_relay --dir WORK --listen PORT --upstream PORT --parties N --scenario FILE
 *
 * WORK holds ca/ca.pem, coord/{cert,key}.pem, p<i>/{cert,key}.pem
 * (tests/integration/cluster.sh). FILE is re-read at every new session: when
 * its text changed, a new scenario starts (sessions are numbered from 1
 * again, recordings are dropped). One rule per line, "#" comments:
 *
 *   record   sess=S [round=R] [from=F] [to=T] [bcast=0|1]   keep copies of matching frames
 *   replay   sess=S [round=R] [from=F] [to=T] [bcast=0|1] [src=P] [nth=K]
 *            replace each matching frame by the next unused recording with the
 *            same round, sender and broadcast-ness that was delivered to P
 *            (default: to T), its session id (and receiver) rewritten to fit; a
 *            frame for which a recording from another receiver P is not in yet
 *            waits for it up to 2 s (frames to different parties travel on
 *            different connections, in no fixed order)
 *   reuse    sess=S of=K             the parties see session K's wire session id
 *   kind     sess=S to=T kind=N      SESSION_START to party T says kind N
 *   timeout  sess=S [to=T] ms=M      SESSION_START (to party T) says round_timeout_ms M
 *   digest   sess=S to=T             SESSION_START to party T carries another digest
 *   keyid    sess=S to=T key=K       SESSION_START to party T names key K
 *   content  sess=S [to=T] file=F    SESSION_START (to party T) carries the request
 *                                    content in file F (policy/request.h encoding)
 *                                    and that content's digest: the coordinator
 *                                    altered the operator's transaction
 *   raw      sess=S [to=T]           SESSION_START (to party T) carries the digest
 *                                    only (no request content): a raw digest
 *   approvals sess=S [to=T] file=F   SESSION_START (to party T) carries the approval
 *                                    list in file F (policy/approval.h encoding, any
 *                                    bytes) instead of the operator's: replayed,
 *                                    duplicated or forged approvals
 *   drop | dup | flip  sess=S [round=R] [from=F] [to=T] [bcast=0|1] [nth=K]
 *            drop the frame; send it twice; flip the last payload byte
 *   delay    ... ms=M                deliver M ms later
 *   reorder  ...                     hold it until the next frame to that party
 *                                    has gone (or 1 s)
 * Filters apply to coordinator-to-party PROTOCOL_MSG frames: sess is the
 * relay's session number in the scenario (sess=0 or none: every session), to the party the frame is
 * delivered to, from/round/bcast the envelope's sender, round and whether the
 * receiver is "everyone". nth=K acts on the K-th match only (default: all).
 *
 * It logs every action ("relay: replayed ..."), every SESSION_ABORT a party
 * sends ("relay: abort from party P sess=S ... text=..."), and every
 * PROTOCOL_MSG a party sends under a reused wire session id, so the script
 * can check that the attack really happened and how the parties reacted. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon/conn.h"
#include "daemon/loop.h"
#include "policy/request.h"
#include "tls/context.h"
#include "util/secmem.h"
#include "wire/frame.h"
#include "wire/msg.h"

#define MAX_RULES 32
#define MAX_SESS 512
#define MAX_REC 256
#define SID TSS_WIRE_SESSION_ID_LEN

typedef enum { R_RECORD, R_REPLAY, R_REUSE, R_KIND, R_TIMEOUT, R_DIGEST, R_KEYID, R_DROP, R_DUP,
               R_FLIP, R_DELAY, R_REORDER, R_CONTENT, R_RAW, R_APPROVALS } rule_op;
static const char *const op_names[] = {"record", "replay", "reuse", "kind",  "timeout",
                                       "digest", "keyid",  "drop",  "dup",   "flip",
                                       "delay",  "reorder", "content", "raw",
                                       "approvals"};

typedef struct {
    rule_op op;
    int sess, round, from, to, bcast, nth, of, kind, ms, src;
    char key[TSS_WIRE_MAX_KEY_ID + 1];
    char file[200];
    int matches;
} rule;

typedef struct {
    uint8_t csid[SID], psid[SID]; /* the coordinator's id, the one the parties see */
    int ord;
    unsigned gen;
    bool reused;
} rsess;

typedef struct {
    uint8_t *data;
    size_t len;
    int round, from, to, bcast;
    bool used;
} recording;

typedef struct plink {
    unsigned party;
    tss_dconn *down, *up;
    bool up_open, freed;
    uint8_t **qdata; /* frames from the party waiting for the upstream connection */
    size_t *qlen;
    uint8_t *qtype;
    size_t nq;
    struct held *reorder;
} plink;

typedef struct held {
    tss_timer timer;
    unsigned party;
    uint8_t *data;
    size_t len;
    bool reorder;
    bool awaiting; /* a replay from another receiver whose recording is not in yet */
    int round, from, bcast, src;
} held;

static tss_loop *loop;
static tss_tls_ctx *server_ctx, *client_ctx[TSS_WIRE_MAX_PARTIES + 1];
static tss_dconn_limits lim;
static int upstream_port, listen_fd, n_parties;
static tss_watch listen_watch;
static const char *scenario_file;
static char scenario_text[8192];
static unsigned gen;
static rule rules[MAX_RULES];
static size_t n_rules;
static rsess sessions[MAX_SESS];
static size_t n_sess;
static int next_ord;
static recording recs[MAX_REC];
static size_t n_recs;
static plink *by_party[TSS_WIRE_MAX_PARTIES + 1];
#define MAX_WAITING 64
static held *waiting[MAX_WAITING];
static size_t n_waiting;

#define say(...) (fprintf(stderr, "relay: " __VA_ARGS__), fputc('\n', stderr))

static void hex(char *out, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
}

/* ---- scenario ---------------------------------------------------------------------------- */

static bool parse_rule(char *line, rule *r) {
    memset(r, 0, sizeof *r);
    r->round = r->from = r->to = r->bcast = r->src = -1;
    char *save = NULL, *tok = strtok_r(line, " \t", &save);
    size_t i = 0;
    while (i < sizeof op_names / sizeof op_names[0] && strcmp(tok, op_names[i]) != 0) i++;
    if (i == sizeof op_names / sizeof op_names[0]) return false;
    r->op = (rule_op)i;
    while ((tok = strtok_r(NULL, " \t", &save))) {
        char *eq = strchr(tok, '=');
        if (!eq) return false;
        *eq = '\0';
        int v = atoi(eq + 1);
        if (!strcmp(tok, "sess")) r->sess = v;
        else if (!strcmp(tok, "round")) r->round = v;
        else if (!strcmp(tok, "from")) r->from = v;
        else if (!strcmp(tok, "to")) r->to = v;
        else if (!strcmp(tok, "bcast")) r->bcast = v;
        else if (!strcmp(tok, "nth")) r->nth = v;
        else if (!strcmp(tok, "of")) r->of = v;
        else if (!strcmp(tok, "kind")) r->kind = v;
        else if (!strcmp(tok, "ms")) r->ms = v;
        else if (!strcmp(tok, "src")) r->src = v;
        else if (!strcmp(tok, "key")) snprintf(r->key, sizeof r->key, "%s", eq + 1);
        else if (!strcmp(tok, "file")) snprintf(r->file, sizeof r->file, "%s", eq + 1);
        else return false;
    }
    return r->sess >= 0;
}

/* Re-read the scenario file; a changed text starts a new scenario. */
static void load_scenario(void) {
    char text[sizeof scenario_text] = "";
    FILE *f = fopen(scenario_file, "r");
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    if (strcmp(text, scenario_text) == 0) return;
    memcpy(scenario_text, text, sizeof text);
    gen++;
    next_ord = 0;
    n_rules = 0;
    for (size_t i = 0; i < n_recs; i++) free(recs[i].data);
    n_recs = 0;
    char copy[sizeof text], *save = NULL;
    memcpy(copy, text, sizeof copy);
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ' || *line == '\t') line++;
        if (*line == '#' || *line == '\0') continue;
        char l2[256];
        snprintf(l2, sizeof l2, "%s", line);
        if (n_rules == MAX_RULES || !parse_rule(l2, &rules[n_rules])) {
            say("bad scenario line: %s", line);
            exit(64);
        }
        n_rules++;
    }
    say("scenario %u loaded: %zu rule(s)", gen, n_rules);
}

static rsess *sess_by_csid(const uint8_t *csid) {
    for (size_t i = n_sess; i-- > 0;)
        if (memcmp(sessions[i].csid, csid, SID) == 0) return &sessions[i];
    return NULL;
}
static rsess *sess_by_psid(const uint8_t *psid) { /* the newest one wins (reuse) */
    for (size_t i = n_sess; i-- > 0;)
        if (memcmp(sessions[i].psid, psid, SID) == 0) return &sessions[i];
    return NULL;
}
static rsess *sess_by_ord(int ord) {
    for (size_t i = n_sess; i-- > 0;)
        if (sessions[i].gen == gen && sessions[i].ord == ord) return &sessions[i];
    return NULL;
}

static rsess *sess_new(const uint8_t *csid) {
    load_scenario();
    if (n_sess == MAX_SESS) { /* forget the oldest half */
        memmove(sessions, sessions + MAX_SESS / 2, (MAX_SESS / 2) * sizeof sessions[0]);
        n_sess = MAX_SESS / 2;
    }
    rsess *s = &sessions[n_sess++];
    memset(s, 0, sizeof *s);
    memcpy(s->csid, csid, SID);
    memcpy(s->psid, csid, SID);
    s->gen = gen;
    s->ord = ++next_ord;
    for (size_t i = 0; i < n_rules; i++)
        if (rules[i].op == R_REUSE && rules[i].sess == s->ord) {
            rsess *o = sess_by_ord(rules[i].of);
            if (!o) continue;
            memcpy(s->psid, o->psid, SID);
            s->reused = true;
            char h[2 * SID + 1];
            hex(h, s->psid, SID);
            say("sess=%d reuses the wire session id %s of sess=%d", s->ord, h, o->ord);
        }
    return s;
}

/* ---- sending ------------------------------------------------------------------------------- */

static void to_party(unsigned party, uint8_t type, const uint8_t *p, size_t n) {
    plink *l = by_party[party];
    if (!l || !l->down) return;
    if (!tss_is_ok(tss_dconn_send(l->down, (tss_wire_type)type, p, n)))
        say("cannot send to party %u: %s", party, tss_error_detail());
}

static void release_reorder(plink *l);

static void unwait(held *h) {
    for (size_t i = 0; i < n_waiting; i++)
        if (waiting[i] == h) {
            waiting[i] = waiting[--n_waiting];
            return;
        }
}

static void held_fire(void *arg) {
    held *h = arg;
    plink *l = by_party[h->party];
    if (h->reorder && l && l->reorder == h) l->reorder = NULL;
    if (h->awaiting) {
        unwait(h);
        say("replay: nothing recorded in time; forwarded unchanged");
    } else {
        say("%s frame delivered to party %u", h->reorder ? "reordered" : "delayed", h->party);
    }
    to_party(h->party, TSS_WIRE_PROTOCOL_MSG, h->data, h->len);
    free(h->data);
    free(h);
}

static held *hold(unsigned party, const uint8_t *p, size_t n, int ms, bool reorder) {
    held *h = calloc(1, sizeof *h);
    if (!h || !(h->data = malloc(n))) abort();
    memcpy(h->data, p, n);
    h->len = n;
    h->party = party;
    h->reorder = reorder;
    tss_timer_init(&h->timer, held_fire, h);
    if (!tss_is_ok(tss_timer_arm(loop, &h->timer, tss_now_ms() + ms))) abort();
    if (reorder) by_party[party]->reorder = h;
    return h;
}

static void release_reorder(plink *l) {
    held *h = l->reorder;
    if (!h) return;
    l->reorder = NULL;
    tss_timer_disarm(loop, &h->timer);
    held_fire(h);
}

/* ---- coordinator -> party ---------------------------------------------------------------- */

/* Deliver to party `to`, in place of a frame, an unused recording of the same
 * round, sender and broadcast-ness that went to party src, with the session
 * id the party sees (psid) and, point to point, `to` as the receiver. */
static bool try_replay(unsigned to, const uint8_t *psid, int round, int from, int bc, int src) {
    for (size_t k = 0; k < n_recs; k++) {
        recording *rc = &recs[k];
        if (rc->used || rc->round != round || rc->from != from || rc->to != src || rc->bcast != bc)
            continue;
        rc->used = true;
        uint8_t *c = malloc(rc->len);
        if (!c) abort();
        memcpy(c, rc->data, rc->len);
        memcpy(c, psid, SID);
        if (!bc) { /* receiver: u16 after sid, round, sender */
            c[SID + 3] = (uint8_t)(to >> 8);
            c[SID + 4] = (uint8_t)to;
        }
        say("replayed a recording (%zu bytes, delivered to party %d before) in its place", rc->len,
            src);
        to_party(to, TSS_WIRE_PROTOCOL_MSG, c, rc->len);
        free(c);
        return true;
    }
    return false;
}

/* A new recording may be what a waiting replay needs. */
static void serve_waiting(void) {
    for (size_t i = 0; i < n_waiting; i++) {
        held *h = waiting[i];
        if (!try_replay(h->party, h->data, h->round, h->from, h->bcast, h->src)) continue;
        tss_timer_disarm(loop, &h->timer);
        unwait(h);
        free(h->data);
        free(h);
        i--;
    }
}

static bool matches(rule *r, const rsess *s, unsigned to, const tss_wire_protocol_msg *env) {
    if ((r->sess && r->sess != s->ord) || s->gen != gen) return false;
    if (r->round >= 0 && r->round != env->round) return false;
    if (r->from >= 0 && r->from != env->sender) return false;
    if (r->to >= 0 && (unsigned)r->to != to) return false;
    if (r->bcast >= 0 && r->bcast != (env->receiver == TSS_WIRE_BROADCAST)) return false;
    r->matches++;
    return r->nth == 0 || r->nth == r->matches;
}

static void down_protocol_msg(plink *l, uint8_t *p, size_t n) {
    tss_wire_protocol_msg env;
    if (!tss_is_ok(tss_wire_protocol_msg_decode(&env, p, n, TSS_WIRE_MAX_FRAME))) {
        to_party(l->party, TSS_WIRE_PROTOCOL_MSG, p, n);
        return;
    }
    rsess *s = sess_by_csid(p);
    if (!s) {
        to_party(l->party, TSS_WIRE_PROTOCOL_MSG, p, n);
        return;
    }
    memcpy(p, s->psid, SID);
    int bc = env.receiver == TSS_WIRE_BROADCAST;
    for (size_t i = 0; i < n_rules; i++)
        if (rules[i].op == R_RECORD && matches(&rules[i], s, l->party, &env) && n_recs < MAX_REC) {
            uint8_t *copy = malloc(n);
            if (!copy) abort();
            memcpy(copy, p, n);
            recs[n_recs++] = (recording){copy, n, env.round, env.sender, (int)l->party, bc, false};
            say("recorded sess=%d round=%u from=%u to=%u%s (%zu bytes)", s->ord, env.round,
                env.sender, l->party, bc ? " broadcast" : "", n);
            serve_waiting();
        }
    for (size_t i = 0; i < n_rules; i++) {
        rule *r = &rules[i];
        bool action = r->op == R_REPLAY || r->op >= R_DROP; /* acts on PROTOCOL_MSG */
        if (!action || !matches(r, s, l->party, &env)) continue;
        const char *what = op_names[r->op];
        say("%s sess=%d round=%u from=%u to=%u%s", what, s->ord, env.round, env.sender, l->party,
            bc ? " broadcast" : "");
        switch (r->op) {
        case R_REPLAY: {
            int src = r->src >= 0 ? r->src : (int)l->party;
            if (try_replay(l->party, s->psid, env.round, env.sender, bc, src)) {
                release_reorder(l);
                return;
            }
            if (src != (int)l->party && n_waiting < MAX_WAITING) {
                /* The frame for the other receiver may come in later on its own
                 * connection: wait for it a little. */
                held *h = hold(l->party, p, n, 2000, false);
                h->awaiting = true;
                h->round = env.round;
                h->from = env.sender;
                h->bcast = bc;
                h->src = src;
                waiting[n_waiting++] = h;
                return;
            }
            say("replay: nothing recorded fits; forwarded unchanged");
            break;
        }
        case R_DROP: return;
        case R_DUP:
            to_party(l->party, TSS_WIRE_PROTOCOL_MSG, p, n);
            break;
        case R_FLIP: p[n - 1] ^= 0x01; break;
        case R_DELAY: hold(l->party, p, n, r->ms, false); return;
        case R_REORDER:
            if (l->reorder) break;
            hold(l->party, p, n, 1000, true);
            return;
        default: break;
        }
        break; /* one action per frame */
    }
    to_party(l->party, TSS_WIRE_PROTOCOL_MSG, p, n);
    release_reorder(l);
}

static void down_session_start(plink *l, const uint8_t *p, size_t n) {
    tss_wire_session_start st;
    if (!tss_is_ok(tss_wire_session_start_decode(&st, p, n))) {
        to_party(l->party, TSS_WIRE_SESSION_START, p, n);
        return;
    }
    rsess *s = sess_by_csid(st.session_id);
    if (!s) s = sess_new(st.session_id);
    char h[2 * SID + 1];
    hex(h, st.session_id, SID);
    say("sess=%d is %s key=%s sid=%s (party %u)", s->ord, tss_wire_kind_name(st.kind), st.key_id,
        h, l->party);
    memcpy(st.session_id, s->psid, SID);
    for (size_t i = 0; i < n_rules; i++) {
        rule *r = &rules[i];
        if ((r->sess && r->sess != s->ord) || s->gen != gen) continue;
        if (r->op == R_TIMEOUT && (r->to < 0 || (unsigned)r->to == l->party))
            st.round_timeout_ms = (uint32_t)r->ms;
        if (r->op == R_DIGEST && (unsigned)r->to == l->party) {
            say("sess=%d: telling party %u another digest", s->ord, l->party);
            st.digest[0] ^= 0x01;
        }
        if (r->op == R_CONTENT && (r->to < 0 || (unsigned)r->to == l->party)) {
            static uint8_t content[TSS_WIRE_MAX_REQUEST];
            size_t len = 0;
            FILE *f = fopen(r->file, "rb");
            if (f) {
                len = fread(content, 1, sizeof content, f);
                fclose(f);
            }
            tss_request req;
            tss_req_view v;
            if (len && tss_is_ok(tss_request_decode(&req, content, len)) &&
                tss_is_ok(tss_request_evaluate(&req, &v))) {
                say("sess=%d: telling party %u another request content (%s, %zu bytes)", s->ord,
                    l->party, tss_req_type_name(req.type), len);
                st.request = content;
                st.request_len = len;
                memcpy(st.digest, v.digest, sizeof st.digest);
            } else {
                say("sess=%d: content file %s unreadable or invalid", s->ord, r->file);
            }
        }
        if (r->op == R_APPROVALS && (r->to < 0 || (unsigned)r->to == l->party)) {
            static uint8_t apv[TSS_WIRE_MAX_APPROVALS];
            size_t len = 0;
            FILE *f = fopen(r->file, "rb");
            if (f) {
                len = fread(apv, 1, sizeof apv, f);
                fclose(f);
            }
            if (len && st.request_len) {
                say("sess=%d: telling party %u other approvals (%zu bytes)", s->ord, l->party,
                    len);
                st.approvals = apv;
                st.approvals_len = len;
            } else {
                say("sess=%d: approvals file %s unreadable, or no request content", s->ord,
                    r->file);
            }
        }
        if (r->op == R_RAW && (r->to < 0 || (unsigned)r->to == l->party)) {
            say("sess=%d: telling party %u a raw digest (request content stripped)", s->ord,
                l->party);
            st.request = st.approvals = NULL;
            st.request_len = st.approvals_len = 0;
        }
        if (r->op == R_KEYID && (unsigned)r->to == l->party) {
            say("sess=%d: telling party %u the key is %s instead of %s", s->ord, l->party, r->key,
                st.key_id);
            snprintf(st.key_id, sizeof st.key_id, "%s", r->key);
        }
        if (r->op == R_KIND && (unsigned)r->to == l->party) {
            say("sess=%d: telling party %u the kind is %s instead of %s", s->ord, l->party,
                tss_wire_kind_name((unsigned)r->kind), tss_wire_kind_name(st.kind));
            st.kind = (uint8_t)r->kind;
            if (st.kind == TSS_WIRE_KIND_SIGN || st.kind == TSS_WIRE_KIND_SIGN_PRESIG) {
                bool zero = true;
                for (size_t k = 0; k < sizeof st.digest; k++) zero = zero && !st.digest[k];
                if (zero) memset(st.digest, 0x5a, sizeof st.digest);
            } else {
                memset(st.digest, 0, sizeof st.digest);
            }
            if (st.kind != TSS_WIRE_KIND_SIGN_PRESIG) memset(st.presign_id, 0, sizeof st.presign_id);
        }
    }
    tss_writer w;
    tss_writer_init(&w, TSS_WIRE_MAX_FRAME);
    tss_result r = tss_wire_session_start_encode(&w, &st);
    if (tss_is_ok(r)) to_party(l->party, TSS_WIRE_SESSION_START, w.data, w.len);
    else say("cannot re-encode SESSION_START: %s", tss_error_detail());
    tss_writer_free(&w);
}

static void up_on_frame(tss_dconn *c, const tss_wire_frame *f, void *arg) {
    plink *l = arg;
    (void)c;
    if (!l->down) return;
    uint8_t *p = malloc(f->len ? f->len : 1);
    if (!p) abort();
    memcpy(p, f->payload, f->len);
    if (f->type == TSS_WIRE_SESSION_START) {
        down_session_start(l, p, f->len);
    } else if (f->type == TSS_WIRE_PROTOCOL_MSG && f->len >= SID) {
        down_protocol_msg(l, p, f->len);
    } else {
        if (f->type == TSS_WIRE_SESSION_ABORT && f->len >= SID) {
            rsess *s = sess_by_csid(p);
            if (s) memcpy(p, s->psid, SID);
        }
        to_party(l->party, f->type, p, f->len);
    }
    free(p);
}

/* ---- party -> coordinator ---------------------------------------------------------------- */

static void up_send(plink *l, uint8_t type, const uint8_t *p, size_t n) {
    if (l->up_open) {
        if (!tss_is_ok(tss_dconn_send(l->up, (tss_wire_type)type, p, n)))
            say("cannot send upstream for party %u: %s", l->party, tss_error_detail());
        return;
    }
    l->qdata = realloc(l->qdata, (l->nq + 1) * sizeof *l->qdata);
    l->qlen = realloc(l->qlen, (l->nq + 1) * sizeof *l->qlen);
    l->qtype = realloc(l->qtype, (l->nq + 1) * sizeof *l->qtype);
    if (!l->qdata || !l->qlen || !l->qtype || !(l->qdata[l->nq] = malloc(n ? n : 1))) abort();
    memcpy(l->qdata[l->nq], p, n);
    l->qlen[l->nq] = n;
    l->qtype[l->nq++] = type;
}

static void down_on_frame(tss_dconn *c, const tss_wire_frame *f, void *arg) {
    plink *l = arg;
    (void)c;
    uint8_t *p = malloc(f->len ? f->len : 1);
    if (!p) abort();
    memcpy(p, f->payload, f->len);
    bool sess_frame = f->type == TSS_WIRE_PROTOCOL_MSG || f->type == TSS_WIRE_SESSION_RESULT ||
                      f->type == TSS_WIRE_SESSION_ABORT;
    if (sess_frame && f->len >= SID) {
        rsess *s = sess_by_psid(p);
        if (s) {
            if (s->reused && f->type == TSS_WIRE_PROTOCOL_MSG)
                say("party %u sent a PROTOCOL_MSG under a reused wire session id (sess=%d)",
                    l->party, s->ord);
            memcpy(p, s->csid, SID);
        }
        tss_wire_session_abort a;
        if (f->type == TSS_WIRE_SESSION_ABORT &&
            tss_is_ok(tss_wire_session_abort_decode(&a, f->payload, f->len)))
            say("abort from party %u sess=%d reason=%s culprit=%u text=%s", l->party,
                s ? s->ord : 0, tss_wire_abort_reason_name(a.reason), a.culprit, a.text);
        if (f->type == TSS_WIRE_SESSION_RESULT)
            say("result from party %u sess=%d", l->party, s ? s->ord : 0);
    }
    up_send(l, f->type, p, f->len);
    free(p);
}

/* ---- connections ---------------------------------------------------------------------------- */

static void link_free(void *arg) {
    plink *l = arg;
    for (size_t i = 0; i < l->nq; i++) free(l->qdata[i]);
    free(l->qdata);
    free(l->qlen);
    free(l->qtype);
    free(l);
}

static void link_maybe_free(plink *l) {
    if (l->down || l->up || l->freed) return;
    l->freed = true;
    if (l->party && by_party[l->party] == l) by_party[l->party] = NULL;
    if (!tss_is_ok(tss_loop_defer(loop, link_free, l))) link_free(l);
}

static void up_on_open(tss_dconn *c, void *arg) {
    plink *l = arg;
    (void)c;
    l->up_open = true;
    for (size_t i = 0; i < l->nq; i++) {
        up_send(l, l->qtype[i], l->qdata[i], l->qlen[i]);
        free(l->qdata[i]);
    }
    l->nq = 0;
}

static void up_on_close(tss_dconn *c, const char *reason, void *arg) {
    plink *l = arg;
    (void)c;
    l->up = NULL;
    l->up_open = false;
    if (l->down) {
        tss_dconn *d = l->down;
        say("coordinator side of party %u closed (%s)", l->party, reason);
        tss_dconn_close(d, LOG_INFO, "the coordinator closed its side");
    }
    link_maybe_free(l);
}

static void down_on_close(tss_dconn *c, const char *reason, void *arg) {
    plink *l = arg;
    (void)c;
    l->down = NULL;
    if (l->reorder) {
        tss_timer_disarm(loop, &l->reorder->timer);
        free(l->reorder->data);
        free(l->reorder);
        l->reorder = NULL;
    }
    if (l->up) {
        say("party %u closed (%s)", l->party, reason);
        tss_dconn_close(l->up, LOG_INFO, "the party closed its side");
    }
    link_maybe_free(l);
}

static const tss_dconn_ops up_ops = {up_on_open, up_on_frame, up_on_close};

static void down_on_open(tss_dconn *c, void *arg) {
    plink *l = arg;
    const tss_tls_identity *id = tss_dconn_peer(c);
    if (!id || id->role != TSS_TLS_ROLE_PARTY || id->party_id > (unsigned)n_parties) {
        tss_dconn_close(c, LOG_WARNING, "not a party");
        return;
    }
    l->party = id->party_id;
    if (by_party[l->party] && by_party[l->party]->down) tss_dconn_close(by_party[l->party]->down, LOG_INFO, "replaced");
    by_party[l->party] = l;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)upstream_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (fd < 0 || (rc < 0 && errno != EINPROGRESS) ||
        !tss_is_ok(tss_dconn_new(loop, client_ctx[l->party], fd, rc < 0, &lim, &up_ops, l,
                                 "coordinator", &l->up))) {
        if (fd >= 0) close(fd);
        l->up = NULL;
        tss_dconn_close(c, LOG_ERR, "cannot reach the coordinator");
    }
}

static const tss_dconn_ops down_ops = {down_on_open, down_on_frame, down_on_close};

static void on_accept(void *arg, uint32_t events) {
    (void)arg;
    (void)events;
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        plink *l = calloc(1, sizeof *l);
        if (!l) abort();
        if (!tss_is_ok(tss_dconn_new(loop, server_ctx, fd, false, &lim, &down_ops, l, "party",
                                     &l->down))) {
            close(fd);
            free(l);
        }
    }
}

static void on_signal(void *arg, int signo) {
    (void)arg;
    (void)signo;
    tss_loop_stop(loop);
}

static tss_result setup(const char *dir, int listen_port) {
    char cert[512], key[512], ca[512];
    snprintf(ca, sizeof ca, "%s/ca/ca.pem", dir);
    tss_tls_config tc;
    memset(&tc, 0, sizeof tc);
    tc.side = TSS_TLS_SERVER;
    tc.self.role = TSS_TLS_ROLE_COORDINATOR;
    tss_tls_policy_init(&tc.peers);
    for (int i = 1; i <= n_parties; i++) TSS_GUARD(tss_tls_policy_allow_party(&tc.peers, (unsigned)i));
    snprintf(cert, sizeof cert, "%s/coord/cert.pem", dir);
    snprintf(key, sizeof key, "%s/coord/key.pem", dir);
    tss_tls_paths paths = {cert, key, ca, NULL};
    TSS_GUARD(tss_tls_ctx_new(&tc, &paths, &server_ctx));
    for (int i = 1; i <= n_parties; i++) {
        memset(&tc, 0, sizeof tc);
        tc.side = TSS_TLS_CLIENT;
        tc.self.role = TSS_TLS_ROLE_PARTY;
        tc.self.party_id = (unsigned)i;
        tss_tls_policy_init(&tc.peers);
        tc.peers.coordinator = true;
        snprintf(cert, sizeof cert, "%s/p%d/cert.pem", dir, i);
        snprintf(key, sizeof key, "%s/p%d/key.pem", dir, i);
        tss_tls_paths pp = {cert, key, ca, NULL};
        TSS_GUARD(tss_tls_ctx_new(&tc, &pp, &client_ctx[i]));
    }
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    (void)setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TSS_ENSURE(listen_fd >= 0 && bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                   listen(listen_fd, 64) == 0,
               TSS_E_IO, "cannot listen on 127.0.0.1:%d: %s", listen_port, strerror(errno));
    TSS_GUARD(tss_loop_new(on_signal, NULL, &loop));
    return tss_loop_watch(loop, &listen_watch, listen_fd, EPOLLIN, on_accept, NULL);
}

int main(int argc, char **argv) {
    const char *dir = NULL;
    int listen_port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
        else if (!strcmp(argv[i], "--listen")) listen_port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--upstream")) upstream_port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--parties")) n_parties = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--scenario")) scenario_file = argv[i + 1];
    }
    if (!dir || listen_port <= 0 || upstream_port <= 0 || n_parties < 2 ||
        n_parties > TSS_WIRE_MAX_PARTIES || !scenario_file) {
        fprintf(stderr, "usage: evil_relay --dir WORK --listen PORT --upstream PORT --parties N "
                        "--scenario FILE\n");
        return 64;
    }
    signal(SIGPIPE, SIG_IGN);
    lim = (tss_dconn_limits){.max_frame = TSS_WIRE_MAX_FRAME,
                             .max_pending_frames = 100000,
                             .max_pending_bytes = 256u * 1024 * 1024,
                             .handshake_ms = 10000,
                             .frame_ms = 10000,
                             .idle_ms = 600000};
    tss_result r = tss_crypto_init();
    if (tss_is_ok(r)) r = setup(dir, listen_port);
    if (!tss_is_ok(r)) {
        say("setup failed: %s", tss_error_detail());
        return 70;
    }
    load_scenario();
    say("listening on 127.0.0.1:%d, coordinator at 127.0.0.1:%d", listen_port, upstream_port);
    r = tss_loop_run(loop);
    say("stopping");
    return tss_is_ok(r) ? 0 : 70;
}
