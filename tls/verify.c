/* Peer authentication inside the handshake. wolfSSL calls this for every
 * certificate the peer sent (WOLFSSL_ALWAYS_VERIFY_CB / VERIFY_CB_ALL_CERTS
 * are on in Debian's build): on a chain error we record why and refuse; on the
 * leaf we extract the tssd identity and apply the policy, so a certificate
 * that is valid but not configured fails the handshake itself. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <stdio.h>
#include <string.h>

#include <wolfssl/error-ssl.h>

#include "tls/internal.h"

tss_result tss_tls_accept_peer(const tss_tls_gen *gen, WOLFSSL_X509 *leaf, tss_tls_identity *id) {
    TSS_ENSURE(leaf != NULL, TSS_E_PERMISSION, "peer sent no certificate");
    if (gen->cfg.web && gen->cfg.side == TSS_TLS_CLIENT) {
        /* A client of a web server (the gateway's benchmark): the server's
         * certificate chains to the CA bundle; it need carry no identity. */
        if (!tss_is_ok(tss_tls_identity_from_x509(leaf, id))) memset(id, 0, sizeof *id);
        return TSS_OK_RESULT;
    }
    TSS_GUARD(tss_tls_wrap(tss_tls_identity_from_x509(leaf, id), "peer certificate"));
    TSS_GUARD(tss_tls_policy_check(&gen->cfg.peers, id));
    if (gen->cfg.check) TSS_GUARD(gen->cfg.check(gen->cfg.check_arg, id));
    return TSS_OK_RESULT;
}

static void refuse(tss_tls_conn *c, const char *reason) {
    if (!c->refusal[0]) snprintf(c->refusal, sizeof c->refusal, "%s", reason);
}

int tss_tls_verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store) {
    WOLFSSL *ssl =
        wolfSSL_X509_STORE_CTX_get_ex_data(store, wolfSSL_get_ex_data_X509_STORE_CTX_idx());
    tss_tls_conn *c = ssl ? wolfSSL_get_app_data(ssl) : NULL;
    if (!c) return 0; /* not one of ours: fail closed */
    /* web (context.h): a client that sends no certificate at all is let
     * through unauthenticated; it must then present a bearer token. */
    if (c->gen->cfg.web && store->totalCerts == 0) return 1;
    if (!preverify) {
        int err = wolfSSL_X509_STORE_CTX_get_error(store);
        /* The CRL file has no CRL from this certificate's CA: such CAs are
         * not revocation-checked (see context.h; CA rotation needs it). */
        if (err != CRL_MISSING && err != X509_V_ERR_UNABLE_TO_GET_CRL) {
            char why[160];
            tss_tls_verify_reason(err, why, sizeof why);
            refuse(c, why);
            return 0;
        }
    }
    if (wolfSSL_X509_STORE_CTX_get_error_depth(store) != 0) return 1; /* a CA above the leaf */
    WOLFSSL_X509 *leaf = wolfSSL_X509_STORE_CTX_get_current_cert(store);
    tss_tls_identity id;
    tss_result r = tss_tls_accept_peer(c->gen, leaf, &id);
    if (tss_is_ok(r) && !tss_is_ok(r = tss_tls_certinfo_from_x509(leaf, &c->peer_cert)))
        r = tss_tls_wrap(r, "peer certificate");
    if (!tss_is_ok(r)) {
        refuse(c, tss_error_detail());
        return 0;
    }
    c->peer = id;
    c->peer_checked = true;
    return 1;
}
