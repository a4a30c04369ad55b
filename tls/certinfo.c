/* Fingerprint, serial and validity of a certificate for logs and status. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/wolfcrypt/sha256.h>

#include "tls/internal.h"
#include "util/hex.h"

static tss_result asn1_time(const WOLFSSL_ASN1_TIME *t, const char *what, time_t *out, char *iso,
                            size_t iso_cap) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    TSS_ENSURE(t && wolfSSL_ASN1_TIME_to_tm(t, &tm) == WOLFSSL_SUCCESS, TSS_E_INVALID,
               "certificate %s does not parse", what);
    *out = timegm(&tm);
    strftime(iso, iso_cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return TSS_OK_RESULT;
}

tss_result tss_tls_certinfo_from_x509(WOLFSSL_X509 *x509, tss_tls_cert_info *out) {
    tss_tls_cert_info info;
    memset(&info, 0, sizeof info);
    int der_len = 0;
    const unsigned char *der = wolfSSL_X509_get_der(x509, &der_len);
    TSS_ENSURE(der && der_len > 0, TSS_E_INVALID, "certificate has no DER encoding");
    uint8_t digest[WC_SHA256_DIGEST_SIZE];
    TSS_ENSURE(wc_Sha256Hash(der, (word32)der_len, digest) == 0, TSS_E_CRYPTO,
               "SHA-256 of the certificate failed");
    tss_hex_encode(info.fingerprint, digest, sizeof digest);
    int serial_len = (int)sizeof info.serial.bytes;
    TSS_ENSURE(wolfSSL_X509_get_serial_number(x509, info.serial.bytes, &serial_len) ==
                       WOLFSSL_SUCCESS &&
                   serial_len > 0 && serial_len <= TSS_TLS_SERIAL_MAX,
               TSS_E_INVALID, "certificate serial number missing or longer than %d bytes",
               TSS_TLS_SERIAL_MAX);
    info.serial.len = (size_t)serial_len;
    tss_hex_encode(info.serial_hex, info.serial.bytes, info.serial.len);
    TSS_GUARD(asn1_time(wolfSSL_X509_get_notBefore(x509), "notBefore", &info.not_before,
                        info.not_before_iso, sizeof info.not_before_iso));
    TSS_GUARD(asn1_time(wolfSSL_X509_get_notAfter(x509), "notAfter", &info.not_after,
                        info.not_after_iso, sizeof info.not_after_iso));
    /* Informational: a certificate without (or with a bad) identity still has
     * a fingerprint worth logging; callers that need the identity check it. */
    if (!tss_is_ok(tss_tls_identity_from_x509(x509, &info.identity)))
        memset(&info.identity, 0, sizeof info.identity);
    *out = info;
    return TSS_OK_RESULT;
}

tss_result tss_tls_cert_info_from_der(const uint8_t *der, size_t len, tss_tls_cert_info *out) {
    TSS_ENSURE(len > 0 && len <= TSS_TLS_MAX_PEM_FILE, TSS_E_INVALID,
               "certificate DER of %zu bytes", len);
    TSS_GUARD(tss_tls_global_init());
    WOLFSSL_X509 *x509 = wolfSSL_X509_d2i(NULL, der, (int)len);
    TSS_ENSURE(x509 != NULL, TSS_E_INVALID, "certificate does not parse as DER X.509");
    tss_result r = tss_tls_certinfo_from_x509(x509, out);
    wolfSSL_X509_free(x509);
    return r;
}

tss_result tss_tls_cert_info_from_file(const char *pem_path, tss_tls_cert_info *out) {
    TSS_GUARD(tss_tls_global_init());
    uint8_t *pem = NULL;
    size_t pem_len = 0;
    TSS_GUARD(tss_tls_read_file(pem_path, "certificate", TSS_TLS_MAX_PEM_FILE, &pem, &pem_len));
    WOLFSSL_X509 *x509 =
        wolfSSL_X509_load_certificate_buffer(pem, (int)pem_len, WOLFSSL_FILETYPE_PEM);
    free(pem);
    TSS_ENSURE(x509 != NULL, TSS_E_INVALID, "%s: no PEM certificate could be parsed", pem_path);
    tss_result r = tss_tls_certinfo_from_x509(x509, out);
    wolfSSL_X509_free(x509);
    return tss_tls_wrap(r, pem_path);
}

long tss_tls_cert_days_left(const tss_tls_cert_info *info, time_t now) {
    double secs = difftime(info->not_after, now);
    long days = (long)(secs / 86400.0);
    if (secs < 0 && (double)days * 86400.0 != secs) days--; /* floor */
    return days;
}
