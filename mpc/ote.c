#include "mpc/ote.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpc/ote_transpose.h"
#include "mpc/prg.h"
#include "util/ctime.h"
#include "util/secmem.h"

#define TAG_SID "tssd/ote/sid/v1"
#define TAG_PRG "tssd/ote/prg/v1"
#define TAG_CHI "tssd/ote/chi/v1"

static const uint8_t rot_personal[crypto_generichash_blake2b_PERSONALBYTES] = "tssd-ote-rot-v1";

_Static_assert(sizeof(tss_ote_msg) ==
                   TSS_OTE_KAPPA * TSS_OTE_COL_BYTES + TSS_GF128_BYTES +
                       TSS_OTE_KAPPA * TSS_GF128_BYTES,
               "tss_ote_msg must be unpadded");
_Static_assert(TSS_OTE_COL_BYTES == (TSS_OTE_CHECK_BLOCKS + 1) * TSS_GF128_BYTES,
               "a column is the checked blocks plus one padding block");

/* All-ones if bit k of s is set, else zero (no branch). */
static inline uint64_t bit_mask64(const uint8_t *s, size_t k) {
    return (uint64_t)0 - (uint64_t)((s[k >> 3] >> (k & 7)) & 1);
}

tss_result tss_ote_ctx_init(tss_ote_ctx *ctx, const uint8_t keygen_sid[TSS_OTE_SID_BYTES],
                            const uint8_t sign_sid[TSS_OTE_SID_BYTES], uint16_t sender_id,
                            uint16_t receiver_id) {
    TSS_ENSURE(sender_id != 0 && receiver_id != 0, TSS_E_USAGE, "OT extension: party id 0");
    TSS_ENSURE(sender_id != receiver_id, TSS_E_USAGE,
               "OT extension: sender and receiver are both party %u", sender_id);
    uint8_t ids[4] = {(uint8_t)(sender_id >> 8), (uint8_t)sender_id, (uint8_t)(receiver_id >> 8),
                      (uint8_t)receiver_id};
    tss_prg_field f[3] = {{keygen_sid, TSS_OTE_SID_BYTES}, {sign_sid, TSS_OTE_SID_BYTES}, {ids, 4}};
    tss_prg_derive(ctx->sid, TAG_SID, f, 3);
    ctx->sender_id = sender_id;
    ctx->receiver_id = receiver_id;
    return TSS_OK_RESULT;
}

void tss_ote_challenges(const tss_ote_ctx *ctx, const tss_ote_msg *msg,
                        tss_gf128 chi[TSS_OTE_CHECK_BLOCKS]) {
    uint8_t d[TSS_OTE_CHECK_BLOCKS * TSS_GF128_BYTES];
    tss_ote_hash h;
    _Static_assert(sizeof d <= crypto_generichash_blake2b_BYTES_MAX, "chi fits one digest");
    tss_ote_hash_init(&h, sizeof d, TAG_CHI, ctx->sid);
    tss_ote_hash_u32(&h, ctx->sender_id);
    tss_ote_hash_u32(&h, ctx->receiver_id);
    tss_ote_hash_field(&h, msg->u, sizeof msg->u);
    tss_ote_hash_final(&h, d);
    for (size_t b = 0; b < TSS_OTE_CHECK_BLOCKS; b++)
        tss_gf128_from_bytes(&chi[b], d + b * TSS_GF128_BYTES);
}

/* sum_b chi_b * col[b] + col[4], the universal hash of one 640-bit column. */
static void check_hash(tss_gf128 *r, const tss_gf128 chi[TSS_OTE_CHECK_BLOCKS],
                       const uint8_t col[TSS_OTE_COL_BYTES]) {
    tss_gf128 blk[TSS_OTE_CHECK_BLOCKS], pad;
    for (size_t b = 0; b < TSS_OTE_CHECK_BLOCKS; b++)
        tss_gf128_from_bytes(&blk[b], col + b * TSS_GF128_BYTES);
    tss_gf128_from_bytes(&pad, col + TSS_OTE_CHECK_BLOCKS * TSS_GF128_BYTES);
    tss_gf128_dot(r, chi, blk, TSS_OTE_CHECK_BLOCKS);
    r->lo ^= pad.lo;
    r->hi ^= pad.hi;
    tss_wipe(blk, sizeof blk);
    tss_wipe(&pad, sizeof pad);
}

/* Random-OT messages from 256-bit rows. A correlation-robust hash breaks the
 * Delta correlation between the two messages of an OT:
 *   h_j = BLAKE2b-512(personal "tssd-ote-rot-v1", salt = u32be j, sid || row_j)
 *   message_j = h_j[32..64) || ChaCha20(key h_j[0..32), nonce 0)[0..64)
 * One hash per message (the cost that dominates a run) and one ChaCha block,
 * computed 8 messages at a time. */
static void rot_messages(uint8_t (*out)[TSS_OTE_MSG_BYTES], uint8_t (*keys)[TSS_PRG_SEED_BYTES],
                         const tss_ote_ctx *ctx, const uint8_t (*rows)[TSS_OTE_KAPPA_BYTES],
                         size_t n) {
    uint8_t in[TSS_OTE_SID_BYTES + TSS_OTE_KAPPA_BYTES], h[64];
    uint8_t salt[crypto_generichash_blake2b_SALTBYTES] = {0};
    static const uint8_t zero_nonce[TSS_PRG_NONCE_BYTES];
    memcpy(in, ctx->sid, TSS_OTE_SID_BYTES);
    for (size_t j = 0; j < n; j++) {
        salt[0] = (uint8_t)(j >> 24);
        salt[1] = (uint8_t)(j >> 16);
        salt[2] = (uint8_t)(j >> 8);
        salt[3] = (uint8_t)j;
        memcpy(in + TSS_OTE_SID_BYTES, rows[j], TSS_OTE_KAPPA_BYTES);
        crypto_generichash_blake2b_salt_personal(h, sizeof h, in, sizeof in, NULL, 0, salt,
                                                 rot_personal);
        memcpy(keys[j], h, TSS_PRG_SEED_BYTES);
        memcpy(out[j], h + TSS_PRG_SEED_BYTES, sizeof h - TSS_PRG_SEED_BYTES);
    }
    tss_prg_expand_many(&out[0][sizeof h - TSS_PRG_SEED_BYTES], TSS_OTE_MSG_BYTES,
                        TSS_OTE_MSG_BYTES - (sizeof h - TSS_PRG_SEED_BYTES),
                        (const uint8_t(*)[TSS_PRG_SEED_BYTES])keys, n, zero_nonce);
    tss_wipe(in, sizeof in);
    tss_wipe(h, sizeof h);
}

/* Ephemeral secret scratch of one run, on the heap and wiped before release:
 * sodium_malloc costs ~45 us per call (guard pages, mlock), more than the rest
 * of a run's bookkeeping. */
typedef struct {
    uint8_t x[TSS_OTE_COL_BYTES];
    uint8_t col[TSS_OTE_KAPPA][TSS_OTE_COL_BYTES];
    uint8_t col1[TSS_OTE_KAPPA][TSS_OTE_COL_BYTES];
    uint8_t row[TSS_OTE_XI][TSS_OTE_KAPPA_BYTES];
    uint8_t row1[TSS_OTE_XI][TSS_OTE_KAPPA_BYTES];
    uint8_t key[TSS_OTE_XI][TSS_PRG_SEED_BYTES];
} ote_scratch;

static ote_scratch *scratch_new(void) { return malloc(sizeof(ote_scratch)); }

static void scratch_free(ote_scratch *s) {
    tss_wipe(s, sizeof *s);
    free(s);
}

tss_result tss_ote_receive(const tss_ote_ctx *ctx, const tss_ote_receiver_seeds *seeds,
                           const uint8_t choices[TSS_OTE_XI_BYTES], tss_ote_msg *msg,
                           uint8_t (*out)[TSS_OTE_MSG_BYTES]) {
    ote_scratch *s = scratch_new();
    TSS_ENSURE(s != NULL, TSS_E_NOMEM, "OT extension: no memory for the receiver");
    uint8_t nonce[TSS_PRG_NONCE_BYTES];
    tss_prg_nonce(nonce, TAG_PRG, ctx->sid, TSS_OTE_SID_BYTES);

    /* x = choices || random padding: the padding block masks x~. */
    memcpy(s->x, choices, TSS_OTE_XI_BYTES);
    randombytes_buf(s->x + TSS_OTE_XI_BYTES, TSS_OTE_COL_BYTES - TSS_OTE_XI_BYTES);

    /* t_i = PRG(k0_i), u_i = t_i ^ PRG(k1_i) ^ x */
    tss_prg_expand_many(&s->col[0][0], TSS_OTE_COL_BYTES, TSS_OTE_COL_BYTES, seeds->seed[0],
                        TSS_OTE_KAPPA, nonce);
    tss_prg_expand_many(&s->col1[0][0], TSS_OTE_COL_BYTES, TSS_OTE_COL_BYTES, seeds->seed[1],
                        TSS_OTE_KAPPA, nonce);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++)
        for (size_t k = 0; k < TSS_OTE_COL_BYTES; k++)
            msg->u[i][k] = s->col[i][k] ^ s->col1[i][k] ^ s->x[k];

    tss_gf128 chi[TSS_OTE_CHECK_BLOCKS], v;
    tss_ote_challenges(ctx, msg, chi);
    check_hash(&v, chi, s->x);
    tss_gf128_to_bytes(msg->x, &v);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) {
        check_hash(&v, chi, s->col[i]);
        tss_gf128_to_bytes(msg->t[i], &v);
    }

    tss_ote_transpose(s->row, (const uint8_t(*)[TSS_OTE_COL_BYTES])s->col, TSS_OTE_XI);
    rot_messages(out, s->key, ctx, (const uint8_t(*)[TSS_OTE_KAPPA_BYTES])s->row, TSS_OTE_XI);

    tss_wipe(&v, sizeof v);
    scratch_free(s);
    return TSS_OK_RESULT;
}

tss_result tss_ote_send(const tss_ote_ctx *ctx, const tss_ote_sender_seeds *seeds,
                        const tss_ote_msg *msg, uint8_t (*v0)[TSS_OTE_MSG_BYTES],
                        uint8_t (*v1)[TSS_OTE_MSG_BYTES]) {
    ote_scratch *s = scratch_new();
    TSS_ENSURE(s != NULL, TSS_E_NOMEM, "OT extension: no memory for the sender");
    uint8_t nonce[TSS_PRG_NONCE_BYTES];
    tss_prg_nonce(nonce, TAG_PRG, ctx->sid, TSS_OTE_SID_BYTES);

    /* w_i = PRG(k_{Delta_i, i}) ^ Delta_i * u_i = t_i ^ Delta_i * x */
    tss_prg_expand_many(&s->col[0][0], TSS_OTE_COL_BYTES, TSS_OTE_COL_BYTES, seeds->seed,
                        TSS_OTE_KAPPA, nonce);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) {
        uint8_t m = (uint8_t)bit_mask64(seeds->delta, i);
        for (size_t k = 0; k < TSS_OTE_COL_BYTES; k++) s->col[i][k] ^= msg->u[i][k] & m;
    }

    /* Every column must satisfy hash(w_i) == t~_i ^ Delta_i * x~. Accumulate
     * the differences without branching: which column failed would reveal a
     * Delta bit, so only the overall outcome is used. */
    tss_gf128 chi[TSS_OTE_CHECK_BLOCKS], q, t, x;
    tss_ote_challenges(ctx, msg, chi);
    tss_gf128_from_bytes(&x, msg->x);
    uint64_t diff = 0;
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) {
        uint64_t m = bit_mask64(seeds->delta, i);
        check_hash(&q, chi, s->col[i]);
        tss_gf128_from_bytes(&t, msg->t[i]);
        diff |= (q.lo ^ t.lo ^ (x.lo & m)) | (q.hi ^ t.hi ^ (x.hi & m));
    }
    tss_wipe(&q, sizeof q);
    /* Only pass/fail is revealed, and it is public by design: a failure
     * aborts the session visibly and the caller bans the receiver. The bit
     * is computed without a comparison the compiler could turn into a
     * branch on diff. */
    uint64_t fail = (diff | ((uint64_t)0 - diff)) >> 63;
    tss_declassify(&fail, sizeof fail);
    if (fail) {
        scratch_free(s);
        return tss_fail(TSS_E_PROTOCOL,
                        "OT extension: consistency check failed for receiver party %u "
                        "(ban this peer for the key)",
                        ctx->receiver_id);
    }

    /* v0_j from W_j, v1_j from W_j ^ Delta */
    tss_ote_transpose(s->row, (const uint8_t(*)[TSS_OTE_COL_BYTES])s->col, TSS_OTE_XI);
    for (size_t j = 0; j < TSS_OTE_XI; j++)
        for (size_t k = 0; k < TSS_OTE_KAPPA_BYTES; k++)
            s->row1[j][k] = s->row[j][k] ^ seeds->delta[k];
    rot_messages(v0, s->key, ctx, (const uint8_t(*)[TSS_OTE_KAPPA_BYTES])s->row, TSS_OTE_XI);
    rot_messages(v1, s->key, ctx, (const uint8_t(*)[TSS_OTE_KAPPA_BYTES])s->row1, TSS_OTE_XI);
    scratch_free(s);
    return TSS_OK_RESULT;
}

void tss_ote_msg_write(tss_writer *w, const tss_ote_msg *msg) {
    tss_write_bytes(w, msg->u, sizeof msg->u);
    tss_write_bytes(w, msg->x, sizeof msg->x);
    tss_write_bytes(w, msg->t, sizeof msg->t);
}

void tss_ote_msg_read_fields(tss_reader *r, tss_ote_msg *msg) {
    tss_read_bytes(r, &msg->u[0][0], sizeof msg->u);
    tss_read_bytes(r, msg->x, sizeof msg->x);
    tss_read_bytes(r, &msg->t[0][0], sizeof msg->t);
}

tss_result tss_ote_msg_decode(tss_ote_msg *msg, const uint8_t *in, size_t len) {
    tss_reader r;
    tss_reader_init(&r, in, len);
    tss_ote_msg_read_fields(&r, msg);
    return tss_reader_finish(&r, "OT extension message");
}
