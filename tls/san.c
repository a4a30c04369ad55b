/* Identity from a certificate's subjectAltName URIs, through wolfSSL's X509
 * API. Only URIs claiming "urn:tssd:" count; a certificate may carry other
 * URIs, DNS names and IP addresses for other tools. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <string.h>

#include "tls/internal.h"

/* GENERAL_NAME types (RFC 5280 tags), as wolfSSL's GEN_* values. */
#define SAN_TYPE_URI 6

tss_result tss_tls_identity_from_x509(WOLFSSL_X509 *x509, tss_tls_identity *out) {
    WOLFSSL_STACK *names = wolfSSL_X509_get_ext_d2i(x509, NID_subject_alt_name, NULL, NULL);
    TSS_ENSURE(names != NULL, TSS_E_INVALID,
               "certificate has no subjectAltName, so no tssd identity (urn:tssd:...)");
    tss_result r = TSS_OK_RESULT;
    int found = 0;
    tss_tls_identity id;
    memset(&id, 0, sizeof id);
    int n = wolfSSL_sk_GENERAL_NAME_num(names);
    for (int i = 0; i < n && tss_is_ok(r); i++) {
        WOLFSSL_GENERAL_NAME *gn = wolfSSL_sk_GENERAL_NAME_value(names, i);
        if (!gn || gn->type != SAN_TYPE_URI || !gn->d.uniformResourceIdentifier) continue;
        WOLFSSL_ASN1_STRING *s = gn->d.uniformResourceIdentifier;
        const char *text = (const char *)wolfSSL_ASN1_STRING_get0_data(s);
        int len = wolfSSL_ASN1_STRING_length(s);
        if (!text || len <= 0 || !tss_tls_urn_is_tssd(text, (size_t)len)) continue;
        if (++found > 1) {
            r = tss_fail(TSS_E_INVALID, "certificate carries more than one tssd identity");
            break;
        }
        r = tss_tls_identity_parse(text, (size_t)len, &id);
    }
    wolfSSL_sk_GENERAL_NAME_pop_free(names, wolfSSL_GENERAL_NAME_free);
    TSS_GUARD(r);
    TSS_ENSURE(found == 1, TSS_E_INVALID,
               "certificate has no tssd identity (a SAN URI urn:tssd:...)");
    *out = id;
    return TSS_OK_RESULT;
}

tss_result tss_tls_identity_from_der(const uint8_t *der, size_t len, tss_tls_identity *out) {
    TSS_ENSURE(len > 0 && len <= TSS_TLS_MAX_PEM_FILE, TSS_E_INVALID,
               "certificate DER of %zu bytes", len);
    TSS_GUARD(tss_tls_global_init());
    WOLFSSL_X509 *x509 = wolfSSL_X509_d2i(NULL, der, (int)len);
    TSS_ENSURE(x509 != NULL, TSS_E_INVALID, "certificate does not parse as DER X.509");
    tss_result r = tss_tls_identity_from_x509(x509, out);
    wolfSSL_X509_free(x509);
    return r;
}
