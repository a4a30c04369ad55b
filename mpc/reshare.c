#include "mpc/reshare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpc/pairwise.h"
#include "util/ctime.h"
#include "util/secmem.h"

#define MAXP TSS_MPC_MAX_PARTIES
#define MAXT TSS_MPC_MAX_PARTIES

enum { SLOT_R1B, SLOT_R1P, SLOT_R2B, SLOT_R2P, SLOT_R3B, SLOT_COUNT };

/* What we keep of each participant's messages, indexed like u[]. Raw
 * broadcasts are kept for the echo digest and the transcript. */
typedef struct {
    uint8_t sid_share[TSS_SID_BYTES];
    uint8_t *ot_msg1; /* raw, from a new party */
    uint8_t r1_digest[TSS_HASH_BYTES];
    tss_point F[MAXT]; /* dealers: commitments to f_i */
    tss_schnorr_proof coeff_proof[MAXT];
    uint8_t chain_code[TSS_CHAIN_CODE_BYTES];
    tss_scalar share; /* f_i(self), secret */
    uint8_t zero_contrib[TSS_ZERO_SEED_BYTES];
    uint8_t *ot_msg2; /* raw */
    uint8_t digest[TSS_HASH_BYTES];
    tss_point X;      /* new public share (new parties) */
    tss_schnorr_proof x_proof;
    uint8_t zero_check[MAXP][TSS_HASH_BYTES]; /* by index in new_parties */
    uint8_t *raw_r1b;
    uint8_t *raw_r2b;
    size_t raw_r2b_len;
    uint8_t *raw_r3b;
    size_t raw_r3b_len;
} peer_inbox;

struct tss_reshare {
    tss_reshare_config cfg; /* old_share is NULL: what we need of it is copied below */
    uint16_t u[MAXP];       /* participants S ∪ P', ascending */
    int nu;
    bool dealer[MAXP];
    int new_idx[MAXP]; /* u index -> index in new_parties, or -1 */
    int self_u;
    int round; /* 0 before start, 1..3 waiting for that round, 4 done */
    bool failed;
    uint16_t culprit;
    uint8_t context[TSS_SID_BYTES];
    uint8_t final_sid[TSS_SID_BYTES];
    bool have[SLOT_COUNT][MAXP];
    peer_inbox in[MAXP]; /* our own broadcasts go here too */
    tss_scalar coeff[MAXT]; /* our polynomial when dealing, secret */
    /* From the old share, when given. */
    bool have_old;
    tss_scalar old_x;                      /* secret */
    tss_point old_const[MAXP];             /* λ_d·X_d expected of dealer u[k] */
    uint8_t old_chain_code[TSS_CHAIN_CODE_BYTES];
    uint32_t old_banned_ids;               /* bit id-1: banned under the old share */
    uint8_t my_zero_contrib[MAXP][TSS_ZERO_SEED_BYTES];
    tss_base_ot_receiver *ot_receiver[MAXP];
    uint8_t my_ot_msg1[MAXP][TSS_HASH_BYTES];
    uint8_t my_ot_msg2[MAXP][TSS_HASH_BYTES];
    tss_point X_expected[MAXP]; /* by index in new_parties */
    uint8_t chain_code[TSS_CHAIN_CODE_BYTES];
    uint8_t transcript[TSS_HASH_BYTES];
    tss_keyshare *share; /* new parties */
};

#define PUBLIC_SHARE_AUX "reshare-public-share"

static tss_result abort_with(tss_reshare *r, uint16_t culprit, const char *what) {
    r->failed = true;
    r->culprit = culprit;
    if (culprit) return tss_fail(TSS_E_PROTOCOL, "reshare aborted: party %u: %s", culprit, what);
    return tss_fail(TSS_E_PROTOCOL, "reshare aborted: %s", what);
}

static tss_result abort_result(tss_reshare *r, uint16_t culprit, tss_result res,
                               const char *what) {
    char detail[400];
    snprintf(detail, sizeof detail, "%s: %s", what, tss_error_detail());
    (void)res;
    return abort_with(r, culprit, detail);
}

/* A peer's echo digest differs from ours: the peer may misreport, or another
 * party may have signed two broadcasts, so no culprit (as in the DKG). */
static tss_result echo_mismatch(tss_reshare *r, uint16_t peer, const char *rounds) {
    char what[200];
    snprintf(what, sizeof what,
             "party %u saw different %s broadcasts than we did (party %u, or a party that "
             "equivocated its broadcast)",
             peer, rounds, peer);
    return abort_with(r, 0, what);
}

static bool is_new(const tss_reshare *r, int k) { return r->new_idx[k] >= 0; }
static bool self_new(const tss_reshare *r) { return is_new(r, r->self_u); }
static bool self_dealer(const tss_reshare *r) { return r->dealer[r->self_u]; }

static int u_index(const tss_reshare *r, uint16_t id) {
    for (int k = 0; k < r->nu; k++)
        if (r->u[k] == id) return k;
    return -1;
}

static tss_result check_ids(const uint16_t *ids, size_t n, const char *what) {
    for (size_t k = 0; k < n; k++) {
        TSS_ENSURE(ids[k] >= 1 && ids[k] <= MAXP, TSS_E_INVALID,
                   "reshare: %s id %u out of range 1..%d", what, ids[k], MAXP);
        TSS_ENSURE(k == 0 || ids[k] > ids[k - 1], TSS_E_INVALID,
                   "reshare: %s ids must be strictly ascending", what);
    }
    return TSS_OK_RESULT;
}

static bool contains(const uint16_t *ids, size_t n, uint16_t id) {
    for (size_t k = 0; k < n; k++)
        if (ids[k] == id) return true;
    return false;
}

static tss_result check_config(const tss_reshare_config *c) {
    TSS_GUARD(tss_key_id_check(c->key_id));
    TSS_ENSURE(c->old_threshold >= 2 && c->old_threshold <= MAXP, TSS_E_INVALID,
               "reshare: old threshold %u out of range 2..%d", c->old_threshold, MAXP);
    TSS_ENSURE(c->new_n >= 2 && c->new_n <= MAXP, TSS_E_INVALID,
               "reshare: %u new parties; need 2..%d", c->new_n, MAXP);
    TSS_ENSURE(c->new_threshold >= 2 && c->new_threshold <= c->new_n, TSS_E_INVALID,
               "reshare: new threshold %u out of range 2..%u", c->new_threshold, c->new_n);
    TSS_GUARD(check_ids(c->dealers, c->old_threshold, "dealer"));
    TSS_GUARD(check_ids(c->new_parties, c->new_n, "new party"));
    bool dealer = contains(c->dealers, c->old_threshold, c->self);
    TSS_ENSURE(dealer || contains(c->new_parties, c->new_n, c->self), TSS_E_INVALID,
               "reshare: own id %u is neither a dealer nor a new party", c->self);
    TSS_ENSURE(!dealer || c->old_share, TSS_E_INVALID,
               "reshare: party %u deals but has no old key share", c->self);
    const tss_keyshare *o = c->old_share;
    if (!o) return TSS_OK_RESULT;
    TSS_ENSURE(o->self == c->self, TSS_E_INVALID, "reshare: old share is party %u's, not %u's",
               o->self, c->self);
    TSS_ENSURE(strcmp(o->key_id, c->key_id) == 0, TSS_E_INVALID,
               "reshare: old share is of key %s, not %s", o->key_id, c->key_id);
    TSS_ENSURE(tss_pt_eq(&o->X, &c->X), TSS_E_INVALID,
               "reshare: the public key given differs from the old share's");
    TSS_ENSURE(o->threshold == c->old_threshold, TSS_E_INVALID,
               "reshare: old threshold %u, but the old share's is %u", c->old_threshold,
               o->threshold);
    for (int k = 0; k < c->old_threshold; k++)
        TSS_ENSURE(tss_keyshare_index(o, c->dealers[k]) >= 0, TSS_E_INVALID,
                   "reshare: dealer %u is not a party of the old key", c->dealers[k]);
    return TSS_OK_RESULT;
}

tss_result tss_reshare_refresh_config(tss_reshare_config *cfg, const tss_keyshare *old,
                                      const uint16_t *signers,
                                      const uint8_t session_id[TSS_SID_BYTES]) {
    memset(cfg, 0, sizeof *cfg);
    cfg->self = old->self;
    snprintf(cfg->key_id, sizeof cfg->key_id, "%s", old->key_id);
    memcpy(cfg->session_id, session_id, TSS_SID_BYTES);
    cfg->X = old->X;
    cfg->old_threshold = old->threshold;
    memcpy(cfg->dealers, signers, old->threshold * sizeof *signers);
    cfg->new_threshold = old->threshold;
    cfg->new_n = old->n;
    memcpy(cfg->new_parties, old->parties, old->n * sizeof *old->parties);
    cfg->old_share = old;
    return check_config(cfg);
}

/* Copies what the run needs of the old share: x (dealers), the expected
 * constant term λ_d·X_d of every dealer, the chain code and the bans. */
static tss_result take_old(tss_reshare *r, const tss_keyshare *o) {
    const tss_reshare_config *c = &r->cfg;
    r->have_old = true;
    r->old_x = o->x;
    memcpy(r->old_chain_code, o->chain_code, TSS_CHAIN_CODE_BYTES);
    for (int k = 0; k < o->n; k++)
        if (o->banned >> k & 1) r->old_banned_ids |= UINT32_C(1) << (o->parties[k] - 1);
    for (int k = 0; k < r->nu; k++) {
        if (!r->dealer[k]) continue;
        tss_scalar l;
        TSS_GUARD(tss_lagrange_at_zero(&l, r->u[k], c->dealers, c->old_threshold));
        TSS_GUARD(tss_pt_mul_var(&r->old_const[k], &o->X_j[tss_keyshare_index(o, r->u[k])], &l));
    }
    return TSS_OK_RESULT;
}

tss_result tss_reshare_new(tss_reshare **out, const tss_reshare_config *cfg) {
    TSS_GUARD(check_config(cfg));
    tss_reshare *r = tss_secret_alloc(sizeof *r);
    TSS_ENSURE(r, TSS_E_NOMEM, "secret memory allocation failed");
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    r->cfg.old_share = NULL;
    /* U = S ∪ P', ascending (both lists are). */
    const uint16_t *S = cfg->dealers, *P = cfg->new_parties;
    size_t i = 0, j = 0;
    while (i < cfg->old_threshold || j < cfg->new_n) {
        uint16_t id;
        if (j >= cfg->new_n || (i < cfg->old_threshold && S[i] < P[j])) id = S[i++];
        else if (i >= cfg->old_threshold || P[j] < S[i]) id = P[j++];
        else id = S[i++], j++;
        r->u[r->nu] = id;
        r->dealer[r->nu] = contains(S, cfg->old_threshold, id);
        r->new_idx[r->nu] = -1;
        for (int k = 0; k < cfg->new_n; k++)
            if (P[k] == id) r->new_idx[r->nu] = k;
        r->nu++;
    }
    r->self_u = u_index(r, cfg->self);
    tss_result res = TSS_OK_RESULT;
    if (cfg->old_share) res = take_old(r, cfg->old_share);
    if (tss_is_ok(res) && self_new(r)) res = tss_keyshare_new(&r->share, cfg->new_n);
    if (!tss_is_ok(res)) {
        tss_reshare_free(r);
        return res;
    }
    /* The context binds key id, X, both committees and thresholds and the
     * coordinator's session id: parties given different configurations
     * (e.g. a wrong X by a lying coordinator) fail the round-1 echo. */
    tss_transcript t;
    tss_tr_init(&t, "reshare-context");
    tss_tr_append_str(&t, cfg->key_id);
    tss_tr_append(&t, cfg->session_id, TSS_SID_BYTES);
    tss_tr_append_point(&t, &cfg->X);
    tss_tr_append_u32(&t, cfg->old_threshold);
    for (int k = 0; k < cfg->old_threshold; k++) tss_tr_append_u32(&t, S[k]);
    tss_tr_append_u32(&t, cfg->new_threshold);
    tss_tr_append_u32(&t, cfg->new_n);
    for (int k = 0; k < cfg->new_n; k++) tss_tr_append_u32(&t, P[k]);
    tss_tr_final(&t, r->context);
    *out = r;
    return TSS_OK_RESULT;
}

void tss_reshare_free(tss_reshare *r) {
    if (!r) return;
    for (int k = 0; k < r->nu; k++) {
        free(r->in[k].ot_msg1);
        free(r->in[k].ot_msg2);
        free(r->in[k].raw_r1b);
        free(r->in[k].raw_r2b);
        free(r->in[k].raw_r3b);
        tss_base_ot_receiver_free(r->ot_receiver[k]);
    }
    tss_keyshare_free(r->share);
    tss_secret_free(r);
}

bool tss_reshare_finished(const tss_reshare *r) { return r->round == 4 && !r->failed; }
uint16_t tss_reshare_culprit(const tss_reshare *r) { return r->culprit; }
int tss_reshare_round(const tss_reshare *r) { return r->round; }
bool tss_reshare_is_new_party(const tss_reshare *r) { return self_new(r); }

size_t tss_reshare_participants(const tss_reshare *r, uint16_t ids[TSS_MPC_MAX_PARTIES]) {
    memcpy(ids, r->u, (size_t)r->nu * sizeof *ids);
    return (size_t)r->nu;
}

static void coeff_aux(uint8_t aux[17], uint32_t k) {
    memcpy(aux, "reshare-coeff", 13);
    aux[13] = (uint8_t)(k >> 24), aux[14] = (uint8_t)(k >> 16), aux[15] = (uint8_t)(k >> 8),
    aux[16] = (uint8_t)k;
}

static tss_result keep_raw(uint8_t **dst, const uint8_t *src, size_t len) {
    *dst = malloc(len ? len : 1);
    TSS_ENSURE(*dst, TSS_E_NOMEM, "out of memory");
    memcpy(*dst, src, len);
    return TSS_OK_RESULT;
}

/* f(at) by Horner's rule over our (secret) coefficients. */
static void poly_eval(const tss_reshare *r, uint16_t at, tss_scalar *out) {
    tss_scalar x;
    tss_sc_set_u64(&x, at);
    *out = r->coeff[r->cfg.new_threshold - 1];
    for (size_t c = r->cfg.new_threshold - 1; c-- > 0;) {
        tss_sc_mul(out, out, &x);
        tss_sc_add(out, out, &r->coeff[c]);
    }
}

tss_result tss_reshare_start(tss_reshare *r, tss_mpc_outbox *out) {
    TSS_ENSURE(r->round == 0 && !r->failed, TSS_E_USAGE, "reshare already started");
    peer_inbox *me = &r->in[r->self_u];
    if (self_dealer(r)) {
        /* Constant term λ_self·x_self: the dealers' constant terms sum to x. */
        tss_scalar l;
        TSS_GUARD(tss_lagrange_at_zero(&l, r->cfg.self, r->cfg.dealers, r->cfg.old_threshold));
        tss_sc_mul(&r->coeff[0], &l, &r->old_x);
        for (size_t k = 1; k < r->cfg.new_threshold; k++)
            TSS_GUARD(tss_sc_random_nonzero(&r->coeff[k]));
        for (size_t k = 0; k < r->cfg.new_threshold; k++) {
            TSS_GUARD(tss_pt_mul_base(&me->F[k], &r->coeff[k]));
            tss_declassify(&me->F[k], sizeof me->F[k]); /* published in round 2 */
        }
        memcpy(me->chain_code, r->old_chain_code, TSS_CHAIN_CODE_BYTES);
    }
    randombytes_buf(me->sid_share, TSS_SID_BYTES);
    tss_declassify(me->sid_share, TSS_SID_BYTES); /* round 1 */

    tss_writer w;
    tss_writer_init(&w, TSS_MPC_MAX_PAYLOAD);
    tss_write_bytes(&w, me->sid_share, TSS_SID_BYTES);
    TSS_GUARD(keep_raw(&me->raw_r1b, w.data, w.len));
    TSS_GUARD(tss_mpc_outbox_push(out, TSS_MSG_RESHARE_R1_BCAST, r->cfg.self, TSS_MPC_BROADCAST,
                                  &w));
    r->have[SLOT_R1B][r->self_u] = true;

    /* Fresh base OTs among the new committee: old OT state is useless after. */
    for (int k = 0; k < r->nu && self_new(r); k++) {
        if (k == r->self_u || !is_new(r, k)) continue;
        uint8_t choice[TSS_BASE_OT_CHOICE_BYTES];
        randombytes_buf(choice, sizeof choice);
        tss_result res = tss_base_ot_receiver_start(&r->ot_receiver[k], r->context, r->u[k],
                                                    r->cfg.self, choice, &w);
        tss_wipe(choice, sizeof choice);
        if (tss_is_ok(res)) {
            tss_pair_ot_msg_hash(w.data, w.len, r->my_ot_msg1[k]);
            res = tss_mpc_outbox_push(out, TSS_MSG_RESHARE_R1_P2P, r->cfg.self, r->u[k], &w);
        }
        if (!tss_is_ok(res)) {
            tss_writer_free(&w);
            return res;
        }
    }
    tss_writer_free(&w);
    r->round = 1;
    return TSS_OK_RESULT;
}

/* ---- decoding on arrival ------------------------------------------------- */

static tss_result decode_r1b(peer_inbox *p, const tss_mpc_msg *m) {
    tss_reader rd;
    tss_reader_init(&rd, m->data, m->len);
    tss_read_bytes(&rd, p->sid_share, TSS_SID_BYTES);
    TSS_GUARD(tss_reader_finish(&rd, "reshare round-1 broadcast"));
    return keep_raw(&p->raw_r1b, m->data, m->len);
}

static tss_result decode_r1p(peer_inbox *p, const tss_mpc_msg *m) {
    TSS_ENSURE(m->len == TSS_RESHARE_R1_P2P_BYTES, TSS_E_PROTOCOL,
               "reshare round-1 message has %zu bytes, expected %zu", m->len,
               (size_t)TSS_RESHARE_R1_P2P_BYTES);
    return keep_raw(&p->ot_msg1, m->data, m->len);
}

static tss_result decode_r2b(bool dealer, uint16_t t_new, peer_inbox *p, const tss_mpc_msg *m) {
    tss_reader rd;
    tss_reader_init(&rd, m->data, m->len);
    tss_read_bytes(&rd, p->r1_digest, TSS_HASH_BYTES);
    if (dealer) {
        uint16_t count = tss_read_u16(&rd);
        TSS_GUARD(tss_reader_status(&rd, "reshare round-2 broadcast"));
        TSS_ENSURE(count == t_new, TSS_E_PROTOCOL,
                   "reshare round-2 broadcast carries %u coefficient commitments, expected %u",
                   count, t_new);
        for (uint16_t k = 0; k < count; k++)
            TSS_GUARD(tss_pt_read(&rd, &p->F[k], "coefficient commitment"));
        tss_read_bytes(&rd, p->chain_code, TSS_CHAIN_CODE_BYTES);
        for (uint16_t k = 0; k < count; k++) TSS_GUARD(tss_schnorr_read(&rd, &p->coeff_proof[k]));
    }
    TSS_GUARD(tss_reader_finish(&rd, "reshare round-2 broadcast"));
    p->raw_r2b_len = m->len;
    return keep_raw(&p->raw_r2b, m->data, m->len);
}

static tss_result decode_r2p(bool dealer, bool new_party, peer_inbox *p, const tss_mpc_msg *m) {
    tss_reader rd;
    tss_reader_init(&rd, m->data, m->len);
    tss_result res = TSS_OK_RESULT;
    if (dealer) {
        uint8_t s[TSS_SC_BYTES];
        tss_read_bytes(&rd, s, sizeof s);
        res = tss_reader_status(&rd, "reshare round-2 message");
        if (tss_is_ok(res)) res = tss_sc_from_bytes(&p->share, s, "secret share");
        tss_wipe(s, sizeof s);
        TSS_GUARD(res);
    }
    const uint8_t *msg2 = NULL;
    if (new_party) {
        tss_read_bytes(&rd, p->zero_contrib, TSS_ZERO_SEED_BYTES);
        msg2 = tss_read_view(&rd, TSS_BASE_OT_MSG2_BYTES);
    }
    TSS_GUARD(tss_reader_finish(&rd, "reshare round-2 message"));
    return msg2 ? keep_raw(&p->ot_msg2, msg2, TSS_BASE_OT_MSG2_BYTES) : TSS_OK_RESULT;
}

static tss_result decode_r3b(bool new_party, uint16_t n_new, int sender_new, peer_inbox *p,
                             const tss_mpc_msg *m) {
    tss_reader rd;
    tss_reader_init(&rd, m->data, m->len);
    tss_read_bytes(&rd, p->digest, TSS_HASH_BYTES);
    if (new_party) {
        TSS_GUARD(tss_pt_read(&rd, &p->X, "public share"));
        TSS_GUARD(tss_schnorr_read(&rd, &p->x_proof));
        for (int k = 0; k < n_new; k++)
            if (k != sender_new) tss_read_bytes(&rd, p->zero_check[k], TSS_HASH_BYTES);
    }
    TSS_GUARD(tss_reader_finish(&rd, "reshare round-3 broadcast"));
    p->raw_r3b_len = m->len;
    return keep_raw(&p->raw_r3b, m->data, m->len);
}

/* ---- round transitions -------------------------------------------------- */

/* Whether participant k owes us a message of `slot` (other than ourselves). */
static bool expects(const tss_reshare *r, int slot, int k) {
    if (k == r->self_u) return false;
    switch (slot) {
    case SLOT_R1P: return self_new(r) && is_new(r, k);
    case SLOT_R2P: return self_new(r) && (is_new(r, k) || r->dealer[k]);
    default: return true;
    }
}

static bool round_complete(const tss_reshare *r, int slot_b, int slot_p) {
    for (int k = 0; k < r->nu; k++) {
        if (k == r->self_u) continue;
        if (!r->have[slot_b][k]) return false;
        if (slot_p >= 0 && expects(r, slot_p, k) && !r->have[slot_p][k]) return false;
    }
    return true;
}

static void round1_digest(const tss_reshare *r, uint8_t out[TSS_HASH_BYTES]) {
    tss_transcript tr;
    tss_tr_init(&tr, "reshare-echo-round1");
    tss_tr_append(&tr, r->context, TSS_SID_BYTES);
    for (int k = 0; k < r->nu; k++) tss_tr_append(&tr, r->in[k].raw_r1b, TSS_SID_BYTES);
    tss_tr_final(&tr, out);
}

static tss_result send_round2(tss_reshare *r, tss_mpc_outbox *out) {
    const size_t t = r->cfg.new_threshold;
    tss_transcript tr;
    tss_tr_init(&tr, "reshare-final-sid");
    tss_tr_append(&tr, r->context, TSS_SID_BYTES);
    for (int k = 0; k < r->nu; k++) tss_tr_append(&tr, r->in[k].sid_share, TSS_SID_BYTES);
    tss_tr_final(&tr, r->final_sid);

    peer_inbox *me = &r->in[r->self_u];
    round1_digest(r, me->r1_digest);
    tss_writer w;
    tss_writer_init(&w, TSS_MPC_MAX_PAYLOAD);
    tss_write_bytes(&w, me->r1_digest, TSS_HASH_BYTES);
    tss_result res = TSS_OK_RESULT;
    if (self_dealer(r)) {
        tss_write_u16(&w, (uint16_t)t);
        for (size_t k = 0; k < t; k++) tss_pt_write(&w, &me->F[k]);
        tss_write_bytes(&w, me->chain_code, TSS_CHAIN_CODE_BYTES);
        for (size_t k = 0; k < t && tss_is_ok(res); k++) {
            uint8_t aux[17];
            coeff_aux(aux, (uint32_t)k);
            tss_schnorr_proof proof;
            res = tss_schnorr_prove(&proof, r->final_sid, r->cfg.self, &r->coeff[k], &me->F[k],
                                    aux, sizeof aux);
            if (tss_is_ok(res)) tss_schnorr_write(&w, &proof);
        }
    }
    if (tss_is_ok(res)) res = keep_raw(&me->raw_r2b, w.data, w.len);
    me->raw_r2b_len = w.len;
    if (tss_is_ok(res)) res = tss_mpc_outbox_push(out, TSS_MSG_RESHARE_R2_BCAST, r->cfg.self, 0, &w);
    r->have[SLOT_R2B][r->self_u] = true;
    if (self_dealer(r) && self_new(r)) poly_eval(r, r->cfg.self, &me->share);

    for (int k = 0; k < r->nu && tss_is_ok(res); k++) {
        if (k == r->self_u || !is_new(r, k)) continue;
        uint16_t peer = r->u[k];
        if (self_dealer(r)) {
            tss_scalar s;
            uint8_t b[TSS_SC_BYTES];
            poly_eval(r, peer, &s);
            tss_sc_to_bytes(b, &s);
            tss_sc_wipe(&s, 1);
            tss_write_bytes(&w, b, sizeof b);
            tss_wipe(b, sizeof b);
        }
        if (self_new(r)) {
            randombytes_buf(r->my_zero_contrib[k], TSS_ZERO_SEED_BYTES);
            tss_write_bytes(&w, r->my_zero_contrib[k], TSS_ZERO_SEED_BYTES);
            /* We are the base-OT sender: the extension receiver for
             * multiplications the peer sends us. */
            res = tss_pair_ot_respond(r->context, r->cfg.self, peer, r->in[k].ot_msg1, &w,
                                      &r->share->peers[r->new_idx[k]].ote_recv,
                                      r->my_ot_msg2[k]);
            if (!tss_is_ok(res)) {
                tss_writer_free(&w);
                return abort_result(r, peer, res, "invalid base-OT message");
            }
        }
        res = tss_mpc_outbox_push(out, TSS_MSG_RESHARE_R2_P2P, r->cfg.self, peer, &w);
    }
    tss_writer_free(&w);
    TSS_GUARD(res);
    r->round = 2;
    return TSS_OK_RESULT;
}

/* Checks every dealer's round-2 data; fills X_expected, the chain code and
 * (new parties) x'. Check order: echo first (nothing derived from a split
 * view is used), then what names a dealer, then what cannot. */
static tss_result verify_round2(tss_reshare *r) {
    const size_t t = r->cfg.new_threshold;
    for (int k = 0; k < r->nu; k++) {
        if (k == r->self_u) continue;
        if (!tss_ct_equal(r->in[k].r1_digest, r->in[r->self_u].r1_digest, TSS_HASH_BYTES))
            return echo_mismatch(r, r->u[k], "round-1");
    }
    tss_point G;
    tss_pt_generator(&G);
    int first_dealer = -1;
    for (int k = 0; k < r->nu; k++) {
        if (!r->dealer[k]) continue;
        if (first_dealer < 0) first_dealer = k;
        if (k == r->self_u) continue;
        uint16_t peer = r->u[k];
        peer_inbox *p = &r->in[k];
        for (size_t c = 0; c < t; c++) {
            uint8_t aux[17];
            coeff_aux(aux, (uint32_t)c);
            if (!tss_is_ok(tss_schnorr_verify(&p->coeff_proof[c], r->final_sid, peer, &p->F[c],
                                              aux, sizeof aux)))
                return abort_with(r, peer, "invalid proof of knowledge for a coefficient");
        }
        /* Old parties know λ_d·X_d: a dealer dealing another secret is named. */
        if (r->have_old && !tss_pt_eq(&p->F[0], &r->old_const[k]))
            return abort_with(r, peer,
                              "constant term is not its Lagrange-weighted old public share (it "
                              "deals a different secret)");
        if (r->have_old && !tss_ct_equal(p->chain_code, r->old_chain_code, TSS_CHAIN_CODE_BYTES))
            return abort_with(r, peer, "chain code differs from the key's");
        if (self_new(r)) {
            /* Feldman: f_d(self)*G must be the public evaluation of F_d; the
             * secret product is compared in constant time. */
            tss_point rhs;
            tss_result res = tss_pt_poly_eval_var(&rhs, p->F, t, r->cfg.self);
            int match = tss_is_ok(res) && tss_pt_mul_matches(&G, &p->share, &rhs);
            tss_declassify(&match, sizeof match);
            if (!match) return abort_with(r, peer, "secret share fails the Feldman check");
        }
    }
    /* Everyone: the constant terms must add up to X, so the key cannot change.
     * A party without the old public shares cannot tell which dealer lied. */
    tss_point Fsum[MAXT], col[MAXP];
    for (size_t c = 0; c < t; c++) {
        size_t nd = 0;
        for (int k = 0; k < r->nu; k++)
            if (r->dealer[k]) col[nd++] = r->in[k].F[c];
        if (!tss_is_ok(tss_pt_sum(&Fsum[c], col, nd)))
            return abort_with(r, 0, "summed coefficient commitments cancel");
    }
    if (!tss_pt_eq(&Fsum[0], &r->cfg.X))
        return abort_with(r, 0,
                          "the dealers' constant terms do not add up to the public key (a dealer "
                          "dealt a different secret)");
    for (int k = 0; k < r->nu; k++)
        if (r->dealer[k] &&
            !tss_ct_equal(r->in[k].chain_code, r->in[first_dealer].chain_code,
                          TSS_CHAIN_CODE_BYTES))
            return abort_with(r, 0, "the dealers disagree on the chain code");
    memcpy(r->chain_code, r->in[first_dealer].chain_code, TSS_CHAIN_CODE_BYTES);
    for (int j = 0; j < r->cfg.new_n; j++)
        if (!tss_is_ok(tss_pt_poly_eval_var(&r->X_expected[j], Fsum, t, r->cfg.new_parties[j])))
            return abort_with(r, 0, "a new public share is the point at infinity");
    if (!self_new(r)) return TSS_OK_RESULT;

    tss_keyshare *ks = r->share;
    tss_sc_set_zero(&ks->x);
    for (int k = 0; k < r->nu; k++)
        if (r->dealer[k]) tss_sc_add(&ks->x, &ks->x, &r->in[k].share);
    int mine = tss_pt_mul_matches(&G, &ks->x, &r->X_expected[r->new_idx[r->self_u]]);
    tss_declassify(&mine, sizeof mine);
    if (!mine) return abort_with(r, 0, "own share does not match the public polynomial");
    return TSS_OK_RESULT;
}

static tss_result finish_base_ots(tss_reshare *r) {
    for (int k = 0; k < r->nu; k++) {
        if (k == r->self_u || !is_new(r, k)) continue;
        uint16_t peer = r->u[k];
        tss_keyshare_peer *kp = &r->share->peers[r->new_idx[k]];
        tss_result res = tss_pair_ot_finish(&r->ot_receiver[k], r->in[k].ot_msg2, &kp->ote_send);
        if (!tss_is_ok(res)) return abort_result(r, peer, res, "invalid base-OT reply");
        tss_pair_zero_seed(r->final_sid, r->cfg.self, peer, r->my_zero_contrib[k],
                           r->in[k].zero_contrib, kp->zero_seed);
    }
    return TSS_OK_RESULT;
}

static void echo_digest(const tss_reshare *r, uint8_t out[TSS_HASH_BYTES]) {
    tss_transcript tr;
    tss_tr_init(&tr, "reshare-echo");
    tss_tr_append(&tr, r->final_sid, TSS_SID_BYTES);
    for (int k = 0; k < r->nu; k++) tss_tr_append(&tr, r->in[k].raw_r1b, TSS_SID_BYTES);
    for (int k = 0; k < r->nu; k++) tss_tr_append(&tr, r->in[k].raw_r2b, r->in[k].raw_r2b_len);
    tss_tr_final(&tr, out);
}

static tss_result send_round3(tss_reshare *r, tss_mpc_outbox *out) {
    TSS_GUARD(verify_round2(r));
    if (self_new(r)) TSS_GUARD(finish_base_ots(r));
    peer_inbox *me = &r->in[r->self_u];
    echo_digest(r, me->digest);
    tss_writer w;
    tss_writer_init(&w, TSS_MPC_MAX_PAYLOAD);
    tss_write_bytes(&w, me->digest, TSS_HASH_BYTES);
    if (self_new(r)) {
        tss_keyshare *ks = r->share;
        int self_j = r->new_idx[r->self_u];
        me->X = r->X_expected[self_j];
        tss_result res = tss_schnorr_prove(&me->x_proof, r->final_sid, r->cfg.self, &ks->x,
                                           &me->X, PUBLIC_SHARE_AUX, sizeof PUBLIC_SHARE_AUX - 1);
        if (!tss_is_ok(res)) {
            tss_writer_free(&w);
            return res;
        }
        tss_pt_write(&w, &me->X);
        tss_schnorr_write(&w, &me->x_proof);
        for (int k = 0; k < r->nu; k++) {
            if (k == r->self_u || !is_new(r, k)) continue;
            int j = r->new_idx[k];
            tss_pair_check(r->final_sid, r->cfg.self, r->u[k], ks->peers[j].zero_seed,
                           r->my_ot_msg1[k], r->my_ot_msg2[k], r->in[k].ot_msg1,
                           r->in[k].ot_msg2, me->zero_check[j]);
            tss_declassify(me->zero_check[j], TSS_HASH_BYTES); /* broadcast */
            tss_write_bytes(&w, me->zero_check[j], TSS_HASH_BYTES);
        }
    }
    tss_result res = keep_raw(&me->raw_r3b, w.data, w.len);
    me->raw_r3b_len = w.len;
    if (tss_is_ok(res)) res = tss_mpc_outbox_push(out, TSS_MSG_RESHARE_R3_BCAST, r->cfg.self, 0, &w);
    tss_writer_free(&w);
    TSS_GUARD(res);
    r->have[SLOT_R3B][r->self_u] = true;
    r->round = 3;
    return TSS_OK_RESULT;
}

/* The epoch transcript: what the new epoch is (key, committee, public
 * shares, chain code) and every broadcast of the run. The coordinator
 * commits only if every participant reports the same hash, which also
 * catches a round-3 broadcast shown differently to different parties. */
static void epoch_transcript(tss_reshare *r) {
    tss_transcript tr;
    tss_tr_init(&tr, "reshare-transcript");
    tss_tr_append(&tr, r->final_sid, TSS_SID_BYTES);
    tss_tr_append_str(&tr, r->cfg.key_id);
    tss_tr_append_point(&tr, &r->cfg.X);
    tss_tr_append(&tr, r->chain_code, TSS_CHAIN_CODE_BYTES);
    tss_tr_append_u32(&tr, r->cfg.new_threshold);
    tss_tr_append_u32(&tr, r->cfg.new_n);
    for (int j = 0; j < r->cfg.new_n; j++) {
        tss_tr_append_u32(&tr, r->cfg.new_parties[j]);
        tss_tr_append_point(&tr, &r->X_expected[j]);
    }
    tss_tr_append(&tr, r->in[r->self_u].digest, TSS_HASH_BYTES);
    for (int k = 0; k < r->nu; k++) tss_tr_append(&tr, r->in[k].raw_r3b, r->in[k].raw_r3b_len);
    tss_tr_final(&tr, r->transcript);
}

static tss_result finish(tss_reshare *r) {
    int self_j = r->new_idx[r->self_u];
    for (int k = 0; k < r->nu; k++) {
        if (k == r->self_u) continue;
        uint16_t peer = r->u[k];
        peer_inbox *p = &r->in[k];
        if (!tss_ct_equal(p->digest, r->in[r->self_u].digest, TSS_HASH_BYTES))
            return echo_mismatch(r, peer, "round-1/2");
        if (!is_new(r, k)) continue;
        int j = r->new_idx[k];
        if (!tss_pt_eq(&p->X, &r->X_expected[j]))
            return abort_with(r, peer, "public share differs from the public polynomial");
        if (!tss_is_ok(tss_schnorr_verify(&p->x_proof, r->final_sid, peer, &p->X,
                                          PUBLIC_SHARE_AUX, sizeof PUBLIC_SHARE_AUX - 1)))
            return abort_with(r, peer, "invalid proof of knowledge of its new share");
        if (self_j >= 0 &&
            !tss_ct_equal(p->zero_check[self_j], r->in[r->self_u].zero_check[j], TSS_HASH_BYTES))
            return abort_with(r, peer,
                              "pairwise confirmation differs (zero-share seed or base-OT "
                              "transcript: a base-OT message was replayed or substituted)");
    }
    epoch_transcript(r);
    if (self_j >= 0) {
        tss_keyshare *ks = r->share;
        snprintf(ks->key_id, sizeof ks->key_id, "%s", r->cfg.key_id);
        ks->self = r->cfg.self;
        ks->threshold = r->cfg.new_threshold;
        memcpy(ks->parties, r->cfg.new_parties, sizeof ks->parties);
        ks->X = r->cfg.X;
        memcpy(ks->X_j, r->X_expected, sizeof ks->X_j);
        memcpy(ks->chain_code, r->chain_code, TSS_CHAIN_CODE_BYTES);
        memcpy(ks->keygen_sid, r->final_sid, TSS_SID_BYTES);
        /* Bans carry over, by id, for parties still in the committee. */
        for (int j = 0; j < r->cfg.new_n; j++)
            if (r->old_banned_ids >> (r->cfg.new_parties[j] - 1) & 1) ks->banned |= UINT32_C(1) << j;
    }
    tss_sc_wipe(r->coeff, MAXT);
    tss_sc_wipe(&r->old_x, 1);
    r->round = 4;
    return TSS_OK_RESULT;
}

static int slot_of(uint8_t type) {
    switch (type) {
    case TSS_MSG_RESHARE_R1_BCAST: return SLOT_R1B;
    case TSS_MSG_RESHARE_R1_P2P: return SLOT_R1P;
    case TSS_MSG_RESHARE_R2_BCAST: return SLOT_R2B;
    case TSS_MSG_RESHARE_R2_P2P: return SLOT_R2P;
    case TSS_MSG_RESHARE_R3_BCAST: return SLOT_R3B;
    default: return -1;
    }
}

static int slot_round(int slot) {
    static const int rounds[SLOT_COUNT] = {1, 1, 2, 2, 3};
    return rounds[slot];
}

tss_result tss_reshare_handle(tss_reshare *r, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    TSS_ENSURE(!r->failed, TSS_E_PROTOCOL, "reshare session already aborted");
    TSS_ENSURE(r->round >= 1, TSS_E_USAGE, "reshare not started");
    TSS_ENSURE(r->round <= 3, TSS_E_PROTOCOL,
               "reshare already finished; unexpected %s from party %u",
               tss_mpc_msg_type_name(m->type), m->from);
    int k = u_index(r, m->from);
    if (k < 0 || k == r->self_u)
        return abort_with(r, 0, "message from a party that is not a peer in this session");
    const char *name = tss_mpc_msg_type_name(m->type);
    char what[120];
    int slot = slot_of(m->type);
    if (slot < 0) return abort_with(r, m->from, "unknown message type");
    bool p2p = !(m->type & 1);
    if (p2p && !expects(r, slot, k)) {
        snprintf(what, sizeof what, "%s it has no reason to send", name);
        return abort_with(r, m->from, what);
    }
    if (r->have[slot][k]) {
        snprintf(what, sizeof what, "duplicate %s", name);
        return abort_with(r, m->from, what);
    }
    /* A peer can be at most one round ahead of us. */
    int msg_round = slot_round(slot);
    if (msg_round < r->round || msg_round > r->round + 1) {
        snprintf(what, sizeof what, "message for the wrong round: %s", name);
        return abort_with(r, m->from, what);
    }
    if (p2p ? m->to != r->cfg.self : m->to != TSS_MPC_BROADCAST) {
        snprintf(what, sizeof what, "misaddressed %s", name);
        return abort_with(r, m->from, what);
    }
    if (m->len > TSS_MPC_MAX_PAYLOAD) {
        snprintf(what, sizeof what, "oversized %s", name);
        return abort_with(r, m->from, what);
    }
    peer_inbox *p = &r->in[k];
    tss_result res;
    switch (slot) {
    case SLOT_R1B: res = decode_r1b(p, m); break;
    case SLOT_R1P: res = decode_r1p(p, m); break;
    case SLOT_R2B: res = decode_r2b(r->dealer[k], r->cfg.new_threshold, p, m); break;
    case SLOT_R2P: res = decode_r2p(r->dealer[k], is_new(r, k), p, m); break;
    default: res = decode_r3b(is_new(r, k), r->cfg.new_n, r->new_idx[k], p, m); break;
    }
    if (!tss_is_ok(res)) return abort_result(r, m->from, res, name);
    r->have[slot][k] = true;

    if (r->round == 1 && round_complete(r, SLOT_R1B, SLOT_R1P)) TSS_GUARD(send_round2(r, out));
    if (r->round == 2 && round_complete(r, SLOT_R2B, SLOT_R2P)) TSS_GUARD(send_round3(r, out));
    if (r->round == 3 && round_complete(r, SLOT_R3B, -1)) TSS_GUARD(finish(r));
    return TSS_OK_RESULT;
}

size_t tss_reshare_waiting_for(const tss_reshare *r, uint16_t ids[TSS_MPC_MAX_PARTIES]) {
    static const int slots[4][2] = {{-1, -1}, {SLOT_R1B, SLOT_R1P}, {SLOT_R2B, SLOT_R2P},
                                    {SLOT_R3B, -1}};
    size_t count = 0;
    if (r->round < 1 || r->round > 3 || r->failed) return 0;
    for (int k = 0; k < r->nu; k++) {
        if (k == r->self_u) continue;
        bool missing = !r->have[slots[r->round][0]][k];
        int sp = slots[r->round][1];
        if (sp >= 0 && expects(r, sp, k)) missing |= !r->have[sp][k];
        if (missing) ids[count++] = r->u[k];
    }
    return count;
}

tss_result tss_reshare_transcript(const tss_reshare *r, uint8_t out[TSS_HASH_BYTES]) {
    TSS_ENSURE(tss_reshare_finished(r), TSS_E_USAGE, "reshare not finished");
    memcpy(out, r->transcript, TSS_HASH_BYTES);
    return TSS_OK_RESULT;
}

tss_result tss_reshare_take_share(tss_reshare *r, tss_keyshare **out) {
    TSS_ENSURE(tss_reshare_finished(r), TSS_E_USAGE, "reshare not finished");
    TSS_ENSURE(self_new(r), TSS_E_USAGE, "party %u is not in the new committee", r->cfg.self);
    TSS_ENSURE(r->share, TSS_E_USAGE, "key share already taken");
    *out = r->share;
    r->share = NULL;
    return TSS_OK_RESULT;
}

#ifdef TSS_FUZZING
/* Fuzzing entry point (fuzz builds only): one message decoder on arbitrary
 * bytes, for a sender with the given roles in a reshare to t_new-of-n_new. */
tss_result tss_reshare_fuzz_decode(uint8_t type, bool dealer, bool new_party, uint16_t t_new,
                                   uint16_t n_new, const uint8_t *data, size_t len);
tss_result tss_reshare_fuzz_decode(uint8_t type, bool dealer, bool new_party, uint16_t t_new,
                                   uint16_t n_new, const uint8_t *data, size_t len) {
    peer_inbox *p = calloc(1, sizeof *p);
    TSS_ENSURE(p, TSS_E_NOMEM, "oom");
    tss_mpc_msg m = {.type = type, .from = 2, .to = 1, .data = (uint8_t *)data, .len = len};
    tss_result res;
    switch (slot_of(type)) {
    case SLOT_R1B: res = decode_r1b(p, &m); break;
    case SLOT_R1P: res = decode_r1p(p, &m); break;
    case SLOT_R2B: res = decode_r2b(dealer, t_new, p, &m); break;
    case SLOT_R2P: res = decode_r2p(dealer, new_party, p, &m); break;
    case SLOT_R3B: res = decode_r3b(new_party, n_new, new_party ? 1 : -1, p, &m); break;
    default: res = tss_fail(TSS_E_INVALID, "type not fuzzed");
    }
    free(p->raw_r1b);
    free(p->raw_r2b);
    free(p->raw_r3b);
    free(p->ot_msg1);
    free(p->ot_msg2);
    free(p);
    return res;
}
#endif
