/* TLS contexts: TLS 1.3 only, mutual authentication against a private CA
 * bundle, optional CRL, and a peer allow-list by tssd identity.
 *
 * A tss_tls_ctx is a holder: each (re)load builds a complete, validated
 * generation (wolfSSL context + our certificate's facts), and new connections
 * take a reference to the current one. Reload swaps generations; an old one
 * is freed when its last connection is freed, so existing sessions continue
 * on the credentials they were established with. */
#ifndef TSS_TLS_CONTEXT_H
#define TSS_TLS_CONTEXT_H

#include <stddef.h>

#include "tls/certinfo.h"
#include "tls/identity.h"
#include "util/result.h"

/* TLS 1.3 suites in preference order (wolfSSL names), on every context. */
#define TSS_TLS_CIPHER_LIST \
    "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384"

typedef struct {
    const char *cert_file; /* PEM: our certificate (optionally followed by its chain) */
    const char *key_file;  /* PEM: our private key, mode 0600 or stricter */
    const char *ca_file;   /* PEM bundle of trusted CAs (several during CA rotation) */
    /* PEM CRLs (one per CA, concatenated), or NULL for none. Each CRL must be
     * signed by a CA of the bundle. A certificate whose CA has no CRL in the
     * file is not revocation-checked: during a CA rotation the new CA may
     * not have published a CRL yet. */
    const char *crl_file;
} tss_tls_paths;

typedef enum { TSS_TLS_SERVER, TSS_TLS_CLIENT } tss_tls_side;

/* Optional extra decision after the allow-list accepted a peer (e.g. "this
 * party is already connected"). A failure refuses the handshake; its detail
 * is the logged reason. Called from the handshake, on the connection's thread. */
typedef tss_result (*tss_tls_peer_check_fn)(void *arg, const tss_tls_identity *peer);

typedef struct {
    tss_tls_side side;
    tss_tls_identity self; /* the identity our own certificate must carry */
    tss_tls_policy peers;  /* whom we accept on the other end */
    tss_tls_peer_check_fn check;
    void *check_arg;
    /* An HTTPS listener for applications (tss-gateway): our certificate is a
     * web server certificate (self.role NONE: no tssd identity required, and
     * it need not chain to the client CA bundle), and a client certificate
     * is optional because clients may authenticate with a bearer token
     * instead. A certificate that is presented is checked as always.
     * On the client side (a benchmark or test client of the gateway): the
     * server's certificate must chain to the CA bundle but need carry no
     * tssd identity (host names are not checked). */
    bool web;
} tss_tls_config;

typedef struct tss_tls_ctx tss_tls_ctx;

/* Load and fully validate (see tss_tls_ctx_reload); log fingerprint and notAfter. */
TSS_MUST_CHECK tss_result tss_tls_ctx_new(const tss_tls_config *cfg, const tss_tls_paths *paths,
                                          tss_tls_ctx **out);
/* Load cert, key, CA bundle and CRL into a new generation and validate it:
 * key permissions, key matches certificate, certificate chains to the CA
 * bundle, is currently valid, is not revoked by the CRL, and carries
 * cfg->self. Only then swap it in. On failure the current generation stays
 * in service and the error says why. Thread-safe. */
TSS_MUST_CHECK tss_result tss_tls_ctx_reload(tss_tls_ctx *ctx, const tss_tls_paths *paths);
/* Drops the holder's reference; live connections keep their generation. */
void tss_tls_ctx_free(tss_tls_ctx *ctx);

/* Facts about the certificate in service: fingerprint, notAfter, identity. */
void tss_tls_ctx_cert_info(tss_tls_ctx *ctx, tss_tls_cert_info *out);
/* Increments on every successful reload (1 after tss_tls_ctx_new). */
unsigned long tss_tls_ctx_generation(tss_tls_ctx *ctx);
/* Generations alive in this process (held by contexts or connections). */
size_t tss_tls_live_generations(void);

/* wolfSSL (Debian's build, FP_ECC with thread-local caches) keeps a per-thread
 * ECC fixed-point cache of a few MB: a thread that ran TLS or PKI operations
 * calls tss_tls_thread_cleanup() before it exits, and the process may call
 * tss_tls_global_cleanup() once at exit (after every context is freed). */
void tss_tls_thread_cleanup(void);
void tss_tls_global_cleanup(void);

#endif
