/* Shared internals of tls/: everything that touches wolfSSL types. Not for
 * use outside tls/ (the public headers keep wolfSSL out of their callers). */
#ifndef TSS_TLS_INTERNAL_H
#define TSS_TLS_INTERNAL_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfio.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls/certinfo.h"
#include "tls/conn.h"
#include "tls/context.h"
#include "tls/identity.h"
#include "util/result.h"

/* Caps on files we read: certificates, bundles and CRLs are small. */
#define TSS_TLS_MAX_PEM_FILE (1024 * 1024)
#define TSS_TLS_MAX_KEY_FILE (64 * 1024)

/* wolfSSL_Init exactly once per process (thread-safe). */
TSS_MUST_CHECK tss_result tss_tls_global_init(void);

/* Prefix the current failure detail with context ("ca file x: ..."). */
TSS_MUST_CHECK tss_result tss_tls_wrap(tss_result r, const char *prefix);

/* Printable, bounded copy of untrusted text for messages and logs. */
void tss_tls_sanitize(char *out, size_t cap, const char *in, size_t len);

/* Exactly one well-formed tssd URN among the certificate's SAN URIs. */
TSS_MUST_CHECK tss_result tss_tls_identity_from_x509(WOLFSSL_X509 *x509, tss_tls_identity *out);

/* Fingerprint, serial, validity and identity of a certificate. The identity
 * is left as ROLE_NONE (not an error) when the certificate has none. */
TSS_MUST_CHECK tss_result tss_tls_certinfo_from_x509(WOLFSSL_X509 *x509, tss_tls_cert_info *out);

/* A human reason for a wolfSSL/wolfCrypt certificate verification error code
 * (wolfSSL's negative codes or OpenSSL-style X509_V_ERR_* values). */
void tss_tls_verify_reason(int err, char *out, size_t cap);
/* The table entry only, or NULL when err is not a certificate error. */
const char *tss_tls_verify_reason_or_null(int err);

/* Read a whole file (at most max bytes, NUL-appended; free with free()). The
 * key variant refuses a file that group or others can access and returns it
 * in secret memory (free with tss_secret_free). Errors name the file and
 * what it is for. */
TSS_MUST_CHECK tss_result tss_tls_read_file(const char *path, const char *what, size_t max,
                                            uint8_t **out, size_t *out_len);
TSS_MUST_CHECK tss_result tss_tls_read_key_file(const char *path, const char *what, uint8_t **out,
                                                size_t *out_len);

/* One loaded credential set: immutable once built, shared by reference
 * between the holder and every connection made with it. */
typedef struct tss_tls_gen {
    atomic_size_t refs;
    WOLFSSL_CTX *wctx;
    tss_tls_config cfg;
    tss_tls_cert_info own;
    unsigned long number;
} tss_tls_gen;

/* Load and validate everything; the result holds one reference. */
TSS_MUST_CHECK tss_result tss_tls_gen_build(const tss_tls_config *cfg, const tss_tls_paths *paths,
                                            tss_tls_gen **out);
tss_tls_gen *tss_tls_gen_ref(tss_tls_gen *g);
void tss_tls_gen_unref(tss_tls_gen *g);
/* The current generation, with a reference taken for the caller. */
tss_tls_gen *tss_tls_ctx_acquire(tss_tls_ctx *ctx);

struct tss_tls_conn {
    WOLFSSL *ssl;
    tss_tls_gen *gen;
    int fd;
    bool established;
    bool failed;
    bool peer_checked; /* the verify callback accepted the leaf certificate */
    char refusal[320]; /* first reason the verify callback refused the peer for */
    tss_tls_identity peer;
    tss_tls_cert_info peer_cert;
};

/* wolfSSL verify callback: maps errors to reasons and applies the policy to
 * the peer's leaf certificate, so refusals happen inside the handshake. */
int tss_tls_verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store);
/* Identity of the leaf, then the allow-list, then the config's callback. */
TSS_MUST_CHECK tss_result tss_tls_accept_peer(const tss_tls_gen *gen, WOLFSSL_X509 *leaf,
                                              tss_tls_identity *id);

#endif
