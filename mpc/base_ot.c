/* Masny-Rindal endemic OT over secp256k1, batched (see base_ot.h).
 *
 * Cost per batch of 256 (what dominates, in libsecp256k1 public-API calls):
 *   receiver start:  per OT, ~4 random points R and ~4 draws of a (each an
 *                    ec_pubkey_create and a combine) until both published
 *                    points are in S, 2 one-candidate hashes per draw:
 *                    ~4000 parses and ~1000 ec_pubkey_create per batch
 *   sender respond:  512 parses (validation of msg1), 1 ec_pubkey_create (T),
 *                    512 hash-to-curve, 512 combine, 512 ecdh (t*M_j)
 *   receiver finish: 1 parse (T), 256 ecdh (a_i*T)
 *
 * Why one sender key t per batch is safe
 * --------------------------------------
 * This is the batched endemic OT of McQuoid, Rosulek and Roy ("Batching Base
 * Oblivious Transfers", ePrint 2021/682, Fig. 3, with the Masny-Rindal
 * hash-to-curve "POPF" and DH key agreement), and what the MR authors ship in
 * libOTe. The argument, for this code:
 *  - Receiver privacy does not involve T at all. msg1 is two independent
 *    uniform points per OT whatever c is (r_{1-c} is uniform; r_c = a_i*G -
 *    H_c(r_{1-c}) is uniform because a_i is), and the receiver's only reaction
 *    to msg2 is one validity check of T, which does not depend on c. So a
 *    malicious sender learns nothing about c from any choice of T, and there
 *    is no per-slot point left with which to make the receiver fail for one
 *    value of c only (selective failure).
 *  - Sender privacy. All of msg1, hence every M_{i,j}, is fixed before T is
 *    seen (T is generated after msg1 is received), so M_{i,j} cannot depend on
 *    t (unlike Simplest OT, where the receiver's point may depend on the
 *    sender's key). Given T = t*G the receiver can compute t*M exactly for the
 *    points M whose discrete log it knows; computing t*M for any other M,
 *    even with many such M under the same t, is Diffie-Hellman: with one t
 *    for many KDF inputs the random-oracle proof uses the strong DH assumption
 *    (CDH with a DDH oracle for the fixed T), the standard assumption of
 *    static-key hashed ElGamal / DHIES and of Simplest OT's single sender key
 *    (a key per slot would need only CDH). In each OT one of M_0, M_1 is
 *    r + H where H is a fresh random-oracle point returned after r was
 *    fixed, so the receiver cannot know the logs of both (the MR argument,
 *    unchanged by batching). Relations across OTs do not help: every point
 *    whose t-multiple the receiver can compute has a known log, so a
 *    combination that yields t*M_{i,1-c} would yield t times a random-oracle
 *    point of unknown log, i.e. solve Diffie-Hellman.
 *  - The KDF binds (sid, sender, receiver, i, j, r_0, r_1, T). A receiver may
 *    make points collide across OTs or slots (e.g. M_{i,c} = M_{k,1-c'}); the
 *    Diffie-Hellman values then coincide, but every seed is a separate
 *    random-oracle output, and computing any of them still needs t*M for a
 *    point of unknown log. Without i and j in the KDF, such collisions would
 *    make seeds of different OTs equal.
 *  - t is used in 512 multiplications, so it must never reach a
 *    variable-time path: libsecp256k1's ec_pubkey_tweak_mul is variable-time
 *    in the scalar (wNAF ecmult). Only ec_pubkey_create (t*G, a_i*G) and ecdh
 *    (constant-time ecmult_const) see t and a_i.
 * Receiver in constant time (receiver_one): hash-to-curve is the one
 * variable-time step, and the receiver must hash its random point R =
 * r_{1-c} before r_c exists. With a number of tries that depends on R, a
 * timing observer who later sees msg1 computes the tries of both published
 * points and tells which one is R, i.e. c. So the receiver publishes only
 * points of S (both hashes found at the first candidate): R is redrawn, and
 * a is redrawn, until R and r_c are in S. Both published points are then
 * uniform over S whatever c is, and the receiver's hashing of each is the same
 * work (two parses of valid points). Honest points in S change nothing for
 * the sender, which hashes any point with the full try-and-increment. */
#include "mpc/base_ot.h"

#include <stdlib.h>
#include <string.h>

#include <secp256k1_ecdh.h>
#include <sodium.h>

#include "mpc/scalar.h"
#include "util/ctime.h"
#include "util/secmem.h"

#define PAIR_BYTES (2 * TSS_PT_BYTES)
/* Same bound as tss_tr_final_point_var: each try succeeds with probability ~1/2. */
#define H2C_MAX_TRIES 256
/* The receiver's published points are drawn from S = {P : H_0(P) and H_1(P)
 * are found within H2C_CT_TRIES tries} (receiver_one), and it hashes them
 * with exactly that many parses (h_point_fixed). With one try, S holds about
 * a quarter of the points: every published point's hashes succeed at the
 * first candidate, so the receiver's parses are all of valid points. */
#define H2C_CT_TRIES 1
/* Draws until a point in S (each succeeds with probability ~1/4): a failure
 * is an abort with probability (3/4)^256 < 2^-106. */
#define S_MAX_DRAWS 256

struct tss_base_ot_receiver {
    uint8_t sid[TSS_SID_BYTES];
    uint32_t sender_id, receiver_id;
    uint8_t choice[TSS_BASE_OT_CHOICE_BYTES];
    uint8_t a[TSS_BASE_OT_COUNT][TSS_SC_BYTES]; /* secret scalars, big-endian, in [1, n) */
    uint8_t msg1[TSS_BASE_OT_MSG1_BYTES];       /* bound into every output seed */
    int consumed;
};

static inline unsigned choice_bit(const uint8_t *choice, unsigned i) {
    return (choice[i / 8] >> (i % 8)) & 1;
}

/* out = bit ? b : a, bytewise without branching on bit. */
static void ct_select_bytes(void *out, const void *a, const void *b, size_t n, unsigned bit) {
    const uint8_t *pa = a, *pb = b;
    uint8_t *po = out, m = (uint8_t)(0u - (bit & 1));
    for (size_t k = 0; k < n; k++) po[k] = (uint8_t)((pb[k] & m) | (pa[k] & (uint8_t)~m));
}

/* The transcript prefixes shared by every OT of a batch (SHA-256 midstates):
 * field(version) || field(purpose) || field(sid) || field(sender) || field(receiver). */
typedef struct {
    tss_transcript h2c; /* "base-ot/hash-to-curve" */
    tss_transcript kdf; /* "base-ot/seed" */
} prefixes;

static void prefixes_init(prefixes *p, const uint8_t sid[TSS_SID_BYTES], uint32_t sender,
                          uint32_t receiver) {
    tss_tr_init(&p->h2c, "base-ot/hash-to-curve");
    tss_tr_bind(&p->h2c, sid, sender, receiver);
    tss_tr_init(&p->kdf, "base-ot/seed");
    tss_tr_bind(&p->kdf, sid, sender, receiver);
}

/* H_j for OT i: prefix || field(i) || field(j) || field(r), then
 * try-and-increment exactly as tss_tr_final_point_var (the unit test checks
 * that they agree): the first counter ctr for which 0x02 || H(... ||
 * field(ctr)) parses. The point has no known discrete log. Variable time: r
 * and the output are public (j is the receiver's secret in its real hash; its
 * dummy hash balances the work, see receiver_one). Parsing is called directly
 * so that a miss costs no error formatting. */
static tss_result h_point(const secp256k1_context *ctx, tss_point *out, const prefixes *p,
                          uint32_t i, uint32_t j, const uint8_t r[TSS_PT_BYTES]) {
    tss_transcript t = p->h2c;
    tss_tr_append_u32(&t, i);
    tss_tr_append_u32(&t, j);
    tss_tr_append(&t, r, TSS_PT_BYTES);
    uint8_t enc[TSS_PT_BYTES];
    enc[0] = 0x02;
    for (uint32_t ctr = 0; ctr < H2C_MAX_TRIES; ctr++) {
        tss_transcript tc = t;
        tss_tr_append_u32(&tc, ctr);
        tss_tr_final(&tc, enc + 1);
        if (secp256k1_ec_pubkey_parse(ctx, &out->pk, enc, TSS_PT_BYTES)) return TSS_OK_RESULT;
    }
    return tss_fail(TSS_E_CRYPTO, "base OT hash-to-curve: no point after %d tries",
                    H2C_MAX_TRIES);
}

/* KDF state of OT i, slot j, before the shared point:
 * prefix || field(i) || field(j) || field(r_0 || r_1) || field(T). j may be
 * secret (the receiver's c): it is hashed as data, without branches. */
static void kdf_start(tss_transcript *t, const prefixes *p, uint32_t i, uint32_t j,
                      const uint8_t pair[PAIR_BYTES], const uint8_t T[TSS_PT_BYTES]) {
    *t = p->kdf;
    tss_tr_append_u32(t, i);
    tss_tr_append_u32(t, j);
    tss_tr_append(t, pair, PAIR_BYTES);
    tss_tr_append(t, T, TSS_PT_BYTES);
}

/* secp256k1_ecdh hash callback: finishes the KDF with field(compressed shared
 * point) -- the same bytes tss_tr_append_point would hash -- straight from
 * the affine coordinates, so the shared point never leaves libsecp256k1 and
 * this function's stack. */
static int kdf_finish_cb(unsigned char *out, const unsigned char *x32, const unsigned char *y32,
                         void *data) {
    tss_transcript *t = data;
    uint8_t enc[TSS_PT_BYTES];
    enc[0] = (uint8_t)(0x02 | (y32[31] & 1));
    memcpy(enc + 1, x32, 32);
    tss_tr_append(t, enc, sizeof enc);
    tss_tr_final(t, out); /* wipes t */
    tss_wipe(enc, sizeof enc);
    return 1;
}

/* seed = KDF(..., k*P) with the constant-time variable-base multiplication.
 * t (the KDF state from kdf_start) is wiped. k must be in [1, n). */
static tss_result kdf_ecdh(const secp256k1_context *ctx, uint8_t seed[TSS_BASE_OT_SEED_BYTES],
                           tss_transcript *t, const tss_point *P, const uint8_t k[TSS_SC_BYTES]) {
    int ok = secp256k1_ecdh(ctx, seed, &P->pk, k, kdf_finish_cb, t);
    tss_wipe(t, sizeof *t);
    tss_declassify(&ok, sizeof ok); /* reveals only whether k is 0 or >= n */
    TSS_ENSURE(ok, TSS_E_CRYPTO, "base OT: invalid secret scalar");
    return TSS_OK_RESULT;
}

/* A uniformly random secret scalar in [1, n), as 32 big-endian bytes. */
static tss_result random_scalar(uint8_t out[TSS_SC_BYTES]) {
    tss_scalar s;
    TSS_GUARD(tss_sc_random_nonzero(&s));
    tss_sc_to_bytes(out, &s);
    tss_sc_wipe(&s, 1);
    return TSS_OK_RESULT;
}

/* A uniformly random point (nobody knows its log, and the receiver does not
 * need to): random x with a random parity byte until 0x02/0x03 || x parses.
 * Each try is a fresh uniform candidate, so the accepted x is uniform over the
 * valid abscissas and, with the random parity, the point is uniform over the
 * group minus infinity -- the distribution of u*G for uniform u != 0, at about
 * half the cost of a fixed-base multiplication. The number of tries depends
 * only on discarded random candidates, not on c or a_i; the accepted point is
 * published in msg1. */
static tss_result random_point(const secp256k1_context *ctx, tss_point *out,
                               uint8_t enc[TSS_PT_BYTES]) {
    for (int k = 0; k < H2C_MAX_TRIES; k++) {
        randombytes_buf(enc, TSS_PT_BYTES);
        /* A candidate is either published (as r_{1-c}) or discarded. */
        tss_declassify(enc, TSS_PT_BYTES);
        enc[0] = (uint8_t)(0x02 | (enc[0] & 1));
        if (secp256k1_ec_pubkey_parse(ctx, &out->pk, enc, TSS_PT_BYTES)) return TSS_OK_RESULT;
    }
    return tss_fail(TSS_E_CRYPTO, "base OT: no random point after %d tries", H2C_MAX_TRIES);
}

#define GET_CTX(c)                                                                \
    const secp256k1_context *c = tss_pt_context();                                \
    TSS_ENSURE(c != NULL, TSS_E_CRYPTO, "secp256k1 context creation failed")

/* msg1: 256 pairs of points. */
tss_result tss_base_ot_msg1_decode(tss_base_ot_msg1 *out, const uint8_t *in, size_t len) {
    const char *what = "base OT msg1";
    tss_reader rd;
    tss_reader_init(&rd, in, len);
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT; i++)
        for (unsigned j = 0; j < 2; j++) {
            /* A short message fails here as truncated (sticky reader error). */
            tss_result res = tss_pt_read(&rd, &out->r[i][j], what);
            if (!tss_is_ok(res))
                return tss_fail(res.err, "%s: point %u of OT %u: %s", what, j, i,
                                tss_err_message(res.err));
        }
    return tss_reader_finish(&rd, what); /* exact length: no trailing bytes */
}

/* msg2: the sender's batch point T. */
tss_result tss_base_ot_msg2_decode(tss_base_ot_msg2 *out, const uint8_t *in, size_t len) {
    const char *what = "base OT msg2";
    tss_reader rd;
    tss_reader_init(&rd, in, len);
    tss_result res = tss_pt_read(&rd, &out->T, what);
    if (!tss_is_ok(res))
        return tss_fail(res.err, "%s: sender point T: %s", what, tss_err_message(res.err));
    return tss_reader_finish(&rd, what);
}

static tss_result check_ids(uint32_t sender_id, uint32_t receiver_id) {
    TSS_ENSURE(sender_id != receiver_id, TSS_E_USAGE, "base OT: sender and receiver are both %u",
               sender_id);
    return TSS_OK_RESULT;
}

/* H_j(r) for the receiver: the same point as h_point, but always exactly
 * H2C_CT_TRIES candidates, each parsed, the first valid one kept with a masked
 * copy, so the work does not depend on how many tries r needs. Returns 1 if a
 * point was found within H2C_CT_TRIES tries (then *out equals h_point's
 * result), else 0. r and j are public. */
static int h_point_fixed(const secp256k1_context *ctx, secp256k1_pubkey *out, const prefixes *p,
                         uint32_t i, uint32_t j, const uint8_t r[TSS_PT_BYTES]) {
    tss_transcript t = p->h2c;
    tss_tr_append_u32(&t, i);
    tss_tr_append_u32(&t, j);
    tss_tr_append(&t, r, TSS_PT_BYTES);
    uint8_t enc[TSS_PT_BYTES];
    enc[0] = 0x02;
    secp256k1_pubkey cand;
    unsigned found = 0;
    memset(out, 0, sizeof *out);
    for (uint32_t ctr = 0; ctr < H2C_CT_TRIES; ctr++) {
        tss_transcript tc = t;
        tss_tr_append_u32(&tc, ctr);
        tss_tr_final(&tc, enc + 1);
        unsigned ok = (unsigned)secp256k1_ec_pubkey_parse(ctx, &cand, enc, TSS_PT_BYTES) & 1;
        ct_select_bytes(out, out, &cand, sizeof cand, ok & ~found);
        found |= ok;
    }
    return (int)found;
}

#ifdef TSS_CTIME_INJECT_BRANCH
/* Built only for the harness's self-test (tests/ctime/run.sh --expect-flagged):
 * a deliberate branch on the secret choice bit, which the check must flag. */
static volatile unsigned ctime_inject_sink;
#define CTIME_INJECT_BRANCH(bit)                                                  \
    do {                                                                          \
        if (bit) ctime_inject_sink = 1;                                           \
    } while (0)
#else
#define CTIME_INJECT_BRANCH(bit) ((void)0)
#endif

/* Whether P is in S: H_0(P) and H_1(P) both found within H2C_CT_TRIES tries
 * (always that many parses each); their points in h[0], h[1]. P is public. */
static int in_s(const secp256k1_context *ctx, secp256k1_pubkey h[2], const prefixes *p,
                uint32_t i, const uint8_t P[TSS_PT_BYTES]) {
    int ok = h_point_fixed(ctx, &h[0], p, i, 0, P);
    ok &= h_point_fixed(ctx, &h[1], p, i, 1, P);
    return ok;
}

/* One receiver OT: draws the secret a and fills pair = (r_0 || r_1) for
 * choice c. Both published points are uniform over S (above), whatever c is:
 *   R = r_{1-c}: random points until one is in S (discarded ones are
 *     independent of everything);
 *   r_c = a*G - H_c(R): fresh a until r_c is in S. Each candidate r_c is
 *     uniform and independent of c and of the final a (a is uniform), so it
 *     is declassified for the test; a rejected one is discarded with its a.
 * So no step branches on c or a, the hash-to-curve work on each published
 * point is the same (its two hashes, H2C_CT_TRIES parses each, all found),
 * and neither the values nor the work tell R from r_c. H_c(R) is picked with
 * a masked copy, a*G - H_c(R) uses libsecp256k1's constant-time group law,
 * and the pair is assembled with masked copies. */
static tss_result receiver_one(const secp256k1_context *ctx, const prefixes *p, unsigned i,
                               unsigned c, uint8_t a[TSS_SC_BYTES], uint8_t pair[PAIR_BYTES]) {
    tss_point rand_pt, chosen;
    secp256k1_pubkey h[2], hc, aG, hneg, hC[2];
    uint8_t rand_enc[TSS_PT_BYTES], chosen_enc[TSS_PT_BYTES];
    tss_result res = TSS_OK_RESULT;
    CTIME_INJECT_BRANCH(c);
    int found = 0;
    for (int k = 0; k < S_MAX_DRAWS && !found && tss_is_ok(res); k++) {
        res = random_point(ctx, &rand_pt, rand_enc);
        if (tss_is_ok(res)) found = in_s(ctx, h, p, i, rand_enc);
    }
    if (tss_is_ok(res) && !found)
        res = tss_fail(TSS_E_CRYPTO, "base OT receiver: no random point in S after %d draws",
                       S_MAX_DRAWS);
    if (tss_is_ok(res)) {
        ct_select_bytes(&hc, &h[0], &h[1], sizeof hc, c);
        hneg = hc;
        /* Negation of a valid point; its only branch is the x = 0 load check. */
        tss_ctime_trusted_begin();
        int ok = secp256k1_ec_pubkey_negate(ctx, &hneg);
        tss_ctime_trusted_end();
        tss_declassify(&ok, sizeof ok); /* always 1 */
        if (!ok) res = tss_fail(TSS_E_CRYPTO, "base OT receiver: invalid hash point");
    }
    found = 0;
    for (int k = 0; k < S_MAX_DRAWS && !found && tss_is_ok(res); k++) {
        res = random_scalar(a);
        if (!tss_is_ok(res)) break;
        int ok = secp256k1_ec_pubkey_create(ctx, &aG, a);
        /* r_c = a*G - H_c(R). ec_pubkey_combine uses libsecp256k1's
         * constant-time group law (gej_add_ge, ge_set_gej); its only branches
         * are validity checks whose outcome is fixed except with probability
         * 2^-256 (x = 0, sum at infinity), which memcheck cannot tell from a
         * real leak (see util/ctime.h). */
        const secp256k1_pubkey *ins[2] = {&aG, &hneg};
        tss_ctime_trusted_begin();
        ok &= secp256k1_ec_pubkey_combine(ctx, &chosen.pk, ins, 2);
        tss_ctime_trusted_end();
        /* Fails only for a = 0 or a*G = H_c(R): nothing about c or a. */
        tss_declassify(&ok, sizeof ok);
        if (!ok) {
            res = tss_fail(TSS_E_CRYPTO, "base OT receiver: invalid secret scalar");
            break;
        }
        /* A uniform point independent of c (see above): published if in S,
         * else discarded together with this a. */
        tss_declassify(&chosen, sizeof chosen);
        tss_pt_encode(chosen_enc, &chosen);
        found = in_s(ctx, hC, p, i, chosen_enc);
    }
    if (tss_is_ok(res) && !found)
        res = tss_fail(TSS_E_CRYPTO, "base OT receiver: no point a*G - H_c(R) in S after %d draws",
                       S_MAX_DRAWS);
    if (tss_is_ok(res)) {
        /* Which of the two published points is R would reveal c. */
        ct_select_bytes(pair, chosen_enc, rand_enc, TSS_PT_BYTES, c);
        ct_select_bytes(pair + TSS_PT_BYTES, rand_enc, chosen_enc, TSS_PT_BYTES, c);
    }
    tss_wipe(&rand_pt, sizeof rand_pt);
    tss_wipe(h, sizeof h);
    tss_wipe(hC, sizeof hC);
    tss_wipe(&hc, sizeof hc);
    tss_wipe(&hneg, sizeof hneg);
    tss_wipe(&aG, sizeof aG);
    tss_wipe(&chosen, sizeof chosen);
    tss_wipe(rand_enc, sizeof rand_enc);
    tss_wipe(chosen_enc, sizeof chosen_enc);
    return res;
}

tss_result tss_base_ot_receiver_start(tss_base_ot_receiver **state,
                                      const uint8_t sid[TSS_SID_BYTES], uint32_t sender_id,
                                      uint32_t receiver_id,
                                      const uint8_t choice[TSS_BASE_OT_CHOICE_BYTES],
                                      tss_writer *msg1_out) {
    TSS_GUARD(check_ids(sender_id, receiver_id));
    GET_CTX(ctx);
    tss_base_ot_receiver *st = tss_secret_alloc(sizeof *st);
    TSS_ENSURE(st != NULL, TSS_E_NOMEM, "base OT receiver: out of secret memory");
    memcpy(st->sid, sid, TSS_SID_BYTES);
    st->sender_id = sender_id;
    st->receiver_id = receiver_id;
    memcpy(st->choice, choice, TSS_BASE_OT_CHOICE_BYTES);
    st->consumed = 0;
    prefixes p;
    prefixes_init(&p, sid, sender_id, receiver_id);
    tss_result res = TSS_OK_RESULT;
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT && tss_is_ok(res); i++) {
        res = receiver_one(ctx, &p, i, choice_bit(choice, i), st->a[i],
                           st->msg1 + i * PAIR_BYTES);
    }
    tss_wipe(&p, sizeof p);
    if (tss_is_ok(res)) {
        tss_write_bytes(msg1_out, st->msg1, TSS_BASE_OT_MSG1_BYTES);
        res = tss_writer_status(msg1_out, "base OT msg1");
    }
    if (!tss_is_ok(res)) {
        tss_base_ot_receiver_free(st);
        return res;
    }
    *state = st;
    return TSS_OK_RESULT;
}

/* One sender OT: m_j = KDF(i, j, r_0, r_1, T, t*(r_j + H_j(r_{1-j}))) for j = 0, 1. */
static tss_result sender_one(const secp256k1_context *ctx, const prefixes *p, uint32_t receiver_id,
                             unsigned i, const tss_point r[2], const uint8_t pair[PAIR_BYTES],
                             const uint8_t T_enc[TSS_PT_BYTES], const uint8_t t[TSS_SC_BYTES],
                             uint8_t seeds[2][TSS_BASE_OT_SEED_BYTES]) {
    for (unsigned j = 0; j < 2; j++) {
        tss_point h, M;
        TSS_GUARD(h_point(ctx, &h, p, i, j, pair + (1 - j) * TSS_PT_BYTES));
        /* A receiver could set r_j = -H_j(r_{1-j}); there is no OT to run then. */
        if (!tss_is_ok(tss_pt_add(&M, &r[j], &h)))
            return tss_fail(TSS_E_PROTOCOL,
                            "base OT msg1 from party %u: OT %u slot %u sums to infinity",
                            receiver_id, i, j);
        tss_transcript kt;
        kdf_start(&kt, p, i, j, pair, T_enc);
        TSS_GUARD(kdf_ecdh(ctx, seeds[j], &kt, &M, t));
    }
    return TSS_OK_RESULT;
}

tss_result tss_base_ot_sender_respond(const uint8_t sid[TSS_SID_BYTES], uint32_t sender_id,
                                      uint32_t receiver_id, const uint8_t *msg1, size_t msg1_len,
                                      tss_writer *msg2_out, tss_base_ot_sender_output *out) {
    TSS_GUARD(check_ids(sender_id, receiver_id));
    GET_CTX(ctx);
    tss_base_ot_msg1 *m1 = malloc(sizeof *m1);
    tss_base_ot_sender_output *tmp = tss_secret_alloc(sizeof *tmp);
    uint8_t t[TSS_SC_BYTES], T_enc[TSS_PT_BYTES];
    tss_point T;
    prefixes p;
    prefixes_init(&p, sid, sender_id, receiver_id);
    tss_result res = TSS_OK_RESULT;
    if (!m1 || !tmp) res = tss_fail(TSS_E_NOMEM, "base OT sender: out of memory");
    /* Validate the whole message before any work with secrets. */
    if (tss_is_ok(res)) res = tss_base_ot_msg1_decode(m1, msg1, msg1_len);
    /* One fresh key for the whole batch (see the top of this file). */
    if (tss_is_ok(res)) res = random_scalar(t);
    if (tss_is_ok(res)) {
        int ok = secp256k1_ec_pubkey_create(ctx, &T.pk, t);
        tss_declassify(&ok, sizeof ok); /* reveals only whether t = 0 */
        if (!ok) res = tss_fail(TSS_E_CRYPTO, "base OT sender: invalid secret scalar");
    }
    if (tss_is_ok(res)) {
        tss_declassify(&T, sizeof T); /* T = t*G is msg2 */
        tss_pt_encode(T_enc, &T);
    }
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT && tss_is_ok(res); i++)
        res = sender_one(ctx, &p, receiver_id, i, m1->r[i], msg1 + i * PAIR_BYTES, T_enc, t,
                         tmp->m[i]);
    tss_wipe(t, sizeof t);
    tss_wipe(&p, sizeof p);
    if (tss_is_ok(res)) {
        tss_write_bytes(msg2_out, T_enc, TSS_BASE_OT_MSG2_BYTES);
        res = tss_writer_status(msg2_out, "base OT msg2");
    }
    if (tss_is_ok(res)) memcpy(out, tmp, sizeof *tmp);
    tss_secret_free(tmp);
    free(m1);
    return res;
}

tss_result tss_base_ot_receiver_finish(tss_base_ot_receiver *st, const uint8_t *msg2,
                                       size_t msg2_len, tss_base_ot_receiver_output *out) {
    TSS_ENSURE(st != NULL, TSS_E_USAGE, "base OT receiver: no state");
    TSS_ENSURE(!st->consumed, TSS_E_USAGE, "base OT receiver: state already used");
    st->consumed = 1;
    const secp256k1_context *ctx = tss_pt_context();
    tss_base_ot_receiver_output *tmp = tss_secret_alloc(sizeof *tmp);
    tss_base_ot_msg2 m2;
    prefixes p;
    prefixes_init(&p, st->sid, st->sender_id, st->receiver_id);
    tss_result res = TSS_OK_RESULT;
    if (!ctx) res = tss_fail(TSS_E_CRYPTO, "secp256k1 context creation failed");
    if (tss_is_ok(res) && !tmp) res = tss_fail(TSS_E_NOMEM, "base OT receiver: out of memory");
    /* T is the only received point and the same for every OT and either
     * choice, so its check cannot depend on the choice bits. */
    if (tss_is_ok(res)) res = tss_base_ot_msg2_decode(&m2, msg2, msg2_len);
    for (unsigned i = 0; i < TSS_BASE_OT_COUNT && tss_is_ok(res); i++) {
        tss_transcript kt;
        kdf_start(&kt, &p, i, choice_bit(st->choice, i), st->msg1 + i * PAIR_BYTES, msg2);
        res = kdf_ecdh(ctx, tmp->m[i], &kt, &m2.T, st->a[i]);
    }
    tss_wipe(&p, sizeof p);
    if (tss_is_ok(res)) {
        memcpy(tmp->choice, st->choice, sizeof tmp->choice);
        memcpy(out, tmp, sizeof *tmp);
    }
    tss_wipe(st->a, sizeof st->a);
    tss_wipe(st->choice, sizeof st->choice);
    tss_secret_free(tmp);
    return res;
}

void tss_base_ot_receiver_free(tss_base_ot_receiver *st) { tss_secret_free(st); }
