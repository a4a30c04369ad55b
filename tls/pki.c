/* CA and leaf certificate generation with wolfCrypt's certificate API. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/wolfcrypt/error-crypt.h>

#include "tls/internal.h"
#include "tls/pki.h"
#include "tls/pki_internal.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/secmem.h"

#define CERT_DER_MAX 4096
#define PEM_MAX 8192
/* Backdating covers clock skew between the issuing host and the daemons. */
#define BACKDATE_SECONDS (5 * 60)

typedef struct {
    WC_RNG rng;
    bool rng_ready;
    ecc_key key; /* the subject's new key */
    bool key_ready;
    Cert *cert;
} gen_state;

static void gen_free(gen_state *g) {
    if (g->cert) wc_CertFree(g->cert);
    if (g->key_ready) wc_ecc_free(&g->key);
    if (g->rng_ready) wc_FreeRng(&g->rng);
    memset(g, 0, sizeof *g);
}

static tss_result gen_init(gen_state *g) {
    memset(g, 0, sizeof *g);
    TSS_GUARD(tss_tls_global_init());
    TSS_ENSURE(wc_InitRng(&g->rng) == 0, TSS_E_CRYPTO, "cannot initialise wolfCrypt's RNG");
    g->rng_ready = true;
    TSS_ENSURE(wc_ecc_init(&g->key) == 0, TSS_E_CRYPTO, "cannot initialise an ECC key");
    g->key_ready = true;
    int rc = wc_ecc_make_key_ex(&g->rng, 32, &g->key, ECC_SECP256R1);
    TSS_ENSURE(rc == 0, TSS_E_CRYPTO, "P-256 key generation failed (wolfCrypt %d)", rc);
    g->cert = wc_CertNew(NULL);
    TSS_ENSURE(g->cert != NULL, TSS_E_NOMEM, "no memory for a certificate");
    Cert *c = g->cert;
    c->sigType = CTC_SHA256wECDSA;
    c->version = 2; /* X.509 v3 */
    /* Random positive 16-byte serial (RFC 5280 wants unpredictable serials). */
    TSS_ENSURE(wc_RNG_GenerateBlock(&g->rng, c->serial, 16) == 0, TSS_E_CRYPTO,
               "RNG failure for the serial number");
    c->serial[0] = (uint8_t)((c->serial[0] & 0x7f) | 0x40);
    c->serialSz = 16;
    strncpy(c->subject.org, "tssd", CTC_NAME_SIZE - 1);
    rc = wc_SetSubjectKeyIdFromPublicKey_ex(c, ECC_TYPE, &g->key);
    TSS_ENSURE(rc == 0, TSS_E_CRYPTO, "subjectKeyIdentifier failed (wolfCrypt %d)", rc);
    return TSS_OK_RESULT;
}

static tss_result set_validity(Cert *c, unsigned days, time_t not_before, time_t not_after) {
    if (!(not_before && not_after)) {
        TSS_ENSURE(days >= 1 && days <= TSS_TLS_PKI_MAX_DAYS, TSS_E_USAGE,
                   "validity of %u days is outside 1..%d", days, TSS_TLS_PKI_MAX_DAYS);
        time_t now = time(NULL);
        not_before = now - BACKDATE_SECONDS;
        not_after = now + (time_t)days * 86400;
    }
    TSS_ENSURE(not_before < not_after, TSS_E_USAGE, "notBefore must precede notAfter");
    c->beforeDateSz = (int)tss_tls_der_time(c->beforeDate, not_before);
    c->afterDateSz = (int)tss_tls_der_time(c->afterDate, not_after);
    return TSS_OK_RESULT;
}

/* Make the TBS with the subject key, then sign it with signer. */
static tss_result make_signed(gen_state *g, ecc_key *signer, uint8_t *der, size_t *der_len) {
    int rc = wc_MakeCert_ex(g->cert, der, CERT_DER_MAX, ECC_TYPE, &g->key, &g->rng);
    TSS_ENSURE(rc > 0, TSS_E_CRYPTO, "certificate encoding failed (wolfCrypt %d)", rc);
    rc = wc_SignCert_ex(g->cert->bodySz, g->cert->sigType, der, CERT_DER_MAX, ECC_TYPE, signer,
                        &g->rng);
    TSS_ENSURE(rc > 0, TSS_E_CRYPTO, "certificate signing failed (wolfCrypt %d)", rc);
    *der_len = (size_t)rc;
    return TSS_OK_RESULT;
}

/* The new private key as PEM in secret memory. */
static tss_result key_pem(gen_state *g, uint8_t **pem, size_t *pem_len) {
    uint8_t *der = tss_secret_alloc(512);
    uint8_t *out = tss_secret_alloc(1024);
    tss_result r = TSS_OK_RESULT;
    int n = der && out ? wc_EccKeyToDer(&g->key, der, 512) : -1;
    if (n <= 0)
        r = tss_fail(TSS_E_CRYPTO, "private key encoding failed (wolfCrypt %d)", n);
    else
        r = tss_tls_pki_to_pem(der, (size_t)n, ECC_PRIVATEKEY_TYPE, out, 1024, pem_len);
    tss_secret_free(der);
    if (!tss_is_ok(r)) {
        tss_secret_free(out);
        return r;
    }
    *pem = out;
    return TSS_OK_RESULT;
}

static tss_result write_key_and_cert(gen_state *g, const char *dir, const char *key_name,
                                     const char *cert_name, const uint8_t *der, size_t der_len) {
    uint8_t pem[PEM_MAX];
    size_t pem_len;
    TSS_GUARD(tss_tls_pki_to_pem(der, der_len, CERT_TYPE, pem, sizeof pem, &pem_len));
    uint8_t *kpem = NULL;
    size_t kpem_len = 0;
    TSS_GUARD(key_pem(g, &kpem, &kpem_len));
    /* Key first: if it cannot be created exclusively, nothing is replaced. */
    tss_result r = tss_tls_pki_write_file(dir, key_name, kpem, kpem_len, 0600, false);
    tss_secret_free(kpem);
    TSS_GUARD(r);
    return tss_tls_pki_write_file(dir, cert_name, pem, pem_len, 0644, true);
}

tss_result tss_tls_pki_init_ca(const char *dir, unsigned days) {
    TSS_GUARD(tss_tls_pki_ensure_dir(dir));
    TSS_GUARD(tss_tls_pki_refuse_existing(dir, "ca.key"));
    gen_state g;
    tss_result r = gen_init(&g);
    if (tss_is_ok(r)) r = set_validity(g.cert, days, 0, 0);
    if (tss_is_ok(r)) {
        Cert *c = g.cert;
        uint8_t rnd[8] = {0};
        char hex[17];
        if (wc_RNG_GenerateBlock(&g.rng, rnd, sizeof rnd) != 0)
            r = tss_fail(TSS_E_CRYPTO, "RNG failure");
        tss_hex_encode(hex, rnd, sizeof rnd);
        snprintf(c->subject.commonName, CTC_NAME_SIZE, "tssd CA %s", hex);
        c->selfSigned = 1;
        c->isCA = 1;
        c->pathLen = 0; /* this CA signs leaves only */
        c->pathLenSet = 1;
        c->basicConstSet = 1;
        if (tss_is_ok(r) && wc_SetKeyUsage(c, "keyCertSign,cRLSign") != 0)
            r = tss_fail(TSS_E_CRYPTO, "cannot set keyUsage");
        if (tss_is_ok(r) && wc_SetAuthKeyIdFromPublicKey_ex(c, ECC_TYPE, &g.key) != 0)
            r = tss_fail(TSS_E_CRYPTO, "cannot set authorityKeyIdentifier");
    }
    uint8_t der[CERT_DER_MAX];
    size_t der_len = 0;
    if (tss_is_ok(r)) r = make_signed(&g, &g.key, der, &der_len);
    if (tss_is_ok(r)) r = write_key_and_cert(&g, dir, "ca.key", "ca.pem", der, der_len);
    gen_free(&g);
    if (tss_is_ok(r)) tss_log(LOG_INFO, "pki: created CA in %s valid for %u days", dir, days);
    return r;
}

/* ---- leaf certificates ------------------------------------------------------ */

static tss_result check_dns_name(const char *s) {
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 253;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
             (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.' || s[i] == '*';
    char shown[80];
    tss_tls_sanitize(shown, sizeof shown, s, n);
    TSS_ENSURE(ok, TSS_E_USAGE, "\"%s\" is not a DNS name", shown);
    return TSS_OK_RESULT;
}

/* GeneralNames: URIs [6], DNS names [2], IP addresses [7] (RFC 5280 4.2.1.6). */
static tss_result build_san(Cert *c, const char *const *uris, size_t n_uris,
                            const tss_tls_pki_issue_opts *o) {
    TSS_ENSURE(n_uris + o->n_dns + o->n_ips <= TSS_TLS_PKI_MAX_NAMES, TSS_E_USAGE,
               "at most %d subject alternative names", TSS_TLS_PKI_MAX_NAMES);
    uint8_t inner[CTC_MAX_ALT_SIZE - 8];
    tss_tls_der d;
    tss_tls_der_init(&d, inner, sizeof inner);
    for (size_t i = 0; i < n_uris; i++) tss_tls_der_tlv(&d, 0x86, uris[i], strlen(uris[i]));
    for (size_t i = 0; i < o->n_dns; i++) {
        TSS_GUARD(check_dns_name(o->dns[i]));
        tss_tls_der_tlv(&d, 0x82, o->dns[i], strlen(o->dns[i]));
    }
    for (size_t i = 0; i < o->n_ips; i++) {
        uint8_t addr[16];
        if (inet_pton(AF_INET, o->ips[i], addr) == 1)
            tss_tls_der_tlv(&d, 0x87, addr, 4);
        else if (inet_pton(AF_INET6, o->ips[i], addr) == 1)
            tss_tls_der_tlv(&d, 0x87, addr, 16);
        else
            return tss_fail(TSS_E_USAGE, "\"%.64s\" is not an IPv4 or IPv6 address", o->ips[i]);
    }
    TSS_GUARD(tss_tls_der_ok(&d, "subjectAltName"));
    tss_tls_der out;
    tss_tls_der_init(&out, c->altNames, sizeof c->altNames);
    tss_tls_der_tlv(&out, DER_SEQUENCE, inner, d.len);
    TSS_GUARD(tss_tls_der_ok(&out, "subjectAltName"));
    c->altNamesSz = (int)out.len;
    return TSS_OK_RESULT;
}

static tss_result leaf_fields(gen_state *g, tss_tls_pki_ca *ca, const char *urn,
                              const tss_tls_pki_issue_opts *o) {
    Cert *c = g->cert;
    const char *const *uris = o->n_raw_uris ? o->raw_uris : &urn;
    size_t n_uris = o->n_raw_uris ? o->n_raw_uris : 1;
    TSS_GUARD(build_san(c, uris, n_uris, o));
    TSS_GUARD(set_validity(c, o->days, o->not_before, o->not_after));
    /* CN is informational (identity comes from the SAN); it must fit 63 bytes. */
    snprintf(c->subject.commonName, CTC_NAME_SIZE, "%s", urn ? urn : "tssd test certificate");
    c->selfSigned = 0;
    c->isCA = 0;
    int rc = wc_SetIssuerBuffer(c, ca->der, (int)ca->der_len);
    TSS_ENSURE(rc == 0, TSS_E_INVALID, "CA certificate unusable as issuer (wolfCrypt %d)", rc);
    TSS_ENSURE(wc_SetAuthKeyIdFromCert(c, ca->der, (int)ca->der_len) == 0, TSS_E_INVALID,
               "CA certificate has no usable subjectKeyIdentifier");
    TSS_ENSURE(wc_SetKeyUsage(c, "digitalSignature") == 0, TSS_E_CRYPTO, "cannot set keyUsage");
    TSS_ENSURE(wc_SetExtKeyUsage(c, "serverAuth,clientAuth") == 0, TSS_E_CRYPTO,
               "cannot set extendedKeyUsage");
    return TSS_OK_RESULT;
}

tss_result tss_tls_pki_issue_ex(const char *ca_dir, const char *identity_urn, const char *out_dir,
                                const tss_tls_pki_issue_opts *opts) {
    if (!opts->n_raw_uris) {
        TSS_ENSURE(identity_urn, TSS_E_USAGE, "no identity given");
        tss_tls_identity id;
        TSS_GUARD(tss_tls_identity_parse(identity_urn, strlen(identity_urn), &id));
    }
    tss_tls_pki_ca ca;
    TSS_GUARD(tss_tls_pki_ca_load(ca_dir, &ca));
    tss_result r = tss_tls_pki_ensure_dir(out_dir);
    if (tss_is_ok(r)) r = tss_tls_pki_refuse_existing(out_dir, "key.pem");
    gen_state g;
    memset(&g, 0, sizeof g);
    if (tss_is_ok(r)) r = gen_init(&g);
    if (tss_is_ok(r)) r = leaf_fields(&g, &ca, identity_urn, opts);
    uint8_t der[CERT_DER_MAX];
    size_t der_len = 0;
    if (tss_is_ok(r)) r = make_signed(&g, &ca.key, der, &der_len);
    if (tss_is_ok(r)) r = write_key_and_cert(&g, out_dir, "key.pem", "cert.pem", der, der_len);
    if (tss_is_ok(r)) r = tss_tls_pki_write_file(out_dir, "ca.pem", ca.pem, ca.pem_len, 0644, true);
    gen_free(&g);
    tss_tls_pki_ca_free(&ca);
    if (tss_is_ok(r))
        tss_log(LOG_INFO, "pki: issued %s into %s", identity_urn ? identity_urn : "(raw URIs)",
                out_dir);
    return r;
}

tss_result tss_tls_pki_issue(const char *ca_dir, const char *identity_urn, const char *out_dir,
                             const char *const *dns, size_t n_dns, const char *const *ips,
                             size_t n_ips, unsigned days) {
    tss_tls_pki_issue_opts o;
    memset(&o, 0, sizeof o);
    o.dns = dns;
    o.n_dns = n_dns;
    o.ips = ips;
    o.n_ips = n_ips;
    o.days = days;
    return tss_tls_pki_issue_ex(ca_dir, identity_urn, out_dir, &o);
}
