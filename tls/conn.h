/* One TLS connection over a caller-owned connected socket. The non-blocking
 * calls report WANT_READ / WANT_WRITE for an epoll loop; the *_blocking
 * helpers poll with a deadline, for the CLI and tests.
 *
 * The peer is authenticated during the handshake: its certificate must chain
 * to the CA bundle, be valid now, not be revoked, and carry a tssd identity
 * the policy accepts; otherwise the handshake fails, the reason is logged and
 * becomes the error detail (e.g. "certificate expired"). No application byte
 * is read before that. */
#ifndef TSS_TLS_CONN_H
#define TSS_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "tls/certinfo.h"
#include "tls/context.h"
#include "util/result.h"

typedef enum {
    TSS_TLS_IO_DONE = 0,   /* the operation completed */
    TSS_TLS_IO_WANT_READ,  /* call again when the socket is readable */
    TSS_TLS_IO_WANT_WRITE, /* call again when the socket is writable */
    TSS_TLS_IO_CLOSED,     /* the peer closed the TLS session cleanly */
} tss_tls_io;

typedef struct tss_tls_conn tss_tls_conn;

/* Wrap fd (not taken over: the caller closes it after tss_tls_conn_free). The
 * connection uses the context's current generation for its whole life. */
TSS_MUST_CHECK tss_result tss_tls_conn_new(tss_tls_ctx *ctx, int fd, tss_tls_conn **out);
void tss_tls_conn_free(tss_tls_conn *c);

/* Drive the handshake. OK with *io DONE once the peer is authenticated and
 * accepted; OK with WANT_* to be called again; an error is final. */
TSS_MUST_CHECK tss_result tss_tls_handshake(tss_tls_conn *c, tss_tls_io *io);
/* Read up to cap bytes. OK+DONE with *got > 0, OK+WANT_*, OK+CLOSED (got 0). */
TSS_MUST_CHECK tss_result tss_tls_read(tss_tls_conn *c, void *buf, size_t cap, size_t *got,
                                       tss_tls_io *io);
/* Write all len bytes as records. On WANT_* call again with the SAME buffer
 * and length (wolfSSL resumes the pending record). */
TSS_MUST_CHECK tss_result tss_tls_write(tss_tls_conn *c, const void *buf, size_t len,
                                        tss_tls_io *io);
/* Send close_notify (best effort, never blocks). */
void tss_tls_shutdown(tss_tls_conn *c);

/* Blocking helpers: poll(2) on the fd until done or timeout_ms elapses. */
TSS_MUST_CHECK tss_result tss_tls_handshake_blocking(tss_tls_conn *c, int timeout_ms);
TSS_MUST_CHECK tss_result tss_tls_write_blocking(tss_tls_conn *c, const void *buf, size_t len,
                                                 int timeout_ms);
/* Some bytes (*got > 0), or *got == 0 when the peer closed cleanly. */
TSS_MUST_CHECK tss_result tss_tls_read_blocking(tss_tls_conn *c, void *buf, size_t cap, size_t *got,
                                                int timeout_ms);

int tss_tls_conn_fd(const tss_tls_conn *c);
/* After a successful handshake: the accepted peer and its certificate facts. */
bool tss_tls_conn_established(const tss_tls_conn *c);
const tss_tls_identity *tss_tls_conn_peer(const tss_tls_conn *c);
const tss_tls_cert_info *tss_tls_conn_peer_cert(const tss_tls_conn *c);
/* The negotiated TLS 1.3 suite (wolfSSL's name), "" before the handshake. */
const char *tss_tls_conn_cipher(const tss_tls_conn *c);
/* Fingerprint of our certificate used on this connection (its generation). */
const tss_tls_cert_info *tss_tls_conn_own_cert(const tss_tls_conn *c);

#endif
