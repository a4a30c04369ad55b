/* One table from wolfSSL's certificate errors to the reasons an operator reads
 * in the log ("certificate expired"), so every refusal says why. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <stdio.h>

#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "tls/internal.h"

/* wolfSSL reports either its own negative codes or, through its OpenSSL
 * layer, X509_V_ERR_* values; both map here. */
static const struct {
    int code;
    const char *reason;
} reasons[] = {
    {ASN_NO_SIGNER_E, "certificate from an unknown CA"},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, "certificate from an unknown CA"},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "certificate from an unknown CA"},
    {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "certificate from an unknown CA"},
    {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "certificate from an unknown CA"},
    {ASN_SELF_SIGNED_E, "certificate from an unknown CA"},
    {ASN_SIG_CONFIRM_E, "certificate from an unknown CA (signature does not verify)"},
    {X509_V_ERR_CERT_SIGNATURE_FAILURE,
     "certificate from an unknown CA (signature does not verify)"},
    {ASN_AFTER_DATE_E, "certificate expired"},
    {X509_V_ERR_CERT_HAS_EXPIRED, "certificate expired"},
    {ASN_BEFORE_DATE_E, "certificate not yet valid"},
    {X509_V_ERR_CERT_NOT_YET_VALID, "certificate not yet valid"},
    /* wolfSSL 5.5.4 reports a leaf's date errors with these two codes. */
    {X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD, "certificate expired"},
    {X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD, "certificate not yet valid"},
    {CRL_CERT_REVOKED, "certificate revoked"},
    {X509_V_ERR_CERT_REVOKED, "certificate revoked"},
    {CRL_MISSING, "no CRL loaded for the certificate's CA"},
    {CRL_CERT_DATE_ERR, "the CRL is out of date (nextUpdate has passed)"},
    {X509_V_ERR_CRL_HAS_EXPIRED, "the CRL is out of date (nextUpdate has passed)"},
    {X509_V_ERR_CRL_NOT_YET_VALID, "the CRL is not yet valid"},
    {ASN_CRL_CONFIRM_E, "the CRL signature does not verify"},
    {ASN_CRL_NO_SIGNER_E, "the CRL is not signed by a trusted CA"},
    {ASN_PATHLEN_INV_E, "certificate chain violates a CA path length"},
    {ASN_PATHLEN_SIZE_E, "certificate chain violates a CA path length"},
    {ASN_PARSE_E, "certificate does not parse"},
    {X509_V_ERR_CERT_CHAIN_TOO_LONG, "certificate chain too long"},
};

const char *tss_tls_verify_reason_or_null(int err) {
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].code == err) return reasons[i].reason;
    return NULL;
}

void tss_tls_verify_reason(int err, char *out, size_t cap) {
    const char *r = tss_tls_verify_reason_or_null(err);
    if (r) {
        snprintf(out, cap, "%s", r);
        return;
    }
    char text[128];
    wolfSSL_ERR_error_string_n((unsigned long)(long)err, text, sizeof text);
    snprintf(out, cap, "certificate verification failed (wolfSSL error %d: %s)", err, text);
}
