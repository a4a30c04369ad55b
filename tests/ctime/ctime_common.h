/* Shared by the constant-time check programs (tests/ctime/ctime_*.c): the
 * SECRET/PUBLIC markers and a libsodium randombytes implementation whose
 * output is secret (undefined for memcheck) once g_track is set, so that
 * everything the library samples is tracked without a test seam. */
#ifndef TSS_TESTS_CTIME_COMMON_H
#define TSS_TESTS_CTIME_COMMON_H

#include <stdint.h>

#include <sodium.h>
#include <valgrind/memcheck.h>

#define SECRET(p, len) VALGRIND_MAKE_MEM_UNDEFINED((p), (len))
#define PUBLIC(p, len) VALGRIND_MAKE_MEM_DEFINED((p), (len))

static int g_track;

static const char *rb_name(void) { return "ctime-undefined"; }

static uint32_t rb_random(void) {
    uint32_t v = randombytes_sysrandom_implementation.random();
    if (g_track) SECRET(&v, sizeof v);
    return v;
}

static void rb_stir(void) { randombytes_sysrandom_implementation.stir(); }

static void rb_buf(void *const buf, const size_t size) {
    randombytes_sysrandom_implementation.buf(buf, size);
    if (g_track) SECRET(buf, size);
}

static int rb_close(void) { return randombytes_sysrandom_implementation.close(); }

static randombytes_implementation rb_impl = {
    .implementation_name = rb_name,
    .random = rb_random,
    .stir = rb_stir,
    .uniform = NULL,
    .buf = rb_buf,
    .close = rb_close,
};

/* Install before libsodium starts (tss_crypto_init); 0 on success. */
static inline int ctime_install_rng(void) { return randombytes_set_implementation(&rb_impl); }

/* Random bytes the test itself treats as public (sids, digests). */
static inline void public_random(void *p, size_t n) {
    randombytes_buf(p, n);
    PUBLIC(p, n);
}

#endif
