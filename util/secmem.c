#include "util/secmem.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <sodium.h>

tss_result tss_crypto_init(void) {
    TSS_ENSURE(sodium_init() >= 0, TSS_E_CRYPTO, "libsodium initialisation failed");
    return TSS_OK_RESULT;
}

void *tss_secret_alloc(size_t n) { return sodium_malloc(n); }

void tss_secret_free(void *p) {
    if (p) sodium_free(p);
}

void tss_wipe(void *p, size_t n) { sodium_memzero(p, n); }

int tss_ct_equal(const void *a, const void *b, size_t n) { return sodium_memcmp(a, b, n) == 0; }

tss_result tss_harden_process(void) {
    struct rlimit no_core = {0, 0};
    TSS_ENSURE(setrlimit(RLIMIT_CORE, &no_core) == 0, TSS_E_INTERNAL,
               "setrlimit(RLIMIT_CORE): %s", strerror(errno));
    TSS_ENSURE(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0, TSS_E_INTERNAL,
               "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
    return TSS_OK_RESULT;
}
