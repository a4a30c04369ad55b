/* Building one credential generation: read the files, validate the set the
 * way a peer will see it, then configure a TLS 1.3-only wolfSSL context. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "tls/internal.h"
#include "util/log.h"
#include "util/secmem.h"

static atomic_size_t live_generations;

size_t tss_tls_live_generations(void) { return atomic_load(&live_generations); }

tss_tls_gen *tss_tls_gen_ref(tss_tls_gen *g) {
    atomic_fetch_add(&g->refs, 1);
    return g;
}

void tss_tls_gen_unref(tss_tls_gen *g) {
    if (!g || atomic_fetch_sub(&g->refs, 1) != 1) return;
    wolfSSL_CTX_free(g->wctx);
    free(g);
    atomic_fetch_sub(&live_generations, 1);
}

typedef struct {
    uint8_t *cert, *key, *ca, *crl;
    size_t cert_len, key_len, ca_len, crl_len;
} loaded_files;

static void files_free(loaded_files *f) {
    free(f->cert);
    tss_secret_free(f->key);
    free(f->ca);
    free(f->crl);
}

static tss_result files_read(const tss_tls_paths *p, loaded_files *f) {
    TSS_GUARD(tss_tls_read_file(p->cert_file, "certificate", TSS_TLS_MAX_PEM_FILE, &f->cert,
                                &f->cert_len));
    TSS_GUARD(tss_tls_read_key_file(p->key_file, "private key", &f->key, &f->key_len));
    TSS_GUARD(tss_tls_read_file(p->ca_file, "CA bundle", TSS_TLS_MAX_PEM_FILE, &f->ca, &f->ca_len));
    if (p->crl_file && *p->crl_file)
        TSS_GUARD(
            tss_tls_read_file(p->crl_file, "CRL", TSS_TLS_MAX_PEM_FILE, &f->crl, &f->crl_len));
    return TSS_OK_RESULT;
}

/* Next "-----BEGIN <label>-----" ... "-----END <label>-----" block from *pos.
 * wolfSSL loads one CRL per buffer, and a CA rotation needs one per CA. */
static bool next_pem_block(const uint8_t *buf, size_t len, size_t *pos, const char *label,
                           const uint8_t **start, size_t *block_len) {
    char begin[64], end[64];
    snprintf(begin, sizeof begin, "-----BEGIN %s-----", label);
    snprintf(end, sizeof end, "-----END %s-----", label);
    const char *text = (const char *)buf; /* NUL-terminated by the reader */
    if (*pos >= len) return false;
    const char *b = strstr(text + *pos, begin);
    if (!b) return false;
    const char *e = strstr(b, end);
    if (!e) return false;
    e += strlen(end);
    *start = (const uint8_t *)b;
    *block_len = (size_t)(e - b);
    *pos = (size_t)(e - text);
    return true;
}

/* Our certificate as a peer will check it: chains to the CA bundle, dates,
 * and the CRL. A certificate manager does this without a handshake. */
static tss_result verify_own_cert(const tss_tls_paths *p, const loaded_files *f) {
    WOLFSSL_CERT_MANAGER *cm = wolfSSL_CertManagerNew();
    TSS_ENSURE(cm != NULL, TSS_E_NOMEM, "cannot allocate a certificate manager");
    tss_result r = TSS_OK_RESULT;
    int rc = wolfSSL_CertManagerLoadCABuffer(cm, f->ca, (long)f->ca_len, WOLFSSL_FILETYPE_PEM);
    if (rc != WOLFSSL_SUCCESS) {
        r = tss_fail(TSS_E_INVALID, "CA bundle %s: no usable PEM CA certificate (wolfSSL %d)",
                     p->ca_file, rc);
        goto out;
    }
    if (f->crl) {
        size_t pos = 0, n = 0, blen;
        const uint8_t *block;
        if (wolfSSL_CertManagerEnableCRL(cm, WOLFSSL_CRL_CHECK) != WOLFSSL_SUCCESS) {
            r = tss_fail(TSS_E_CRYPTO, "cannot enable CRL checking");
            goto out;
        }
        while (next_pem_block(f->crl, f->crl_len, &pos, "X509 CRL", &block, &blen)) {
            rc = wolfSSL_CertManagerLoadCRLBuffer(cm, block, (long)blen, WOLFSSL_FILETYPE_PEM);
            if (rc != WOLFSSL_SUCCESS) {
                char why[160];
                tss_tls_verify_reason(rc, why, sizeof why);
                r = tss_fail(TSS_E_INVALID, "CRL file %s: CRL #%zu rejected: %s", p->crl_file,
                             n + 1, why);
                goto out;
            }
            n++;
        }
        if (n == 0) {
            r = tss_fail(TSS_E_INVALID, "CRL file %s: no PEM CRL (-----BEGIN X509 CRL-----)",
                         p->crl_file);
            goto out;
        }
    }
    rc = wolfSSL_CertManagerVerifyBuffer(cm, f->cert, (long)f->cert_len, WOLFSSL_FILETYPE_PEM);
    /* No CRL from this certificate's CA: not revocation-checked (context.h). */
    if (rc != WOLFSSL_SUCCESS && rc != CRL_MISSING) {
        char why[160];
        tss_tls_verify_reason(rc, why, sizeof why);
        r = tss_fail(TSS_E_INVALID, "certificate %s does not verify against CA bundle %s%s: %s",
                     p->cert_file, p->ca_file, f->crl ? " and the CRL" : "", why);
    }
out:
    wolfSSL_CertManagerFree(cm);
    return r;
}

/* wolfSSL 5.5.4's wolfSSL_CTX_check_private_key accepted a P-256 key that
 * does not belong to the certificate, so for EC keys we compare the public
 * key derived from the private key with the certificate's ourselves. Other
 * key types (an existing PKI's RSA keys) rely on wolfSSL's check. */
static tss_result check_key_matches(WOLFSSL_X509 *x509, const tss_tls_paths *p,
                                    const loaded_files *f) {
    uint8_t spki[512], mine[512];
    int spki_len = sizeof spki;
    TSS_ENSURE(wolfSSL_X509_get_pubkey_buffer(x509, spki, &spki_len) == WOLFSSL_SUCCESS,
               TSS_E_INVALID, "certificate %s: cannot read its public key", p->cert_file);
    bool cert_is_ec = wolfSSL_X509_get_pubkey_type(x509) == ECDSAk;
    uint8_t *der = tss_secret_alloc(f->key_len);
    TSS_ENSURE(der != NULL, TSS_E_NOMEM, "no secure memory for the private key");
    int der_len = wc_KeyPemToDer(f->key, (int)f->key_len, der, (int)f->key_len, NULL);
    ecc_key key;
    int mine_len = -1, rc = -1;
    bool key_is_ec = false;
    if (der_len > 0 && wc_ecc_init(&key) == 0) {
        word32 idx = 0;
        key_is_ec = wc_EccPrivateKeyDecode(der, &idx, &key, (word32)der_len) == 0;
        if (key_is_ec && key.type == ECC_PRIVATEKEY_ONLY)
            rc = wc_ecc_make_pub(&key, NULL);
        else
            rc = 0;
        if (key_is_ec && rc == 0) mine_len = wc_EccPublicKeyToDer(&key, mine, sizeof mine, 1);
        wc_ecc_free(&key);
    }
    tss_secret_free(der);
    TSS_ENSURE(der_len > 0, TSS_E_INVALID,
               "private key file %s: no PEM private key (encrypted keys are not supported)",
               p->key_file);
    if (!cert_is_ec && !key_is_ec) return TSS_OK_RESULT;
    TSS_ENSURE(cert_is_ec == key_is_ec && mine_len > 0 && mine_len == spki_len &&
                   memcmp(mine, spki, (size_t)mine_len) == 0,
               TSS_E_INVALID, "private key %s does not match certificate %s", p->key_file,
               p->cert_file);
    return TSS_OK_RESULT;
}

/* Parse our certificate; check key, identity and dates with precise messages. */
static tss_result inspect_own_cert(const tss_tls_config *cfg, const tss_tls_paths *p,
                                   const loaded_files *f, tss_tls_cert_info *info) {
    WOLFSSL_X509 *x509 =
        wolfSSL_X509_load_certificate_buffer(f->cert, (int)f->cert_len, WOLFSSL_FILETYPE_PEM);
    TSS_ENSURE(x509 != NULL, TSS_E_INVALID, "certificate file %s: no PEM certificate parses",
               p->cert_file);
    tss_tls_identity id;
    memset(&id, 0, sizeof id);
    tss_result r = tss_tls_certinfo_from_x509(x509, info);
    /* A web server's certificate needs no identity; a web client's must
     * carry the one it presents (urn:tssd:client:<name>). */
    if (tss_is_ok(r) && !(cfg->web && cfg->side == TSS_TLS_SERVER))
        r = tss_tls_identity_from_x509(x509, &id);
    if (!tss_is_ok(r)) r = tss_tls_wrap(r, p->cert_file);
    if (tss_is_ok(r)) r = check_key_matches(x509, p, f);
    wolfSSL_X509_free(x509);
    TSS_GUARD(r);
    char have[TSS_TLS_URN_MAX], want[TSS_TLS_URN_MAX];
    tss_tls_identity_format(&id, have, sizeof have);
    tss_tls_identity_format(&cfg->self, want, sizeof want);
    TSS_ENSURE((cfg->web && cfg->side == TSS_TLS_SERVER) || tss_tls_identity_equal(&id, &cfg->self),
               TSS_E_INVALID,
               "certificate %s is for %s but this daemon is %s", p->cert_file, have, want);
    time_t now = time(NULL);
    TSS_ENSURE(now >= info->not_before, TSS_E_INVALID, "certificate %s is not valid before %s",
               p->cert_file, info->not_before_iso);
    TSS_ENSURE(now < info->not_after, TSS_E_INVALID, "certificate %s expired on %s", p->cert_file,
               info->not_after_iso);
    return TSS_OK_RESULT;
}

static tss_result configure_ctx(WOLFSSL_CTX *w, const tss_tls_config *cfg, const tss_tls_paths *p,
                                const loaded_files *f) {
    TSS_ENSURE(wolfSSL_CTX_use_certificate_chain_buffer_format(
                   w, f->cert, (long)f->cert_len, WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS,
               TSS_E_INVALID, "certificate file %s: wolfSSL cannot use it", p->cert_file);
    TSS_ENSURE(wolfSSL_CTX_use_PrivateKey_buffer(w, f->key, (long)f->key_len,
                                                 WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS,
               TSS_E_INVALID, "private key file %s: not a PEM private key wolfSSL can use",
               p->key_file);
    TSS_ENSURE(wolfSSL_CTX_check_private_key(w) == WOLFSSL_SUCCESS, TSS_E_INVALID,
               "private key %s does not match certificate %s", p->key_file, p->cert_file);
    TSS_ENSURE(wolfSSL_CTX_load_verify_buffer(w, f->ca, (long)f->ca_len, WOLFSSL_FILETYPE_PEM) ==
                   WOLFSSL_SUCCESS,
               TSS_E_INVALID, "CA bundle %s: wolfSSL cannot load it", p->ca_file);
    if (f->crl) {
        TSS_ENSURE(wolfSSL_CTX_EnableCRL(w, WOLFSSL_CRL_CHECK) == WOLFSSL_SUCCESS, TSS_E_CRYPTO,
                   "cannot enable CRL checking");
        size_t pos = 0, blen;
        const uint8_t *block;
        while (next_pem_block(f->crl, f->crl_len, &pos, "X509 CRL", &block, &blen))
            TSS_ENSURE(wolfSSL_CTX_LoadCRLBuffer(w, block, (long)blen, WOLFSSL_FILETYPE_PEM) ==
                           WOLFSSL_SUCCESS,
                       TSS_E_INVALID, "CRL file %s: wolfSSL cannot load it", p->crl_file);
    }
    /* ChaCha20-Poly1305 first (issue 14): Debian 12's libwolfssl is built
     * without AES-NI, and its software AES-128-GCM runs at ~50 MB/s against
     * ~125 MB/s for ChaCha20-Poly1305 on the same core (docs/PERFORMANCE.md,
     * "TLS record cipher"); a signature moves ~78 KB each way per signer, all
     * of it through the coordinator. Both AES-GCM suites stay for peers (the
     * gateway's web clients) that lack ChaCha20. All three are TLS 1.3 AEADs. */
    TSS_ENSURE(wolfSSL_CTX_set_cipher_list(w, TSS_TLS_CIPHER_LIST) == WOLFSSL_SUCCESS, TSS_E_CRYPTO,
               "wolfSSL refuses the TLS 1.3 cipher list %s", TSS_TLS_CIPHER_LIST);
    /* Every connection authenticates fully: no tickets, no session cache, so
     * a resumed session can never skip the certificate and identity checks. */
    if (cfg->side == TSS_TLS_SERVER) wolfSSL_CTX_no_ticket_TLSv13(w);
    wolfSSL_CTX_set_session_cache_mode(w, WOLFSSL_SESS_CACHE_OFF);
    wolfSSL_CTX_set_verify(
        w, WOLFSSL_VERIFY_PEER | (cfg->web ? 0 : WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT),
        tss_tls_verify_cb);
    wolfSSL_CTX_set_verify_depth(w, 4);
    return TSS_OK_RESULT;
}

tss_result tss_tls_gen_build(const tss_tls_config *cfg, const tss_tls_paths *paths,
                             tss_tls_gen **out) {
    TSS_GUARD(tss_tls_global_init());
    TSS_ENSURE(cfg->web || cfg->self.role != TSS_TLS_ROLE_NONE, TSS_E_USAGE,
               "TLS config lacks this daemon's own identity");
    TSS_ENSURE(cfg->web || cfg->peers.coordinator || cfg->peers.parties || cfg->peers.n_operators,
               TSS_E_USAGE, "TLS config accepts no peer identity");
    loaded_files f;
    memset(&f, 0, sizeof f);
    tss_tls_gen *g = NULL;
    tss_result r = files_read(paths, &f);
    tss_tls_cert_info info;
    if (tss_is_ok(r)) r = inspect_own_cert(cfg, paths, &f, &info);
    if (tss_is_ok(r) && !(cfg->web && cfg->side == TSS_TLS_SERVER)) r = verify_own_cert(paths, &f);
    if (tss_is_ok(r)) {
        g = calloc(1, sizeof *g);
        if (!g) r = tss_fail(TSS_E_NOMEM, "no memory for a TLS context");
    }
    if (tss_is_ok(r)) {
        atomic_init(&g->refs, 1);
        atomic_fetch_add(&live_generations, 1);
        g->cfg = *cfg;
        g->own = info;
        g->wctx = wolfSSL_CTX_new(cfg->side == TSS_TLS_SERVER ? wolfTLSv1_3_server_method()
                                                              : wolfTLSv1_3_client_method());
        r = g->wctx ? configure_ctx(g->wctx, cfg, paths, &f)
                    : tss_fail(TSS_E_NOMEM, "cannot allocate a wolfSSL context");
        if (!tss_is_ok(r)) {
            tss_tls_gen_unref(g);
            g = NULL;
        }
    }
    files_free(&f);
    TSS_GUARD(r);
    *out = g;
    return TSS_OK_RESULT;
}
