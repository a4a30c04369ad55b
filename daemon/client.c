#include "daemon/client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/loop.h"

#define REFUSED_RETRIES 3
#include "daemon/net.h"

struct tss_client {
    int fd;
    tss_tls_conn *tls;
    tss_wire_decoder dec;
    uint32_t max_frame;
    uint8_t buf[16384];
    size_t have, pos; /* received bytes not yet fed to the decoder */
};

static tss_result wait_connected(int fd, int timeout_ms, const char *where) {
    struct pollfd p = {fd, POLLOUT, 0};
    int rc;
    do rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    TSS_ENSURE(rc > 0, TSS_E_IO, "connect %s: timed out after %d ms", where, timeout_ms);
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    TSS_ENSURE(err == 0, TSS_E_IO, "connect %s: %s", where, strerror(err));
    return TSS_OK_RESULT;
}

static tss_result connect_one(tss_tls_ctx *ctx, const tss_config_addr *a, uint32_t max_frame,
                              int timeout_ms, tss_client **out) {
    char where[300];
    tss_net_addr_format(a, where, sizeof where);
    int fd = -1, in_progress = 0;
    TSS_GUARD(tss_net_connect(a, &fd, &in_progress));
    tss_client *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return tss_fail(TSS_E_NOMEM, "no memory for a client");
    }
    c->fd = fd;
    c->max_frame = max_frame;
    tss_result r = tss_wire_decoder_init(&c->dec, max_frame);
    if (tss_is_ok(r) && in_progress) r = wait_connected(fd, timeout_ms, where);
    if (tss_is_ok(r)) r = tss_tls_conn_new(ctx, fd, &c->tls);
    if (tss_is_ok(r)) {
        r = tss_tls_handshake_blocking(c->tls, timeout_ms);
        if (!tss_is_ok(r)) {
            /* Closed before any TLS answer: the coordinator's admission
             * control (issue 11) refused the socket; say so instead of
             * leaving the operator with a bare TLS error. */
            /* Copy first: tss_fail formats into the buffer tss_error_detail
             * returns (reading it while formatting left the message empty). */
            char detail[400];
            snprintf(detail, sizeof detail, "%s", tss_error_detail());
            bool refused = strstr(detail, "closed by the peer") != NULL;
            r = tss_fail(r.err, "TLS handshake with %s failed: %s%s", where, detail,
                         refused ? " before the handshake: the server is at capacity or refusing "
                                   "connections from this address (connection rate or "
                                   "unauthenticated-connection limits); retry later, and see "
                                   "its log"
                                 : "");
        }
    }
    if (!tss_is_ok(r)) {
        tss_client_free(c);
        return r;
    }
    *out = c;
    return TSS_OK_RESULT;
}

tss_result tss_client_connect(tss_tls_ctx *ctx, const tss_config_addr *addrs, size_t n_addrs,
                              uint32_t max_frame, int timeout_ms, tss_client **out) {
    tss_result r = tss_fail(TSS_E_USAGE, "no coordinator address");
    for (size_t i = 0; i < n_addrs; i++) {
        r = connect_one(ctx, &addrs[i], max_frame, timeout_ms, out);
        /* Refused before the handshake (the server's admission control,
         * a connection reset): a few short retries, then report it. */
        for (int retry = 1; retry <= REFUSED_RETRIES && !tss_is_ok(r) &&
                            (strstr(tss_error_detail(), "before the handshake") ||
                             strstr(tss_error_detail(), "reset by peer"));
             retry++) {
            usleep((useconds_t)retry * 200000);
            r = connect_one(ctx, &addrs[i], max_frame, timeout_ms, out);
        }
        /* A refused handshake is an answer: do not try the next address. */
        if (tss_is_ok(r) || r.err == TSS_E_PROTOCOL) return r;
    }
    return r;
}

void tss_client_free(tss_client *c) {
    if (!c) return;
    if (c->tls) {
        tss_tls_shutdown(c->tls);
        tss_tls_conn_free(c->tls);
    }
    if (c->fd >= 0) close(c->fd);
    tss_wire_decoder_free(&c->dec);
    free(c);
}

tss_result tss_client_send_raw(tss_client *c, const void *p, size_t len, int timeout_ms) {
    return tss_tls_write_blocking(c->tls, p, len, timeout_ms);
}

tss_result tss_client_send(tss_client *c, tss_wire_type type, const uint8_t *payload, size_t len,
                           int timeout_ms) {
    tss_writer w;
    tss_writer_init(&w, c->max_frame);
    tss_result r = tss_wire_frame_encode(&w, type, payload, len, c->max_frame);
    if (tss_is_ok(r)) r = tss_client_send_raw(c, w.data, w.len, timeout_ms);
    tss_writer_free(&w);
    return r;
}

tss_result tss_client_recv(tss_client *c, tss_wire_frame *out, int timeout_ms) {
    int64_t deadline = tss_now_ms() + timeout_ms;
    for (;;) {
        while (c->pos < c->have) {
            size_t used = 0;
            bool ready = false;
            TSS_GUARD(tss_wire_decoder_feed(&c->dec, c->buf + c->pos, c->have - c->pos, &used, out,
                                            &ready));
            c->pos += used;
            if (ready) return TSS_OK_RESULT;
        }
        c->pos = c->have = 0;
        int64_t left = deadline - tss_now_ms();
        TSS_ENSURE(left > 0, TSS_E_IO, "no answer from the coordinator within %d ms", timeout_ms);
        size_t got = 0;
        TSS_GUARD(tss_tls_read_blocking(c->tls, c->buf, sizeof c->buf, &got, (int)left));
        TSS_ENSURE(got > 0, TSS_E_IO, "connection closed by the coordinator");
        c->have = got;
    }
}

const tss_tls_cert_info *tss_client_server_cert(const tss_client *c) {
    return tss_tls_conn_peer_cert(c->tls);
}
