/* wire/secure: signed broadcasts and AEAD point-to-point payloads between
 * parties through an untrusted relay. Round trips for every message type, a
 * whole DKG and a whole signing session through seal -> envelope -> open,
 * every kind of tampering by the relay, replay across sessions, wrong pinned
 * keys, an independent re-implementation of the documented byte layout, and
 * forward secrecy of round-2 payloads. */
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

#define NP 3 /* parties in the small fixtures */
#define FORGED "forged or altered in transit (by the relay or the sender)"

static bool detail_has(const char *needle) { return strstr(tss_error_detail(), needle) != NULL; }

/* The error detail names the claimed sender. */
static bool names_party(unsigned id) {
    char want[32];
    snprintf(want, sizeof want, "party %u", id);
    return detail_has(want);
}

/* ---- fixtures ------------------------------------------------------------------ */

static uint8_t id_sk[TSS_MPC_MAX_PARTIES + 1][64];
static tss_secure_peer roster[TSS_MPC_MAX_PARTIES];

static void make_identities(void) {
    for (unsigned i = 1; i <= TSS_MPC_MAX_PARTIES; i++) {
        uint8_t seed[32];
        memset(seed, (int)i, sizeof seed);
        seed[0] = 0x5e;
        crypto_sign_seed_keypair(roster[i - 1].identity, id_sk[i], seed);
        roster[i - 1].id = (uint16_t)i;
    }
}

static void sid_of(uint8_t sid[TSS_SECURE_SID_LEN], uint8_t b) {
    for (size_t k = 0; k < TSS_SECURE_SID_LEN; k++) sid[k] = (uint8_t)(b + 7 * k);
}

/* The context of a test session with this id: a keygen of key "test" among
 * parties 1..NP (what the daemon derives from SESSION_START). Kept in a small
 * ring so a few can be live in one expression. */
static const tss_secure_context *tctx(const uint8_t sid[TSS_SECURE_SID_LEN]) {
    static tss_secure_context ring[8];
    static unsigned next;
    tss_wire_session_start st;
    memset(&st, 0, sizeof st);
    memcpy(st.session_id, sid, TSS_SECURE_SID_LEN);
    st.kind = TSS_WIRE_KIND_KEYGEN;
    snprintf(st.key_id, sizeof st.key_id, "test");
    st.threshold = 2;
    st.count = NP;
    for (uint16_t i = 0; i < NP; i++) st.parties[i] = (uint16_t)(i + 1);
    tss_secure_context *c = &ring[next++ % 8];
    tss_secure_context_init(c, &st, NULL, 0);
    return c;
}

/* Sessions for parties 1..n of one session id. */
static void open_sessions(tss_secure_session **s, size_t n, const uint8_t sid[TSS_SECURE_SID_LEN]) {
    for (size_t i = 0; i < n; i++)
        CHECK_OK(tss_secure_session_new(&s[i], tctx(sid), (uint16_t)(i + 1), id_sk[i + 1], roster, n));
}

static void close_sessions(tss_secure_session **s, size_t n) {
    for (size_t i = 0; i < n; i++) tss_secure_session_free(s[i]);
}

/* A sealed message: envelope plus its own copy of the payload. */
typedef struct {
    tss_wire_protocol_msg env;
    uint8_t *buf;
    size_t len;
} sealed;

static void seal_msg(sealed *out, tss_secure_session *s, uint8_t type, uint16_t from, uint16_t to,
                     const uint8_t *data, size_t len) {
    tss_mpc_msg m = {.type = type, .from = from, .to = to, .data = (uint8_t *)data, .len = len};
    tss_writer w;
    tss_writer_init(&w, TSS_SECURE_MAX_SEALED);
    memset(out, 0, sizeof *out);
    CHECK_OK(tss_secure_seal(s, &m, &out->env, &w));
    out->len = out->env.payload_len;
    out->buf = malloc(out->len ? out->len : 1);
    memcpy(out->buf, out->env.payload, out->len);
    out->env.payload = out->buf;
    tss_writer_free(&w);
}

static void sealed_free(sealed *m) { free(m->buf); }

/* A copy of a sealed message that may be modified. */
static void sealed_copy(sealed *dst, const sealed *src) {
    *dst = *src;
    dst->buf = malloc(src->len ? src->len : 1);
    memcpy(dst->buf, src->buf, src->len);
    dst->env.payload = dst->buf;
}

/* Opens and compares with the original plaintext. */
static void open_expect(tss_secure_session *s, const sealed *m, uint8_t type, uint16_t from,
                        uint16_t to, const uint8_t *data, size_t len) {
    tss_mpc_msg got;
    CHECK_OK(tss_secure_open(s, &m->env, &got));
    CHECK(got.type == type && got.from == from && got.to == to && got.len == len);
    CHECK(got.len == len && (len == 0 || memcmp(got.data, data, len) == 0));
    tss_secure_msg_clear(&got);
    CHECK(got.data == NULL && got.len == 0);
}

/* Opening must fail with TSS_E_PROTOCOL naming `claimed`, and leave out empty. */
static void open_refused(tss_secure_session *s, const sealed *m, unsigned claimed, bool forged) {
    tss_mpc_msg got;
    tss_result r = tss_secure_open(s, &m->env, &got);
    CHECK_ERR(r, TSS_E_PROTOCOL);
    CHECK(got.data == NULL && got.len == 0);
    CHECK(names_party(claimed));
    if (forged) CHECK(detail_has(FORGED));
    if (tss_is_ok(r)) tss_secure_msg_clear(&got);
}

static void fill(uint8_t *p, size_t n, uint8_t b) {
    for (size_t k = 0; k < n; k++) p[k] = (uint8_t)(b + k * 13);
}

/* ---- tests --------------------------------------------------------------------------- */

static void type_table(void) {
    static const struct { uint8_t type; unsigned round; bool bcast; } t[] = {
        {0x11, 1, true}, {0x12, 1, false}, {0x21, 2, true}, {0x22, 2, false}, {0x31, 3, true},
        {0x41, 1, true}, {0x42, 1, false}, {0x52, 2, false}, {0x61, 3, true},
        {0x71, 1, true}, {0x72, 1, false}, {0x81, 2, true}, {0x82, 2, false}, {0x91, 3, true},
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        CHECK(tss_secure_type_round(t[k].type) == t[k].round);
        CHECK(tss_secure_type_is_broadcast(t[k].type) == t[k].bcast);
    }
    CHECK(tss_secure_type_round(0) == 0 && tss_secure_type_round(0x13) == 0);
    CHECK(tss_secure_type_round(0x51) == 0 && tss_secure_type_round(0xff) == 0);
    CHECK(!tss_secure_type_is_broadcast(0x51));
}

static void session_config_validated(void) {
    uint8_t sid[TSS_SECURE_SID_LEN];
    sid_of(sid, 1);
    tss_secure_session *s;
    tss_secure_peer p[NP];
    memcpy(p, roster, sizeof p);
    CHECK_OK(tss_secure_session_new(&s, tctx(sid), 1, id_sk[1], p, NP));
    tss_secure_session_free(s);
    /* Without our own entry is fine too. */
    CHECK_OK(tss_secure_session_new(&s, tctx(sid), 1, id_sk[1], p + 1, NP - 1));
    tss_secure_session_free(s);
    /* Our own entry pinned with someone else's key. */
    tss_secure_peer q[NP];
    memcpy(q, p, sizeof q);
    memcpy(q[0].identity, roster[5].identity, 32);
    CHECK_ERR(tss_secure_session_new(&s, tctx(sid), 1, id_sk[1], q, NP), TSS_E_INVALID);
    CHECK(s == NULL && detail_has("ourselves"));
    /* Running as party 2 with party 1's secret: party 1 is pinned with our key. */
    CHECK_ERR(tss_secure_session_new(&s, tctx(sid), 2, id_sk[1], p, NP), TSS_E_INVALID);
    CHECK(s == NULL && detail_has("our own identity key"));
    /* A peer pinned with our own key. */
    memcpy(q, p, sizeof q);
    memcpy(q[1].identity, q[0].identity, 32);
    CHECK_ERR(tss_secure_session_new(&s, tctx(sid), 1, id_sk[1], q, NP), TSS_E_INVALID);
    /* Two peers with the same key. */
    memcpy(q, p, sizeof q);
    memcpy(q[2].identity, q[1].identity, 32);
    CHECK_ERR(tss_secure_session_new(&s, tctx(sid), 1, id_sk[1], q, NP), TSS_E_INVALID);
    /* Duplicate id, id 0 and 33. */
    memcpy(q, p, sizeof q);
    q[2].id = 2;
    CHECK_ERR(tss_secure_session_new(&s, tctx(sid), 1, id_sk[1], q, NP), TSS_E_INVALID);
    q[2].id = 0;
    CHECK_ERR(tss_secure_session_new(&s, tctx(sid), 1, id_sk[1], q, NP), TSS_E_INVALID);
    q[2].id = 33;
    CHECK_ERR(tss_secure_session_new(&s, tctx(sid), 1, id_sk[1], q, NP), TSS_E_INVALID);
    CHECK_ERR(tss_secure_session_new(&s, tctx(sid), 0, id_sk[1], p, NP), TSS_E_INVALID);
    /* Only ourselves: no peer. */
    CHECK_ERR(tss_secure_session_new(&s, tctx(sid), 1, id_sk[1], p, 1), TSS_E_USAGE);
    CHECK_ERR(tss_secure_session_new(&s, tctx(sid), 1, id_sk[1], p, 0), TSS_E_USAGE);
    /* Pinned keys that are not usable points: identity element (small order),
     * a non-canonical / off-curve encoding. */
    memcpy(q, p, sizeof q);
    memset(q[2].identity, 0, 32);
    q[2].identity[0] = 1; /* the neutral element */
    CHECK_ERR(tss_secure_session_new(&s, tctx(sid), 1, id_sk[1], q, NP), TSS_E_INVALID);
    CHECK(names_party(3));
    memset(q[2].identity, 0xff, 32);
    CHECK_ERR(tss_secure_session_new(&s, tctx(sid), 1, id_sk[1], q, NP), TSS_E_INVALID);
    CHECK(names_party(3));
}

/* Every message type, both directions, every round: the plaintext comes back,
 * broadcasts reach every peer, p2p payloads do not show the plaintext. */
static void round_trip_every_type(void) {
    uint8_t sid[TSS_SECURE_SID_LEN];
    sid_of(sid, 2);
    static const uint8_t types[] = {0x11, 0x12, 0x21, 0x22, 0x31};
    static const uint8_t stypes[] = {0x41, 0x42, 0x52, 0x61};
    static const uint8_t rtypes[] = {0x71, 0x72, 0x81, 0x82, 0x91}; /* reshare */
    for (int proto = 0; proto < 3; proto++) {
        tss_secure_session *s[NP];
        open_sessions(s, NP, sid);
        const uint8_t *tt = proto == 2 ? rtypes : proto ? stypes : types;
        size_t nt = proto == 2 ? sizeof rtypes : proto ? sizeof stypes : sizeof types;
        /* A round-2 p2p cannot be sealed before the peer's ephemeral key is known. */
        {
            tss_mpc_msg m = {.type = proto == 2 ? 0x82 : proto ? 0x52 : 0x22, .from = 1, .to = 2,
                             .data = (uint8_t *)"x", .len = 1};
            tss_writer w;
            tss_wire_protocol_msg env;
            tss_writer_init(&w, TSS_SECURE_MAX_SEALED);
            CHECK_ERR(tss_secure_seal(s[0], &m, &env, &w), TSS_E_USAGE);
            tss_writer_free(&w);
        }
        for (size_t k = 0; k < nt; k++) {
            uint8_t type = tt[k];
            bool bcast = tss_secure_type_is_broadcast(type);
            for (uint16_t from = 1; from <= NP; from++) {
                size_t len = 1 + (size_t)(type * 7 + from * 31) % 300;
                uint8_t data[400];
                memset(data, 'S', len); /* a recognisable plaintext */
                data[0] = type, data[len - 1] = (uint8_t)from;
                if (bcast) {
                    sealed m;
                    seal_msg(&m, s[from - 1], type, from, 0, data, len);
                    CHECK(m.env.round == tss_secure_type_round(type));
                    CHECK(m.env.sender == from && m.env.receiver == 0);
                    CHECK(memcmp(m.env.session_id, sid, sizeof sid) == 0);
                    size_t eph = tss_secure_type_round(type) == 1 ? 32 : 0;
                    CHECK(m.len == len + TSS_SECURE_BROADCAST_OVERHEAD + eph);
                    for (uint16_t to = 1; to <= NP; to++)
                        if (to != from) open_expect(s[to - 1], &m, type, from, 0, data, len);
                    /* The coordinator's view: no secret, only the pinned keys. */
                    tss_secure_signed_view v;
                    CHECK_OK(tss_secure_verify_signed(tctx(sid), roster, NP, &m.env, &v));
                    CHECK(v.type == type && v.from == from && v.len == len &&
                          memcmp(v.data, data, len) == 0);
                    if (eph) {
                        uint8_t e[32];
                        tss_secure_ephemeral_public(s[from - 1], e);
                        CHECK(v.ephemeral && memcmp(v.ephemeral, e, 32) == 0);
                    } else {
                        CHECK(v.ephemeral == NULL);
                    }
                    /* We never accept our own broadcast back. */
                    open_refused(s[from - 1], &m, from, false);
                    sealed_free(&m);
                } else {
                    for (uint16_t to = 1; to <= NP; to++) {
                        if (to == from) continue;
                        sealed m;
                        seal_msg(&m, s[from - 1], type, from, to, data, len);
                        CHECK(m.len == len + TSS_SECURE_P2P_OVERHEAD);
                        CHECK(m.env.receiver == to && m.env.sender == from);
                        CHECK(memmem(m.buf, m.len, "SSSSSSSS", 8) == NULL || len < 10);
                        open_expect(s[to - 1], &m, type, from, to, data, len);
                        /* A duplicate is recognised and reported as such (dropped). */
                        tss_mpc_msg dup;
                        CHECK_ERR(tss_secure_open(s[to - 1], &m.env, &dup), TSS_E_EXISTS);
                        CHECK(dup.data == NULL && detail_has("duplicate"));
                        /* The third party cannot open it (addressed to another). */
                        uint16_t other = (uint16_t)(6 - from - to);
                        open_refused(s[other - 1], &m, from, false);
                        CHECK(detail_has("not to us"));
                        /* The coordinator cannot take it as signed. */
                        tss_secure_signed_view v;
                        CHECK_ERR(tss_secure_verify_signed(tctx(sid), roster, NP, &m.env, &v),
                                  TSS_E_PROTOCOL);
                        sealed_free(&m);
                    }
                }
            }
        }
        close_sessions(s, NP);
    }
}

/* Sealing refuses what would be a bug in the caller. */
static void seal_refuses_misuse(void) {
    uint8_t sid[TSS_SECURE_SID_LEN];
    sid_of(sid, 3);
    tss_secure_session *s[NP];
    open_sessions(s, NP, sid);
    uint8_t d[4] = {1, 2, 3, 4};
    struct { uint8_t type; uint16_t from, to; } bad[] = {
        {0x11, 2, 0},  /* not us */
        {0x11, 1, 2},  /* broadcast with a receiver */
        {0x12, 1, 0},  /* p2p to nobody */
        {0x12, 1, 1},  /* p2p to ourselves */
        {0x12, 1, 9},  /* p2p to a stranger */
        {0x13, 1, 2},  /* unknown type */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        tss_mpc_msg m = {.type = bad[k].type, .from = bad[k].from, .to = bad[k].to, .data = d,
                         .len = sizeof d};
        tss_writer w;
        tss_wire_protocol_msg env;
        tss_writer_init(&w, TSS_SECURE_MAX_SEALED);
        CHECK_ERR(tss_secure_seal(s[0], &m, &env, &w), TSS_E_USAGE);
        tss_writer_free(&w);
    }
    close_sessions(s, NP);
}

/* One fixture with a sealed message of each shape from party 1. */
typedef struct {
    uint8_t sid[TSS_SECURE_SID_LEN];
    tss_secure_session *s[NP];
    sealed r1_bcast;  /* 0x41 with ephemeral key, to all */
    sealed r1_p2p;    /* 0x42 1 -> 2, static key */
    sealed r2_p2p;    /* 0x52 1 -> 2, session key */
    sealed r2_p2p_3;  /* 0x52 1 -> 3 */
    sealed final;     /* 0x61 to the assembler */
    sealed dkg_bcast; /* 0x21 */
    uint8_t data[120];
} fixture;

static void fixture_init(fixture *f, uint8_t sid_byte) {
    sid_of(f->sid, sid_byte);
    open_sessions(f->s, NP, f->sid);
    fill(f->data, sizeof f->data, 0x40);
    /* Parties 2 and 3 broadcast first so party 1 knows their keys. */
    uint8_t other[32];
    fill(other, sizeof other, 0x77);
    for (uint16_t i = 2; i <= NP; i++) {
        sealed m;
        seal_msg(&m, f->s[i - 1], 0x41, i, 0, other, sizeof other);
        for (uint16_t j = 1; j <= NP; j++)
            if (j != i) open_expect(f->s[j - 1], &m, 0x41, i, 0, other, sizeof other);
        sealed_free(&m);
    }
    seal_msg(&f->r1_bcast, f->s[0], 0x41, 1, 0, f->data, 64);
    seal_msg(&f->r1_p2p, f->s[0], 0x42, 1, 2, f->data, sizeof f->data);
    seal_msg(&f->r2_p2p, f->s[0], 0x52, 1, 2, f->data, sizeof f->data);
    seal_msg(&f->r2_p2p_3, f->s[0], 0x52, 1, 3, f->data, sizeof f->data);
    seal_msg(&f->final, f->s[0], 0x61, 1, 0, f->data, 97);
    seal_msg(&f->dkg_bcast, f->s[0], 0x21, 1, 0, f->data, sizeof f->data);
    /* Parties 2 and 3 learn party 1's ephemeral key. */
    open_expect(f->s[1], &f->r1_bcast, 0x41, 1, 0, f->data, 64);
    open_expect(f->s[2], &f->r1_bcast, 0x41, 1, 0, f->data, 64);
}

static void fixture_free(fixture *f) {
    sealed_free(&f->r1_bcast);
    sealed_free(&f->r1_p2p);
    sealed_free(&f->r2_p2p);
    sealed_free(&f->r2_p2p_3);
    sealed_free(&f->final);
    sealed_free(&f->dkg_bcast);
    close_sessions(f->s, NP);
}

/* Flip each byte of the payload (type, ephemeral key, body, signature /
 * nonce, ciphertext, tag), cut it short, extend it: always refused, always
 * naming party 1. */
static void tamper_every_byte(const fixture *f, const sealed *orig, tss_secure_session *rx,
                              bool coordinator) {
    for (size_t pos = 0; pos < orig->len; pos++) {
        for (int bit = 0; bit < 8; bit += 7) {
            sealed m;
            sealed_copy(&m, orig);
            m.buf[pos] ^= (uint8_t)(1u << bit);
            if (coordinator) {
                tss_secure_signed_view v;
                CHECK_ERR(tss_secure_verify_signed(tctx(f->sid), roster, NP, &m.env, &v),
                          TSS_E_PROTOCOL);
                CHECK(names_party(1));
                if (pos > 0) CHECK(detail_has(FORGED));
            } else {
                open_refused(rx, &m, 1, pos > 0);
            }
            sealed_free(&m);
        }
    }
    sealed m;
    sealed_copy(&m, orig);
    for (size_t cut = 0; cut < orig->len; cut += 1 + cut / 3) {
        m.env.payload_len = cut;
        if (coordinator) {
            tss_secure_signed_view v;
            CHECK_ERR(tss_secure_verify_signed(tctx(f->sid), roster, NP, &m.env, &v), TSS_E_PROTOCOL);
        } else {
            open_refused(rx, &m, 1, false);
        }
    }
    sealed_free(&m);
    sealed longer;
    longer = *orig;
    longer.buf = malloc(orig->len + 1);
    memcpy(longer.buf, orig->buf, orig->len);
    longer.buf[orig->len] = 0;
    longer.env.payload = longer.buf;
    longer.env.payload_len = orig->len + 1;
    if (coordinator) {
        tss_secure_signed_view v;
        CHECK_ERR(tss_secure_verify_signed(tctx(f->sid), roster, NP, &longer.env, &v), TSS_E_PROTOCOL);
    } else {
        open_refused(rx, &longer, 1, true);
    }
    free(longer.buf);
}

static void tampering_any_byte_fails(void) {
    fixture f;
    fixture_init(&f, 4);
    tamper_every_byte(&f, &f.r1_bcast, f.s[1], false);
    tamper_every_byte(&f, &f.r1_p2p, f.s[1], false);
    tamper_every_byte(&f, &f.r2_p2p, f.s[1], false);
    tamper_every_byte(&f, &f.dkg_bcast, f.s[2], false);
    tamper_every_byte(&f, &f.final, NULL, true);
    /* The originals still open: nothing above changed state. */
    open_expect(f.s[1], &f.r2_p2p, 0x52, 1, 2, f.data, sizeof f.data);
    open_expect(f.s[2], &f.dkg_bcast, 0x21, 1, 0, f.data, sizeof f.data);
    fixture_free(&f);
}

/* The relay rewrites envelope fields: session id, round, type, sender, receiver. */
static void envelope_changes_fail(void) {
    fixture f;
    fixture_init(&f, 5);
    const sealed *all[] = {&f.r1_bcast, &f.r1_p2p, &f.r2_p2p, &f.dkg_bcast};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        const sealed *o = all[k];
        tss_secure_session *rx = f.s[1];
        sealed m;
        /* Session id: another session's id. */
        sealed_copy(&m, o);
        m.env.session_id[3] ^= 1;
        open_refused(rx, &m, 1, false);
        CHECK(detail_has("another session"));
        sealed_free(&m);
        /* Round. */
        for (int r = 0; r < 256; r += 1) {
            if (r == o->env.round) continue;
            sealed_copy(&m, o);
            m.env.round = (uint8_t)r;
            open_refused(rx, &m, 1, true);
            sealed_free(&m);
        }
        /* Type: every other value of the first payload byte, including types of
         * the same round and direction (only the signature or tag catches those). */
        for (int t = 0; t < 256; t++) {
            if (t == o->buf[0]) continue;
            sealed_copy(&m, o);
            m.buf[0] = (uint8_t)t;
            open_refused(rx, &m, 1, false);
            sealed_free(&m);
        }
        /* Sender: every other claimed sender; the error names the claimed one. */
        for (unsigned from = 0; from <= 40; from++) {
            if (from == 1) continue;
            sealed_copy(&m, o);
            m.env.sender = (uint16_t)from;
            open_refused(rx, &m, from, false);
            if (from == 3) CHECK(detail_has(FORGED));
            sealed_free(&m);
        }
        /* Receiver. */
        for (unsigned to = 0; to <= 4; to++) {
            if (to == o->env.receiver) continue;
            sealed_copy(&m, o);
            m.env.receiver = (uint16_t)to;
            open_refused(rx, &m, 1, false);
            if (to == 3) open_refused(f.s[2], &m, 1, true); /* redirected to party 3 */
            sealed_free(&m);
        }
    }
    /* Same-round, same-direction type swaps are caught cryptographically. */
    sealed m;
    sealed_copy(&m, &f.r1_p2p);
    m.buf[0] = 0x12; /* sign round-1 p2p presented as DKG round-1 p2p */
    open_refused(f.s[1], &m, 1, true);
    CHECK(detail_has("decrypt"));
    sealed_free(&m);
    sealed_copy(&m, &f.r1_bcast);
    m.buf[0] = 0x11;
    open_refused(f.s[1], &m, 1, true);
    CHECK(detail_has("signature"));
    sealed_free(&m);
    /* Reflection: party 1's message to 2 sent back to 1 as if from 2 (the
     * pairwise key is the same both ways; the binding is not). */
    sealed_copy(&m, &f.r2_p2p);
    m.env.sender = 2;
    m.env.receiver = 1;
    open_refused(f.s[0], &m, 2, true);
    sealed_free(&m);
    fixture_free(&f);
}

/* Payloads for two recipients swapped by the relay. */
static void swapped_recipients_fail(void) {
    fixture f;
    fixture_init(&f, 6);
    sealed a, b;
    sealed_copy(&a, &f.r2_p2p);   /* to 2 */
    sealed_copy(&b, &f.r2_p2p_3); /* to 3 */
    a.env.receiver = 3;
    b.env.receiver = 2;
    open_refused(f.s[2], &a, 1, true);
    open_refused(f.s[1], &b, 1, true);
    sealed_free(&a);
    sealed_free(&b);
    /* The payload of 1 -> 3 under the envelope of 1 -> 2. */
    sealed_copy(&a, &f.r2_p2p);
    free(a.buf);
    a.buf = malloc(f.r2_p2p_3.len);
    memcpy(a.buf, f.r2_p2p_3.buf, f.r2_p2p_3.len);
    a.env.payload = a.buf;
    a.env.payload_len = f.r2_p2p_3.len;
    open_refused(f.s[1], &a, 1, true);
    sealed_free(&a);
    open_expect(f.s[2], &f.r2_p2p_3, 0x52, 1, 3, f.data, sizeof f.data);
    fixture_free(&f);
}

/* A message recorded in one session, replayed into another session between
 * the same parties: with the envelope as recorded it is refused as foreign;
 * with the envelope rewritten to the new session id the signature/tag fails. */
static void replay_into_another_session_fails(void) {
    fixture a, b;
    fixture_init(&a, 7);
    fixture_init(&b, 8);
    const sealed *all[] = {&a.r1_bcast, &a.r1_p2p, &a.r2_p2p, &a.dkg_bcast};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        open_refused(b.s[1], all[k], 1, false);
        CHECK(detail_has("another session"));
        sealed m;
        sealed_copy(&m, all[k]);
        memcpy(m.env.session_id, b.sid, TSS_SECURE_SID_LEN);
        open_refused(b.s[1], &m, 1, true);
        sealed_free(&m);
    }
    tss_secure_signed_view v;
    CHECK_ERR(tss_secure_verify_signed(tctx(b.sid), roster, NP, &a.final.env, &v), TSS_E_PROTOCOL);
    sealed m;
    sealed_copy(&m, &a.final);
    memcpy(m.env.session_id, b.sid, TSS_SECURE_SID_LEN);
    CHECK_ERR(tss_secure_verify_signed(tctx(b.sid), roster, NP, &m.env, &v), TSS_E_PROTOCOL);
    CHECK(names_party(1) && detail_has(FORGED));
    sealed_free(&m);
    fixture_free(&a);
    fixture_free(&b);
}

/* Party 2 (or the coordinator) pins a wrong key for party 1. */
static void wrong_pinned_key_fails(void) {
    fixture f;
    fixture_init(&f, 9);
    tss_secure_peer bad[NP];
    memcpy(bad, roster, sizeof bad);
    memcpy(bad[0].identity, roster[5].identity, 32); /* party 6's key pinned as party 1's */
    tss_secure_session *s2;
    CHECK_OK(tss_secure_session_new(&s2, tctx(f.sid), 2, id_sk[2], bad, NP));
    open_refused(s2, &f.r1_bcast, 1, true);
    open_refused(s2, &f.r1_p2p, 1, true);
    open_refused(s2, &f.dkg_bcast, 1, true);
    tss_secure_session_free(s2);
    tss_secure_signed_view v;
    CHECK_ERR(tss_secure_verify_signed(tctx(f.sid), bad, NP, &f.final.env, &v), TSS_E_PROTOCOL);
    CHECK(names_party(1) && detail_has(FORGED));
    /* A coordinator roster without party 1. */
    CHECK_ERR(tss_secure_verify_signed(tctx(f.sid), roster + 1, NP - 1, &f.final.env, &v),
              TSS_E_PROTOCOL);
    CHECK(names_party(1) && detail_has("not a party"));
    /* Party 1 signing with a key that is not the pinned one (a stolen
     * session slot, a misconfigured daemon): refused by everyone. */
    tss_secure_peer r6[NP];
    memcpy(r6, roster, sizeof r6);
    memcpy(r6[0].identity, roster[5].identity, 32);
    tss_secure_session *imp;
    CHECK_OK(tss_secure_session_new(&imp, tctx(f.sid), 1, id_sk[6], r6, NP));
    sealed m;
    seal_msg(&m, imp, 0x61, 1, 0, f.data, 97);
    CHECK_ERR(tss_secure_verify_signed(tctx(f.sid), roster, NP, &m.env, &v), TSS_E_PROTOCOL);
    CHECK(names_party(1) && detail_has(FORGED));
    sealed_free(&m);
    seal_msg(&m, imp, 0x42, 1, 2, f.data, 50);
    open_refused(f.s[1], &m, 1, true);
    sealed_free(&m);
    tss_secure_session_free(imp);
    fixture_free(&f);
}

/* ---- an independent implementation of the documented layout ------------------------ */

/* The session context per the spec (docs/PROTOCOL.md, "Session context") for
 * the fixture session of tctx(): keygen of "test", t = 2, parties 1..NP. */
static void doc_context(const uint8_t sid[16], uint8_t pub[32], uint8_t full[32]) {
    uint8_t buf[256];
    size_t n = 0;
    buf[n++] = 2;                    /* version */
    buf[n++] = TSS_WIRE_KIND_KEYGEN; /* kind */
    memcpy(buf + n, sid, 16), n += 16;
    buf[n++] = 4;
    memcpy(buf + n, "test", 4), n += 4;
    buf[n++] = 0, buf[n++] = 2;  /* t */
    buf[n++] = 0, buf[n++] = NP; /* count */
    for (int i = 1; i <= NP; i++) buf[n++] = 0, buf[n++] = (uint8_t)i;
    memset(buf + n, 0, 64), n += 64; /* digest, presignature id */
    const char *lp = "tssd/v2/session-context", *lf = "tssd/v2/session-context-share";
    crypto_generichash(pub, 32, buf, n, (const uint8_t *)lp, strlen(lp));
    uint8_t f[32 + 32 + 2];
    memcpy(f, pub, 32);
    memset(f + 32, 0, 34); /* no keygen sid, N = 0: a keygen */
    crypto_generichash(full, 32, f, sizeof f, (const uint8_t *)lf, strlen(lf));
}

static size_t doc_binding(uint8_t *out, const char *purpose, const uint8_t *sid, uint8_t round,
                          uint8_t type, uint16_t sender, uint16_t receiver) {
    size_t n = 0;
    uint8_t pub[32], full[32];
    doc_context(sid, pub, full);
    memcpy(out, "tssd/wire/secure", 16), n = 16;
    out[n++] = 2;
    out[n++] = (uint8_t)strlen(purpose);
    memcpy(out + n, purpose, strlen(purpose)), n += strlen(purpose);
    memcpy(out + n, sid, 16), n += 16;
    memcpy(out + n, strcmp(purpose, "broadcast") == 0 ? pub : full, 32), n += 32;
    out[n++] = round;
    out[n++] = type;
    out[n++] = (uint8_t)(sender >> 8), out[n++] = (uint8_t)sender;
    out[n++] = (uint8_t)(receiver >> 8), out[n++] = (uint8_t)receiver;
    return n;
}

/* A round-1 broadcast built by hand from the spec, with a chosen ephemeral key. */
static void doc_broadcast(sealed *out, const uint8_t *sid, uint16_t from, uint8_t type,
                          const uint8_t eph[32], const uint8_t *data, size_t len) {
    uint8_t b[128], digest[64];
    size_t blen = doc_binding(b, "broadcast", sid, (uint8_t)tss_secure_type_round(type), type,
                              from, 0);
    size_t ephlen = eph ? 32 : 0;
    uint8_t *msg = malloc(blen + ephlen + len);
    memcpy(msg, b, blen);
    if (eph) memcpy(msg + blen, eph, 32);
    memcpy(msg + blen + ephlen, data, len);
    crypto_generichash(digest, 64, msg, blen + ephlen + len, NULL, 0);
    free(msg);
    memset(out, 0, sizeof *out);
    out->len = 1 + ephlen + len + 64;
    out->buf = malloc(out->len);
    out->buf[0] = type;
    if (eph) memcpy(out->buf + 1, eph, 32);
    memcpy(out->buf + 1 + ephlen, data, len);
    crypto_sign_detached(out->buf + 1 + ephlen + len, NULL, digest, 64, id_sk[from]);
    memcpy(out->env.session_id, sid, 16);
    out->env.round = (uint8_t)tss_secure_type_round(type);
    out->env.sender = from;
    out->env.receiver = 0;
    out->env.payload = out->buf;
    out->env.payload_len = out->len;
}

/* Decrypt a p2p payload per the spec with a given key. */
static bool doc_decrypt(const sealed *m, const uint8_t key[32], uint8_t *plain) {
    uint8_t ad[128];
    size_t adlen = doc_binding(ad, "p2p", m->env.session_id, m->env.round, m->buf[0],
                               m->env.sender, m->env.receiver);
    unsigned long long plen;
    return crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, m->buf + 25,
                                                      m->len - 25, ad, adlen, m->buf + 1,
                                                      key) == 0;
}

/* Static key per the spec, from the identity secrets alone. */
static void doc_static_key(uint8_t key[32], const uint8_t sid[16], uint16_t a, uint16_t b) {
    uint8_t xa[32], xb_pub[32], ss[32];
    CHECK(crypto_sign_ed25519_sk_to_curve25519(xa, id_sk[a]) == 0);
    CHECK(crypto_sign_ed25519_pk_to_curve25519(xb_pub, roster[b - 1].identity) == 0);
    CHECK(crypto_scalarmult(ss, xa, xb_pub) == 0);
    uint16_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint8_t ids[4] = {(uint8_t)(lo >> 8), (uint8_t)lo, (uint8_t)(hi >> 8), (uint8_t)hi};
    uint8_t pub[32], full[32];
    doc_context(sid, pub, full);
    crypto_generichash_state st;
    const char *label = "tssd/v2/p2p/static-key";
    crypto_generichash_init(&st, (const uint8_t *)label, strlen(label), 32);
    crypto_generichash_update(&st, ss, 32);
    crypto_generichash_update(&st, sid, 16);
    crypto_generichash_update(&st, full, 32);
    crypto_generichash_update(&st, ids, 4);
    crypto_generichash_update(&st, roster[lo - 1].identity, 32);
    crypto_generichash_update(&st, roster[hi - 1].identity, 32);
    crypto_generichash_final(&st, key, 32);
}

static void documented_layout_matches(void) {
    fixture f;
    fixture_init(&f, 10);
    /* The library's context is the documented one. */
    uint8_t pub[32], full[32];
    doc_context(f.sid, pub, full);
    const tss_secure_context *c = tctx(f.sid);
    CHECK(memcmp(c->pub, pub, 32) == 0 && memcmp(c->full, full, 32) == 0);
    CHECK(memcmp(c->sid, f.sid, 16) == 0);
    /* A hand-built broadcast opens (party 1 round 2, DKG type). */
    sealed m;
    doc_broadcast(&m, f.sid, 1, 0x21, NULL, f.data, 50);
    open_expect(f.s[1], &m, 0x21, 1, 0, f.data, 50);
    CHECK(m.len == f.dkg_bcast.len - (sizeof f.data - 50));
    sealed_free(&m);
    /* Our seal's signature is exactly the documented one (Ed25519 is deterministic). */
    doc_broadcast(&m, f.sid, 1, 0x21, NULL, f.data, sizeof f.data);
    CHECK(m.len == f.dkg_bcast.len && memcmp(m.buf, f.dkg_bcast.buf, m.len) == 0);
    sealed_free(&m);
    /* Round-1 p2p decrypts with the static key from the spec; the library's
     * static-key function gives the same key from either side. */
    uint8_t k12[32], k21[32], kd[32], plain[sizeof f.data];
    doc_static_key(kd, f.sid, 1, 2);
    CHECK_OK(tss_secure_static_key(k12, tctx(f.sid), 1, id_sk[1], 2, roster[1].identity));
    CHECK_OK(tss_secure_static_key(k21, tctx(f.sid), 2, id_sk[2], 1, roster[0].identity));
    CHECK(memcmp(k12, kd, 32) == 0 && memcmp(k21, kd, 32) == 0);
    CHECK(doc_decrypt(&f.r1_p2p, kd, plain) && memcmp(plain, f.data, sizeof f.data) == 0);
    CHECK(f.r1_p2p.buf[0] == 0x42);
    CHECK_ERR(tss_secure_static_key(k12, tctx(f.sid), 1, id_sk[1], 1, roster[0].identity),
              TSS_E_USAGE);
    fixture_free(&f);
}

/* Ephemeral key rules: equivocation, low-order keys, and a round-2 message
 * that overtakes the round-1 broadcast. */
static void ephemeral_key_rules(void) {
    uint8_t sid[TSS_SECURE_SID_LEN];
    sid_of(sid, 11);
    tss_secure_session *s[NP];
    open_sessions(s, NP, sid);
    uint8_t d[64];
    fill(d, sizeof d, 3);
    /* Low-order ephemeral keys (properly signed by party 1) are refused. */
    static const uint8_t low[][32] = {
        {0},
        {1},
        {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
         0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    };
    for (size_t k = 0; k < sizeof low / sizeof low[0]; k++) {
        sealed m;
        doc_broadcast(&m, sid, 1, 0x11, low[k], d, sizeof d);
        open_refused(s[1], &m, 1, false);
        CHECK(detail_has("low-order"));
        sealed_free(&m);
    }
    /* A round-2 p2p from party 1 that arrives before its round-1 broadcast is
     * held (TSS_E_NOT_FOUND), then opens once the broadcast is in. */
    sealed b1, b2, p;
    seal_msg(&b2, s[1], 0x11, 2, 0, d, sizeof d);
    open_expect(s[0], &b2, 0x11, 2, 0, d, sizeof d);
    seal_msg(&b1, s[0], 0x11, 1, 0, d, sizeof d);
    seal_msg(&p, s[0], 0x22, 1, 2, d, sizeof d);
    tss_mpc_msg got;
    CHECK_ERR(tss_secure_open(s[1], &p.env, &got), TSS_E_NOT_FOUND);
    CHECK(names_party(1) && got.data == NULL);
    open_expect(s[1], &b1, 0x11, 1, 0, d, sizeof d);
    open_expect(s[1], &p, 0x22, 1, 2, d, sizeof d);
    /* The same broadcast again is a duplicate: reported, not opened. */
    CHECK_ERR(tss_secure_open(s[1], &b1.env, &got), TSS_E_EXISTS);
    /* Party 1 with a second ephemeral key in the same session: refused. */
    tss_secure_session *again;
    CHECK_OK(tss_secure_session_new(&again, tctx(sid), 1, id_sk[1], roster, NP));
    sealed e;
    seal_msg(&e, again, 0x11, 1, 0, d, sizeof d);
    open_refused(s[1], &e, 1, false);
    CHECK(detail_has("two different ephemeral keys"));
    /* Still the old key: p authenticates again (and is a duplicate). */
    CHECK_ERR(tss_secure_open(s[1], &p.env, &got), TSS_E_EXISTS);
    sealed_free(&e);
    tss_secure_session_free(again);
    sealed_free(&b1);
    sealed_free(&b2);
    sealed_free(&p);
    close_sessions(s, NP);
}

/* Forward secrecy: an attacker who recorded the traffic and later holds every
 * long-term identity secret cannot read round-2 payloads. */
static void round2_forward_secrecy(void) {
    uint8_t sid[TSS_SECURE_SID_LEN];
    sid_of(sid, 12);
    tss_secure_session *s[NP];
    open_sessions(s, NP, sid);
    uint8_t share[97];
    fill(share, sizeof share, 0x99);
    /* Recorded traffic: both round-1 broadcasts, a round-1 and a round-2 p2p. */
    sealed b1, b2, p1, p2;
    seal_msg(&b1, s[0], 0x11, 1, 0, share, 64);
    seal_msg(&b2, s[1], 0x11, 2, 0, share, 64);
    open_expect(s[1], &b1, 0x11, 1, 0, share, 64);
    open_expect(s[0], &b2, 0x11, 2, 0, share, 64);
    seal_msg(&p1, s[0], 0x12, 1, 2, share, sizeof share);
    seal_msg(&p2, s[0], 0x22, 1, 2, share, sizeof share);
    open_expect(s[1], &p2, 0x22, 1, 2, share, sizeof share);
    close_sessions(s, NP); /* the sessions end; ephemeral secrets are gone */

    /* The long-term keys give the static key: round 1 opens (positive control)... */
    uint8_t k[32], plain[sizeof share];
    CHECK_OK(tss_secure_static_key(k, tctx(sid), 2, id_sk[2], 1, roster[0].identity));
    CHECK(doc_decrypt(&p1, k, plain) && memcmp(plain, share, sizeof share) == 0);
    /* ...but not round 2. */
    CHECK(!doc_decrypt(&p2, k, plain));
    /* Nor the static key with the session label, nor the bare X25519 output. */
    uint8_t xa[32], xb[32], ss[32];
    CHECK(crypto_sign_ed25519_sk_to_curve25519(xa, id_sk[2]) == 0);
    CHECK(crypto_sign_ed25519_pk_to_curve25519(xb, roster[0].identity) == 0);
    CHECK(crypto_scalarmult(ss, xa, xb) == 0);
    CHECK(!doc_decrypt(&p2, ss, plain));
    /* Rebuilding party 2's session from its long-term key and replaying the
     * recorded round-1 broadcast yields a fresh ephemeral key: round 2 stays shut. */
    tss_secure_session *re;
    CHECK_OK(tss_secure_session_new(&re, tctx(sid), 2, id_sk[2], roster, NP));
    open_expect(re, &b1, 0x11, 1, 0, share, 64);
    open_expect(re, &p1, 0x12, 1, 2, share, sizeof share);
    open_refused(re, &p2, 1, true);
    tss_secure_session_free(re);
    sealed_free(&b1);
    sealed_free(&b2);
    sealed_free(&p1);
    sealed_free(&p2);
}

/* ---- whole protocols through seal -> envelope -> open ----------------------------- */

typedef tss_result (*inner_handle)(void *, const tss_mpc_msg *, tss_mpc_outbox *);

typedef struct {
    void *inner;
    inner_handle handle;
    tss_secure_session *sec;
    unsigned opened;
} sparty;

static size_t total_sealed;

/* Seal an mpc message and queue its encoded PROTOCOL_MSG envelope. */
static tss_result seal_into(tss_secure_session *sec, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    tss_writer pw, ew;
    tss_writer_init(&pw, TSS_SECURE_MAX_SEALED);
    tss_writer_init(&ew, TSS_SECURE_MAX_SEALED + TSS_WIRE_PROTOCOL_ENVELOPE_LEN);
    tss_wire_protocol_msg env;
    tss_result r = tss_secure_seal(sec, m, &env, &pw);
    if (tss_is_ok(r)) r = tss_wire_protocol_msg_encode(&ew, &env, TSS_SECURE_MAX_SEALED);
    if (tss_is_ok(r)) r = tss_mpc_outbox_push(out, m->type, m->from, m->to, &ew);
    if (tss_is_ok(r)) total_sealed++;
    tss_writer_free(&pw);
    tss_writer_free(&ew);
    return r;
}

static tss_result seal_all(tss_secure_session *sec, tss_mpc_outbox *plain, tss_mpc_outbox *out) {
    tss_result r = TSS_OK_RESULT;
    for (size_t i = 0; i < plain->count && tss_is_ok(r); i++)
        r = seal_into(sec, &plain->msgs[i], out);
    tss_mpc_outbox_clear(plain);
    return r;
}

static tss_result sdeliver(void *party, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    sparty *p = party;
    tss_wire_protocol_msg env;
    TSS_GUARD(tss_wire_protocol_msg_decode(&env, m->data, m->len, TSS_SECURE_MAX_SEALED));
    tss_mpc_msg plain;
    TSS_GUARD(tss_secure_open(p->sec, &env, &plain));
    p->opened++;
    tss_mpc_outbox inner;
    tss_mpc_outbox_init(&inner);
    tss_result r = p->handle(p->inner, &plain, &inner);
    tss_secure_msg_clear(&plain);
    tss_result r2 = seal_all(p->sec, &inner, out);
    return tss_is_ok(r) ? r2 : r;
}

static tss_result dkg_handle(void *d, const tss_mpc_msg *m, tss_mpc_outbox *o) {
    return tss_dkg_handle(d, m, o);
}
static tss_result sign_handle(void *d, const tss_mpc_msg *m, tss_mpc_outbox *o) {
    return tss_sign_handle(d, m, o);
}

/* Relay hook: optionally flip one payload byte of one (type, from, to) message. */
typedef struct {
    uint8_t type;
    uint16_t from, to;
    size_t offset; /* into the sealed payload */
    int hits;
    /* The assembler (coordinator) side of signing. */
    const uint8_t *sid;
    tss_sign_partial partials[TSS_MPC_MAX_PARTIES];
    size_t npartials;
    int bad_partials;
} relay;

static sim_action relay_hook(void *ctx, tss_mpc_msg *m, uint16_t recipient) {
    relay *rl = ctx;
    if (rl->type && m->type == rl->type && m->from == rl->from &&
        (rl->to == 0 || recipient == rl->to)) {
        size_t at = TSS_WIRE_PROTOCOL_ENVELOPE_LEN + rl->offset;
        if (at < m->len) m->data[at] ^= 0x20, rl->hits++;
    }
    if (m->type == TSS_MSG_SIGN_FINAL_BCAST) {
        /* sim_run hands broadcasts to every party; the final one is for the
         * assembler only: it verifies each signer's message once. */
        (void)recipient;
        bool seen = false;
        for (size_t i = 0; i < rl->npartials; i++) seen |= rl->partials[i].party == m->from;
        if (!seen) {
            tss_wire_protocol_msg env;
            tss_secure_signed_view v;
            if (tss_is_ok(tss_wire_protocol_msg_decode(&env, m->data, m->len,
                                                       TSS_SECURE_MAX_SEALED)) &&
                tss_is_ok(tss_secure_verify_signed(tctx(rl->sid), roster, NP, &env, &v)) &&
                v.type == TSS_MSG_SIGN_FINAL_BCAST &&
                tss_is_ok(tss_sign_partial_decode(&rl->partials[rl->npartials], v.from, v.data,
                                                  v.len)))
                rl->npartials++;
            else
                rl->bad_partials++;
        }
        return SIM_DROP;
    }
    return SIM_DELIVER;
}

static void secure_dkg(size_t n, uint16_t t, relay *rl, sparty *parties, tss_keyshare **shares,
                       sim_net *net) {
    uint8_t sid[TSS_SECURE_SID_LEN];
    sid_of(sid, 0x30);
    memset(net, 0, sizeof *net);
    net->n = n;
    net->deliver = sdeliver;
    net->hook = relay_hook;
    net->hook_ctx = rl;
    tss_mpc_outbox init, plain;
    tss_mpc_outbox_init(&init);
    tss_mpc_outbox_init(&plain);
    total_sealed = 0;
    for (size_t i = 0; i < n; i++) {
        tss_dkg_config c = {.self = (uint16_t)(i + 1), .threshold = t, .n = (uint16_t)n};
        for (size_t k = 0; k < n; k++) c.parties[k] = (uint16_t)(k + 1);
        snprintf(c.key_id, sizeof c.key_id, "secure-key");
        memset(c.session_id, 0x30, sizeof c.session_id);
        memcpy(c.session_id, sid, sizeof sid);
        tss_dkg *d;
        CHECK_OK(tss_dkg_new(&d, &c));
        CHECK_OK(tss_secure_session_new(&parties[i].sec, tctx(sid), c.self, id_sk[c.self], roster, n));
        parties[i] = (sparty){.inner = d, .handle = dkg_handle, .sec = parties[i].sec};
        CHECK_OK(tss_dkg_start(d, &plain));
        CHECK_OK(seal_all(parties[i].sec, &plain, &init));
        net->ids[i] = c.self;
        net->party[i] = &parties[i];
    }
    sim_run(net, &init);
    tss_mpc_outbox_clear(&init);
    for (size_t i = 0; i < n; i++) {
        shares[i] = NULL;
        if (tss_dkg_finished(parties[i].inner))
            CHECK_OK(tss_dkg_take_share(parties[i].inner, &shares[i]));
        tss_dkg_free(parties[i].inner);
        tss_secure_session_free(parties[i].sec);
    }
}

static void dkg_through_secure_channel(void) {
    sparty parties[NP];
    tss_keyshare *shares[NP];
    sim_net net;
    relay rl = {0};
    secure_dkg(NP, 2, &rl, parties, shares, &net);
    for (size_t i = 0; i < NP; i++) {
        CHECK(net.error[i] == TSS_OK);
        CHECK(shares[i] != NULL);
        /* 2 peers x (r1 bcast, r1 p2p, r2 bcast, r2 p2p, r3 bcast) */
        CHECK(parties[i].opened == 10);
    }
    /* Each party sealed 3 broadcasts and 2 x 2 p2p. */
    CHECK(total_sealed == NP * 7);
    if (shares[0] && shares[1] && shares[2]) {
        CHECK(tss_pt_eq(&shares[0]->X, &shares[1]->X));
        CHECK(tss_pt_eq(&shares[0]->X, &shares[2]->X));
    }
    for (size_t i = 0; i < NP; i++) tss_keyshare_free(shares[i]);

    /* The relay flips a byte of the share (round-2 p2p, ciphertext) from 1 to
     * 2: party 2 aborts naming party 1, the DKG does not complete. */
    relay bad = {.type = TSS_MSG_DKG_R2_P2P, .from = 1, .to = 2, .offset = 30};
    secure_dkg(NP, 2, &bad, parties, shares, &net);
    CHECK(bad.hits == 1);
    CHECK(net.error[1] == TSS_E_PROTOCOL);
    CHECK(strstr(net.detail[1], "party 1") && strstr(net.detail[1], FORGED));
    CHECK(shares[1] == NULL);
    for (size_t i = 0; i < NP; i++) tss_keyshare_free(shares[i]);
    /* And a byte of party 3's round-2 broadcast signature, seen by party 1. */
    relay bad2 = {.type = TSS_MSG_DKG_R2_BCAST, .from = 3, .to = 1, .offset = 5};
    secure_dkg(NP, 2, &bad2, parties, shares, &net);
    CHECK(net.error[0] == TSS_E_PROTOCOL);
    CHECK(strstr(net.detail[0], "party 3") && strstr(net.detail[0], FORGED));
    CHECK(shares[0] == NULL);
    for (size_t i = 0; i < NP; i++) tss_keyshare_free(shares[i]);
}

typedef struct {
    uint8_t sids[8][TSS_SID_BYTES];
    size_t count;
} registry;

static tss_result claim(void *ctx, const uint8_t sid[TSS_SID_BYTES]) {
    registry *g = ctx;
    for (size_t i = 0; i < g->count; i++)
        TSS_ENSURE(memcmp(g->sids[i], sid, TSS_SID_BYTES) != 0, TSS_E_PROTOCOL, "sid reused");
    if (g->count < 8) memcpy(g->sids[g->count++], sid, TSS_SID_BYTES);
    return TSS_OK_RESULT;
}

static tss_result consume(void *ctx, const uint8_t id[TSS_SID_BYTES]) {
    (void)ctx, (void)id;
    return TSS_OK_RESULT;
}

/* Signing with signers {1, 3} of a 2-of-3 key; the assembler verifies each
 * final message's signature before using it. */
static bool secure_sign(tss_keyshare **shares, uint8_t session_byte, relay *rl, sim_net *net,
                        tss_signature *sig) {
    static registry reg[NP + 1];
    const uint16_t signers[2] = {1, 3};
    uint8_t sid[TSS_SECURE_SID_LEN], digest[32];
    sid_of(sid, session_byte);
    memset(digest, 0x42, sizeof digest);
    sparty parties[2];
    tss_sign *sg[2] = {0};
    memset(net, 0, sizeof *net);
    net->n = 2;
    net->deliver = sdeliver;
    net->hook = relay_hook;
    net->hook_ctx = rl;
    rl->sid = sid;
    tss_secure_peer sroster[2] = {roster[0], roster[2]};
    tss_mpc_outbox init, plain;
    tss_mpc_outbox_init(&init);
    tss_mpc_outbox_init(&plain);
    for (size_t k = 0; k < 2; k++) {
        uint16_t me = signers[k];
        tss_sign_config c = {.share = shares[me - 1], .count = 2, .signers = {1, 3}};
        memset(c.session_id, session_byte, sizeof c.session_id);
        memcpy(c.session_id, sid, sizeof sid);
        c.registry = (tss_sid_registry){claim, &reg[me]};
        c.consume = (tss_consume_hook){consume, NULL};
        c.has_digest = true;
        memcpy(c.digest, digest, sizeof digest);
        CHECK_OK(tss_sign_new(&sg[k], &c));
        tss_secure_session *sec = NULL;
        CHECK_OK(tss_secure_session_new(&sec, tctx(sid), me, id_sk[me], sroster, 2));
        parties[k] = (sparty){.inner = sg[k], .handle = sign_handle, .sec = sec};
        CHECK_OK(tss_sign_start(sg[k], &plain));
        CHECK_OK(seal_all(sec, &plain, &init));
        net->ids[k] = me;
        net->party[k] = &parties[k];
    }
    sim_run(net, &init);
    tss_mpc_outbox_clear(&init);
    bool ok = rl->npartials == 2 && rl->bad_partials == 0;
    for (size_t k = 0; k < 2; k++) {
        ok &= net->error[k] == TSS_OK && tss_sign_finished(sg[k]);
        /* r1 bcast, r1 p2p, r2 p2p from the one peer */
        ok &= parties[k].opened == 3;
    }
    if (ok)
        ok = tss_is_ok(tss_sign_assemble(rl->partials, rl->npartials, &shares[0]->X, digest, sig));
    for (size_t k = 0; k < 2; k++) {
        tss_sign_free(sg[k]);
        tss_secure_session_free(parties[k].sec);
    }
    rl->sid = NULL;
    return ok;
}

static void signing_through_secure_channel(void) {
    tss_keyshare *shares[NP];
    sim_keygen(NP, 2, 0x51, shares);
    sim_net net;
    tss_signature sig;
    relay rl = {0};
    CHECK(secure_sign(shares, 0x60, &rl, &net, &sig));
    /* Verify the signature independently. */
    uint8_t compact[64], digest[32];
    memset(digest, 0x42, sizeof digest);
    memcpy(compact, sig.r, 32);
    memcpy(compact + 32, sig.s, 32);
    secp256k1_ecdsa_signature esig;
    CHECK(secp256k1_ecdsa_signature_parse_compact(tss_pt_context(), &esig, compact));
    CHECK(secp256k1_ecdsa_verify(tss_pt_context(), &esig, digest, &shares[0]->X.pk));

    /* Round-2 RVOLE reply from 3 to 1 altered (tag byte region): 1 aborts naming 3. */
    relay bad = {.type = TSS_MSG_SIGN_R2_P2P, .from = 3, .to = 1, .offset = 1 + 24 + 49444 + 3};
    CHECK(!secure_sign(shares, 0x61, &bad, &net, &sig));
    CHECK(bad.hits == 1 && net.error[0] == TSS_E_PROTOCOL);
    CHECK(strstr(net.detail[0], "party 3") && strstr(net.detail[0], FORGED));
    /* Round-1 OT-extension message from 1 to 3 altered (nonce). */
    relay bad1 = {.type = TSS_MSG_SIGN_R1_P2P, .from = 1, .to = 3, .offset = 4};
    CHECK(!secure_sign(shares, 0x62, &bad1, &net, &sig));
    CHECK(net.error[1] == TSS_E_PROTOCOL && strstr(net.detail[1], "party 1"));
    /* A partial altered on its way to the assembler: its signature fails, the
     * coordinator never uses it. */
    relay badf = {.type = TSS_MSG_SIGN_FINAL_BCAST, .from = 3, .to = 0, .offset = 40};
    CHECK(!secure_sign(shares, 0x63, &badf, &net, &sig));
    CHECK(badf.hits >= 1 && badf.bad_partials >= 1 && badf.npartials == 1);
    for (size_t i = 0; i < NP; i++) tss_keyshare_free(shares[i]);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    make_identities();
    RUN(type_table);
    RUN(session_config_validated);
    RUN(round_trip_every_type);
    RUN(seal_refuses_misuse);
    RUN(tampering_any_byte_fails);
    RUN(envelope_changes_fail);
    RUN(swapped_recipients_fail);
    RUN(replay_into_another_session_fails);
    RUN(wrong_pinned_key_fails);
    RUN(documented_layout_matches);
    RUN(ephemeral_key_rules);
    RUN(round2_forward_secrecy);
    RUN(dkg_through_secure_channel);
    RUN(signing_through_secure_channel);
    return harness_finish("secure");
}
