/* Party-to-party protection: signed broadcasts, AEAD point-to-point payloads
 * with forward secrecy from round 2 on. Layouts: docs/PROTOCOL.md,
 * "Party-to-party protection". */
#include "wire/secure.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/secmem.h"

#define BINDING_TAG "tssd/wire/secure" /* 16 bytes, no NUL */
#define BINDING_TAG_LEN 16
#define PURPOSE_BROADCAST "broadcast"
#define PURPOSE_P2P "p2p"
#define BINDING_MAX \
    (BINDING_TAG_LEN + 1 + 1 + 9 + TSS_SECURE_SID_LEN + TSS_SECURE_CONTEXT_LEN + 1 + 1 + 2 + 2)
/* BLAKE2b keys (16..64 bytes) that separate the two pairwise keys. */
#define LABEL_STATIC "tssd/v2/p2p/static-key"
#define LABEL_SESSION "tssd/v2/p2p/session-key"
#define LABEL_CONTEXT_PUBLIC "tssd/v2/session-context"
#define LABEL_CONTEXT_FULL "tssd/v2/session-context-share"
#define FORGED "forged or altered in transit (by the relay or the sender)"

_Static_assert(sizeof BINDING_TAG - 1 == BINDING_TAG_LEN, "binding tag is 16 bytes");
_Static_assert(sizeof LABEL_STATIC - 1 >= crypto_generichash_KEYBYTES_MIN, "label length");
_Static_assert(sizeof LABEL_SESSION - 1 >= crypto_generichash_KEYBYTES_MIN, "label length");
_Static_assert(sizeof LABEL_CONTEXT_PUBLIC - 1 >= crypto_generichash_KEYBYTES_MIN, "label length");
_Static_assert(sizeof LABEL_CONTEXT_FULL - 1 >= crypto_generichash_KEYBYTES_MIN, "label length");
_Static_assert(TSS_WIRE_MAX_KEY_ID <= 255, "key id length fits a byte");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == TSS_SECURE_NONCE_LEN, "nonce");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == TSS_SECURE_TAG_LEN, "tag");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == TSS_SECURE_KEY_LEN, "key");
_Static_assert(crypto_sign_BYTES == TSS_SECURE_SIG_LEN, "signature");
_Static_assert(crypto_sign_SECRETKEYBYTES == TSS_SECURE_IDENTITY_SECRET_LEN, "secret key");
_Static_assert(crypto_sign_PUBLICKEYBYTES == TSS_SECURE_IDENTITY_LEN, "public key");
_Static_assert(crypto_scalarmult_BYTES == TSS_SECURE_EPHEMERAL_LEN, "x25519");
_Static_assert(TSS_MPC_MAX_PARTIES == TSS_WIRE_MAX_PARTIES, "party id ranges agree");

#define TYPE_SLOTS 14 /* mpc message types (type_slot); fits `seen` */
#define SEEN_LEN 32  /* BLAKE2b-256 of an opened payload */

typedef struct {
    uint16_t id;
    uint8_t identity[TSS_SECURE_IDENTITY_LEN];
    /* First authenticated payload of each type from this peer: a relay's
     * duplicate is recognised (and dropped) rather than passed to mpc/,
     * which would blame the sender for it. */
    uint16_t seen;                        /* bit per type slot */
    uint8_t seen_hash[TYPE_SLOTS][SEEN_LEN];
    bool has_eph;
    uint8_t eph[TSS_SECURE_EPHEMERAL_LEN];            /* peer's ephemeral public key */
    uint8_t key_static[TSS_SECURE_KEY_LEN];           /* round-1 p2p */
    uint8_t key_session[TSS_SECURE_KEY_LEN];          /* round >= 2 p2p, once has_eph */
} peer_state;

struct tss_secure_session {
    uint8_t sid[TSS_SECURE_SID_LEN];
    tss_secure_context ctx;
    uint16_t self;
    uint8_t identity_secret[TSS_SECURE_IDENTITY_SECRET_LEN];
    uint8_t identity_public[TSS_SECURE_IDENTITY_LEN];
    bool eph_live; /* eph_secret still held (some peer's key not yet seen) */
    uint8_t eph_secret[TSS_SECURE_EPHEMERAL_LEN];
    uint8_t eph_public[TSS_SECURE_EPHEMERAL_LEN];
    size_t npeers;
    peer_state peers[TSS_MPC_MAX_PARTIES];
};

/* ---- message types -------------------------------------------------------- */

unsigned tss_secure_type_round(uint8_t type) {
    switch (type) {
    case TSS_MSG_DKG_R1_BCAST:
    case TSS_MSG_DKG_R1_P2P:
    case TSS_MSG_SIGN_R1_BCAST:
    case TSS_MSG_SIGN_R1_P2P:
    case TSS_MSG_RESHARE_R1_BCAST:
    case TSS_MSG_RESHARE_R1_P2P: return 1;
    case TSS_MSG_DKG_R2_BCAST:
    case TSS_MSG_DKG_R2_P2P:
    case TSS_MSG_SIGN_R2_P2P:
    case TSS_MSG_RESHARE_R2_BCAST:
    case TSS_MSG_RESHARE_R2_P2P: return 2;
    case TSS_MSG_DKG_R3_BCAST:
    case TSS_MSG_SIGN_FINAL_BCAST:
    case TSS_MSG_RESHARE_R3_BCAST: return 3;
    default: return 0;
    }
}

bool tss_secure_type_is_broadcast(uint8_t type) {
    switch (type) {
    case TSS_MSG_DKG_R1_BCAST:
    case TSS_MSG_DKG_R2_BCAST:
    case TSS_MSG_DKG_R3_BCAST:
    case TSS_MSG_SIGN_R1_BCAST:
    case TSS_MSG_SIGN_FINAL_BCAST:
    case TSS_MSG_RESHARE_R1_BCAST:
    case TSS_MSG_RESHARE_R2_BCAST:
    case TSS_MSG_RESHARE_R3_BCAST: return true;
    default: return false;
    }
}

static int type_slot(uint8_t type) {
    static const uint8_t types[TYPE_SLOTS] = {
        TSS_MSG_DKG_R1_BCAST,  TSS_MSG_DKG_R1_P2P,  TSS_MSG_DKG_R2_BCAST,
        TSS_MSG_DKG_R2_P2P,    TSS_MSG_DKG_R3_BCAST, TSS_MSG_SIGN_R1_BCAST,
        TSS_MSG_SIGN_R1_P2P,   TSS_MSG_SIGN_R2_P2P, TSS_MSG_SIGN_FINAL_BCAST,
        TSS_MSG_RESHARE_R1_BCAST, TSS_MSG_RESHARE_R1_P2P, TSS_MSG_RESHARE_R2_BCAST,
        TSS_MSG_RESHARE_R2_P2P, TSS_MSG_RESHARE_R3_BCAST};
    _Static_assert(TYPE_SLOTS <= 16, "seen is a uint16_t bit set");
    for (int i = 0; i < TYPE_SLOTS; i++)
        if (types[i] == type) return i;
    return -1;
}

/* The first broadcast of a session carries the sender's ephemeral key. */
static bool carries_ephemeral(uint8_t type) {
    return tss_secure_type_is_broadcast(type) && tss_secure_type_round(type) == 1;
}

/* ---- binding (signature input prefix / AEAD associated data) -------------- */

/* Signed messages bind the public context (the coordinator verifies the final
 * signing message without a key share); encrypted ones bind the full context,
 * which adds what only the key share holds. */
static size_t binding(uint8_t out[BINDING_MAX], bool broadcast, const tss_secure_context *ctx,
                      uint8_t round, uint8_t type, uint16_t sender, uint16_t receiver) {
    const char *purpose = broadcast ? PURPOSE_BROADCAST : PURPOSE_P2P;
    size_t plen = strlen(purpose), n = 0;
    memcpy(out + n, BINDING_TAG, BINDING_TAG_LEN), n += BINDING_TAG_LEN;
    out[n++] = TSS_SECURE_VERSION;
    out[n++] = (uint8_t)plen;
    memcpy(out + n, purpose, plen), n += plen;
    memcpy(out + n, ctx->sid, TSS_SECURE_SID_LEN), n += TSS_SECURE_SID_LEN;
    memcpy(out + n, broadcast ? ctx->pub : ctx->full, TSS_SECURE_CONTEXT_LEN),
        n += TSS_SECURE_CONTEXT_LEN;
    out[n++] = round;
    out[n++] = type;
    out[n++] = (uint8_t)(sender >> 8), out[n++] = (uint8_t)sender;
    out[n++] = (uint8_t)(receiver >> 8), out[n++] = (uint8_t)receiver;
    return n;
}

/* digest = BLAKE2b-512(binding || ephemeral? || data): what Ed25519 signs. */
static void signed_digest(uint8_t digest[crypto_generichash_BYTES_MAX],
                          const tss_secure_context *ctx, uint8_t round, uint8_t type,
                          uint16_t sender, const uint8_t *eph, const uint8_t *data, size_t len) {
    uint8_t b[BINDING_MAX];
    size_t blen = binding(b, true, ctx, round, type, sender, TSS_WIRE_BROADCAST);
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES_MAX);
    crypto_generichash_update(&st, b, blen);
    if (eph) crypto_generichash_update(&st, eph, TSS_SECURE_EPHEMERAL_LEN);
    crypto_generichash_update(&st, data, len);
    crypto_generichash_final(&st, digest, crypto_generichash_BYTES_MAX);
}

/* ---- session context ----------------------------------------------------------- */

static void put_u16(crypto_generichash_state *st, uint16_t v) {
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    crypto_generichash_update(st, b, 2);
}

void tss_secure_context_init(tss_secure_context *c, const tss_wire_session_start *st,
                             const uint8_t *keygen_sid, uint16_t key_parties) {
    static const uint8_t zero[TSS_SECURE_KEYGEN_SID_LEN];
    memset(c, 0, sizeof *c);
    memcpy(c->sid, st->session_id, TSS_SECURE_SID_LEN);
    size_t klen = strnlen(st->key_id, TSS_WIRE_MAX_KEY_ID);
    uint8_t head[2] = {TSS_SECURE_VERSION, st->kind};
    uint8_t kl = (uint8_t)klen;
    crypto_generichash_state h;
    crypto_generichash_init(&h, (const uint8_t *)LABEL_CONTEXT_PUBLIC,
                            strlen(LABEL_CONTEXT_PUBLIC), TSS_SECURE_CONTEXT_LEN);
    crypto_generichash_update(&h, head, sizeof head);
    crypto_generichash_update(&h, st->session_id, TSS_SECURE_SID_LEN);
    crypto_generichash_update(&h, &kl, 1);
    crypto_generichash_update(&h, (const uint8_t *)st->key_id, klen);
    put_u16(&h, st->threshold);
    put_u16(&h, st->count);
    for (size_t i = 0; i < st->count && i < TSS_WIRE_MAX_PARTIES; i++) put_u16(&h, st->parties[i]);
    crypto_generichash_update(&h, st->digest, TSS_WIRE_DIGEST_LEN);
    crypto_generichash_update(&h, st->presign_id, TSS_WIRE_PRESIGN_ID_LEN);
    /* A derivation path (issue 15) is appended only when present, so the
     * context of a session without one is unchanged; the encoding stays
     * injective (every earlier field has a fixed or prefixed length). */
    if (st->path.depth) {
        uint8_t d = st->path.depth;
        crypto_generichash_update(&h, &d, 1);
        for (unsigned i = 0; i < st->path.depth; i++) {
            uint32_t v = st->path.index[i];
            uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
            crypto_generichash_update(&h, b, 4);
        }
    }
    /* Request content (issue 16): marker 'R' and its BLAKE2b-256, only when
     * present (still injective: a path of depth 8 starts with 0x08, not 'R',
     * and no path length 1+4d equals 33 plus another 1+4d'). */
    if (st->request_len) {
        uint8_t mark = 'R', rh[32];
        crypto_generichash(rh, sizeof rh, st->request, st->request_len, NULL, 0);
        crypto_generichash_update(&h, &mark, 1);
        crypto_generichash_update(&h, rh, sizeof rh);
    }
    crypto_generichash_final(&h, c->pub, TSS_SECURE_CONTEXT_LEN);
    crypto_generichash_init(&h, (const uint8_t *)LABEL_CONTEXT_FULL, strlen(LABEL_CONTEXT_FULL),
                            TSS_SECURE_CONTEXT_LEN);
    crypto_generichash_update(&h, c->pub, TSS_SECURE_CONTEXT_LEN);
    crypto_generichash_update(&h, keygen_sid ? keygen_sid : zero, TSS_SECURE_KEYGEN_SID_LEN);
    put_u16(&h, keygen_sid ? key_parties : 0);
    crypto_generichash_final(&h, c->full, TSS_SECURE_CONTEXT_LEN);
}

void tss_secure_mpc_sid(uint8_t out[32], const tss_wire_session_start *st) {
    crypto_hash_sha256_state h;
    static const char tag[] = "tssd/v1/mpc-session";
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)tag, sizeof tag - 1);
    crypto_hash_sha256_update(&h, &st->kind, 1);
    crypto_hash_sha256_update(&h, st->session_id, sizeof st->session_id);
    crypto_hash_sha256_final(&h, out);
}

/* ---- key schedule ----------------------------------------------------------- */

/* key = BLAKE2b-256(key = label, ss_static || ss_eph? || sid || full context || u16 lo || u16 hi
 *                   || identity_lo || identity_hi || (eph_lo || eph_hi)?) */
static void pair_key(uint8_t key[TSS_SECURE_KEY_LEN], const uint8_t ss_static[32],
                     const uint8_t *ss_eph, const tss_secure_context *ctx, uint16_t a,
                     const uint8_t *id_a,
                     const uint8_t *eph_a, uint16_t b, const uint8_t *id_b, const uint8_t *eph_b) {
    bool a_low = a < b;
    uint16_t lo = a_low ? a : b, hi = a_low ? b : a;
    const uint8_t *id_lo = a_low ? id_a : id_b, *id_hi = a_low ? id_b : id_a;
    uint8_t ids[4] = {(uint8_t)(lo >> 8), (uint8_t)lo, (uint8_t)(hi >> 8), (uint8_t)hi};
    const char *label = ss_eph ? LABEL_SESSION : LABEL_STATIC;
    crypto_generichash_state st;
    crypto_generichash_init(&st, (const uint8_t *)label, strlen(label), TSS_SECURE_KEY_LEN);
    crypto_generichash_update(&st, ss_static, 32);
    if (ss_eph) crypto_generichash_update(&st, ss_eph, 32);
    crypto_generichash_update(&st, ctx->sid, TSS_SECURE_SID_LEN);
    crypto_generichash_update(&st, ctx->full, TSS_SECURE_CONTEXT_LEN);
    crypto_generichash_update(&st, ids, sizeof ids);
    crypto_generichash_update(&st, id_lo, TSS_SECURE_IDENTITY_LEN);
    crypto_generichash_update(&st, id_hi, TSS_SECURE_IDENTITY_LEN);
    if (ss_eph) {
        crypto_generichash_update(&st, a_low ? eph_a : eph_b, TSS_SECURE_EPHEMERAL_LEN);
        crypto_generichash_update(&st, a_low ? eph_b : eph_a, TSS_SECURE_EPHEMERAL_LEN);
    }
    crypto_generichash_final(&st, key, TSS_SECURE_KEY_LEN);
    tss_wipe(&st, sizeof st);
}

/* ss_static = X25519(own identity as X25519, peer identity as X25519). */
static tss_result static_shared(uint8_t ss[32], const uint8_t own_curve_sk[32], uint16_t peer,
                                const uint8_t peer_identity[TSS_SECURE_IDENTITY_LEN]) {
    uint8_t peer_curve[32];
    TSS_ENSURE(crypto_sign_ed25519_pk_to_curve25519(peer_curve, peer_identity) == 0,
               TSS_E_INVALID,
               "pinned identity of party %u is not a valid Ed25519 key (not on the curve, "
               "small order or outside the main subgroup)",
               (unsigned)peer);
    TSS_ENSURE(crypto_scalarmult(ss, own_curve_sk, peer_curve) == 0, TSS_E_INVALID,
               "X25519 with the pinned identity of party %u is all zero", (unsigned)peer);
    return TSS_OK_RESULT;
}

tss_result tss_secure_static_key(uint8_t key[TSS_SECURE_KEY_LEN],
                                 const tss_secure_context *ctx, uint16_t self,
                                 const uint8_t identity_secret[TSS_SECURE_IDENTITY_SECRET_LEN],
                                 uint16_t peer,
                                 const uint8_t peer_identity[TSS_SECURE_IDENTITY_LEN]) {
    TSS_GUARD(tss_crypto_init());
    TSS_ENSURE(self != peer, TSS_E_USAGE, "static key with ourselves");
    uint8_t curve_sk[32], ss[32], own_pk[TSS_SECURE_IDENTITY_LEN];
    crypto_sign_ed25519_sk_to_pk(own_pk, identity_secret);
    TSS_ENSURE(crypto_sign_ed25519_sk_to_curve25519(curve_sk, identity_secret) == 0,
               TSS_E_CRYPTO, "identity key conversion to X25519 failed");
    tss_result r = static_shared(ss, curve_sk, peer, peer_identity);
    tss_wipe(curve_sk, sizeof curve_sk);
    if (!tss_is_ok(r)) return r;
    pair_key(key, ss, NULL, ctx, self, own_pk, NULL, peer, peer_identity, NULL);
    tss_wipe(ss, sizeof ss);
    return TSS_OK_RESULT;
}

/* ---- session ------------------------------------------------------------------ */

static peer_state *find_peer(tss_secure_session *s, uint16_t id) {
    for (size_t k = 0; k < s->npeers; k++)
        if (s->peers[k].id == id) return &s->peers[k];
    return NULL;
}

void tss_secure_session_free(tss_secure_session *s) { tss_secret_free(s); }

void tss_secure_ephemeral_public(const tss_secure_session *s,
                                 uint8_t out[TSS_SECURE_EPHEMERAL_LEN]) {
    memcpy(out, s->eph_public, TSS_SECURE_EPHEMERAL_LEN);
}

static tss_result check_parties(uint16_t self, const tss_secure_peer *parties, size_t count) {
    TSS_ENSURE(parties && count >= 1 && count <= TSS_MPC_MAX_PARTIES, TSS_E_USAGE,
               "session needs 1..%d parties, got %zu", TSS_MPC_MAX_PARTIES, count);
    for (size_t k = 0; k < count; k++) {
        TSS_ENSURE(parties[k].id >= 1 && parties[k].id <= TSS_MPC_MAX_PARTIES, TSS_E_INVALID,
                   "party id %u outside 1..%d", (unsigned)parties[k].id, TSS_MPC_MAX_PARTIES);
        for (size_t j = 0; j < k; j++) {
            TSS_ENSURE(parties[j].id != parties[k].id, TSS_E_INVALID,
                       "party %u listed twice", (unsigned)parties[k].id);
            TSS_ENSURE(parties[j].id == self || parties[k].id == self ||
                           memcmp(parties[j].identity, parties[k].identity,
                                  TSS_SECURE_IDENTITY_LEN) != 0,
                       TSS_E_INVALID, "parties %u and %u have the same pinned identity",
                       (unsigned)parties[j].id, (unsigned)parties[k].id);
        }
    }
    return TSS_OK_RESULT;
}

static tss_result session_init(tss_secure_session *s, const tss_secure_context *ctx, uint16_t self,
                               const uint8_t *identity_secret, const tss_secure_peer *parties,
                               size_t count, uint8_t curve_sk[32]) {
    s->ctx = *ctx;
    memcpy(s->sid, ctx->sid, TSS_SECURE_SID_LEN);
    s->self = self;
    memcpy(s->identity_secret, identity_secret, TSS_SECURE_IDENTITY_SECRET_LEN);
    crypto_sign_ed25519_sk_to_pk(s->identity_public, identity_secret);
    TSS_ENSURE(crypto_sign_ed25519_sk_to_curve25519(curve_sk, identity_secret) == 0,
               TSS_E_CRYPTO, "identity key conversion to X25519 failed");
    for (size_t k = 0; k < count; k++) {
        if (parties[k].id == self) {
            TSS_ENSURE(memcmp(parties[k].identity, s->identity_public,
                              TSS_SECURE_IDENTITY_LEN) == 0,
                       TSS_E_INVALID,
                       "the identity pinned for ourselves (party %u) is not our identity key",
                       (unsigned)self);
            continue;
        }
        TSS_ENSURE(memcmp(parties[k].identity, s->identity_public, TSS_SECURE_IDENTITY_LEN) != 0,
                   TSS_E_INVALID, "party %u is pinned with our own identity key",
                   (unsigned)parties[k].id);
        peer_state *p = &s->peers[s->npeers++];
        p->id = parties[k].id;
        memcpy(p->identity, parties[k].identity, TSS_SECURE_IDENTITY_LEN);
        uint8_t ss[32];
        TSS_GUARD(static_shared(ss, curve_sk, p->id, p->identity));
        pair_key(p->key_static, ss, NULL, ctx, self, s->identity_public, NULL, p->id, p->identity,
                 NULL);
        tss_wipe(ss, sizeof ss);
    }
    TSS_ENSURE(s->npeers >= 1, TSS_E_USAGE, "session without peers");
    randombytes_buf(s->eph_secret, sizeof s->eph_secret);
    TSS_ENSURE(crypto_scalarmult_base(s->eph_public, s->eph_secret) == 0, TSS_E_CRYPTO,
               "ephemeral X25519 key generation failed");
    s->eph_live = true;
    return TSS_OK_RESULT;
}

tss_result tss_secure_session_new(tss_secure_session **out, const tss_secure_context *ctx,
                                  uint16_t self,
                                  const uint8_t identity_secret[TSS_SECURE_IDENTITY_SECRET_LEN],
                                  const tss_secure_peer *parties, size_t count) {
    *out = NULL;
    TSS_GUARD(tss_crypto_init());
    TSS_ENSURE(self >= 1 && self <= TSS_MPC_MAX_PARTIES, TSS_E_INVALID,
               "own party id %u outside 1..%d", (unsigned)self, TSS_MPC_MAX_PARTIES);
    TSS_GUARD(check_parties(self, parties, count));
    tss_secure_session *s = tss_secret_alloc(sizeof *s);
    TSS_ENSURE(s, TSS_E_NOMEM, "out of secret memory for a session");
    memset(s, 0, sizeof *s);
    uint8_t curve_sk[32];
    tss_result r = session_init(s, ctx, self, identity_secret, parties, count, curve_sk);
    tss_wipe(curve_sk, sizeof curve_sk);
    if (!tss_is_ok(r)) {
        tss_secure_session_free(s);
        return r;
    }
    *out = s;
    return TSS_OK_RESULT;
}

/* Learn a peer's ephemeral key (from its verified round-1 broadcast) and
 * derive the session key; once every peer's key is known, our ephemeral
 * secret is no longer needed and is wiped. */
static tss_result learn_ephemeral(tss_secure_session *s, peer_state *p, const uint8_t *eph) {
    if (p->has_eph) {
        TSS_ENSURE(sodium_memcmp(p->eph, eph, TSS_SECURE_EPHEMERAL_LEN) == 0, TSS_E_PROTOCOL,
                   "party %u sent two different ephemeral keys in this session", (unsigned)p->id);
        return TSS_OK_RESULT; /* a duplicate: mpc/ refuses it */
    }
    TSS_ENSURE(s->eph_live, TSS_E_INTERNAL, "ephemeral secret gone before party %u's key",
               (unsigned)p->id);
    uint8_t ss_eph[32], ss_static[32], curve_sk[32];
    TSS_ENSURE(crypto_scalarmult(ss_eph, s->eph_secret, eph) == 0, TSS_E_PROTOCOL,
               "party %u sent a low-order ephemeral key (X25519 result is zero)",
               (unsigned)p->id);
    tss_result r = crypto_sign_ed25519_sk_to_curve25519(curve_sk, s->identity_secret) == 0
                       ? static_shared(ss_static, curve_sk, p->id, p->identity)
                       : tss_fail(TSS_E_CRYPTO, "identity key conversion to X25519 failed");
    if (tss_is_ok(r)) {
        pair_key(p->key_session, ss_static, ss_eph, &s->ctx, s->self, s->identity_public,
                 s->eph_public, p->id, p->identity, eph);
        memcpy(p->eph, eph, TSS_SECURE_EPHEMERAL_LEN);
        p->has_eph = true;
    }
    tss_wipe(ss_eph, sizeof ss_eph);
    tss_wipe(ss_static, sizeof ss_static);
    tss_wipe(curve_sk, sizeof curve_sk);
    if (!tss_is_ok(r)) return r;
    bool all = true;
    for (size_t k = 0; k < s->npeers; k++) all &= s->peers[k].has_eph;
    if (all) {
        tss_wipe(s->eph_secret, sizeof s->eph_secret);
        s->eph_live = false;
    }
    return TSS_OK_RESULT;
}

/* ---- seal ------------------------------------------------------------------------ */

tss_result tss_secure_seal(tss_secure_session *s, const tss_mpc_msg *msg,
                           tss_wire_protocol_msg *env, tss_writer *payload) {
    const char *name = tss_mpc_msg_type_name(msg->type);
    unsigned round = tss_secure_type_round(msg->type);
    TSS_ENSURE(round != 0, TSS_E_USAGE, "cannot seal unknown message type 0x%02x", msg->type);
    TSS_ENSURE(msg->from == s->self, TSS_E_USAGE, "sealing a %s from party %u as party %u", name,
               (unsigned)msg->from, (unsigned)s->self);
    TSS_ENSURE(msg->len <= TSS_MPC_MAX_PAYLOAD && (msg->data || msg->len == 0), TSS_E_USAGE,
               "%s payload of %zu bytes", name, msg->len);
    bool bcast = tss_secure_type_is_broadcast(msg->type);
    peer_state *p = NULL;
    if (bcast) {
        TSS_ENSURE(msg->to == TSS_WIRE_BROADCAST, TSS_E_USAGE, "%s addressed to party %u", name,
                   (unsigned)msg->to);
    } else {
        p = find_peer(s, msg->to);
        TSS_ENSURE(p, TSS_E_USAGE, "%s addressed to party %u, not a peer of this session", name,
                   (unsigned)msg->to);
        TSS_ENSURE(round == 1 || p->has_eph, TSS_E_USAGE,
                   "%s to party %u before its ephemeral key is known", name, (unsigned)p->id);
    }
    size_t start = payload->len;
    tss_write_u8(payload, msg->type);
    if (bcast) {
        const uint8_t *eph = carries_ephemeral(msg->type) ? s->eph_public : NULL;
        uint8_t digest[crypto_generichash_BYTES_MAX], sig[TSS_SECURE_SIG_LEN];
        signed_digest(digest, &s->ctx, (uint8_t)round, msg->type, s->self, eph, msg->data,
                      msg->len);
        TSS_ENSURE(crypto_sign_detached(sig, NULL, digest, sizeof digest, s->identity_secret) == 0,
                   TSS_E_CRYPTO, "Ed25519 signing failed");
        if (eph) tss_write_bytes(payload, eph, TSS_SECURE_EPHEMERAL_LEN);
        tss_write_bytes(payload, msg->data, msg->len);
        tss_write_bytes(payload, sig, sizeof sig);
        TSS_GUARD(tss_writer_status(payload, name));
    } else {
        uint8_t nonce[TSS_SECURE_NONCE_LEN], ad[BINDING_MAX];
        static const uint8_t no_tag[TSS_SECURE_TAG_LEN];
        randombytes_buf(nonce, sizeof nonce);
        size_t adlen = binding(ad, false, &s->ctx, (uint8_t)round, msg->type, s->self, p->id);
        tss_write_bytes(payload, nonce, sizeof nonce);
        tss_write_bytes(payload, msg->data, msg->len); /* encrypted in place below */
        tss_write_bytes(payload, no_tag, sizeof no_tag);
        TSS_GUARD(tss_writer_status(payload, name));
        uint8_t *c = payload->data + start + 1 + TSS_SECURE_NONCE_LEN;
        const uint8_t *key = round == 1 ? p->key_static : p->key_session;
        if (crypto_aead_xchacha20poly1305_ietf_encrypt_detached(c, c + msg->len, NULL, c,
                                                                msg->len, ad, adlen, NULL, nonce,
                                                                key) != 0) {
            tss_wipe(c, msg->len);
            return tss_fail(TSS_E_CRYPTO, "AEAD encryption failed");
        }
    }
    memcpy(env->session_id, s->sid, TSS_SECURE_SID_LEN);
    env->round = (uint8_t)round;
    env->sender = s->self;
    env->receiver = msg->to;
    env->payload = payload->data + start;
    env->payload_len = payload->len - start;
    return TSS_OK_RESULT;
}

/* ---- open ---------------------------------------------------------------------------- */

/* Checks shared by open and verify, before any cryptography: session, sender
 * (a known party, not `self`; self = 0 for the coordinator), receiver, type
 * and round. Returns the type in *type. */
static tss_result check_envelope(const uint8_t *sid, uint16_t self, bool sender_known,
                                 const tss_wire_protocol_msg *env, uint8_t *type) {
    unsigned from = env->sender;
    TSS_ENSURE(memcmp(env->session_id, sid, TSS_SECURE_SID_LEN) == 0, TSS_E_PROTOCOL,
               "message claiming to be from party %u belongs to another session", from);
    TSS_ENSURE(self == 0 || from != self, TSS_E_PROTOCOL,
               "message claiming to be from party %u, which is ourselves", from);
    TSS_ENSURE(sender_known, TSS_E_PROTOCOL,
               "message claiming to be from party %u, which is not a party of this session",
               from);
    TSS_ENSURE(env->receiver == TSS_WIRE_BROADCAST || (self != 0 && env->receiver == self),
               TSS_E_PROTOCOL,
               "message claiming to be from party %u is addressed to party %u, not to us", from,
               (unsigned)env->receiver);
    TSS_ENSURE(env->payload && env->payload_len >= 1, TSS_E_PROTOCOL,
               "message claiming to be from party %u has an empty payload", from);
    uint8_t t = env->payload[0];
    unsigned round = tss_secure_type_round(t);
    TSS_ENSURE(round != 0, TSS_E_PROTOCOL,
               "message claiming to be from party %u has unknown type 0x%02x", from, t);
    TSS_ENSURE(round == env->round, TSS_E_PROTOCOL,
               "%s claiming to be from party %u arrived as round %u: " FORGED,
               tss_mpc_msg_type_name(t), from, (unsigned)env->round);
    bool bcast = tss_secure_type_is_broadcast(t);
    TSS_ENSURE(bcast == (env->receiver == TSS_WIRE_BROADCAST), TSS_E_PROTOCOL,
               "%s claiming to be from party %u is misdirected (receiver %u): " FORGED,
               tss_mpc_msg_type_name(t), from, (unsigned)env->receiver);
    *type = t;
    return TSS_OK_RESULT;
}

/* Signature check of a broadcast-type payload whose envelope passed
 * check_envelope; fills the view with borrowed pointers. */
static tss_result verify_payload(const tss_secure_context *ctx, const uint8_t *identity,
                                 const tss_wire_protocol_msg *env, uint8_t type,
                                 tss_secure_signed_view *out) {
    unsigned from = env->sender;
    const char *name = tss_mpc_msg_type_name(type);
    size_t eph_len = carries_ephemeral(type) ? TSS_SECURE_EPHEMERAL_LEN : 0;
    size_t min = TSS_SECURE_BROADCAST_OVERHEAD + eph_len;
    TSS_ENSURE(env->payload_len >= min, TSS_E_PROTOCOL,
               "%s claiming to be from party %u is truncated (%zu bytes): " FORGED, name, from,
               env->payload_len);
    size_t len = env->payload_len - min;
    TSS_ENSURE(len <= TSS_MPC_MAX_PAYLOAD, TSS_E_PROTOCOL,
               "%s claiming to be from party %u is too large (%zu bytes)", name, from, len);
    const uint8_t *eph = eph_len ? env->payload + 1 : NULL;
    const uint8_t *data = env->payload + 1 + eph_len;
    const uint8_t *sig = data + len;
    uint8_t digest[crypto_generichash_BYTES_MAX];
    signed_digest(digest, ctx, env->round, type, env->sender, eph, data, len);
    TSS_ENSURE(crypto_sign_verify_detached(sig, digest, sizeof digest, identity) == 0,
               TSS_E_PROTOCOL,
               "%s claiming to be from party %u has an invalid signature under its pinned "
               "identity: " FORGED,
               name, from);
    *out = (tss_secure_signed_view){
        .type = type, .from = env->sender, .ephemeral = eph, .data = data, .len = len};
    return TSS_OK_RESULT;
}

tss_result tss_secure_verify_signed(const tss_secure_context *ctx,
                                    const tss_secure_peer *parties, size_t count,
                                    const tss_wire_protocol_msg *env,
                                    tss_secure_signed_view *out) {
    memset(out, 0, sizeof *out);
    TSS_GUARD(tss_crypto_init());
    TSS_ENSURE(parties && count <= TSS_MPC_MAX_PARTIES, TSS_E_USAGE, "bad party list");
    const uint8_t *identity = NULL;
    for (size_t k = 0; k < count; k++)
        if (parties[k].id == env->sender) identity = parties[k].identity;
    uint8_t type;
    TSS_GUARD(check_envelope(ctx->sid, 0, identity != NULL, env, &type));
    TSS_ENSURE(tss_secure_type_is_broadcast(type), TSS_E_PROTOCOL,
               "%s claiming to be from party %u is not a signed message",
               tss_mpc_msg_type_name(type), (unsigned)env->sender);
    return verify_payload(ctx, identity, env, type, out);
}

static tss_result take_copy(tss_mpc_msg *out, uint8_t type, uint16_t from, uint16_t to,
                            const uint8_t *data, size_t len) {
    uint8_t *copy = malloc(len ? len : 1);
    TSS_ENSURE(copy, TSS_E_NOMEM, "out of memory opening a message");
    if (len) memcpy(copy, data, len);
    *out = (tss_mpc_msg){.type = type, .from = from, .to = to, .data = copy, .len = len};
    return TSS_OK_RESULT;
}

static tss_result open_p2p(tss_secure_session *s, peer_state *p,
                           const tss_wire_protocol_msg *env, uint8_t type, tss_mpc_msg *out) {
    unsigned from = env->sender;
    const char *name = tss_mpc_msg_type_name(type);
    TSS_ENSURE(env->payload_len >= TSS_SECURE_P2P_OVERHEAD, TSS_E_PROTOCOL,
               "%s claiming to be from party %u is truncated (%zu bytes): " FORGED, name, from,
               env->payload_len);
    size_t len = env->payload_len - TSS_SECURE_P2P_OVERHEAD;
    TSS_ENSURE(len <= TSS_MPC_MAX_PAYLOAD, TSS_E_PROTOCOL,
               "%s claiming to be from party %u is too large (%zu bytes)", name, from, len);
    const uint8_t *key;
    if (env->round == 1) {
        key = p->key_static;
    } else {
        TSS_ENSURE(p->has_eph, TSS_E_NOT_FOUND,
                   "%s from party %u arrived before its round-1 broadcast (ephemeral key not "
                   "known yet): hold it and retry",
                   name, from);
        key = p->key_session;
    }
    const uint8_t *nonce = env->payload + 1;
    const uint8_t *c = nonce + TSS_SECURE_NONCE_LEN;
    const uint8_t *tag = c + len;
    uint8_t ad[BINDING_MAX];
    size_t adlen = binding(ad, false, &s->ctx, env->round, type, env->sender, env->receiver);
    uint8_t *m = malloc(len ? len : 1);
    TSS_ENSURE(m, TSS_E_NOMEM, "out of memory opening a message");
    if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(m, NULL, c, len, tag, ad, adlen,
                                                            nonce, key) != 0) {
        tss_wipe(m, len);
        free(m);
        return tss_fail(TSS_E_PROTOCOL,
                        "%s claiming to be from party %u does not decrypt under our pairwise key "
                        "with its pinned identity: " FORGED,
                        name, from);
    }
    *out = (tss_mpc_msg){.type = type, .from = env->sender, .to = s->self, .data = m, .len = len};
    return TSS_OK_RESULT;
}

/* After authentication: the first message of its type from this peer is
 * recorded; an identical one again is a duplicate (TSS_E_EXISTS: drop it,
 * nobody is at fault that the evidence could name — the relay may resend);
 * a different one is the sender's own equivocation (it authenticated both). */
static tss_result note_seen(peer_state *p, const tss_mpc_msg *m) {
    int slot = type_slot(m->type);
    TSS_ENSURE(slot >= 0, TSS_E_INTERNAL, "no slot for type 0x%02x", m->type);
    uint8_t h[SEEN_LEN];
    crypto_generichash(h, sizeof h, m->data, m->len, NULL, 0);
    if (!(p->seen >> slot & 1)) {
        memcpy(p->seen_hash[slot], h, SEEN_LEN);
        p->seen |= (uint16_t)(1u << slot);
        return TSS_OK_RESULT;
    }
    TSS_ENSURE(sodium_memcmp(p->seen_hash[slot], h, SEEN_LEN) != 0, TSS_E_EXISTS,
               "duplicate %s from party %u dropped (resent by the relay or the sender)",
               tss_mpc_msg_type_name(m->type), (unsigned)p->id);
    return tss_fail(TSS_E_PROTOCOL,
                    "party %u authenticated two different %s messages in this session "
                    "(equivocation by party %u)",
                    (unsigned)p->id, tss_mpc_msg_type_name(m->type), (unsigned)p->id);
}

tss_result tss_secure_open(tss_secure_session *s, const tss_wire_protocol_msg *env,
                           tss_mpc_msg *out) {
    memset(out, 0, sizeof *out);
    peer_state *p = find_peer(s, env->sender);
    uint8_t type;
    TSS_GUARD(check_envelope(s->sid, s->self, p != NULL, env, &type));
    if (!tss_secure_type_is_broadcast(type)) {
        TSS_GUARD(open_p2p(s, p, env, type, out));
    } else {
        tss_secure_signed_view v;
        TSS_GUARD(verify_payload(&s->ctx, p->identity, env, type, &v));
        if (v.ephemeral) TSS_GUARD(learn_ephemeral(s, p, v.ephemeral));
        TSS_GUARD(take_copy(out, type, env->sender, TSS_MPC_BROADCAST, v.data, v.len));
    }
    tss_result r = note_seen(p, out);
    if (!tss_is_ok(r)) tss_secure_msg_clear(out);
    return r;
}

void tss_secure_msg_clear(tss_mpc_msg *m) {
    if (m->data) {
        tss_wipe(m->data, m->len);
        free(m->data);
    }
    memset(m, 0, sizeof *m);
}
