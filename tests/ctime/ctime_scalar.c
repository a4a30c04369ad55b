/* Constant-time check of mpc/scalar under valgrind memcheck (the approach of
 * libsecp256k1's ctime_tests).
 *
 * Secret inputs are marked undefined with VALGRIND_MAKE_MEM_UNDEFINED. memcheck
 * then reports every conditional branch ("Conditional jump or move depends on
 * uninitialised value(s)") and every memory address ("Use of uninitialised
 * value of size 8") that depends on them. Outputs are marked defined again
 * before anything branches on them. A clean run (no memcheck errors) means the
 * compiled code neither branches nor indexes memory on the secrets.
 *
 * Run it with tests/ctime/run.sh (valgrind --error-exitcode=42). Without
 * valgrind it only runs the operations once, as a smoke test.
 *
 * Usage: ctime_scalar [--points]
 *   Also runs k*G and k*P (tss_pt_mul_base, tss_pt_mul) on a secret k, by
 *   default (--points is accepted for compatibility). libsecp256k1's
 *   ec_pubkey_create and ecdh report nothing; mpc/point.c declassifies their
 *   return value (it reveals only k = 0) and, in tss_pt_mul, the product,
 *   which that function's contract makes public (it is parsed in variable
 *   time; see point.h). tests/ctime/ctime_sign.c covers the signing round. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>
#include <valgrind/memcheck.h>

#include "mpc/point.h"
#include "mpc/scalar.h"
#include "util/secmem.h"

#define SECRET(p, len) VALGRIND_MAKE_MEM_UNDEFINED((p), (len))
#define PUBLIC(p, len) VALGRIND_MAKE_MEM_DEFINED((p), (len))

#define DOT_LEN 512

/* Everything the operations produce is folded into this digest (after being
 * declassified), so the compiler cannot drop any of them. */
static uint64_t g_digest;

static void absorb(const void *p, size_t len) {
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++) g_digest = (g_digest ^ b[i]) * 0x100000001B3ULL;
}

/* Declassify an output scalar (or int) and fold it in. */
static void out_scalar(tss_scalar *s) {
    PUBLIC(s, sizeof *s);
    absorb(s, sizeof *s);
}

static void out_int(int v) {
    PUBLIC(&v, sizeof v);
    absorb(&v, sizeof v);
}

static void secret_scalar(tss_scalar *s) {
    uint8_t b[TSS_SC_BYTES];
    randombytes_buf(b, sizeof b);
    tss_sc_from_bytes_reduce(s, b); /* public data here; marked secret below */
    SECRET(s, sizeof *s);
}

static int scalar_ops(void) {
    tss_scalar a, b, c, r, t;
    static tss_scalar va[DOT_LEN], vb[DOT_LEN];
    uint8_t bytes[TSS_SC_BYTES], wide[TSS_SC_WIDE_BYTES];

    secret_scalar(&a);
    secret_scalar(&b);
    secret_scalar(&c);

    tss_sc_add(&r, &a, &b);
    out_scalar(&r);
    tss_sc_sub(&r, &a, &b);
    out_scalar(&r);
    tss_sc_neg(&r, &a);
    out_scalar(&r);
    tss_sc_mul(&r, &a, &b);
    out_scalar(&r);
    tss_sc_sqr(&r, &a);
    out_scalar(&r);
    tss_sc_muladd(&r, &a, &b, &c);
    out_scalar(&r);
    tss_sc_inv(&r, &a);
    out_scalar(&r);

    for (size_t i = 0; i < DOT_LEN; i++) {
        secret_scalar(&va[i]);
        secret_scalar(&vb[i]);
    }
    tss_sc_dot(&r, va, vb, DOT_LEN);
    out_scalar(&r);

    /* Decoders. The strict decoder reveals only accept/reject (it declassifies
     * that bit itself); both outcomes are exercised on secret bytes. */
    randombytes_buf(bytes, sizeof bytes);
    bytes[0] &= 0x7f; /* below n: accepted */
    SECRET(bytes, sizeof bytes);
    tss_result res = tss_sc_from_bytes(&r, bytes, "ctime");
    if (!tss_is_ok(res)) return 0;
    out_scalar(&r);
    memset(bytes, 0xff, sizeof bytes); /* >= n: rejected */
    SECRET(bytes, sizeof bytes);
    if (tss_is_ok(tss_sc_from_bytes(&r, bytes, "ctime"))) return 0;

    randombytes_buf(bytes, sizeof bytes);
    SECRET(bytes, sizeof bytes);
    tss_sc_from_bytes_reduce(&r, bytes);
    out_scalar(&r);
    memset(bytes, 0xff, sizeof bytes);
    SECRET(bytes, sizeof bytes);
    tss_sc_from_bytes_reduce(&r, bytes);
    out_scalar(&r);

    randombytes_buf(wide, sizeof wide);
    SECRET(wide, sizeof wide);
    tss_sc_from_wide(&r, wide);
    out_scalar(&r);

    tss_sc_to_bytes(bytes, &a);
    PUBLIC(bytes, sizeof bytes);
    absorb(bytes, sizeof bytes);

    /* Predicates. */
    out_int(tss_sc_is_zero(&a));
    tss_sc_set_zero(&t);
    SECRET(&t, sizeof t);
    out_int(tss_sc_is_zero(&t));
    out_int(tss_sc_eq(&a, &b));
    out_int(tss_sc_eq(&a, &a));

    /* Selection with a secret flag as well as secret values. */
    for (int f = 0; f <= 1; f++) {
        int flag = f;
        SECRET(&flag, sizeof flag);
        r = a;
        tss_sc_cmov(&r, &b, flag);
        out_scalar(&r);
        tss_sc_select(&r, &a, &b, flag);
        out_scalar(&r);
        tss_scalar x = a, y = b;
        tss_sc_cswap(&x, &y, flag);
        out_scalar(&x);
        out_scalar(&y);
    }

    /* Wiping a secret. */
    t = a;
    tss_sc_wipe(&t, 1);
    out_scalar(&t);
    return 1;
}

/* k*G and k*P on a secret k (libsecp256k1 through mpc/point). */
static int point_ops(void) {
    tss_scalar k, base;
    tss_point p, r;
    secret_scalar(&k);
    /* A public point P = base*G. */
    if (!tss_is_ok(tss_sc_random_nonzero(&base)) || !tss_is_ok(tss_pt_mul_base(&p, &base)))
        return 0;
    tss_result res = tss_pt_mul_base(&r, &k);
    PUBLIC(&res, sizeof res);
    if (!tss_is_ok(res)) return 0;
    PUBLIC(&r, sizeof r);
    absorb(&r, sizeof r);
    res = tss_pt_mul(&r, &p, &k);
    PUBLIC(&res, sizeof res);
    if (!tss_is_ok(res)) return 0;
    PUBLIC(&r, sizeof r);
    absorb(&r, sizeof r);
    return 1;
}

int main(int argc, char **argv) {
    int points = 1;
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--points") != 0)) {
        fprintf(stderr, "usage: %s [--points]\n", argv[0]);
        return 2;
    }
    if (!tss_is_ok(tss_crypto_init())) {
        fprintf(stderr, "ctime_scalar: libsodium initialisation failed\n");
        return 1;
    }
    if (!RUNNING_ON_VALGRIND)
        fprintf(stderr, "ctime_scalar: not under valgrind; this run checks nothing "
                        "(use tests/ctime/run.sh)\n");
    /* Create the secp256k1 context (and its blinding) before any secret exists. */
    if (points && tss_pt_context() == NULL) {
        fprintf(stderr, "ctime_scalar: secp256k1 context creation failed\n");
        return 1;
    }
    if (!scalar_ops()) {
        fprintf(stderr, "ctime_scalar: an operation returned an unexpected result\n");
        return 1;
    }
    if (points && !point_ops()) {
        fprintf(stderr, "ctime_scalar: a point operation failed\n");
        return 1;
    }
    printf("ctime_scalar: done%s (digest %016llx)\n", points ? " with point ops" : "",
           (unsigned long long)g_digest);
    return 0;
}
