/* A private CA for tssd, so operators need no other PKI tool (tssctl pki):
 * an ECDSA P-256 CA, leaf certificates carrying a tssd identity, and CRLs.
 *
 * CA directory: ca.pem (certificate) and ca.key (private key, 0600).
 * Leaf directory: cert.pem, key.pem (0600) and a copy of the CA's ca.pem.
 * Existing keys are never overwritten. */
#ifndef TSS_TLS_PKI_H
#define TSS_TLS_PKI_H

#include <stddef.h>
#include <time.h>

#include "tls/certinfo.h"
#include "util/result.h"

#define TSS_TLS_PKI_MAX_DAYS 36500
#define TSS_TLS_PKI_MAX_NAMES 32

/* Self-signed CA (basicConstraints CA:TRUE pathlen 0, keyUsage keyCertSign and
 * cRLSign, subject CN "tssd CA <random hex>") valid for days from now. */
TSS_MUST_CHECK tss_result tss_tls_pki_init_ca(const char *dir, unsigned days);

/* A leaf for identity_urn signed by the CA in ca_dir: SAN URI = the URN plus
 * the DNS names and IP addresses given, keyUsage digitalSignature,
 * extendedKeyUsage serverAuth+clientAuth, random 16-byte serial, valid from a
 * few minutes ago for days. */
TSS_MUST_CHECK tss_result tss_tls_pki_issue(const char *ca_dir, const char *identity_urn,
                                            const char *out_dir, const char *const *dns,
                                            size_t n_dns, const char *const *ips, size_t n_ips,
                                            unsigned days);

typedef struct {
    const char *const *dns;
    size_t n_dns;
    const char *const *ips;
    size_t n_ips;
    unsigned days;
    /* Both nonzero: exact validity instead of days (tests: expired or
     * not-yet-valid certificates). */
    time_t not_before, not_after;
    /* Tests only: these SAN URIs verbatim instead of identity_urn (which may
     * then be NULL), to build certificates with no, several or malformed
     * identities. */
    const char *const *raw_uris;
    size_t n_raw_uris;
} tss_tls_pki_issue_opts;

TSS_MUST_CHECK tss_result tss_tls_pki_issue_ex(const char *ca_dir, const char *identity_urn,
                                               const char *out_dir,
                                               const tss_tls_pki_issue_opts *opts);

/* A CRL signed by the CA in ca_dir revoking the given serials (n may be 0),
 * thisUpdate now, nextUpdate in days; written as PEM to out_path (replaced). */
TSS_MUST_CHECK tss_result tss_tls_pki_make_crl(const char *ca_dir, const tss_tls_serial *revoked,
                                               size_t n_revoked, unsigned days,
                                               const char *out_path);

#endif
