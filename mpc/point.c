/* Points via libsecp256k1's public API; infinity is an explicit error. */
#include "mpc/point.h"

#include <secp256k1_ecdh.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/ctime.h"
#include "util/secmem.h"

static secp256k1_context *g_ctx;
static pthread_once_t g_ctx_once = PTHREAD_ONCE_INIT;

static void ctx_create(void) {
    secp256k1_context *c =
        secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    if (!c) return;
    /* Blinding for the base-point multiplication (side-channel hardening). */
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    int ok = secp256k1_context_randomize(c, seed);
    tss_wipe(seed, sizeof seed);
    if (!ok) {
        secp256k1_context_destroy(c);
        return;
    }
    g_ctx = c;
}

const secp256k1_context *tss_pt_context(void) {
    pthread_once(&g_ctx_once, ctx_create);
    return g_ctx;
}

#define GET_CTX(c)                                                                \
    const secp256k1_context *c = tss_pt_context();                                \
    TSS_ENSURE(c != NULL, TSS_E_CRYPTO, "secp256k1 context creation failed")

void tss_pt_generator(tss_point *r) {
    static const uint8_t g[TSS_PT_BYTES] = {
        0x02, 0x79, 0xBE, 0x66, 0x7E, 0xF9, 0xDC, 0xBB, 0xAC, 0x55, 0xA0, 0x62, 0x95, 0xCE, 0x87, 0x0B, 0x07,
        0x02, 0x9B, 0xFC, 0xDB, 0x2D, 0xCE, 0x28, 0xD9, 0x59, 0xF2, 0x81, 0x5B, 0x16, 0xF8, 0x17, 0x98};
    const secp256k1_context *c = tss_pt_context();
    /* A constant valid encoding; parse cannot fail with a working context. */
    if (!c || !secp256k1_ec_pubkey_parse(c, &r->pk, g, sizeof g)) memset(r, 0, sizeof *r);
}

tss_result tss_pt_mul_base(tss_point *r, const tss_scalar *k) {
    GET_CTX(c);
    uint8_t kb[TSS_SC_BYTES];
    secp256k1_pubkey out;
    tss_sc_to_bytes(kb, k);
    int ok = secp256k1_ec_pubkey_create(c, &out, kb);
    tss_wipe(kb, sizeof kb);
    /* The outcome reveals only whether k = 0 (a tss_scalar is below n, so
     * that is the one key libsecp256k1 rejects). The point stays secret:
     * callers declassify the points they publish. */
    tss_declassify(&ok, sizeof ok);
    TSS_ENSURE(ok, TSS_E_CRYPTO, "scalar multiplication of G by zero (point at infinity)");
    r->pk = out;
    return TSS_OK_RESULT;
}

/* ECDH's hash callback, used to get the full product point out of
 * libsecp256k1's constant-time variable-base multiplication. */
static int copy_point(unsigned char *out, const unsigned char *x32, const unsigned char *y32,
                      void *data) {
    (void)data;
    out[0] = 0x02 | (y32[31] & 1);
    memcpy(out + 1, x32, 32);
    return 1;
}

/* ec_pubkey_tweak_mul is variable time in the scalar (wNAF), so secret
 * scalars go through secp256k1_ecdh, which uses the constant-time ladder. */
/* The uncompressed encoding 04 || x || y: parsing it back is an on-curve
 * check, where the compressed one would cost a field square root. */
static int copy_point_full(unsigned char *out, const unsigned char *x32, const unsigned char *y32,
                           void *data) {
    (void)data;
    out[0] = 0x04;
    memcpy(out + 1, x32, 32);
    memcpy(out + 33, y32, 32);
    return 1;
}

tss_result tss_pt_mul(tss_point *r, const tss_point *p, const tss_scalar *k) {
    GET_CTX(c);
    uint8_t kb[TSS_SC_BYTES], enc[65];
    tss_sc_to_bytes(kb, k);
    int ok = secp256k1_ecdh(c, enc, &p->pk, kb, copy_point_full, NULL);
    tss_wipe(kb, sizeof kb);
    tss_declassify(&ok, sizeof ok); /* reveals only whether k = 0 */
    TSS_ENSURE(ok, TSS_E_CRYPTO, "scalar multiplication by zero (point at infinity)");
    /* The product is public by this function's contract (point.h): parsing
     * is variable time. Callers with a secret product use
     * tss_pt_mul_matches, or blind it first (sign.c's Gamma check). */
    tss_declassify(enc, sizeof enc);
    secp256k1_pubkey out;
    ok = secp256k1_ec_pubkey_parse(c, &out, enc, sizeof enc);
    tss_wipe(enc, sizeof enc);
    TSS_ENSURE(ok, TSS_E_CRYPTO, "scalar multiplication result did not parse");
    r->pk = out;
    return TSS_OK_RESULT;
}

int tss_pt_mul_matches(const tss_point *p, const tss_scalar *k, const tss_point *q) {
    const secp256k1_context *c = tss_pt_context();
    uint8_t kb[TSS_SC_BYTES], prod[TSS_PT_BYTES], want[TSS_PT_BYTES];
    if (!c) return 0;
    tss_sc_to_bytes(kb, k);
    int ok = secp256k1_ecdh(c, prod, &p->pk, kb, copy_point, NULL);
    tss_wipe(kb, sizeof kb);
    tss_pt_encode(want, q);
    int eq = ok & tss_ct_equal(prod, want, sizeof prod);
    tss_wipe(prod, sizeof prod);
    return eq;
}

tss_result tss_pt_mul_var(tss_point *r, const tss_point *p, const tss_scalar *k) {
    GET_CTX(c);
    uint8_t kb[TSS_SC_BYTES];
    secp256k1_pubkey out = p->pk;
    tss_sc_to_bytes(kb, k);
    int ok = secp256k1_ec_pubkey_tweak_mul(c, &out, kb);
    TSS_ENSURE(ok, TSS_E_CRYPTO, "scalar multiplication by zero (point at infinity)");
    r->pk = out;
    return TSS_OK_RESULT;
}

static tss_result combine(tss_point *r, const secp256k1_pubkey *const *ins, size_t n) {
    GET_CTX(c);
    secp256k1_pubkey out;
    TSS_ENSURE(secp256k1_ec_pubkey_combine(c, &out, ins, n), TSS_E_CRYPTO,
               "sum of points is the point at infinity");
    r->pk = out;
    return TSS_OK_RESULT;
}

tss_result tss_pt_add(tss_point *r, const tss_point *a, const tss_point *b) {
    const secp256k1_pubkey *ins[2] = {&a->pk, &b->pk};
    return combine(r, ins, 2);
}

void tss_pt_neg(tss_point *r, const tss_point *a) {
    const secp256k1_context *c = tss_pt_context();
    secp256k1_pubkey out = a->pk;
    /* Negation of a valid key cannot fail; without a context nothing else works either. */
    if (c && secp256k1_ec_pubkey_negate(c, &out)) r->pk = out;
}

tss_result tss_pt_sub(tss_point *r, const tss_point *a, const tss_point *b) {
    GET_CTX(c);
    tss_point nb;
    tss_pt_neg(&nb, b);
    return tss_pt_add(r, a, &nb);
}

tss_result tss_pt_sum(tss_point *r, const tss_point *pts, size_t count) {
    TSS_ENSURE(count >= 1, TSS_E_USAGE, "sum of no points");
    TSS_ENSURE(count <= TSS_PT_SUM_MAX, TSS_E_TOO_LARGE, "sum of %zu points exceeds %d", count,
               TSS_PT_SUM_MAX);
    const secp256k1_pubkey **ins = malloc(count * sizeof *ins);
    TSS_ENSURE(ins != NULL, TSS_E_NOMEM, "point sum: out of memory");
    for (size_t i = 0; i < count; i++) ins[i] = &pts[i].pk;
    tss_result res = combine(r, ins, count);
    free(ins);
    return res;
}

tss_result tss_pt_lincomb_var(tss_point *r, const tss_scalar *k, const tss_point *pts,
                              size_t count) {
    TSS_ENSURE(count <= TSS_PT_SUM_MAX, TSS_E_TOO_LARGE, "linear combination of %zu points",
               count);
    tss_point *terms = malloc((count ? count : 1) * sizeof *terms);
    TSS_ENSURE(terms != NULL, TSS_E_NOMEM, "linear combination: out of memory");
    size_t used = 0;
    tss_result res = TSS_OK_RESULT;
    for (size_t i = 0; i < count && tss_is_ok(res); i++) {
        if (tss_sc_is_zero(&k[i])) continue; /* public scalars: branching is fine */
        res = tss_pt_mul(&terms[used++], &pts[i], &k[i]);
    }
    if (tss_is_ok(res)) {
        if (used == 0)
            res = tss_fail(TSS_E_CRYPTO, "linear combination is the point at infinity");
        else
            res = tss_pt_sum(r, terms, used);
    }
    free(terms);
    return res;
}

tss_result tss_pt_poly_eval_var(tss_point *r, const tss_point *coeffs, size_t count,
                                uint32_t x) {
    TSS_ENSURE(x != 0, TSS_E_USAGE, "polynomial evaluation at x = 0");
    TSS_ENSURE(count >= 1 && count <= TSS_PT_SUM_MAX, TSS_E_USAGE,
               "polynomial with %zu coefficients", count);
    tss_scalar *pow = malloc(count * sizeof *pow);
    TSS_ENSURE(pow != NULL, TSS_E_NOMEM, "polynomial evaluation: out of memory");
    tss_scalar xs;
    tss_sc_set_u64(&xs, x);
    tss_sc_set_one(&pow[0]);
    for (size_t i = 1; i < count; i++) tss_sc_mul(&pow[i], &pow[i - 1], &xs);
    /* x^k != 0 mod the prime n, so every term is a valid point. */
    tss_result res = tss_pt_lincomb_var(r, pow, coeffs, count);
    free(pow);
    return res;
}

int tss_pt_eq(const tss_point *a, const tss_point *b) {
    const secp256k1_context *c = tss_pt_context();
    if (!c) return 0;
    return secp256k1_ec_pubkey_cmp(c, &a->pk, &b->pk) == 0;
}

void tss_pt_encode(uint8_t out[TSS_PT_BYTES], const tss_point *p) {
    const secp256k1_context *c = tss_pt_context();
    size_t len = TSS_PT_BYTES;
    if (!c || !secp256k1_ec_pubkey_serialize(c, out, &len, &p->pk, SECP256K1_EC_COMPRESSED))
        memset(out, 0, TSS_PT_BYTES); /* an all-zero encoding never parses */
}

tss_result tss_pt_decode(tss_point *r, const uint8_t in[TSS_PT_BYTES], const char *what) {
    GET_CTX(c);
    secp256k1_pubkey out;
    /* Length 33 makes libsecp256k1 accept only 0x02/0x03 prefixes. */
    TSS_ENSURE(secp256k1_ec_pubkey_parse(c, &out, in, TSS_PT_BYTES), TSS_E_INVALID,
               "%s: not a valid compressed secp256k1 point", what ? what : "point");
    r->pk = out;
    return TSS_OK_RESULT;
}

tss_result tss_pt_read(tss_reader *rd, tss_point *r, const char *what) {
    const uint8_t *p = tss_read_view(rd, TSS_PT_BYTES);
    if (!p) return tss_reader_status(rd, what ? what : "point");
    tss_result res = tss_pt_decode(r, p, what);
    if (!tss_is_ok(res)) tss_reader_set_error(rd, res.err);
    return res;
}

void tss_pt_write(tss_writer *w, const tss_point *p) {
    uint8_t b[TSS_PT_BYTES];
    tss_pt_encode(b, p);
    tss_write_bytes(w, b, sizeof b);
}
