#include "mpc/sign.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1_recovery.h>

#include "mpc/point.h"
#include "mpc/transcript.h"
#include "util/ctime.h"
#include "util/secmem.h"

#define MAXP TSS_MPC_MAX_PARTIES

enum { SLOT_R1B, SLOT_R1P, SLOT_R2P, SLOT_COUNT };

/* Per-peer state (secret memory). "send" is the multiplication in which we
 * are the sender (self -> peer), "recv" the one in which we receive. */
typedef struct {
    uint8_t contrib[TSS_SID_BYTES];
    uint8_t commit[TSS_COMMIT_BYTES];
    uint8_t raw_r1b[TSS_SIGN_R1_BCAST_BYTES];
    tss_ote_msg ote_in;        /* peer's OT-extension message (we send) */
    tss_rvole_receiver recv;   /* our receiver state (peer sends) */
    tss_scalar chi;            /* our b in the peer -> self multiplication */
    tss_rvole_msg rvole_in;    /* peer's RVOLE reply */
    tss_point R, pk, gamma_u, gamma_v;
    uint8_t salt[TSS_SALT_BYTES];
    tss_scalar psi;
    uint8_t r1_digest[TSS_HASH_BYTES];
    tss_scalar cu, cv; /* our sender shares (self -> peer) */
} sign_peer;

typedef union {
    tss_ote_msg ote;
    tss_rvole_msg reply;
    tss_presig presig;
} sign_scratch;

struct tss_sign {
    tss_sign_config cfg;
    int self_pos; /* position in cfg.signers */
    int share_idx[MAXP]; /* signer position -> index in share->parties */
    int round;  /* 0 before start, 1..2 waiting for that round, 3 done */
    bool failed;
    uint16_t culprit, ban;
    tss_sign_check_counts checks;
    uint8_t sid[TSS_SID_BYTES];
    uint8_t sid2[TSS_SID_BYTES];
    uint8_t r1_digest[TSS_HASH_BYTES];
    bool have[SLOT_COUNT][MAXP];
    sign_peer *peer[MAXP];
    tss_scalar r, phi, sk;
    tss_scalar rvole_in[TSS_RVOLE_L]; /* (r, sk) as one array, wiped after round 2 */
    tss_point R_i, pk_i;
    tss_point X_signing; /* X, or the child key X + tweak*G under a path */
    tss_scalar tweak;    /* public; added by the lowest signer id only */
    uint8_t contrib[TSS_SID_BYTES], salt[TSS_SALT_BYTES], commit[TSS_COMMIT_BYTES];
    uint8_t raw_r1b[TSS_SIGN_R1_BCAST_BYTES];
    tss_presig *presig;
    /* Per-round scratch, in the session's block: one round's outgoing OT
     * message or RVOLE reply, or the presignature of a full signing. */
    sign_scratch *scratch;
    size_t block_size;
};

/* A session is one block of secret memory: the tss_sign, then its peers'
 * states, then the scratch. sodium_malloc costs several system calls (mmap,
 * mprotect, mlock, then munlock and munmap on release), so one allocation
 * per session instead of one per peer and per round. */
#define SIGN_ALIGN 64
static size_t align_up(size_t n) { return (n + SIGN_ALIGN - 1) & ~(size_t)(SIGN_ALIGN - 1); }

/* Released session blocks are kept (wiped, still guarded and locked) in the
 * secret pool (util/secmem.h) for the next session of the same signer count. */
static void *block_get(size_t n) { return tss_secret_pool_get(n); }
static void block_put(void *p, size_t n) { tss_secret_pool_put(p, n); }

static tss_result abort_sign(tss_sign *s, uint16_t culprit, bool ban, const char *what) {
    char detail[400];
    snprintf(detail, sizeof detail, "%s", tss_error_detail());
    s->failed = true;
    s->culprit = culprit;
    if (ban) s->ban = culprit;
    if (culprit)
        return tss_fail(TSS_E_PROTOCOL, "sign aborted: party %u: %s%s%s%s", culprit, what,
                        ban ? " (ban this party for the key)" : "", detail[0] ? ": " : "", detail);
    return tss_fail(TSS_E_PROTOCOL, "sign aborted: %s", what);
}

/* Abort without a lower-level detail. */
static tss_result abort_plain(tss_sign *s, uint16_t culprit, const char *what) {
    tss_error_clear();
    return abort_sign(s, culprit, false, what);
}

/* The shared ban state: a peer banned by any session of the key, or in the
 * share's persisted list. */
static bool peer_banned(const tss_sign *s, uint16_t peer) {
    int idx = tss_keyshare_index(s->cfg.share, peer);
    if (idx >= 0 && (s->cfg.share->banned >> idx & 1)) return true;
    return s->cfg.bans.is_banned && s->cfg.bans.is_banned(s->cfg.bans.ctx, peer);
}

/* The first banned peer of the session, or 0. */
static uint16_t first_banned(const tss_sign *s) {
    for (int k = 0; k < s->cfg.count; k++)
        if (s->cfg.signers[k] != s->cfg.share->self && peer_banned(s, s->cfg.signers[k]))
            return s->cfg.signers[k];
    return 0;
}

/* Called right before a check against peer is evaluated: a peer banned by
 * another session of this key gets no further check (each pass/fail would
 * leak a Delta bit), the session aborts naming it. */
static tss_result abort_if_banned(tss_sign *s, uint16_t peer) {
    if (!peer_banned(s, peer)) return TSS_OK_RESULT;
    tss_error_clear();
    s->failed = true;
    s->culprit = peer;
    return tss_fail(TSS_E_PROTOCOL,
                    "sign aborted: party %u is banned for key %s (it failed an OT/RVOLE check "
                    "in another session); no check evaluated",
                    peer, s->cfg.share->key_id);
}

static int signer_pos(const tss_sign *s, uint16_t id) {
    for (int k = 0; k < s->cfg.count; k++)
        if (s->cfg.signers[k] == id) return k;
    return -1;
}

void tss_sign_sid(uint8_t sid[TSS_SID_BYTES], const tss_keyshare *share,
                  const uint8_t session_id[TSS_SID_BYTES], const uint16_t *signers,
                  uint16_t count) {
    tss_transcript t;
    tss_tr_init(&t, "sign-sid");
    tss_tr_append(&t, share->keygen_sid, TSS_SID_BYTES);
    tss_tr_append(&t, session_id, TSS_SID_BYTES);
    for (uint16_t k = 0; k < count; k++) tss_tr_append_u32(&t, signers[k]);
    tss_tr_final(&t, sid);
}

static tss_result check_signers(const tss_keyshare *ks, const uint16_t *signers, uint16_t count) {
    TSS_ENSURE(count == ks->threshold, TSS_E_INVALID,
               "signer set has %u parties; this key needs exactly %u", count, ks->threshold);
    bool self = false;
    for (uint16_t k = 0; k < count; k++) {
        int idx = tss_keyshare_index(ks, signers[k]);
        TSS_ENSURE(idx >= 0, TSS_E_INVALID, "signer %u is not a party of key %s", signers[k],
                   ks->key_id);
        TSS_ENSURE(k == 0 || signers[k] > signers[k - 1], TSS_E_INVALID,
                   "signer ids must be strictly ascending");
        TSS_ENSURE(!(ks->banned >> idx & 1), TSS_E_PROTOCOL,
                   "party %u is banned for key %s (it failed an OT check)", signers[k],
                   ks->key_id);
        self |= signers[k] == ks->self;
    }
    TSS_ENSURE(self, TSS_E_INVALID, "this party (%u) is not in the signer set", ks->self);
    return TSS_OK_RESULT;
}

/* Wallets sign under many paths that share a prefix (m/44/60/0/0/N): the
 * node of the prefix (all but the last level) and its tweak are memoised per
 * thread, so a new address costs one CKDpub step instead of depth steps. All
 * of it is public data; an entry is used only for the same X, chain code and
 * prefix. */
#define PREFIX_CACHE 4
typedef struct {
    bool valid;
    tss_point X;
    uint8_t chain_code[TSS_CHAIN_CODE_BYTES];
    tss_bip32_path prefix;
    tss_bip32_node node;
    tss_scalar tweak;
} prefix_entry;
static _Thread_local prefix_entry g_prefix[PREFIX_CACHE];
static _Thread_local unsigned g_prefix_next;

static tss_result prefix_node(tss_bip32_node *node, tss_scalar *tweak, const tss_keyshare *share,
                              const tss_bip32_path *prefix) {
    for (unsigned i = 0; i < PREFIX_CACHE; i++) {
        const prefix_entry *e = &g_prefix[i];
        if (e->valid && tss_pt_eq(&e->X, &share->X) &&
            memcmp(e->chain_code, share->chain_code, TSS_CHAIN_CODE_BYTES) == 0 &&
            tss_bip32_path_eq(&e->prefix, prefix)) {
            *node = e->node;
            *tweak = e->tweak;
            return TSS_OK_RESULT;
        }
    }
    tss_bip32_node root;
    tss_bip32_root(&root, &share->X, share->chain_code);
    TSS_GUARD(tss_bip32_derive(node, tweak, &root, prefix));
    prefix_entry *e = &g_prefix[g_prefix_next++ % PREFIX_CACHE];
    e->valid = true;
    e->X = share->X;
    memcpy(e->chain_code, share->chain_code, TSS_CHAIN_CODE_BYTES);
    e->prefix = *prefix;
    e->node = *node;
    e->tweak = *tweak;
    return TSS_OK_RESULT;
}

tss_result tss_sign_child_key(tss_point *child, tss_scalar *tweak, const tss_keyshare *share,
                              const tss_bip32_path *path) {
    tss_scalar t, l;
    if (path->depth == 0) {
        *child = share->X;
        if (tweak) tss_sc_set_zero(tweak);
        return TSS_OK_RESULT;
    }
    tss_bip32_path prefix = *path;
    prefix.depth = (uint8_t)(path->depth - 1);
    tss_bip32_node parent, node;
    TSS_GUARD(prefix_node(&parent, &t, share, &prefix));
    TSS_GUARD(tss_bip32_ckd_pub(&node, &l, &parent, path->index[path->depth - 1]));
    tss_sc_add(&t, &t, &l);
    *child = node.key;
    if (tweak) *tweak = t;
    return TSS_OK_RESULT;
}

tss_result tss_sign_new(tss_sign **out, const tss_sign_config *cfg) {
    TSS_ENSURE(cfg->share, TSS_E_USAGE, "sign: no key share");
    TSS_GUARD(check_signers(cfg->share, cfg->signers, cfg->count));
    tss_point X_signing;
    tss_scalar tweak;
    TSS_GUARD(tss_sign_child_key(&X_signing, &tweak, cfg->share, &cfg->path));
    for (uint16_t k = 0; k < cfg->count && cfg->bans.is_banned; k++)
        TSS_ENSURE(cfg->signers[k] == cfg->share->self ||
                       !cfg->bans.is_banned(cfg->bans.ctx, cfg->signers[k]),
                   TSS_E_PROTOCOL, "party %u is banned for key %s (it failed an OT/RVOLE check)",
                   cfg->signers[k], cfg->share->key_id);
    TSS_ENSURE(cfg->registry.claim, TSS_E_USAGE, "sign: no sid registry");
    size_t head = align_up(sizeof(tss_sign)), peer_size = align_up(sizeof(sign_peer));
    size_t total = head + (size_t)(cfg->count - 1) * peer_size + sizeof(sign_scratch);
    uint8_t *block = block_get(total);
    TSS_ENSURE(block, TSS_E_NOMEM, "secret memory allocation failed");
    tss_sign *s = (tss_sign *)block;
    s->block_size = total;
    s->cfg = *cfg;
    s->self_pos = signer_pos(s, cfg->share->self);
    uint8_t *next = block + head;
    for (int k = 0; k < cfg->count; k++) {
        s->share_idx[k] = tss_keyshare_index(cfg->share, cfg->signers[k]);
        if (k == s->self_pos) continue;
        s->peer[k] = (sign_peer *)next;
        next += peer_size;
    }
    s->scratch = (sign_scratch *)next;
    s->X_signing = X_signing;
    s->tweak = tweak;
    tss_sign_sid(s->sid, cfg->share, cfg->session_id, cfg->signers, cfg->count);
    *out = s;
    return TSS_OK_RESULT;
}

void tss_sign_free(tss_sign *s) {
    if (!s) return;
    tss_presig_free(s->presig); /* the peers and the scratch are in s's block */
    block_put(s, s->block_size);
}

bool tss_sign_finished(const tss_sign *s) { return s->round == 3 && !s->failed; }
uint16_t tss_sign_culprit(const tss_sign *s) { return s->culprit; }
uint16_t tss_sign_ban(const tss_sign *s) { return s->ban; }
tss_sign_check_counts tss_sign_checks(const tss_sign *s) { return s->checks; }

static tss_result ote_ctx(tss_ote_ctx *ctx, const tss_sign *s, uint16_t sender,
                          uint16_t receiver) {
    return tss_ote_ctx_init(ctx, s->cfg.share->keygen_sid, s->sid, sender, receiver);
}

tss_result tss_sign_start(tss_sign *s, tss_mpc_outbox *out) {
    TSS_ENSURE(s->round == 0 && !s->failed, TSS_E_USAGE, "sign already started");
    /* Before anything depends on the sid: a reused sid would repeat OT pads. */
    TSS_GUARD(s->cfg.registry.claim(s->cfg.registry.ctx, s->sid));
    const tss_keyshare *ks = s->cfg.share;
    TSS_GUARD(tss_sc_random_nonzero(&s->r));
    TSS_GUARD(tss_sc_random_nonzero(&s->phi));
    TSS_GUARD(tss_pt_mul_base(&s->R_i, &s->r));
    /* R_i is public: committed to in round 1, sent in round 2. */
    tss_declassify(&s->R_i, sizeof s->R_i);
    randombytes_buf(s->contrib, sizeof s->contrib);
    uint8_t enc[TSS_PT_BYTES];
    tss_pt_encode(enc, &s->R_i);
    tss_tr_commit_new(s->commit, s->salt, "sign-R", s->sid, ks->self, enc, sizeof enc);
    /* The sid contribution and the commitment are public: broadcast in round 1. */
    tss_declassify(s->contrib, sizeof s->contrib);
    tss_declassify(s->commit, sizeof s->commit);
    memcpy(s->raw_r1b, s->contrib, TSS_SID_BYTES);
    memcpy(s->raw_r1b + TSS_SID_BYTES, s->commit, TSS_COMMIT_BYTES);

    tss_writer w;
    tss_writer_init(&w, TSS_MPC_MAX_PAYLOAD);
    tss_write_bytes(&w, s->raw_r1b, sizeof s->raw_r1b);
    tss_result r = tss_mpc_outbox_push(out, TSS_MSG_SIGN_R1_BCAST, ks->self, 0, &w);
    for (int k = 0; k < s->cfg.count && tss_is_ok(r); k++) {
        if (k == s->self_pos) continue;
        uint16_t peer = s->cfg.signers[k];
        sign_peer *p = s->peer[k];
        tss_ote_ctx ctx;
        r = ote_ctx(&ctx, s, peer, ks->self);
        tss_ote_msg *msg = &s->scratch->ote;
        if (tss_is_ok(r))
            r = tss_rvole_receiver_start(&p->recv, &ctx, &ks->peers[s->share_idx[k]].ote_recv,
                                         msg, &p->chi);
        if (tss_is_ok(r)) {
            tss_ote_msg_write(&w, msg);
            r = tss_mpc_outbox_push(out, TSS_MSG_SIGN_R1_P2P, ks->self, peer, &w);
        }
    }
    /* The u-matrix is sent as is, but it is still a function of the OT seeds. */
    tss_wipe(&s->scratch->ote, sizeof s->scratch->ote);
    tss_writer_free(&w);
    TSS_GUARD(r);
    s->have[SLOT_R1B][s->self_pos] = true;
    s->round = 1;
    return TSS_OK_RESULT;
}

/* zeta_i = sum_j sign(i, j) * H(seed_ij, sid2): the zero shares sum to 0. */
static void zero_share(tss_scalar *zeta, const tss_sign *s) {
    const tss_keyshare *ks = s->cfg.share;
    tss_sc_set_zero(zeta);
    for (int k = 0; k < s->cfg.count; k++) {
        if (k == s->self_pos) continue;
        tss_transcript t;
        tss_scalar h;
        tss_tr_init(&t, "sign-zero-share");
        tss_tr_append(&t, ks->peers[s->share_idx[k]].zero_seed, TSS_ZERO_SEED_BYTES);
        tss_tr_append(&t, s->sid2, TSS_SID_BYTES);
        tss_tr_final_scalar(&t, &h);
        if (s->cfg.signers[k] > ks->self)
            tss_sc_add(zeta, zeta, &h);
        else
            tss_sc_sub(zeta, zeta, &h);
        tss_sc_wipe(&h, 1);
    }
}

static tss_result send_round2(tss_sign *s, tss_mpc_outbox *out) {
    const tss_keyshare *ks = s->cfg.share;
    tss_transcript t;
    tss_tr_init(&t, "sign-sid2");
    tss_tr_append(&t, s->sid, TSS_SID_BYTES);
    for (int k = 0; k < s->cfg.count; k++)
        tss_tr_append(&t, k == s->self_pos ? s->contrib : s->peer[k]->contrib, TSS_SID_BYTES);
    /* The derivation path (if any) is bound into sid2, hence into the zero
     * shares: signers given different paths all fail the sum check below (not
     * only those whose child key differs from the designated signer's). */
    if (s->cfg.path.depth) {
        tss_tr_append_u32(&t, s->cfg.path.depth);
        for (unsigned i = 0; i < s->cfg.path.depth; i++) tss_tr_append_u32(&t, s->cfg.path.index[i]);
    }
    tss_tr_final(&t, s->sid2);
    tss_tr_init(&t, "sign-echo-round1");
    tss_tr_append(&t, s->sid, TSS_SID_BYTES);
    for (int k = 0; k < s->cfg.count; k++)
        tss_tr_append(&t, k == s->self_pos ? s->raw_r1b : s->peer[k]->raw_r1b,
                      TSS_SIGN_R1_BCAST_BYTES);
    tss_tr_final(&t, s->r1_digest);

    /* sk_i = lambda_i x_i + zeta_i */
    tss_scalar lambda, zeta;
    TSS_GUARD(tss_lagrange_at_zero(&lambda, ks->self, s->cfg.signers, s->cfg.count));
    zero_share(&zeta, s);
    tss_sc_mul(&s->sk, &lambda, &ks->x);
    tss_sc_add(&s->sk, &s->sk, &zeta);
    tss_sc_wipe(&zeta, 1);
    /* HD derivation: exactly one signer (the lowest id, a public choice every
     * signer makes alike) adds the public tweak, so sum sk_j = x + t. */
    if (ks->self == s->cfg.signers[0]) tss_sc_add(&s->sk, &s->sk, &s->tweak);
    /* Public: sk_i = 0 would show anyway as pk_i = O (probability 2^-256). */
    int sk_zero = tss_sc_is_zero(&s->sk);
    tss_declassify(&sk_zero, sizeof sk_zero);
    if (sk_zero) return abort_plain(s, 0, "additive key share is zero");
    TSS_GUARD(tss_pt_mul_base(&s->pk_i, &s->sk));
    /* pk_i is public: sent to every peer, who check sum pk_j = X. */
    tss_declassify(&s->pk_i, sizeof s->pk_i);

    tss_writer w;
    tss_writer_init(&w, TSS_MPC_MAX_PAYLOAD);
    tss_rvole_msg *reply = &s->scratch->reply;
    tss_result r = TSS_OK_RESULT;
    /* (r_i, sk_i) as the RVOLE input, in the session's secret block. */
    tss_scalar *inputs = s->rvole_in;
    inputs[0] = s->r;
    inputs[1] = s->sk;
    for (int k = 0; k < s->cfg.count && tss_is_ok(r); k++) {
        if (k == s->self_pos) continue;
        uint16_t peer = s->cfg.signers[k];
        sign_peer *p = s->peer[k];
        tss_ote_ctx ctx;
        tss_scalar c[TSS_RVOLE_L];
        r = ote_ctx(&ctx, s, ks->self, peer);
        if (!tss_is_ok(r)) break;
        r = abort_if_banned(s, peer);
        if (!tss_is_ok(r)) break;
        s->checks.ote_checks++;
        r = tss_rvole_sender_reply(&ctx, &ks->peers[s->share_idx[k]].ote_send, &p->ote_in, inputs,
                                   reply, c);
        if (!tss_is_ok(r)) {
            r = abort_sign(s, peer, true, "OT-extension consistency check failed");
            break;
        }
        p->cu = c[0];
        p->cv = c[1];
        tss_sc_wipe(c, TSS_RVOLE_L);
        tss_point gu, gv;
        r = tss_pt_mul_base(&gu, &p->cu);
        if (tss_is_ok(r)) r = tss_pt_mul_base(&gv, &p->cv);
        if (!tss_is_ok(r)) {
            r = abort_plain(s, 0, "multiplication share is zero");
            break;
        }
        /* Gamma^u, Gamma^v are public: sent to the peer below. */
        tss_declassify(&gu, sizeof gu);
        tss_declassify(&gv, sizeof gv);
        tss_scalar psi;
        tss_sc_sub(&psi, &s->phi, &p->chi);
        uint8_t psi_b[TSS_SC_BYTES];
        tss_sc_to_bytes(psi_b, &psi);
        tss_rvole_msg_write(&w, reply);
        tss_pt_write(&w, &s->R_i);
        tss_write_bytes(&w, s->salt, TSS_SALT_BYTES);
        tss_pt_write(&w, &s->pk_i);
        tss_pt_write(&w, &gu);
        tss_pt_write(&w, &gv);
        tss_write_bytes(&w, psi_b, sizeof psi_b);
        tss_write_bytes(&w, s->r1_digest, TSS_HASH_BYTES);
        tss_wipe(psi_b, sizeof psi_b);
        tss_sc_wipe(&psi, 1);
        r = tss_mpc_outbox_push(out, TSS_MSG_SIGN_R2_P2P, ks->self, peer, &w);
    }
    tss_wipe(reply, sizeof *reply);
    tss_sc_wipe(s->rvole_in, TSS_RVOLE_L);
    tss_writer_free(&w);
    TSS_GUARD(r);
    s->round = 2;
    return TSS_OK_RESULT;
}

/* The Gamma check chi*P == d*G + Gamma (P = R_j or pk_j), constant time in
 * the secrets chi and d. d*G and chi*P are secret (either gives the peer
 * chi*G, hence phi_i*G through the public psi), and libsecp256k1's public
 * API has no constant-time point addition or serialisation. So both sides
 * are multiplied by tau, fresh, uniform and secret for this peer:
 *   A = (tau*chi)*P,  B = tau*Gamma,  C = (tau*d)*G;  check A == B + C
 * (equivalent, as tau != 0). Each product is one constant-time
 * multiplication. B and C are treated as public (they are parsed and added):
 * a peer that knows log Gamma learns tau*G from B, and tau*chi*G would be
 * needed as well to get chi*G. A is never parsed: it is compared with B + C
 * in constant time. Returns 1 on a match (the outcome is public: a mismatch
 * aborts). */
static int gamma_check(const tss_point *P, const tss_scalar *chi, const tss_scalar *tau,
                       const tss_scalar *d, const tss_point *gamma) {
    tss_scalar k;
    tss_point B, C, sum;
    tss_result r = tss_pt_mul(&B, gamma, tau);
    /* d = 0 (probability 2^-256: d = chi*a - c with chi unknown to the sender)
     * is revealed, and only that. */
    int d_zero = tss_sc_is_zero(d);
    tss_declassify(&d_zero, sizeof d_zero);
    if (tss_is_ok(r) && d_zero) {
        sum = B;
    } else if (tss_is_ok(r)) {
        tss_sc_mul(&k, tau, d);
        r = tss_pt_mul_base(&C, &k);
        tss_declassify(&C, sizeof C); /* blinded by tau, as above */
        if (tss_is_ok(r)) r = tss_pt_add(&sum, &B, &C);
    }
    if (!tss_is_ok(r)) {
        tss_sc_wipe(&k, 1);
        return 0;
    }
    /* A = (tau*chi)*P is only compared with B + C, so it is never parsed:
     * tss_pt_mul_matches compares encodings in constant time (0 for chi = 0).
     * The outcome is public (a mismatch aborts). */
    tss_sc_mul(&k, tau, chi);
    int eq = tss_pt_mul_matches(P, &k, &sum);
    tss_sc_wipe(&k, 1);
    tss_declassify(&eq, sizeof eq);
    return eq;
}

static bool x_coordinate_below_n(const tss_point *R) {
    static const uint8_t n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    uint8_t enc[TSS_PT_BYTES];
    tss_pt_encode(enc, R);
    return memcmp(enc + 1, n, 32) < 0;
}

static tss_result finish_round2(tss_sign *s, tss_mpc_outbox *out) {
    const tss_keyshare *ks = s->cfg.share;
    tss_point pks[MAXP], Rs[MAXP];
    tss_scalar u, v, term;
    /* Views first: every peer's echo of the round-1 broadcasts must match ours
     * before any check that bans (the RVOLE check below) is evaluated, so a
     * session whose parties saw different broadcasts ends without a ban. */
    for (int k = 0; k < s->cfg.count; k++) {
        if (k == s->self_pos) continue;
        if (!tss_ct_equal(s->peer[k]->r1_digest, s->r1_digest, TSS_HASH_BYTES)) {
            /* Unattributable: the peer may misreport, or another signer may
             * have signed two broadcasts; no culprit, both named in the text. */
            char what[200];
            snprintf(what, sizeof what,
                     "party %u saw different round-1 broadcasts than we did (party %u, or a "
                     "signer that equivocated its broadcast)",
                     s->cfg.signers[k], s->cfg.signers[k]);
            return abort_plain(s, 0, what);
        }
    }
    tss_sc_mul(&u, &s->r, &s->phi);
    tss_sc_mul(&v, &s->sk, &s->phi);
    for (int k = 0; k < s->cfg.count; k++) {
        if (k == s->self_pos) {
            pks[k] = s->pk_i, Rs[k] = s->R_i;
            continue;
        }
        uint16_t peer = s->cfg.signers[k];
        sign_peer *p = s->peer[k];
        uint8_t enc[TSS_PT_BYTES];
        tss_pt_encode(enc, &p->R);
        if (!tss_is_ok(tss_tr_commit_open(p->commit, "sign-R", s->sid, peer, p->salt, enc,
                                          sizeof enc)))
            return abort_plain(s, peer, "R_j does not open its round-1 commitment");
        TSS_GUARD(abort_if_banned(s, peer));
        s->checks.rvole_checks++;
        tss_scalar d[TSS_RVOLE_L];
        tss_result r = tss_rvole_receiver_finish(&p->recv, &p->rvole_in, d);
        if (!tss_is_ok(r)) return abort_sign(s, peer, true, "multiplication check failed");
        /* The sender's RVOLE inputs must be the r_j and sk_j behind R_j and pk_j. */
        tss_scalar tau;
        r = tss_sc_random_nonzero(&tau);
        if (!tss_is_ok(r)) {
            tss_sc_wipe(d, TSS_RVOLE_L);
            s->failed = true;
            return r;
        }
        int ok_u = gamma_check(&p->R, &p->chi, &tau, &d[0], &p->gamma_u);
        int ok_v = ok_u && gamma_check(&p->pk, &p->chi, &tau, &d[1], &p->gamma_v);
        tss_sc_wipe(&tau, 1);
        if (!ok_u || !ok_v) {
            tss_sc_wipe(d, TSS_RVOLE_L);
            return abort_plain(s, peer,
                               !ok_u ? "Gamma^u check failed (chi*R_j != d^u*G + Gamma^u)"
                                     : "Gamma^v check failed (chi*pk_j != d^v*G + Gamma^v)");
        }
        /* u_i += d^u + c^u + r_i*psi_j ; v_i likewise with sk_i. */
        tss_sc_add(&u, &u, &d[0]);
        tss_sc_add(&u, &u, &p->cu);
        tss_sc_mul(&term, &s->r, &p->psi);
        tss_sc_add(&u, &u, &term);
        tss_sc_add(&v, &v, &d[1]);
        tss_sc_add(&v, &v, &p->cv);
        tss_sc_mul(&term, &s->sk, &p->psi);
        tss_sc_add(&v, &v, &term);
        tss_sc_wipe(d, TSS_RVOLE_L);
        pks[k] = p->pk, Rs[k] = p->R;
    }
    tss_sc_wipe(&term, 1);
    tss_point sum, R;
    if (!tss_is_ok(tss_pt_sum(&sum, pks, s->cfg.count)) || !tss_pt_eq(&sum, &s->X_signing))
        return abort_plain(s, 0, s->cfg.path.depth
                                     ? "the signers' public key shares do not sum to the derived "
                                       "child key (signers with different derivation paths?)"
                                     : "the signers' public key shares do not sum to the public key");
    if (!tss_is_ok(tss_pt_sum(&R, Rs, s->cfg.count)))
        return abort_plain(s, 0, "R is the point at infinity");
    if (!x_coordinate_below_n(&R))
        return abort_plain(s, 0, "x(R) >= n, which Ethereum cannot encode; sign again");

    /* A presignature that is handed out gets its own allocation (it outlives
     * the session); one finished here uses the scratch. */
    tss_presig *p = s->cfg.has_digest ? &s->scratch->presig : tss_secret_alloc(sizeof *p);
    TSS_ENSURE(p, TSS_E_NOMEM, "secret memory allocation failed");
    memset(p, 0, sizeof *p);
    snprintf(p->key_id, sizeof p->key_id, "%s", ks->key_id);
    memcpy(p->keygen_sid, ks->keygen_sid, TSS_SID_BYTES);
    memcpy(p->presign_id, s->sid2, TSS_SID_BYTES);
    p->self = ks->self;
    p->count = s->cfg.count;
    memcpy(p->signers, s->cfg.signers, sizeof p->signers);
    p->path = s->cfg.path;
    p->R = R;
    p->phi = s->phi;
    p->u = u;
    p->v = v;
    tss_sc_wipe(&u, 1);
    tss_sc_wipe(&v, 1);
    tss_sc_wipe(&s->r, 1);
    tss_sc_wipe(&s->sk, 1);
    tss_sc_wipe(&s->phi, 1);
    s->round = 3;
    if (!s->cfg.has_digest) {
        s->presig = p;
        return TSS_OK_RESULT;
    }
    tss_result r = tss_presig_finish_at(p, ks, s->cfg.signers, s->cfg.count, &s->cfg.path,
                                        s->cfg.digest, &s->cfg.consume, out);
    tss_wipe(p, sizeof *p);
    if (!tss_is_ok(r)) s->failed = true;
    return r;
}

static int slot_of(uint8_t type) {
    switch (type) {
    case TSS_MSG_SIGN_R1_BCAST: return SLOT_R1B;
    case TSS_MSG_SIGN_R1_P2P: return SLOT_R1P;
    case TSS_MSG_SIGN_R2_P2P: return SLOT_R2P;
    default: return -1;
    }
}

static tss_result decode_r2p(sign_peer *p, const tss_mpc_msg *m) {
    tss_reader r;
    tss_reader_init(&r, m->data, m->len);
    tss_rvole_msg_read_fields(&r, &p->rvole_in);
    TSS_GUARD(tss_reader_status(&r, "RVOLE reply"));
    TSS_GUARD(tss_pt_read(&r, &p->R, "R_j"));
    tss_read_bytes(&r, p->salt, TSS_SALT_BYTES);
    TSS_GUARD(tss_pt_read(&r, &p->pk, "pk_j"));
    TSS_GUARD(tss_pt_read(&r, &p->gamma_u, "Gamma^u"));
    TSS_GUARD(tss_pt_read(&r, &p->gamma_v, "Gamma^v"));
    uint8_t psi[TSS_SC_BYTES];
    tss_read_bytes(&r, psi, sizeof psi);
    tss_read_bytes(&r, p->r1_digest, TSS_HASH_BYTES);
    TSS_GUARD(tss_reader_finish(&r, "sign round-2 message"));
    tss_result res = tss_sc_from_bytes(&p->psi, psi, "psi");
    tss_wipe(psi, sizeof psi);
    return res;
}

tss_result tss_sign_handle(tss_sign *s, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    TSS_ENSURE(!s->failed, TSS_E_PROTOCOL, "sign session already aborted");
    TSS_ENSURE(s->round >= 1, TSS_E_USAGE, "sign not started");
    TSS_ENSURE(s->round <= 2, TSS_E_PROTOCOL, "sign already finished; unexpected %s from %u",
               tss_mpc_msg_type_name(m->type), m->from);
    /* A session with a peer banned since it started goes no further. */
    uint16_t banned = first_banned(s);
    if (banned) return abort_if_banned(s, banned);
    int k = signer_pos(s, m->from);
    if (k < 0 || k == s->self_pos) return abort_plain(s, 0, "message from a party that is not a peer in this session");
    int slot = slot_of(m->type);
    if (slot < 0) return abort_plain(s, m->from, "unknown message type");
    if (s->have[slot][k]) return abort_plain(s, m->from, "duplicate message");
    int msg_round = slot == SLOT_R2P ? 2 : 1;
    bool p2p = !(m->type & 1);
    if (msg_round < s->round || msg_round > s->round + 1)
        return abort_plain(s, m->from, "message for the wrong round");
    if (p2p ? m->to != s->cfg.share->self : m->to != TSS_MPC_BROADCAST)
        return abort_plain(s, m->from, "misaddressed message");
    sign_peer *p = s->peer[k];
    tss_result r;
    if (slot == SLOT_R1B) {
        tss_reader rd;
        tss_reader_init(&rd, m->data, m->len);
        tss_read_bytes(&rd, p->contrib, TSS_SID_BYTES);
        tss_read_bytes(&rd, p->commit, TSS_COMMIT_BYTES);
        r = tss_reader_finish(&rd, "sign round-1 broadcast");
        if (tss_is_ok(r)) memcpy(p->raw_r1b, m->data, TSS_SIGN_R1_BCAST_BYTES);
    } else if (slot == SLOT_R1P) {
        r = tss_ote_msg_decode(&p->ote_in, m->data, m->len);
    } else {
        r = decode_r2p(p, m);
    }
    if (!tss_is_ok(r)) return abort_sign(s, m->from, false, tss_mpc_msg_type_name(m->type));
    s->have[slot][k] = true;

    bool all = true;
    if (s->round == 1) {
        for (int j = 0; j < s->cfg.count; j++)
            if (j != s->self_pos && !(s->have[SLOT_R1B][j] && s->have[SLOT_R1P][j])) all = false;
        if (all) TSS_GUARD(send_round2(s, out));
    }
    if (s->round == 2) {
        all = true;
        for (int j = 0; j < s->cfg.count; j++)
            if (j != s->self_pos && !s->have[SLOT_R2P][j]) all = false;
        if (all) TSS_GUARD(finish_round2(s, out));
    }
    return TSS_OK_RESULT;
}

size_t tss_sign_waiting_for(const tss_sign *s, uint16_t ids[TSS_MPC_MAX_PARTIES]) {
    size_t count = 0;
    if (s->failed || s->round < 1 || s->round > 2) return 0;
    for (int k = 0; k < s->cfg.count; k++) {
        if (k == s->self_pos) continue;
        bool missing = s->round == 1 ? !(s->have[SLOT_R1B][k] && s->have[SLOT_R1P][k])
                                     : !s->have[SLOT_R2P][k];
        if (missing) ids[count++] = s->cfg.signers[k];
    }
    return count;
}

tss_result tss_sign_take_presig(tss_sign *s, tss_presig **out) {
    TSS_ENSURE(tss_sign_finished(s) && s->presig, TSS_E_USAGE, "no presignature to take");
    *out = s->presig;
    s->presig = NULL;
    return TSS_OK_RESULT;
}

void tss_presig_free(tss_presig *p) { tss_secret_free(p); }

tss_result tss_presig_finish(tss_presig *p, const tss_keyshare *share, const uint16_t *signers,
                             uint16_t count, const uint8_t digest[TSS_DIGEST_BYTES],
                             const tss_consume_hook *consume, tss_mpc_outbox *out) {
    static const tss_bip32_path root; /* depth 0 */
    return tss_presig_finish_at(p, share, signers, count, &root, digest, consume, out);
}

tss_result tss_presig_finish_at(tss_presig *p, const tss_keyshare *share, const uint16_t *signers,
                                uint16_t count, const tss_bip32_path *path,
                                const uint8_t digest[TSS_DIGEST_BYTES],
                                const tss_consume_hook *consume, tss_mpc_outbox *out) {
    TSS_ENSURE(!p->used, TSS_E_PROTOCOL, "presignature already used; refusing to reuse it");
    tss_result r = TSS_OK_RESULT;
    if (strcmp(p->key_id, share->key_id) != 0 ||
        memcmp(p->keygen_sid, share->keygen_sid, TSS_SID_BYTES) != 0 || p->self != share->self)
        r = tss_fail(TSS_E_INVALID, "presignature belongs to another key");
    else if (count != p->count || memcmp(signers, p->signers, count * sizeof *signers) != 0)
        r = tss_fail(TSS_E_INVALID, "presignature was made for another signer set");
    else if (!tss_bip32_path_eq(&p->path, path)) {
        /* Never re-target a presignature: its v_i carries the tweak of p->path,
         * and a tweak chosen after R is known is what Groth-Shoup warn of. */
        char have[TSS_BIP32_PATH_TEXT_MAX], want[TSS_BIP32_PATH_TEXT_MAX];
        tss_bip32_path_format(have, sizeof have, &p->path);
        tss_bip32_path_format(want, sizeof want, path);
        r = tss_fail(TSS_E_INVALID,
                     "presignature was made for derivation path %.60s, not %.60s: a "
                     "presignature is bound to its path when presigning (a tweak chosen after "
                     "the nonce is fixed is refused)", have, want);
    } else if (!consume || !consume->consume)
        r = tss_fail(TSS_E_USAGE, "presignature finish needs a consumption hook");
    if (!tss_is_ok(r)) return r; /* a mismatch does not consume it */

    tss_scalar e, rx, w, t;
    uint8_t enc[TSS_PT_BYTES];
    tss_sc_from_bytes_reduce(&e, digest);
    tss_pt_encode(enc, &p->R);
    tss_sc_from_bytes_reduce(&rx, enc + 1);
    tss_sc_mul(&w, &e, &p->phi);
    tss_sc_mul(&t, &rx, &p->v);
    tss_sc_add(&w, &w, &t);
    tss_sc_wipe(&t, 1);
    /* Single use, structurally: wipe before anything can fail. */
    p->used = true;
    tss_sc_wipe(&p->phi, 1);
    tss_sc_wipe(&p->v, 1);
    r = consume->consume(consume->ctx, p->presign_id);
    if (!tss_is_ok(r)) {
        tss_sc_wipe(&w, 1);
        return r;
    }
    tss_writer wr;
    tss_writer_init(&wr, TSS_MPC_MAX_PAYLOAD);
    uint8_t b[TSS_SC_BYTES];
    tss_pt_write(&wr, &p->R);
    tss_sc_to_bytes(b, &p->u);
    tss_write_bytes(&wr, b, sizeof b);
    tss_sc_to_bytes(b, &w);
    tss_write_bytes(&wr, b, sizeof b);
    tss_sc_wipe(&w, 1);
    r = tss_mpc_outbox_push(out, TSS_MSG_SIGN_FINAL_BCAST, p->self, TSS_MPC_BROADCAST, &wr);
    tss_writer_free(&wr);
    return r;
}

#define PRESIG_MAGIC "TSSPRSIG"
/* Version 2 adds the derivation path after the signers; version 1 (no path)
 * still decodes, as the key itself (depth 0). */
#define PRESIG_VERSION 2

tss_result tss_presig_encode(const tss_presig *p, tss_writer *w) {
    TSS_ENSURE(!p->used, TSS_E_USAGE, "a used presignature is not stored");
    uint8_t b[TSS_SC_BYTES];
    tss_write_bytes(w, PRESIG_MAGIC, 8);
    tss_write_u8(w, PRESIG_VERSION);
    tss_write_var(w, p->key_id, strlen(p->key_id));
    tss_write_bytes(w, p->keygen_sid, TSS_SID_BYTES);
    tss_write_bytes(w, p->presign_id, TSS_SID_BYTES);
    tss_write_u16(w, p->self);
    tss_write_u16(w, p->count);
    for (int k = 0; k < p->count; k++) tss_write_u16(w, p->signers[k]);
    tss_bip32_path_write(w, &p->path);
    tss_pt_write(w, &p->R);
    tss_sc_to_bytes(b, &p->phi);
    tss_write_bytes(w, b, sizeof b);
    tss_sc_to_bytes(b, &p->u);
    tss_write_bytes(w, b, sizeof b);
    tss_sc_to_bytes(b, &p->v);
    tss_write_bytes(w, b, sizeof b);
    tss_wipe(b, sizeof b);
    return tss_writer_status(w, "presignature");
}

tss_result tss_presig_decode(tss_presig **out, const uint8_t *in, size_t len) {
    tss_reader r;
    tss_reader_init(&r, in, len);
    const uint8_t *magic = tss_read_view(&r, 8);
    TSS_ENSURE(magic && memcmp(magic, PRESIG_MAGIC, 8) == 0, TSS_E_CORRUPT,
               "not a tssd presignature (bad magic)");
    uint8_t version = tss_read_u8(&r);
    TSS_ENSURE(version == 1 || version == PRESIG_VERSION, TSS_E_UNSUPPORTED,
               "presignature format version %u not supported", version);
    tss_presig *p = tss_secret_alloc(sizeof *p);
    TSS_ENSURE(p, TSS_E_NOMEM, "secret memory allocation failed");
    memset(p, 0, sizeof *p);
    size_t id_len;
    const uint8_t *id = tss_read_var(&r, TSS_KEY_ID_MAX, &id_len);
    if (id) memcpy(p->key_id, id, id_len);
    tss_read_bytes(&r, p->keygen_sid, TSS_SID_BYTES);
    tss_read_bytes(&r, p->presign_id, TSS_SID_BYTES);
    p->self = tss_read_u16(&r);
    p->count = tss_read_u16(&r);
    tss_result res = tss_reader_status(&r, "presignature");
    if (tss_is_ok(res) && (p->count < 2 || p->count > MAXP))
        res = tss_fail(TSS_E_CORRUPT, "presignature: signer count %u out of range", p->count);
    for (int k = 0; tss_is_ok(res) && k < p->count; k++) p->signers[k] = tss_read_u16(&r);
    if (tss_is_ok(res) && version >= 2) res = tss_bip32_path_read(&r, &p->path);
    if (tss_is_ok(res)) res = tss_pt_read(&r, &p->R, "presignature R");
    uint8_t b[3][TSS_SC_BYTES];
    tss_read_bytes(&r, b[0], TSS_SC_BYTES);
    tss_read_bytes(&r, b[1], TSS_SC_BYTES);
    tss_read_bytes(&r, b[2], TSS_SC_BYTES);
    if (tss_is_ok(res)) res = tss_reader_finish(&r, "presignature");
    if (tss_is_ok(res)) res = tss_key_id_check(p->key_id);
    if (tss_is_ok(res)) res = tss_sc_from_bytes(&p->phi, b[0], "presignature phi");
    if (tss_is_ok(res)) res = tss_sc_from_bytes(&p->u, b[1], "presignature u");
    if (tss_is_ok(res)) res = tss_sc_from_bytes(&p->v, b[2], "presignature v");
    tss_wipe(b, sizeof b);
    if (!tss_is_ok(res)) {
        tss_presig_free(p);
        return res;
    }
    *out = p;
    return TSS_OK_RESULT;
}

tss_result tss_sign_partial_decode(tss_sign_partial *p, uint16_t from, const uint8_t *in,
                                   size_t len) {
    tss_reader r;
    tss_reader_init(&r, in, len);
    uint8_t b[2][TSS_SC_BYTES];
    TSS_GUARD(tss_pt_read(&r, &p->R, "R"));
    tss_read_bytes(&r, b[0], TSS_SC_BYTES);
    tss_read_bytes(&r, b[1], TSS_SC_BYTES);
    TSS_GUARD(tss_reader_finish(&r, "sign final broadcast"));
    TSS_GUARD(tss_sc_from_bytes(&p->u, b[0], "u_i"));
    TSS_GUARD(tss_sc_from_bytes(&p->w, b[1], "w_i"));
    p->party = from;
    return TSS_OK_RESULT;
}

tss_result tss_sign_assemble(const tss_sign_partial *partials, size_t count, const tss_point *X,
                             const uint8_t digest[TSS_DIGEST_BYTES], tss_signature *sig) {
    TSS_ENSURE(count >= 2 && count <= MAXP, TSS_E_INVALID, "need 2..%d partial signatures", MAXP);
    tss_scalar su, sw, s;
    tss_sc_set_zero(&su);
    tss_sc_set_zero(&sw);
    for (size_t k = 0; k < count; k++) {
        TSS_ENSURE(tss_pt_eq(&partials[k].R, &partials[0].R), TSS_E_PROTOCOL,
                   "party %u reports a different R than party %u", partials[k].party,
                   partials[0].party);
        for (size_t j = 0; j < k; j++)
            TSS_ENSURE(partials[j].party != partials[k].party, TSS_E_PROTOCOL,
                       "two partial signatures from party %u", partials[k].party);
        tss_sc_add(&su, &su, &partials[k].u);
        tss_sc_add(&sw, &sw, &partials[k].w);
    }
    TSS_ENSURE(!tss_sc_is_zero(&su), TSS_E_PROTOCOL, "sum of u is zero");
    TSS_ENSURE(x_coordinate_below_n(&partials[0].R), TSS_E_PROTOCOL,
               "x(R) >= n, which Ethereum cannot encode; sign again");
    tss_sc_inv(&su, &su);
    tss_sc_mul(&s, &sw, &su);
    TSS_ENSURE(!tss_sc_is_zero(&s), TSS_E_PROTOCOL, "s is zero");
    uint8_t enc[TSS_PT_BYTES], sb[32];
    tss_pt_encode(enc, &partials[0].R);
    uint8_t recid = enc[0] & 1;
    /* low-s: s > (n-1)/2 becomes n - s, which flips the parity of R's y. */
    static const uint8_t half_n[32] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
                                       0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};
    tss_sc_to_bytes(sb, &s);
    if (memcmp(sb, half_n, 32) > 0) {
        tss_sc_neg(&s, &s);
        tss_sc_to_bytes(sb, &s);
        recid ^= 1;
    }
    uint8_t compact[64];
    memcpy(compact, enc + 1, 32);
    memcpy(compact + 32, sb, 32);
    const secp256k1_context *ctx = tss_pt_context();
    TSS_ENSURE(ctx, TSS_E_CRYPTO, "no secp256k1 context");
    secp256k1_ecdsa_signature esig;
    secp256k1_ecdsa_recoverable_signature rsig;
    secp256k1_pubkey recovered;
    TSS_ENSURE(secp256k1_ecdsa_signature_parse_compact(ctx, &esig, compact), TSS_E_PROTOCOL,
               "assembled signature does not parse");
    TSS_ENSURE(secp256k1_ecdsa_verify(ctx, &esig, digest, &X->pk), TSS_E_PROTOCOL,
               "assembled signature does not verify against the public key: a signer sent a "
               "wrong partial signature (not attributable at this step)");
    TSS_ENSURE(secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, compact, recid) &&
                   secp256k1_ecdsa_recover(ctx, &recovered, &rsig, digest),
               TSS_E_PROTOCOL, "recovery of the assembled signature failed");
    tss_point rec = {recovered};
    TSS_ENSURE(tss_pt_eq(&rec, X), TSS_E_PROTOCOL, "recovery id does not recover the public key");
    memcpy(sig->r, compact, 32);
    memcpy(sig->s, compact + 32, 32);
    sig->recid = recid;
    return TSS_OK_RESULT;
}

#ifdef TSS_FUZZING
/* Fuzzing entry point (fuzz builds only): the round-2 message decoder. */
tss_result tss_sign_fuzz_decode_r2p(const uint8_t *data, size_t len);
tss_result tss_sign_fuzz_decode_r2p(const uint8_t *data, size_t len) {
    sign_peer *p = malloc(sizeof *p);
    TSS_ENSURE(p, TSS_E_NOMEM, "oom");
    tss_mpc_msg m = {.type = TSS_MSG_SIGN_R2_P2P, .from = 2, .to = 1, .data = (uint8_t *)data,
                     .len = len};
    tss_result r = decode_r2p(p, &m);
    free(p);
    return r;
}
#endif
