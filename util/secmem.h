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
/* Constant-time equality of two n-byte buffers. */
int tss_ct_equal(const void *a, const void *b, size_t n);
/* Disable core dumps and ptrace attach for this process. */
TSS_MUST_CHECK tss_result tss_harden_process(void);

#endif
