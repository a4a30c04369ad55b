#include "util/secmem.h"

#include <errno.h>
#include <pthread.h>
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

static struct {
    void *p;
    size_t n;
} g_pool[TSS_SECRET_POOL_SLOTS];
static pthread_mutex_t g_pool_lock = PTHREAD_MUTEX_INITIALIZER;

void *tss_secret_pool_get(size_t n) {
    void *p = NULL;
    pthread_mutex_lock(&g_pool_lock);
    for (int i = 0; i < TSS_SECRET_POOL_SLOTS && !p; i++)
        if (g_pool[i].p && g_pool[i].n == n) {
            p = g_pool[i].p;
            g_pool[i].p = NULL;
        }
    pthread_mutex_unlock(&g_pool_lock);
    if (p) return p; /* wiped on put */
    p = tss_secret_alloc(n);
    if (p) memset(p, 0, n);
    return p;
}

void tss_secret_pool_put(void *p, size_t n) {
    if (!p) return;
    tss_wipe(p, n);
    if (n <= TSS_SECRET_POOL_MAX_BYTES) {
        pthread_mutex_lock(&g_pool_lock);
        for (int i = 0; i < TSS_SECRET_POOL_SLOTS && p; i++)
            if (!g_pool[i].p) {
                g_pool[i].p = p;
                g_pool[i].n = n;
                p = NULL;
            }
        pthread_mutex_unlock(&g_pool_lock);
    }
    tss_secret_free(p); /* NULL if kept */
}

int tss_ct_equal(const void *a, const void *b, size_t n) { return sodium_memcmp(a, b, n) == 0; }

tss_result tss_harden_process(void) {
    struct rlimit no_core = {0, 0};
    TSS_ENSURE(setrlimit(RLIMIT_CORE, &no_core) == 0, TSS_E_INTERNAL,
               "setrlimit(RLIMIT_CORE): %s", strerror(errno));
    TSS_ENSURE(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0, TSS_E_INTERNAL,
               "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
    return TSS_OK_RESULT;
}
