/* Secret memory: guarded, locked sodium_malloc pages, wiped on free.
 * tss_crypto_init() must run once before any of it (it is idempotent). */
#ifndef TSS_UTIL_SECMEM_H
#define TSS_UTIL_SECMEM_H

#include <stddef.h>

#include "util/result.h"

TSS_MUST_CHECK tss_result tss_crypto_init(void);
/* NULL on failure; the caller reports TSS_E_NOMEM. */
void *tss_secret_alloc(size_t n);
/* Wipes and frees; NULL is fine. */
void tss_secret_free(void *p);
void tss_wipe(void *p, size_t n);

/* A small pool of secret-memory blocks (tss_secret_alloc), for scratch that
 * is needed per session or per run: sodium_malloc costs several system calls
 * (mmap, mprotect, mlock) and ~45 us. get returns a zeroed block of exactly n
 * bytes (a kept block of that size, else a fresh one), or NULL. put wipes the
 * block and keeps it (up to TSS_SECRET_POOL_SLOTS blocks of at most
 * TSS_SECRET_POOL_MAX_BYTES each), else frees it; NULL is fine. Thread-safe. */
#define TSS_SECRET_POOL_SLOTS 16
#define TSS_SECRET_POOL_MAX_BYTES ((size_t)1 << 20)
void *tss_secret_pool_get(size_t n);
void tss_secret_pool_put(void *p, size_t n);
/* Constant-time equality of two n-byte buffers. */
int tss_ct_equal(const void *a, const void *b, size_t n);
/* Disable core dumps and ptrace attach for this process. */
TSS_MUST_CHECK tss_result tss_harden_process(void);

#endif
