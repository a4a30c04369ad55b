#include "eth/keccak.h"

#include <string.h>

/* options.h first: it carries the build configuration of the installed library. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha3.h>

#if !defined(WOLFSSL_SHA3) || !defined(WOLFSSL_HASH_FLAGS)
#error "wolfSSL must be built with SHA-3 and hash flags for Keccak-256"
#endif

tss_result tss_keccak256_chunks(uint8_t out[TSS_KECCAK256_LEN], const tss_keccak_chunk *chunks,
                                size_t n) {
    wc_Sha3 s;
    int rc = wc_InitSha3_256(&s, NULL, INVALID_DEVID);
    if (rc != 0) return tss_fail(TSS_E_CRYPTO, "keccak256: wc_InitSha3_256 failed (%d)", rc);
    /* Without this flag wolfSSL computes SHA3-256, a different hash. */
    rc = wc_Sha3_SetFlags(&s, WC_HASH_SHA3_KECCAK256);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const uint8_t *p = chunks[i].data;
        size_t left = chunks[i].len;
        /* wolfSSL takes word32 lengths; feed larger inputs in pieces. */
        while (rc == 0 && left > 0) {
            word32 step = left > 0x40000000u ? 0x40000000u : (word32)left;
            rc = wc_Sha3_256_Update(&s, p, step);
            p += step;
            left -= step;
        }
    }
    if (rc == 0) rc = wc_Sha3_256_Final(&s, out);
    wc_Sha3_256_Free(&s);
    if (rc != 0) {
        memset(out, 0, TSS_KECCAK256_LEN);
        return tss_fail(TSS_E_CRYPTO, "keccak256: wolfSSL SHA-3 failed (%d)", rc);
    }
    return TSS_OK_RESULT;
}

tss_result tss_keccak256(uint8_t out[TSS_KECCAK256_LEN], const void *data, size_t len) {
    tss_keccak_chunk c = {data, len};
    return tss_keccak256_chunks(out, &c, 1);
}
