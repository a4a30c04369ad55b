/* Loading the CA for issuing certificates and CRLs. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <stdlib.h>
#include <string.h>

#include <wolfssl/wolfcrypt/error-crypt.h>

#include "tls/internal.h"
#include "tls/pki_internal.h"
#include "util/secmem.h"

tss_result tss_tls_pki_to_pem(const uint8_t *der, size_t der_len, int type, uint8_t *out,
                              size_t cap, size_t *out_len) {
    int n = wc_DerToPem(der, (word32)der_len, out, (word32)cap, type);
    TSS_ENSURE(n > 0, TSS_E_CRYPTO, "PEM encoding failed (wolfCrypt %d)", n);
    *out_len = (size_t)n;
    return TSS_OK_RESULT;
}

static tss_result check_key_matches(tss_tls_pki_ca *ca, const char *cert_path,
                                    const char *key_path) {
    WOLFSSL_X509 *x509 = wolfSSL_X509_d2i(NULL, ca->der, (int)ca->der_len);
    TSS_ENSURE(x509 != NULL, TSS_E_INVALID, "%s does not parse", cert_path);
    uint8_t from_cert[256], from_key[256];
    int cert_len = sizeof from_cert;
    int ok = wolfSSL_X509_get_pubkey_buffer(x509, from_cert, &cert_len) == WOLFSSL_SUCCESS;
    int is_ca = wolfSSL_X509_get_isCA(x509);
    wolfSSL_X509_free(x509);
    int key_len = wc_EccPublicKeyToDer(&ca->key, from_key, sizeof from_key, 1);
    TSS_ENSURE(ok && key_len > 0, TSS_E_INVALID, "cannot compare %s with %s", key_path, cert_path);
    TSS_ENSURE(key_len == cert_len && memcmp(from_key, from_cert, (size_t)key_len) == 0,
               TSS_E_INVALID, "CA key %s does not match CA certificate %s", key_path, cert_path);
    TSS_ENSURE(is_ca, TSS_E_INVALID, "%s is not a CA certificate (basicConstraints CA:FALSE)",
               cert_path);
    return TSS_OK_RESULT;
}

static tss_result load(const char *ca_dir, tss_tls_pki_ca *ca) {
    char cert_path[4096], key_path[4096];
    snprintf(cert_path, sizeof cert_path, "%s/ca.pem", ca_dir);
    snprintf(key_path, sizeof key_path, "%s/ca.key", ca_dir);
    TSS_GUARD(tss_tls_read_file(cert_path, "CA certificate", TSS_TLS_MAX_PEM_FILE, &ca->pem,
                                &ca->pem_len));
    int n = wc_CertPemToDer(ca->pem, (int)ca->pem_len, ca->der, sizeof ca->der, CERT_TYPE);
    TSS_ENSURE(n > 0, TSS_E_INVALID, "%s: no PEM certificate (wolfCrypt %d)", cert_path, n);
    ca->der_len = (size_t)n;

    uint8_t *key_pem = NULL;
    size_t key_pem_len = 0;
    TSS_GUARD(tss_tls_read_key_file(key_path, "CA private key", &key_pem, &key_pem_len));
    uint8_t *key_der = tss_secret_alloc(key_pem_len);
    if (!key_der) {
        tss_secret_free(key_pem);
        return tss_fail(TSS_E_NOMEM, "no secure memory for the CA key");
    }
    n = wc_KeyPemToDer(key_pem, (int)key_pem_len, key_der, (int)key_pem_len, NULL);
    tss_secret_free(key_pem);
    tss_result r = TSS_OK_RESULT;
    word32 idx = 0;
    if (n <= 0) {
        r = tss_fail(TSS_E_INVALID, "%s: no PEM private key (wolfCrypt %d)", key_path, n);
    } else if (wc_ecc_init(&ca->key) != 0) {
        r = tss_fail(TSS_E_CRYPTO, "cannot initialise an ECC key");
    } else {
        ca->key_ready = true;
        if (wc_EccPrivateKeyDecode(key_der, &idx, &ca->key, (word32)n) != 0)
            r = tss_fail(TSS_E_INVALID, "%s: not an EC private key", key_path);
    }
    tss_secret_free(key_der);
    TSS_GUARD(r);
    return check_key_matches(ca, cert_path, key_path);
}

tss_result tss_tls_pki_ca_load(const char *ca_dir, tss_tls_pki_ca *ca) {
    memset(ca, 0, sizeof *ca);
    TSS_GUARD(tss_tls_global_init());
    tss_result r = load(ca_dir, ca);
    if (!tss_is_ok(r)) tss_tls_pki_ca_free(ca);
    return r;
}

void tss_tls_pki_ca_free(tss_tls_pki_ca *ca) {
    free(ca->pem);
    ca->pem = NULL;
    if (ca->key_ready) wc_ecc_free(&ca->key);
    ca->key_ready = false;
}
