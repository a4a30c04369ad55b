/* CRLs. wolfSSL 5.5.4 parses CRLs but cannot generate them, so we encode the
 * TBSCertList (RFC 5280 5.1) ourselves and let wc_SignCert_ex sign it: it
 * signs any to-be-signed structure and appends algorithm and signature. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/wolfcrypt/error-crypt.h>

#include "tls/internal.h"
#include "tls/pki.h"
#include "tls/pki_internal.h"
#include "util/log.h"

#define CRL_DER_MAX 65536
#define TSS_TLS_CRL_MAX_REVOKED 1000

/* ecdsa-with-SHA256 AlgorithmIdentifier (RFC 5758: parameters absent). */
static const uint8_t ALG_ECDSA_SHA256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                           0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t OID_CRL_NUMBER[] = {0x55, 0x1d, 0x14};
static const uint8_t OID_AUTHORITY_KEY_ID[] = {0x55, 0x1d, 0x23};

static void put_time(tss_tls_der *d, time_t t) {
    uint8_t buf[17];
    tss_tls_der_raw(d, buf, tss_tls_der_time(buf, t));
}

static void put_extension(tss_tls_der *d, const uint8_t *oid, size_t oid_len, const uint8_t *value,
                          size_t value_len) {
    uint8_t buf[256];
    tss_tls_der e;
    tss_tls_der_init(&e, buf, sizeof buf);
    tss_tls_der_tlv(&e, DER_OID, oid, oid_len);
    tss_tls_der_tlv(&e, DER_OCTET_STRING, value, value_len);
    if (e.overflow) d->overflow = true;
    tss_tls_der_tlv(d, DER_SEQUENCE, buf, e.len);
}

/* crlNumber (increasing: the issue time) and authorityKeyIdentifier. */
static tss_result put_extensions(tss_tls_der *d, const tss_tls_pki_ca *ca, time_t now) {
    WOLFSSL_X509 *x509 = wolfSSL_X509_d2i(NULL, ca->der, (int)ca->der_len);
    TSS_ENSURE(x509 != NULL, TSS_E_INVALID, "CA certificate does not parse");
    uint8_t skid[64];
    int skid_len = sizeof skid;
    bool have_skid = wolfSSL_X509_get_subjectKeyID(x509, skid, &skid_len) != NULL && skid_len > 0 &&
                     skid_len <= 64;
    wolfSSL_X509_free(x509);

    uint8_t exts_buf[512], tmp[128];
    tss_tls_der exts, t;
    tss_tls_der_init(&exts, exts_buf, sizeof exts_buf);
    uint8_t number[8];
    for (int i = 0; i < 8; i++) number[i] = (uint8_t)((uint64_t)now >> (56 - 8 * i));
    tss_tls_der_init(&t, tmp, sizeof tmp);
    tss_tls_der_uint(&t, number, sizeof number);
    put_extension(&exts, OID_CRL_NUMBER, sizeof OID_CRL_NUMBER, tmp, t.len);
    if (have_skid) {
        uint8_t kid[80];
        tss_tls_der k;
        tss_tls_der_init(&k, kid, sizeof kid);
        tss_tls_der_tlv(&k, 0x80, skid, (size_t)skid_len); /* [0] keyIdentifier */
        tss_tls_der_init(&t, tmp, sizeof tmp);
        tss_tls_der_tlv(&t, DER_SEQUENCE, kid, k.len);
        put_extension(&exts, OID_AUTHORITY_KEY_ID, sizeof OID_AUTHORITY_KEY_ID, tmp, t.len);
    }
    uint8_t seq[600];
    tss_tls_der s;
    tss_tls_der_init(&s, seq, sizeof seq);
    tss_tls_der_tlv(&s, DER_SEQUENCE, exts_buf, exts.len);
    tss_tls_der_tlv(d, 0xa0, seq, s.len); /* [0] EXPLICIT crlExtensions */
    return tss_tls_der_ok(&s, "CRL extensions");
}

typedef struct {
    uint8_t body[CRL_DER_MAX], list[CRL_DER_MAX];
    uint8_t der[CRL_DER_MAX + 256], pem[2 * CRL_DER_MAX];
} crl_scratch;

static tss_result build_tbs(const tss_tls_pki_ca *ca, const tss_tls_serial *revoked, size_t n,
                            unsigned days, crl_scratch *s, size_t *out_len) {
    uint8_t *body_buf = s->body, *list_buf = s->list;
    const uint8_t *subject;
    size_t subject_len;
    TSS_GUARD(tss_tls_der_cert_subject(ca->der, ca->der_len, &subject, &subject_len));
    time_t now = time(NULL);
    tss_tls_der body, list;
    tss_tls_der_init(&body, body_buf, CRL_DER_MAX);
    uint8_t v2 = 1;
    tss_tls_der_tlv(&body, DER_INTEGER, &v2, 1);
    tss_tls_der_raw(&body, ALG_ECDSA_SHA256, sizeof ALG_ECDSA_SHA256);
    tss_tls_der_raw(&body, subject, subject_len); /* issuer = CA subject, byte for byte */
    put_time(&body, now - 60);
    put_time(&body, now + (time_t)days * 86400);
    if (n) {
        tss_tls_der_init(&list, list_buf, CRL_DER_MAX);
        for (size_t i = 0; i < n; i++) {
            uint8_t entry[64];
            tss_tls_der e;
            tss_tls_der_init(&e, entry, sizeof entry);
            TSS_ENSURE(revoked[i].len >= 1 && revoked[i].len <= TSS_TLS_SERIAL_MAX, TSS_E_USAGE,
                       "revoked serial #%zu has %zu bytes (1..%d)", i + 1, revoked[i].len,
                       TSS_TLS_SERIAL_MAX);
            tss_tls_der_uint(&e, revoked[i].bytes, revoked[i].len);
            put_time(&e, now - 60);
            tss_tls_der_tlv(&list, DER_SEQUENCE, entry, e.len);
        }
        TSS_GUARD(tss_tls_der_ok(&list, "revoked list"));
        tss_tls_der_tlv(&body, DER_SEQUENCE, list_buf, list.len);
    }
    TSS_GUARD(put_extensions(&body, ca, now));
    TSS_GUARD(tss_tls_der_ok(&body, "CRL"));
    tss_tls_der tbs;
    tss_tls_der_init(&tbs, s->der, CRL_DER_MAX);
    tss_tls_der_tlv(&tbs, DER_SEQUENCE, body_buf, body.len);
    TSS_GUARD(tss_tls_der_ok(&tbs, "CRL"));
    *out_len = tbs.len;
    return TSS_OK_RESULT;
}

tss_result tss_tls_pki_make_crl(const char *ca_dir, const tss_tls_serial *revoked, size_t n_revoked,
                                unsigned days, const char *out_path) {
    TSS_ENSURE(days >= 1 && days <= TSS_TLS_PKI_MAX_DAYS, TSS_E_USAGE,
               "CRL validity of %u days is outside 1..%d", days, TSS_TLS_PKI_MAX_DAYS);
    TSS_ENSURE(n_revoked <= TSS_TLS_CRL_MAX_REVOKED, TSS_E_TOO_LARGE,
               "at most %d revoked serials per CRL", TSS_TLS_CRL_MAX_REVOKED);
    TSS_ENSURE(out_path && *out_path, TSS_E_USAGE, "no CRL output path");
    crl_scratch *s = calloc(1, sizeof *s);
    TSS_ENSURE(s != NULL, TSS_E_NOMEM, "no memory for a CRL");
    tss_tls_pki_ca ca;
    tss_result r = tss_tls_pki_ca_load(ca_dir, &ca);
    if (!tss_is_ok(r)) {
        free(s);
        return r;
    }
    size_t tbs_len = 0, pem_len = 0;
    r = build_tbs(&ca, revoked, n_revoked, days, s, &tbs_len);
    WC_RNG rng;
    bool rng_ready = false;
    if (tss_is_ok(r)) {
        rng_ready = wc_InitRng(&rng) == 0;
        if (!rng_ready) r = tss_fail(TSS_E_CRYPTO, "cannot initialise wolfCrypt's RNG");
    }
    if (tss_is_ok(r)) {
        int n = wc_SignCert_ex((int)tbs_len, CTC_SHA256wECDSA, s->der, sizeof s->der, ECC_TYPE,
                               &ca.key, &rng);
        if (n <= 0)
            r = tss_fail(TSS_E_CRYPTO, "CRL signing failed (wolfCrypt %d)", n);
        else
            r = tss_tls_pki_to_pem(s->der, (size_t)n, CRL_TYPE, s->pem, sizeof s->pem, &pem_len);
    }
    if (rng_ready) wc_FreeRng(&rng);
    tss_tls_pki_ca_free(&ca);
    if (!tss_is_ok(r)) {
        free(s);
        return r;
    }
    /* Split out_path into directory and name for the atomic writer. */
    char dir[4096];
    const char *slash = strrchr(out_path, '/');
    const char *name = slash ? slash + 1 : out_path;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out_path) : 1,
             slash ? (slash == out_path ? "/" : out_path) : ".");
    r = *name ? tss_tls_pki_write_file(dir, name, s->pem, pem_len, 0644, true)
              : tss_fail(TSS_E_USAGE, "CRL output path %s names a directory", out_path);
    free(s);
    TSS_GUARD(r);
    tss_log(LOG_INFO, "pki: wrote CRL %s revoking %zu serial(s), valid %u days", out_path,
            n_revoked, days);
    return TSS_OK_RESULT;
}
