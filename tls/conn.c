/* Connections: handshake, read and write over a caller-owned socket, with
 * wolfSSL's WANT_READ/WANT_WRITE passed up for an event loop, and every
 * failure turned into a reason an operator can act on. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <wolfssl/error-ssl.h>

#include "tls/internal.h"
#include "util/log.h"

tss_result tss_tls_conn_new(tss_tls_ctx *ctx, int fd, tss_tls_conn **out) {
    TSS_ENSURE(fd >= 0, TSS_E_USAGE, "invalid socket descriptor %d", fd);
    tss_tls_conn *c = calloc(1, sizeof *c);
    TSS_ENSURE(c != NULL, TSS_E_NOMEM, "no memory for a TLS connection");
    c->fd = fd;
    c->gen = tss_tls_ctx_acquire(ctx);
    c->ssl = wolfSSL_new(c->gen->wctx);
    if (!c->ssl || wolfSSL_set_fd(c->ssl, fd) != WOLFSSL_SUCCESS ||
        wolfSSL_set_app_data(c->ssl, c) != WOLFSSL_SUCCESS) {
        tss_tls_conn_free(c);
        return tss_fail(TSS_E_NOMEM, "cannot create a wolfSSL session");
    }
    /* A peer that vanishes must not kill the daemon with SIGPIPE. */
    wolfSSL_SetIOWriteFlags(c->ssl, MSG_NOSIGNAL);
    *out = c;
    return TSS_OK_RESULT;
}

void tss_tls_conn_free(tss_tls_conn *c) {
    if (!c) return;
    if (c->ssl) wolfSSL_free(c->ssl);
    tss_tls_gen_unref(c->gen); /* may free a generation retired by reload */
    free(c);
}

int tss_tls_conn_fd(const tss_tls_conn *c) { return c->fd; }
const char *tss_tls_conn_cipher(const tss_tls_conn *c) {
    const char *n = c->established ? wolfSSL_get_cipher_name(c->ssl) : NULL;
    return n ? n : "";
}
bool tss_tls_conn_established(const tss_tls_conn *c) { return c->established; }
const tss_tls_identity *tss_tls_conn_peer(const tss_tls_conn *c) {
    return c->established ? &c->peer : NULL;
}
const tss_tls_cert_info *tss_tls_conn_peer_cert(const tss_tls_conn *c) {
    return c->established ? &c->peer_cert : NULL;
}
const tss_tls_cert_info *tss_tls_conn_own_cert(const tss_tls_conn *c) { return &c->gen->own; }

static bool is_server(const tss_tls_conn *c) { return c->gen->cfg.side == TSS_TLS_SERVER; }

static void alert_reason(tss_tls_conn *c, const char *what, char *out, size_t cap) {
    WOLFSSL_ALERT_HISTORY h;
    memset(&h, 0, sizeof h);
    if (wolfSSL_get_alert_history(c->ssl, &h) == WOLFSSL_SUCCESS && h.last_rx.code > 0)
        snprintf(out, cap, "%s (alert: %s)", what, wolfSSL_alert_desc_string_long(h.last_rx.code));
    else
        snprintf(out, cap, "%s", what);
}

/* Why a handshake (or the first read after it) failed. */
static void failure_reason(tss_tls_conn *c, int err, char *out, size_t cap) {
    const char *v = tss_tls_verify_reason_or_null(err);
    if (c->refusal[0]) {
        snprintf(out, cap, "%s", c->refusal);
    } else if (err == NO_PEER_CERT) {
        snprintf(out, cap, is_server(c) ? "no client certificate" : "no server certificate");
    } else if (v) {
        snprintf(out, cap, "%s", v);
    } else if (err == VERSION_ERROR || err == UNSUPPORTED_PROTO_VERSION ||
               err == MATCH_SUITE_ERROR) {
        snprintf(out, cap, "peer does not offer TLS 1.3 (wolfSSL error %d)", err);
    } else if (err == FATAL_ERROR) {
        alert_reason(c, "peer refused the connection", out, cap);
    } else if (err == SOCKET_PEER_CLOSED_E || err == SOCKET_ERROR_E ||
               err == WOLFSSL_ERROR_ZERO_RETURN) {
        snprintf(out, cap, "connection closed by the peer");
    } else {
        char text[128];
        wolfSSL_ERR_error_string_n((unsigned long)(long)err, text, sizeof text);
        snprintf(out, cap, "TLS error %d (%s)", err, text);
    }
}

static tss_result fail_conn(tss_tls_conn *c, int err, const char *phase) {
    char reason[400];
    failure_reason(c, err, reason, sizeof reason);
    c->failed = true;
    tss_log(LOG_WARNING, "tls: %s failed (%s side, fd %d): %s", phase,
            is_server(c) ? "server" : "client", c->fd, reason);
    return tss_fail(TSS_E_PROTOCOL, "%s", reason);
}

static tss_result want(int err, tss_tls_io *io) {
    *io = err == WOLFSSL_ERROR_WANT_WRITE ? TSS_TLS_IO_WANT_WRITE : TSS_TLS_IO_WANT_READ;
    return TSS_OK_RESULT;
}

tss_result tss_tls_handshake(tss_tls_conn *c, tss_tls_io *io) {
    *io = TSS_TLS_IO_DONE;
    if (c->established) return TSS_OK_RESULT;
    TSS_ENSURE(!c->failed, TSS_E_PROTOCOL, "TLS connection already failed");
    int rc = is_server(c) ? wolfSSL_accept(c->ssl) : wolfSSL_connect(c->ssl);
    if (rc != WOLFSSL_SUCCESS) {
        int err = wolfSSL_get_error(c->ssl, rc);
        if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return want(err, io);
        return fail_conn(c, err, "handshake");
    }
    /* Fail closed if the verify callback never accepted a leaf (it always
     * runs for a full handshake; resumption is disabled). */
    bool anonymous = false; /* web: no client certificate at all (token auth) */
    if (!c->peer_checked && c->gen->cfg.web && is_server(c) && !c->refusal[0]) {
        WOLFSSL_X509 *x = wolfSSL_get_peer_certificate(c->ssl);
        anonymous = x == NULL;
        if (x) wolfSSL_X509_free(x);
    }
    if (!c->peer_checked && !anonymous) {
        snprintf(c->refusal, sizeof c->refusal, "peer certificate was not verified");
        wolfSSL_shutdown(c->ssl);
        return fail_conn(c, 0, "handshake");
    }
    c->established = true;
    char urn[TSS_TLS_URN_MAX];
    tss_tls_identity_format(&c->peer, urn, sizeof urn);
    tss_log(LOG_DEBUG, "tls: fd %d authenticated peer %s sha256=%s notAfter=%s", c->fd, urn,
            c->peer_cert.fingerprint, c->peer_cert.not_after_iso);
    return TSS_OK_RESULT;
}

tss_result tss_tls_read(tss_tls_conn *c, void *buf, size_t cap, size_t *got, tss_tls_io *io) {
    *got = 0;
    *io = TSS_TLS_IO_DONE;
    /* No application byte before the peer is authenticated and accepted. */
    TSS_ENSURE(c->established && !c->failed, TSS_E_USAGE, "TLS read before a successful handshake");
    TSS_ENSURE(cap > 0, TSS_E_USAGE, "TLS read into an empty buffer");
    int n = wolfSSL_read(c->ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
    if (n > 0) {
        *got = (size_t)n;
        return TSS_OK_RESULT;
    }
    int err = wolfSSL_get_error(c->ssl, n);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return want(err, io);
    if (err == WOLFSSL_ERROR_ZERO_RETURN) {
        *io = TSS_TLS_IO_CLOSED;
        return TSS_OK_RESULT;
    }
    return fail_conn(c, err, "read");
}

tss_result tss_tls_write(tss_tls_conn *c, const void *buf, size_t len, tss_tls_io *io) {
    *io = TSS_TLS_IO_DONE;
    TSS_ENSURE(c->established && !c->failed, TSS_E_USAGE,
               "TLS write before a successful handshake");
    TSS_ENSURE(len <= INT_MAX, TSS_E_TOO_LARGE, "TLS write of %zu bytes", len);
    if (len == 0) return TSS_OK_RESULT;
    int n = wolfSSL_write(c->ssl, buf, (int)len);
    if (n == (int)len) return TSS_OK_RESULT;
    int err = wolfSSL_get_error(c->ssl, n);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return want(err, io);
    return fail_conn(c, err, "write");
}

void tss_tls_shutdown(tss_tls_conn *c) {
    if (c->established && !c->failed) (void)wolfSSL_shutdown(c->ssl);
}

/* ---- blocking helpers ---------------------------------------------------- */

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static tss_result wait_for(const tss_tls_conn *c, tss_tls_io io, long long deadline,
                           const char *what) {
    for (;;) {
        long long left = deadline - now_ms();
        TSS_ENSURE(left > 0, TSS_E_IO, "TLS %s timed out", what);
        struct pollfd p = {c->fd, io == TSS_TLS_IO_WANT_WRITE ? POLLOUT : POLLIN, 0};
        int rc = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (rc < 0 && errno == EINTR) continue;
        TSS_ENSURE(rc >= 0, TSS_E_IO, "poll failed during TLS %s: %s", what, strerror(errno));
        if (rc > 0) return TSS_OK_RESULT;
    }
}

/* wolfSSL would block inside recv() on a blocking socket, beyond any
 * deadline; so the helpers switch the descriptor to non-blocking while they
 * run and restore its flags afterwards. */
static tss_result nonblock_begin(const tss_tls_conn *c, int *saved) {
    int fl = fcntl(c->fd, F_GETFL);
    TSS_ENSURE(fl >= 0, TSS_E_IO, "fcntl(F_GETFL) on fd %d: %s", c->fd, strerror(errno));
    *saved = fl;
    if (!(fl & O_NONBLOCK) && fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return tss_fail(TSS_E_IO, "fcntl(F_SETFL) on fd %d: %s", c->fd, strerror(errno));
    return TSS_OK_RESULT;
}

static void nonblock_end(const tss_tls_conn *c, int saved) {
    if (!(saved & O_NONBLOCK)) (void)fcntl(c->fd, F_SETFL, saved);
}

typedef enum { OP_HANDSHAKE, OP_WRITE, OP_READ } blocking_op;

static tss_result run_blocking(tss_tls_conn *c, blocking_op op, void *buf, size_t len, size_t *got,
                               int timeout_ms) {
    static const char *names[] = {"handshake", "write", "read"};
    int saved = 0;
    TSS_GUARD(nonblock_begin(c, &saved));
    long long deadline = now_ms() + timeout_ms;
    tss_result r;
    for (;;) {
        tss_tls_io io;
        r = op == OP_HANDSHAKE ? tss_tls_handshake(c, &io)
            : op == OP_WRITE   ? tss_tls_write(c, buf, len, &io)
                               : tss_tls_read(c, buf, len, got, &io);
        if (!tss_is_ok(r) || io == TSS_TLS_IO_DONE || io == TSS_TLS_IO_CLOSED) break;
        r = wait_for(c, io, deadline, names[op]);
        if (!tss_is_ok(r)) break;
    }
    nonblock_end(c, saved);
    return r;
}

tss_result tss_tls_handshake_blocking(tss_tls_conn *c, int timeout_ms) {
    return run_blocking(c, OP_HANDSHAKE, NULL, 0, NULL, timeout_ms);
}

tss_result tss_tls_write_blocking(tss_tls_conn *c, const void *buf, size_t len, int timeout_ms) {
    return run_blocking(c, OP_WRITE, (void *)buf, len, NULL, timeout_ms);
}

tss_result tss_tls_read_blocking(tss_tls_conn *c, void *buf, size_t cap, size_t *got,
                                 int timeout_ms) {
    *got = 0;
    return run_blocking(c, OP_READ, buf, cap, got, timeout_ms);
}
