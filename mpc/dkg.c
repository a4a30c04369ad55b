#include "mpc/dkg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpc/base_ot.h"
#include "mpc/pairwise.h"
#include "mpc/schnorr.h"
#include "util/ctime.h"
#include "util/secmem.h"

#define MAXP TSS_MPC_MAX_PARTIES
#define MAXT TSS_MPC_MAX_PARTIES

enum { SLOT_R1B, SLOT_R1P, SLOT_R2B, SLOT_R2P, SLOT_R3B, SLOT_COUNT };

/* What we keep of each peer's messages. Raw broadcasts are kept for the echo
 * digest; everything else is decoded on arrival. */
typedef struct {
    uint8_t sid_share[TSS_SID_BYTES];
    uint8_t commit[TSS_COMMIT_BYTES];
    uint8_t *ot_msg1; /* raw, TSS_DKG_R1_P2P_BYTES */
    tss_point F[MAXT];
    uint8_t chain_code[TSS_CHAIN_CODE_BYTES];
    uint8_t salt[TSS_SALT_BYTES];
    tss_schnorr_proof coeff_proof[MAXT];
    tss_scalar share;                /* f_j(self), secret */
    uint8_t zero_contrib[TSS_ZERO_SEED_BYTES];
    uint8_t *ot_msg2; /* raw, TSS_BASE_OT_MSG2_BYTES */
    tss_point X;
    tss_schnorr_proof x_proof;
    uint8_t digest[TSS_HASH_BYTES];
    uint8_t r1_digest[TSS_HASH_BYTES];
    uint8_t zero_check[MAXP][TSS_HASH_BYTES]; /* by party index; entry for the sender unused */
    uint8_t *raw_r1b;
    uint8_t *raw_r2b;
    size_t raw_r2b_len;
} peer_inbox;

struct tss_dkg {
    tss_dkg_config cfg;
    int self_idx;
    int round; /* 0 before start, 1..3 waiting for that round, 4 done */
    bool failed;
    uint16_t culprit;
    uint8_t context[TSS_SID_BYTES];
    uint8_t final_sid[TSS_SID_BYTES];
    bool have[SLOT_COUNT][MAXP];
    peer_inbox in[MAXP]; /* indexed like parties; our own broadcasts go here too */
    tss_scalar coeff[MAXT]; /* our polynomial, secret */
    uint8_t my_zero_contrib[MAXP][TSS_ZERO_SEED_BYTES];
    tss_base_ot_receiver *ot_receiver[MAXP];
    /* Hashes of the base-OT messages we sent: msg1 to peer k (we receive),
     * msg2 to peer k (we send). With the peer's messages they make the
     * pairwise transcripts confirmed in round 3. */
    uint8_t my_ot_msg1[MAXP][TSS_HASH_BYTES];
    uint8_t my_ot_msg2[MAXP][TSS_HASH_BYTES];
    tss_point X_expected[MAXP];
    tss_keyshare *share;
};

static const char *const ROUND_PURPOSE_FINAL_SID = "dkg-final-sid";

static tss_result abort_with(tss_dkg *d, uint16_t culprit, const char *fmt, const char *what) {
    d->failed = true;
    d->culprit = culprit;
    if (culprit)
        return tss_fail(TSS_E_PROTOCOL, "dkg aborted: party %u: %s%s", culprit, fmt, what);
    return tss_fail(TSS_E_PROTOCOL, "dkg aborted: %s%s", fmt, what);
}

/* A peer's echo digest differs from ours: the peer may misreport, or another
 * party may have signed two broadcasts (the relay cannot forge either), so
 * the abort has no culprit and names both possibilities. */
static tss_result echo_mismatch(tss_dkg *d, uint16_t peer, const char *rounds) {
    char what[200];
    snprintf(what, sizeof what,
             "party %u saw different %s broadcasts than we did (party %u, or a party that "
             "equivocated its broadcast)",
             peer, rounds, peer);
    return abort_with(d, 0, what, "");
}

/* Abort keeping the detail of a lower-level failure. */
static tss_result abort_result(tss_dkg *d, uint16_t culprit, tss_result r, const char *what) {
    char detail[400];
    snprintf(detail, sizeof detail, "%s", tss_error_detail());
    (void)r;
    d->failed = true;
    d->culprit = culprit;
    if (culprit)
        return tss_fail(TSS_E_PROTOCOL, "dkg aborted: party %u: %s: %s", culprit, what, detail);
    return tss_fail(TSS_E_PROTOCOL, "dkg aborted: %s: %s", what, detail);
}

static int index_of(const tss_dkg *d, uint16_t id) {
    for (int k = 0; k < d->cfg.n; k++)
        if (d->cfg.parties[k] == id) return k;
    return -1;
}

static tss_result check_config(const tss_dkg_config *c) {
    TSS_ENSURE(c->n >= 2 && c->n <= MAXP, TSS_E_INVALID, "dkg: %u parties; need 2..%d", c->n,
               MAXP);
    TSS_ENSURE(c->threshold >= 2 && c->threshold <= c->n, TSS_E_INVALID,
               "dkg: threshold %u out of range 2..%u", c->threshold, c->n);
    bool self_found = false;
    for (int k = 0; k < c->n; k++) {
        TSS_ENSURE(c->parties[k] >= 1 && c->parties[k] <= MAXP, TSS_E_INVALID,
                   "dkg: party id %u out of range 1..%d", c->parties[k], MAXP);
        TSS_ENSURE(k == 0 || c->parties[k] > c->parties[k - 1], TSS_E_INVALID,
                   "dkg: party ids must be strictly ascending");
        self_found |= c->parties[k] == c->self;
    }
    TSS_ENSURE(self_found, TSS_E_INVALID, "dkg: own id %u is not among the parties", c->self);
    return tss_key_id_check(c->key_id);
}

tss_result tss_dkg_new(tss_dkg **out, const tss_dkg_config *cfg) {
    TSS_GUARD(check_config(cfg));
    tss_dkg *d = tss_secret_alloc(sizeof *d);
    TSS_ENSURE(d, TSS_E_NOMEM, "secret memory allocation failed");
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    d->self_idx = index_of(d, cfg->self);
    /* The context binds key id, party set, threshold and the coordinator's
     * session id; it is the sid of the base OTs and of round-1 commitments. */
    tss_transcript t;
    tss_tr_init(&t, "dkg-context");
    tss_tr_append_str(&t, cfg->key_id);
    tss_tr_append(&t, cfg->session_id, TSS_SID_BYTES);
    tss_tr_append_u32(&t, cfg->threshold);
    for (int k = 0; k < cfg->n; k++) tss_tr_append_u32(&t, cfg->parties[k]);
    tss_tr_final(&t, d->context);
    tss_result r = tss_keyshare_new(&d->share, cfg->n);
    if (!tss_is_ok(r)) {
        tss_secret_free(d);
        return r;
    }
    *out = d;
    return TSS_OK_RESULT;
}

void tss_dkg_free(tss_dkg *d) {
    if (!d) return;
    for (int k = 0; k < d->cfg.n; k++) {
        free(d->in[k].ot_msg1);
        free(d->in[k].ot_msg2);
        free(d->in[k].raw_r1b);
        free(d->in[k].raw_r2b);
        tss_base_ot_receiver_free(d->ot_receiver[k]);
    }
    tss_keyshare_free(d->share);
    tss_secret_free(d);
}

bool tss_dkg_finished(const tss_dkg *d) { return d->round == 4 && !d->failed; }
uint16_t tss_dkg_culprit(const tss_dkg *d) { return d->culprit; }
int tss_dkg_round(const tss_dkg *d) { return d->round; }

static void encode_coeff_commitments(const tss_point *F, size_t t, uint8_t *out) {
    for (size_t k = 0; k < t; k++) tss_pt_encode(out + k * TSS_PT_BYTES, &F[k]);
}

/* Commitment message: F_0..F_{t-1} (33 bytes each) || chain-code share. */
static void commitment_message(uint8_t *buf, const tss_point *F, size_t t,
                               const uint8_t cc[TSS_CHAIN_CODE_BYTES]) {
    encode_coeff_commitments(F, t, buf);
    memcpy(buf + t * TSS_PT_BYTES, cc, TSS_CHAIN_CODE_BYTES);
}

static void coeff_aux(uint8_t aux[15], uint32_t k) {
    memcpy(aux, "coefficient", 11);
    aux[11] = (uint8_t)(k >> 24), aux[12] = (uint8_t)(k >> 16), aux[13] = (uint8_t)(k >> 8),
    aux[14] = (uint8_t)k;
}
#define PUBLIC_SHARE_AUX "public-share"

static tss_result keep_raw(uint8_t **dst, const uint8_t *src, size_t len) {
    *dst = malloc(len ? len : 1);
    TSS_ENSURE(*dst, TSS_E_NOMEM, "out of memory");
    memcpy(*dst, src, len);
    return TSS_OK_RESULT;
}

tss_result tss_dkg_start(tss_dkg *d, tss_mpc_outbox *out) {
    TSS_ENSURE(d->round == 0 && !d->failed, TSS_E_USAGE, "dkg already started");
    const size_t t = d->cfg.threshold;
    peer_inbox *me = &d->in[d->self_idx];
    for (size_t k = 0; k < t; k++) {
        TSS_GUARD(tss_sc_random_nonzero(&d->coeff[k]));
        TSS_GUARD(tss_pt_mul_base(&me->F[k], &d->coeff[k]));
        tss_declassify(&me->F[k], sizeof me->F[k]); /* published in round 2 */
    }
    randombytes_buf(me->sid_share, TSS_SID_BYTES);
    randombytes_buf(me->chain_code, TSS_CHAIN_CODE_BYTES);
    /* Published in rounds 1 and 2 (constant-time checks: tests/ctime). */
    tss_declassify(me->sid_share, TSS_SID_BYTES);
    tss_declassify(me->chain_code, TSS_CHAIN_CODE_BYTES);
    uint8_t cm[MAXT * TSS_PT_BYTES + TSS_CHAIN_CODE_BYTES];
    commitment_message(cm, me->F, t, me->chain_code);
    tss_tr_commit_new(me->commit, me->salt, "dkg-coefficients", d->context, d->cfg.self, cm,
                      t * TSS_PT_BYTES + TSS_CHAIN_CODE_BYTES);
    tss_declassify(me->commit, TSS_COMMIT_BYTES); /* round 1 */
    tss_declassify(me->salt, TSS_SALT_BYTES);     /* round 2 */

    tss_writer w;
    tss_writer_init(&w, TSS_MPC_MAX_PAYLOAD);
    tss_write_bytes(&w, me->sid_share, TSS_SID_BYTES);
    tss_write_bytes(&w, me->commit, TSS_COMMIT_BYTES);
    TSS_GUARD(keep_raw(&me->raw_r1b, w.data, w.len));
    TSS_GUARD(tss_mpc_outbox_push(out, TSS_MSG_DKG_R1_BCAST, d->cfg.self, TSS_MPC_BROADCAST, &w));
    d->have[SLOT_R1B][d->self_idx] = true;

    for (int k = 0; k < d->cfg.n; k++) {
        if (k == d->self_idx) continue;
        uint8_t choice[TSS_BASE_OT_CHOICE_BYTES];
        randombytes_buf(choice, sizeof choice);
        tss_result r = tss_base_ot_receiver_start(&d->ot_receiver[k], d->context,
                                                  d->cfg.parties[k], d->cfg.self, choice, &w);
        tss_wipe(choice, sizeof choice);
        if (tss_is_ok(r)) {
            tss_pair_ot_msg_hash(w.data, w.len, d->my_ot_msg1[k]);
            r = tss_mpc_outbox_push(out, TSS_MSG_DKG_R1_P2P, d->cfg.self, d->cfg.parties[k], &w);
        }
        if (!tss_is_ok(r)) {
            tss_writer_free(&w);
            return r;
        }
    }
    tss_writer_free(&w);
    d->round = 1;
    return TSS_OK_RESULT;
}

/* ---- decoding on arrival ------------------------------------------------- */

static tss_result decode_r1b(peer_inbox *p, const tss_mpc_msg *m) {
    tss_reader r;
    tss_reader_init(&r, m->data, m->len);
    tss_read_bytes(&r, p->sid_share, TSS_SID_BYTES);
    tss_read_bytes(&r, p->commit, TSS_COMMIT_BYTES);
    TSS_GUARD(tss_reader_finish(&r, "round-1 broadcast"));
    return keep_raw(&p->raw_r1b, m->data, m->len);
}

static tss_result decode_r2b(const tss_dkg *d, peer_inbox *p, const tss_mpc_msg *m) {
    tss_reader r;
    tss_reader_init(&r, m->data, m->len);
    uint16_t count = tss_read_u16(&r);
    TSS_GUARD(tss_reader_status(&r, "round-2 broadcast"));
    TSS_ENSURE(count == d->cfg.threshold, TSS_E_PROTOCOL,
               "round-2 broadcast carries %u coefficient commitments, expected %u", count,
               d->cfg.threshold);
    for (uint16_t k = 0; k < count; k++) TSS_GUARD(tss_pt_read(&r, &p->F[k], "coefficient commitment"));
    tss_read_bytes(&r, p->chain_code, TSS_CHAIN_CODE_BYTES);
    tss_read_bytes(&r, p->salt, TSS_SALT_BYTES);
    for (uint16_t k = 0; k < count; k++) TSS_GUARD(tss_schnorr_read(&r, &p->coeff_proof[k]));
    tss_read_bytes(&r, p->r1_digest, TSS_HASH_BYTES);
    TSS_GUARD(tss_reader_finish(&r, "round-2 broadcast"));
    p->raw_r2b_len = m->len;
    return keep_raw(&p->raw_r2b, m->data, m->len);
}

static tss_result decode_r2p(peer_inbox *p, const tss_mpc_msg *m) {
    tss_reader r;
    tss_reader_init(&r, m->data, m->len);
    uint8_t s[TSS_SC_BYTES];
    tss_read_bytes(&r, s, sizeof s);
    tss_read_bytes(&r, p->zero_contrib, TSS_ZERO_SEED_BYTES);
    const uint8_t *msg2 = tss_read_view(&r, TSS_BASE_OT_MSG2_BYTES);
    tss_result res = tss_reader_finish(&r, "round-2 message");
    if (tss_is_ok(res)) res = tss_sc_from_bytes(&p->share, s, "secret share");
    tss_wipe(s, sizeof s);
    TSS_GUARD(res);
    return keep_raw(&p->ot_msg2, msg2, TSS_BASE_OT_MSG2_BYTES);
}

static tss_result decode_r3b(const tss_dkg *d, int sender_idx, peer_inbox *p,
                             const tss_mpc_msg *m) {
    tss_reader r;
    tss_reader_init(&r, m->data, m->len);
    TSS_GUARD(tss_pt_read(&r, &p->X, "public share"));
    TSS_GUARD(tss_schnorr_read(&r, &p->x_proof));
    tss_read_bytes(&r, p->digest, TSS_HASH_BYTES);
    for (int k = 0; k < d->cfg.n; k++)
        if (k != sender_idx) tss_read_bytes(&r, p->zero_check[k], TSS_HASH_BYTES);
    return tss_reader_finish(&r, "round-3 broadcast");
}

/* ---- round transitions -------------------------------------------------- */

static bool round_complete(const tss_dkg *d, int slot_b, int slot_p) {
    for (int k = 0; k < d->cfg.n; k++) {
        if (!d->have[slot_b][k]) return false;
        if (slot_p >= 0 && k != d->self_idx && !d->have[slot_p][k]) return false;
    }
    return true;
}

/* Digest of every round-1 broadcast, in party order. */
static void round1_digest(const tss_dkg *d, uint8_t out[TSS_HASH_BYTES]) {
    tss_transcript tr;
    tss_tr_init(&tr, "dkg-echo-round1");
    tss_tr_append(&tr, d->context, TSS_SID_BYTES);
    for (int k = 0; k < d->cfg.n; k++) tss_tr_append(&tr, d->in[k].raw_r1b, TSS_DKG_R1_BCAST_BYTES);
    tss_tr_final(&tr, out);
}

/* Confirmation of the pair {self, peer k} (mpc/pairwise.h): catches a
 * base-OT message replayed or substituted on the way (attack B in issue 10). */
static void pair_check(const tss_dkg *d, int k, const uint8_t seed[TSS_ZERO_SEED_BYTES],
                       uint8_t out[TSS_HASH_BYTES]) {
    tss_pair_check(d->final_sid, d->cfg.self, d->cfg.parties[k], seed, d->my_ot_msg1[k],
                   d->my_ot_msg2[k], d->in[k].ot_msg1, d->in[k].ot_msg2, out);
}

static tss_result send_round2(tss_dkg *d, tss_mpc_outbox *out) {
    const size_t t = d->cfg.threshold;
    tss_transcript tr;
    tss_tr_init(&tr, ROUND_PURPOSE_FINAL_SID);
    tss_tr_append(&tr, d->context, TSS_SID_BYTES);
    for (int k = 0; k < d->cfg.n; k++) tss_tr_append(&tr, d->in[k].sid_share, TSS_SID_BYTES);
    tss_tr_final(&tr, d->final_sid);

    peer_inbox *me = &d->in[d->self_idx];
    tss_writer w;
    tss_writer_init(&w, TSS_MPC_MAX_PAYLOAD);
    tss_write_u16(&w, (uint16_t)t);
    for (size_t k = 0; k < t; k++) tss_pt_write(&w, &me->F[k]);
    tss_write_bytes(&w, me->chain_code, TSS_CHAIN_CODE_BYTES);
    tss_write_bytes(&w, me->salt, TSS_SALT_BYTES);
    for (size_t k = 0; k < t; k++) {
        uint8_t aux[15];
        coeff_aux(aux, (uint32_t)k);
        tss_schnorr_proof proof;
        tss_result r = tss_schnorr_prove(&proof, d->final_sid, d->cfg.self, &d->coeff[k],
                                         &me->F[k], aux, sizeof aux);
        if (!tss_is_ok(r)) {
            tss_writer_free(&w);
            return r;
        }
        tss_schnorr_write(&w, &proof);
    }
    round1_digest(d, me->r1_digest);
    tss_write_bytes(&w, me->r1_digest, TSS_HASH_BYTES);
    tss_result r = keep_raw(&me->raw_r2b, w.data, w.len);
    me->raw_r2b_len = w.len;
    if (tss_is_ok(r)) r = tss_mpc_outbox_push(out, TSS_MSG_DKG_R2_BCAST, d->cfg.self, 0, &w);
    d->have[SLOT_R2B][d->self_idx] = true;

    for (int k = 0; k < d->cfg.n && tss_is_ok(r); k++) {
        if (k == d->self_idx) continue;
        uint16_t peer = d->cfg.parties[k];
        /* f_i(peer) by Horner's rule. */
        tss_scalar x, acc;
        tss_sc_set_u64(&x, peer);
        acc = d->coeff[t - 1];
        for (size_t c = t - 1; c-- > 0;) {
            tss_sc_mul(&acc, &acc, &x);
            tss_sc_add(&acc, &acc, &d->coeff[c]);
        }
        uint8_t s[TSS_SC_BYTES];
        tss_sc_to_bytes(s, &acc);
        tss_sc_wipe(&acc, 1);
        tss_write_bytes(&w, s, sizeof s);
        tss_wipe(s, sizeof s);
        randombytes_buf(d->my_zero_contrib[k], TSS_ZERO_SEED_BYTES);
        tss_write_bytes(&w, d->my_zero_contrib[k], TSS_ZERO_SEED_BYTES);
        /* Answer the peer's base-OT msg1: we are the base-OT sender, so we
         * will be the extension receiver for multiplications it sends us. */
        r = tss_pair_ot_respond(d->context, d->cfg.self, peer, d->in[k].ot_msg1, &w,
                                &d->share->peers[k].ote_recv, d->my_ot_msg2[k]);
        if (!tss_is_ok(r)) {
            tss_writer_free(&w);
            return abort_result(d, peer, r, "invalid base-OT message");
        }
        r = tss_mpc_outbox_push(out, TSS_MSG_DKG_R2_P2P, d->cfg.self, peer, &w);
    }
    tss_writer_free(&w);
    TSS_GUARD(r);
    d->round = 2;
    return TSS_OK_RESULT;
}

static void echo_digest(const tss_dkg *d, uint8_t out[TSS_HASH_BYTES]) {
    tss_transcript tr;
    tss_tr_init(&tr, "dkg-echo");
    tss_tr_append(&tr, d->final_sid, TSS_SID_BYTES);
    for (int k = 0; k < d->cfg.n; k++) tss_tr_append(&tr, d->in[k].raw_r1b, TSS_DKG_R1_BCAST_BYTES);
    for (int k = 0; k < d->cfg.n; k++) tss_tr_append(&tr, d->in[k].raw_r2b, d->in[k].raw_r2b_len);
    tss_tr_final(&tr, out);
}

/* Checks every peer's round-2 data; on success fills the share's x, X and public shares. */
static tss_result verify_round2(tss_dkg *d) {
    const size_t t = d->cfg.threshold;
    const int n = d->cfg.n;
    tss_keyshare *ks = d->share;
    uint8_t cm[MAXT * TSS_PT_BYTES + TSS_CHAIN_CODE_BYTES];
    /* Views of round 1 must agree before anything derived from it is used. */
    for (int k = 0; k < n; k++) {
        if (k == d->self_idx) continue;
        if (!tss_ct_equal(d->in[k].r1_digest, d->in[d->self_idx].r1_digest, TSS_HASH_BYTES))
            return echo_mismatch(d, d->cfg.parties[k], "round-1");
    }
    for (int k = 0; k < n; k++) {
        if (k == d->self_idx) continue;
        uint16_t peer = d->cfg.parties[k];
        peer_inbox *p = &d->in[k];
        commitment_message(cm, p->F, t, p->chain_code);
        tss_result r = tss_tr_commit_open(p->commit, "dkg-coefficients", d->context, peer,
                                          p->salt, cm, t * TSS_PT_BYTES + TSS_CHAIN_CODE_BYTES);
        if (!tss_is_ok(r))
            return abort_with(d, peer, "round-2 coefficients do not open its round-1 commitment",
                              "");
        for (size_t c = 0; c < t; c++) {
            uint8_t aux[15];
            coeff_aux(aux, (uint32_t)c);
            r = tss_schnorr_verify(&p->coeff_proof[c], d->final_sid, peer, &p->F[c], aux,
                                   sizeof aux);
            if (!tss_is_ok(r))
                return abort_with(d, peer, "invalid proof of knowledge for a coefficient", "");
        }
        /* Feldman: f_peer(self)*G must be the public evaluation of F_peer.
         * The secret product is compared in constant time; only the
         * outcome is public. */
        tss_point G, rhs;
        tss_pt_generator(&G);
        r = tss_pt_poly_eval_var(&rhs, p->F, t, d->cfg.self);
        int match = tss_is_ok(r) && tss_pt_mul_matches(&G, &p->share, &rhs);
        tss_declassify(&match, sizeof match);
        if (!match) return abort_with(d, peer, "secret share fails the Feldman check", "");
    }
    /* x_self = sum_j f_j(self), our own term included. */
    tss_scalar x, own, xs;
    tss_sc_set_zero(&x);
    tss_sc_set_u64(&xs, d->cfg.self);
    own = d->coeff[t - 1];
    for (size_t c = t - 1; c-- > 0;) {
        tss_sc_mul(&own, &own, &xs);
        tss_sc_add(&own, &own, &d->coeff[c]);
    }
    d->in[d->self_idx].share = own;
    for (int k = 0; k < n; k++) tss_sc_add(&x, &x, &d->in[k].share);
    ks->x = x;
    tss_sc_wipe(&x, 1);
    tss_sc_wipe(&own, 1);

    /* Summed polynomial commitments give X and every public share. */
    tss_point Fsum[MAXT], col[MAXP];
    for (size_t c = 0; c < t; c++) {
        for (int k = 0; k < n; k++) col[k] = d->in[k].F[c];
        tss_result r = tss_pt_sum(&Fsum[c], col, (size_t)n);
        if (!tss_is_ok(r)) return abort_with(d, 0, "summed coefficient commitments cancel", "");
    }
    ks->X = Fsum[0];
    tss_point G;
    tss_pt_generator(&G);
    if (tss_pt_eq(&ks->X, &G)) return abort_with(d, 0, "group public key is the generator", "");
    for (int k = 0; k < n; k++) {
        tss_result r = tss_pt_poly_eval_var(&d->X_expected[k], Fsum, t, d->cfg.parties[k]);
        if (!tss_is_ok(r)) return abort_with(d, 0, "a public share is the point at infinity", "");
        ks->X_j[k] = d->X_expected[k];
    }
    int mine = tss_pt_mul_matches(&G, &ks->x, &d->X_expected[d->self_idx]);
    tss_declassify(&mine, sizeof mine); /* the check's outcome */
    if (!mine) return abort_with(d, 0, "own share does not match the public polynomial", "");
    return TSS_OK_RESULT;
}

static tss_result finish_base_ots(tss_dkg *d) {
    for (int k = 0; k < d->cfg.n; k++) {
        if (k == d->self_idx) continue;
        uint16_t peer = d->cfg.parties[k];
        tss_result r = tss_pair_ot_finish(&d->ot_receiver[k], d->in[k].ot_msg2,
                                          &d->share->peers[k].ote_send);
        if (!tss_is_ok(r)) return abort_result(d, peer, r, "invalid base-OT reply");
        tss_pair_zero_seed(d->final_sid, d->cfg.self, peer, d->my_zero_contrib[k],
                           d->in[k].zero_contrib, d->share->peers[k].zero_seed);
    }
    return TSS_OK_RESULT;
}

static tss_result send_round3(tss_dkg *d, tss_mpc_outbox *out) {
    TSS_GUARD(verify_round2(d));
    TSS_GUARD(finish_base_ots(d));
    tss_keyshare *ks = d->share;
    peer_inbox *me = &d->in[d->self_idx];
    me->X = d->X_expected[d->self_idx];
    TSS_GUARD(tss_schnorr_prove(&me->x_proof, d->final_sid, d->cfg.self, &ks->x, &me->X,
                                PUBLIC_SHARE_AUX, sizeof PUBLIC_SHARE_AUX - 1));
    echo_digest(d, me->digest);
    tss_writer w;
    tss_writer_init(&w, TSS_MPC_MAX_PAYLOAD);
    tss_pt_write(&w, &me->X);
    tss_schnorr_write(&w, &me->x_proof);
    tss_write_bytes(&w, me->digest, TSS_HASH_BYTES);
    for (int k = 0; k < d->cfg.n; k++) {
        if (k == d->self_idx) continue;
        pair_check(d, k, ks->peers[k].zero_seed, me->zero_check[k]);
        tss_declassify(me->zero_check[k], TSS_HASH_BYTES); /* broadcast in round 3 */
        tss_write_bytes(&w, me->zero_check[k], TSS_HASH_BYTES);
    }
    tss_result r = tss_mpc_outbox_push(out, TSS_MSG_DKG_R3_BCAST, d->cfg.self, 0, &w);
    tss_writer_free(&w);
    TSS_GUARD(r);
    d->have[SLOT_R3B][d->self_idx] = true;
    d->round = 3;
    return TSS_OK_RESULT;
}

static tss_result finish(tss_dkg *d) {
    for (int k = 0; k < d->cfg.n; k++) {
        if (k == d->self_idx) continue;
        uint16_t peer = d->cfg.parties[k];
        peer_inbox *p = &d->in[k];
        if (!tss_pt_eq(&p->X, &d->X_expected[k]))
            return abort_with(d, peer, "public share differs from the public polynomial", "");
        if (!tss_is_ok(tss_schnorr_verify(&p->x_proof, d->final_sid, peer, &p->X,
                                          PUBLIC_SHARE_AUX, sizeof PUBLIC_SHARE_AUX - 1)))
            return abort_with(d, peer, "invalid proof of knowledge of its share", "");
        if (!tss_ct_equal(p->digest, d->in[d->self_idx].digest, TSS_HASH_BYTES))
            return echo_mismatch(d, peer, "round-1/2");
        /* The peer must have derived the same pairwise seed and seen the same
         * base-OT transcripts as we did. */
        if (!tss_ct_equal(p->zero_check[d->self_idx], d->in[d->self_idx].zero_check[k],
                          TSS_HASH_BYTES))
            return abort_with(d, peer,
                              "pairwise confirmation differs (zero-share seed or base-OT "
                              "transcript: a base-OT message was replayed or substituted)",
                              "");
    }
    tss_keyshare *ks = d->share;
    snprintf(ks->key_id, sizeof ks->key_id, "%s", d->cfg.key_id);
    ks->self = d->cfg.self;
    ks->threshold = d->cfg.threshold;
    memcpy(ks->parties, d->cfg.parties, sizeof ks->parties);
    memcpy(ks->keygen_sid, d->final_sid, TSS_SID_BYTES);
    tss_transcript tr;
    tss_tr_init(&tr, "dkg-chain-code");
    tss_tr_append(&tr, d->final_sid, TSS_SID_BYTES);
    for (int k = 0; k < d->cfg.n; k++) tss_tr_append(&tr, d->in[k].chain_code, TSS_CHAIN_CODE_BYTES);
    tss_tr_final(&tr, ks->chain_code);
    tss_sc_wipe(d->coeff, MAXT);
    d->round = 4;
    return TSS_OK_RESULT;
}

static int slot_of(uint8_t type) {
    switch (type) {
    case TSS_MSG_DKG_R1_BCAST: return SLOT_R1B;
    case TSS_MSG_DKG_R1_P2P: return SLOT_R1P;
    case TSS_MSG_DKG_R2_BCAST: return SLOT_R2B;
    case TSS_MSG_DKG_R2_P2P: return SLOT_R2P;
    case TSS_MSG_DKG_R3_BCAST: return SLOT_R3B;
    default: return -1;
    }
}

tss_result tss_dkg_handle(tss_dkg *d, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    TSS_ENSURE(!d->failed, TSS_E_PROTOCOL, "dkg session already aborted");
    TSS_ENSURE(d->round >= 1, TSS_E_USAGE, "dkg not started");
    TSS_ENSURE(d->round <= 3, TSS_E_PROTOCOL, "dkg already finished; unexpected %s from party %u",
               tss_mpc_msg_type_name(m->type), m->from);
    int k = index_of(d, m->from);
    if (k < 0 || k == d->self_idx)
        return abort_with(d, 0, "message from a party that is not a peer in this session", "");
    int slot = slot_of(m->type);
    if (slot < 0) return abort_with(d, m->from, "unknown message type", "");
    int msg_round = (m->type >> 4) & 0xf;
    bool p2p = m->type & 1 ? false : true;
    if (d->have[slot][k])
        return abort_with(d, m->from, "duplicate ", tss_mpc_msg_type_name(m->type));
    /* A peer can be at most one round ahead of us (it cannot finish round r+1
     * without our round-r+1 message). */
    if (msg_round < d->round || msg_round > d->round + 1)
        return abort_with(d, m->from, "message for the wrong round: ", tss_mpc_msg_type_name(m->type));
    if (p2p ? m->to != d->cfg.self : m->to != TSS_MPC_BROADCAST)
        return abort_with(d, m->from, "misaddressed ", tss_mpc_msg_type_name(m->type));
    if (m->len > TSS_MPC_MAX_PAYLOAD)
        return abort_with(d, m->from, "oversized ", tss_mpc_msg_type_name(m->type));

    peer_inbox *p = &d->in[k];
    tss_result r;
    switch (slot) {
    case SLOT_R1B: r = decode_r1b(p, m); break;
    case SLOT_R1P:
        r = m->len == TSS_DKG_R1_P2P_BYTES
                ? keep_raw(&p->ot_msg1, m->data, m->len)
                : tss_fail(TSS_E_PROTOCOL, "round-1 message has %zu bytes, expected %zu", m->len,
                           (size_t)TSS_DKG_R1_P2P_BYTES);
        break;
    case SLOT_R2B: r = decode_r2b(d, p, m); break;
    case SLOT_R2P: r = decode_r2p(p, m); break;
    default: r = decode_r3b(d, k, p, m); break;
    }
    if (!tss_is_ok(r)) return abort_result(d, m->from, r, tss_mpc_msg_type_name(m->type));
    d->have[slot][k] = true;

    if (d->round == 1 && round_complete(d, SLOT_R1B, SLOT_R1P)) TSS_GUARD(send_round2(d, out));
    if (d->round == 2 && round_complete(d, SLOT_R2B, SLOT_R2P)) TSS_GUARD(send_round3(d, out));
    if (d->round == 3 && round_complete(d, SLOT_R3B, -1)) TSS_GUARD(finish(d));
    return TSS_OK_RESULT;
}

size_t tss_dkg_waiting_for(const tss_dkg *d, uint16_t ids[TSS_MPC_MAX_PARTIES]) {
    static const int slots[4][2] = {{-1, -1}, {SLOT_R1B, SLOT_R1P}, {SLOT_R2B, SLOT_R2P},
                                    {SLOT_R3B, -1}};
    size_t count = 0;
    if (d->round < 1 || d->round > 3 || d->failed) return 0;
    for (int k = 0; k < d->cfg.n; k++) {
        if (k == d->self_idx) continue;
        bool missing = !d->have[slots[d->round][0]][k];
        if (slots[d->round][1] >= 0) missing |= !d->have[slots[d->round][1]][k];
        if (missing) ids[count++] = d->cfg.parties[k];
    }
    return count;
}

tss_result tss_dkg_take_share(tss_dkg *d, tss_keyshare **out) {
    TSS_ENSURE(tss_dkg_finished(d), TSS_E_USAGE, "dkg not finished");
    TSS_ENSURE(d->share, TSS_E_USAGE, "key share already taken");
    *out = d->share;
    d->share = NULL;
    return TSS_OK_RESULT;
}

#ifdef TSS_FUZZING
/* Fuzzing entry point (fuzz builds only): one message decoder on arbitrary
 * bytes, as tss_dkg_handle would run it for a peer of a t-of-n session. */
tss_result tss_dkg_fuzz_decode(uint8_t type, uint16_t t, uint16_t n, const uint8_t *data,
                               size_t len);
tss_result tss_dkg_fuzz_decode(uint8_t type, uint16_t t, uint16_t n, const uint8_t *data,
                               size_t len) {
    tss_dkg *d = calloc(1, sizeof *d);
    TSS_ENSURE(d, TSS_E_NOMEM, "oom");
    d->cfg.threshold = t;
    d->cfg.n = n;
    tss_mpc_msg m = {.type = type, .from = 2, .to = 1, .data = (uint8_t *)data, .len = len};
    peer_inbox *p = &d->in[1];
    tss_result r;
    switch (slot_of(type)) {
    case SLOT_R1B: r = decode_r1b(p, &m); break;
    case SLOT_R2B: r = decode_r2b(d, p, &m); break;
    case SLOT_R2P: r = decode_r2p(p, &m); break;
    case SLOT_R3B: r = decode_r3b(d, 1, p, &m); break;
    default: r = tss_fail(TSS_E_INVALID, "type not fuzzed");
    }
    free(p->raw_r1b);
    free(p->raw_r2b);
    free(p->ot_msg2);
    free(d);
    return r;
}
#endif
