#include "mpc/rvole.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpc/ote_hash.h"
#include "mpc/prg.h"
#include "util/ctime.h"
#include "util/secmem.h"

#define TAG_GADGET "tssd/rvole/gadget/v1"
#define TAG_THETA "tssd/rvole/theta/v1"
#define TAG_THETA_K "tssd/rvole/theta-k/v1"
#define TAG_MU "tssd/rvole/mu/v1"

#define XI TSS_OTE_XI
#define W TSS_RVOLE_WIDTH

static inline int bit_of(const uint8_t *s, size_t k) { return (s[k >> 3] >> (k & 7)) & 1; }

void tss_rvole_gadget(tss_scalar g[TSS_OTE_XI], const tss_ote_ctx *ctx) {
    static const uint8_t zero_nonce[TSS_PRG_NONCE_BYTES];
    uint8_t key[TSS_PRG_DIGEST_BYTES], buf[XI * TSS_SC_BYTES];
    tss_prg_field f = {ctx->sid, TSS_OTE_SID_BYTES};
    tss_prg_derive(key, TAG_GADGET, &f, 1);
    tss_prg_expand(buf, sizeof buf, key, zero_nonce);
    for (size_t j = 0; j < XI; j++) tss_sc_from_bytes_reduce(&g[j], buf + j * TSS_SC_BYTES);
}

/* Hash one scalar array field without a copy of the whole encoding. */
static void hash_scalars(tss_ote_hash *h, const tss_scalar *s, size_t count) {
    uint8_t b[TSS_SC_BYTES];
    tss_ote_hash_begin(h, count * TSS_SC_BYTES);
    for (size_t i = 0; i < count; i++) {
        tss_sc_to_bytes(b, &s[i]);
        tss_ote_hash_raw(h, b, sizeof b);
    }
    tss_wipe(b, sizeof b);
}

static void hash_start(tss_ote_hash *h, size_t outlen, const char *tag, const tss_ote_ctx *ctx) {
    tss_ote_hash_init(h, outlen, tag, ctx->sid);
    tss_ote_hash_u32(h, ctx->sender_id);
    tss_ote_hash_u32(h, ctx->receiver_id);
}

/* theta_1, theta_2 = wide reductions of H(k, H(a~)): Fiat-Shamir challenges
 * fixed only after the whole correlation matrix is. */
void tss_rvole_challenges(tss_scalar theta[TSS_RVOLE_L], const tss_ote_ctx *ctx,
                          const tss_rvole_msg *msg) {
    uint8_t d[32], wide[TSS_SC_WIDE_BYTES];
    tss_ote_hash h;
    hash_start(&h, sizeof d, TAG_THETA, ctx);
    hash_scalars(&h, &msg->a_tilde[0][0], XI * W);
    tss_ote_hash_final(&h, d);
    for (uint32_t k = 0; k < TSS_RVOLE_L; k++) {
        hash_start(&h, sizeof wide, TAG_THETA_K, ctx);
        tss_ote_hash_field(&h, d, sizeof d);
        tss_ote_hash_u32(&h, k);
        tss_ote_hash_final(&h, wide);
        tss_sc_from_wide(&theta[k], wide);
    }
}

/* One row of the check: e_3 + theta_1 e_1 + theta_2 e_2. */
static void check_row(tss_scalar *r, const tss_scalar theta[TSS_RVOLE_L], const tss_scalar e[W]) {
    tss_scalar t;
    tss_sc_mul(r, &theta[0], &e[0]);
    tss_sc_mul(&t, &theta[1], &e[1]);
    tss_sc_add(r, r, &t);
    tss_sc_add(r, r, &e[2]);
    tss_sc_wipe(&t, 1);
}

void tss_rvole_mu(uint8_t mu[TSS_RVOLE_MU_BYTES], const tss_ote_ctx *ctx,
                  const tss_scalar vals[TSS_OTE_XI]) {
    tss_ote_hash h;
    hash_start(&h, TSS_RVOLE_MU_BYTES, TAG_MU, ctx);
    hash_scalars(&h, vals, XI);
    tss_ote_hash_final(&h, mu);
}

/* Scalars from an OT message: three 32-byte big-endian chunks mod n (the
 * chunks are uniform; the reduction bias is below 2^-127). */
static void ot_scalars(tss_scalar s[W], const uint8_t m[TSS_OTE_MSG_BYTES]) {
    for (size_t k = 0; k < W; k++) tss_sc_from_bytes_reduce(&s[k], m + k * TSS_SC_BYTES);
}

tss_result tss_rvole_receiver_start(tss_rvole_receiver *st, const tss_ote_ctx *ctx,
                                    const tss_ote_receiver_seeds *seeds, tss_ote_msg *msg1,
                                    tss_scalar *b) {
    /* The chosen OT messages, in the secret pool (util/secmem.h). */
    uint8_t(*out)[TSS_OTE_MSG_BYTES] = tss_secret_pool_get(XI * TSS_OTE_MSG_BYTES);
    TSS_ENSURE(out != NULL, TSS_E_NOMEM, "RVOLE: no memory for the receiver");
    tss_rvole_receiver_wipe(st);
    st->ctx = *ctx;
    randombytes_buf(st->beta, sizeof st->beta);
    tss_result r = tss_ote_receive(ctx, seeds, st->beta, msg1, out);
    if (!tss_is_ok(r)) {
        tss_secret_pool_put(out, XI * TSS_OTE_MSG_BYTES);
        tss_rvole_receiver_wipe(st);
        return r;
    }
    for (size_t j = 0; j < XI; j++)
        for (size_t k = 0; k < W; k++)
            tss_sc_from_bytes_reduce(&st->v[k][j], out[j] + k * TSS_SC_BYTES);
    tss_secret_pool_put(out, XI * TSS_OTE_MSG_BYTES); /* wipes */

    /* b = sum_j beta_j g_j, selecting without branches on beta. */
    tss_scalar g[XI], acc, t;
    tss_rvole_gadget(g, ctx);
    tss_sc_set_zero(&acc);
    for (size_t j = 0; j < XI; j++) {
        tss_sc_add(&t, &acc, &g[j]);
        tss_sc_cmov(&acc, &t, bit_of(st->beta, j));
    }
    *b = acc;
    tss_sc_wipe(&acc, 1);
    tss_sc_wipe(&t, 1);
    st->started = 1;
    return TSS_OK_RESULT;
}

tss_result tss_rvole_sender_reply(const tss_ote_ctx *ctx, const tss_ote_sender_seeds *seeds,
                                  const tss_ote_msg *msg1, const tss_scalar a[TSS_RVOLE_L],
                                  tss_rvole_msg *msg2, tss_scalar c[TSS_RVOLE_L]) {
    tss_scalar g[XI], vals[XI], eta, alpha1[W], cc[TSS_RVOLE_L], t, theta[TSS_RVOLE_L];
    TSS_GUARD(tss_sc_random(&eta));
    /* The OT pads (144 KiB), in the secret pool (util/secmem.h): guarded,
     * locked, wiped on release. */
    struct pads {
        uint8_t v0[XI][TSS_OTE_MSG_BYTES], v1[XI][TSS_OTE_MSG_BYTES];
        tss_scalar alpha0[W][XI]; /* by column, for the inner products with g */
    } *s = tss_secret_pool_get(sizeof(struct pads));
    if (!s) {
        tss_sc_wipe(&eta, 1);
        return tss_fail(TSS_E_NOMEM, "RVOLE: no memory for the sender");
    }
    tss_result r = tss_ote_send(ctx, seeds, msg1, s->v0, s->v1);
    if (!tss_is_ok(r)) {
        tss_secret_pool_put(s, sizeof *s);
        tss_sc_wipe(&eta, 1);
        return r;
    }

    for (size_t j = 0; j < XI; j++) {
        ot_scalars(alpha1, s->v1[j]);
        for (size_t k = 0; k < W; k++) {
            tss_scalar *alpha0 = &s->alpha0[k][j];
            tss_sc_from_bytes_reduce(alpha0, s->v0[j] + k * TSS_SC_BYTES);
            tss_sc_sub(&msg2->a_tilde[j][k], alpha0, &alpha1[k]);
            tss_sc_add(&msg2->a_tilde[j][k], &msg2->a_tilde[j][k], k < TSS_RVOLE_L ? &a[k] : &eta);
        }
    }
    /* c_k = -sum_j g_j alpha0_{j,k}: one reduction per inner product. */
    tss_rvole_gadget(g, ctx);
    for (size_t k = 0; k < TSS_RVOLE_L; k++) tss_sc_dot(&cc[k], g, s->alpha0[k], XI);

    /* eta' = eta + theta_1 a_1 + theta_2 a_2; mu over alpha0's check rows. */
    tss_rvole_challenges(theta, ctx, msg2);
    msg2->eta = eta;
    for (size_t k = 0; k < TSS_RVOLE_L; k++) {
        tss_sc_mul(&t, &theta[k], &a[k]);
        tss_sc_add(&msg2->eta, &msg2->eta, &t);
    }
    for (size_t j = 0; j < XI; j++) {
        tss_scalar row[W] = {s->alpha0[0][j], s->alpha0[1][j], s->alpha0[2][j]};
        check_row(&vals[j], theta, row);
        tss_sc_wipe(row, W);
    }
    tss_rvole_mu(msg2->mu, ctx, vals);

    tss_sc_neg(&c[0], &cc[0]);
    tss_sc_neg(&c[1], &cc[1]);
    tss_secret_pool_put(s, sizeof *s); /* wipes */
    tss_sc_wipe(&eta, 1);
    tss_sc_wipe(alpha1, W);
    tss_sc_wipe(cc, TSS_RVOLE_L);
    tss_sc_wipe(&t, 1);
    tss_sc_wipe(vals, XI);
    return TSS_OK_RESULT;
}

tss_result tss_rvole_receiver_finish(tss_rvole_receiver *st, const tss_rvole_msg *msg2,
                                     tss_scalar d[TSS_RVOLE_L]) {
    TSS_ENSURE(st->started, TSS_E_USAGE, "RVOLE: receiver finish without start");
    tss_scalar g[XI], vals[XI], theta[TSS_RVOLE_L], e[W], t, shifted, dd[TSS_RVOLE_L], neg_eta;
    tss_rvole_challenges(theta, &st->ctx, msg2);
    tss_sc_neg(&neg_eta, &msg2->eta);

    uint8_t mu[TSS_RVOLE_MU_BYTES];
    for (size_t j = 0; j < XI; j++) {
        int bj = bit_of(st->beta, j);
        /* e_{j,k} = v_{j,k} + beta_j a~_{j,k} */
        for (size_t k = 0; k < W; k++) {
            e[k] = st->v[k][j];
            tss_sc_add(&t, &e[k], &msg2->a_tilde[j][k]);
            tss_sc_cmov(&e[k], &t, bj);
            st->v[k][j] = e[k]; /* v becomes e, in place (wiped below) */
        }
        /* check value minus beta_j eta' */
        check_row(&vals[j], theta, e);
        tss_sc_add(&shifted, &vals[j], &neg_eta);
        tss_sc_cmov(&vals[j], &shifted, bj);
    }
    /* d_k = sum_j g_j e_{j,k}: one reduction per inner product. */
    tss_rvole_gadget(g, &st->ctx);
    for (size_t k = 0; k < TSS_RVOLE_L; k++) tss_sc_dot(&dd[k], g, st->v[k], XI);
    tss_rvole_mu(mu, &st->ctx, vals);
    int ok = tss_ct_equal(mu, msg2->mu, sizeof mu);
    /* Pass/fail of the mu check is public by design: a failure aborts the
     * session and bans the sender (the leak it allows is bounded: rvole.h). */
    tss_declassify(&ok, sizeof ok);
    uint16_t peer = st->ctx.sender_id;
    tss_rvole_receiver_wipe(st);
    tss_sc_wipe(e, W);
    tss_sc_wipe(&t, 1);
    tss_sc_wipe(&shifted, 1);
    tss_sc_wipe(vals, XI);
    if (!ok) {
        tss_sc_wipe(dd, TSS_RVOLE_L);
        return tss_fail(TSS_E_PROTOCOL,
                        "RVOLE: check failed for sender party %u (ban this peer for the key)",
                        peer);
    }
    d[0] = dd[0];
    d[1] = dd[1];
    tss_sc_wipe(dd, TSS_RVOLE_L);
    return TSS_OK_RESULT;
}

void tss_rvole_receiver_wipe(tss_rvole_receiver *st) { tss_wipe(st, sizeof *st); }

void tss_rvole_msg_write(tss_writer *w, const tss_rvole_msg *msg) {
    uint8_t b[TSS_SC_BYTES];
    for (size_t j = 0; j < XI; j++)
        for (size_t k = 0; k < W; k++) {
            tss_sc_to_bytes(b, &msg->a_tilde[j][k]);
            tss_write_bytes(w, b, sizeof b);
        }
    tss_sc_to_bytes(b, &msg->eta);
    tss_write_bytes(w, b, sizeof b);
    tss_write_bytes(w, msg->mu, sizeof msg->mu);
}

static void read_scalar(tss_reader *r, tss_scalar *s, const char *what) {
    const uint8_t *p = tss_read_view(r, TSS_SC_BYTES);
    if (!p) {
        tss_sc_set_zero(s);
        return;
    }
    if (!tss_is_ok(tss_sc_from_bytes(s, p, what))) {
        tss_sc_set_zero(s);
        tss_reader_set_error(r, TSS_E_INVALID);
    }
}

void tss_rvole_msg_read_fields(tss_reader *r, tss_rvole_msg *msg) {
    for (size_t j = 0; j < XI; j++)
        for (size_t k = 0; k < W; k++) read_scalar(r, &msg->a_tilde[j][k], "RVOLE a~");
    read_scalar(r, &msg->eta, "RVOLE eta");
    tss_read_bytes(r, msg->mu, sizeof msg->mu);
}

tss_result tss_rvole_msg_decode(tss_rvole_msg *msg, const uint8_t *in, size_t len) {
    tss_reader r;
    tss_reader_init(&r, in, len);
    tss_rvole_msg_read_fields(&r, msg);
    return tss_reader_finish(&r, "RVOLE message");
}
