/* A framed, mutually authenticated TLS connection driven by the event loop.
 *
 * Lifecycle:
 *   HANDSHAKE  non-blocking TLS handshake; the peer certificate and identity
 *              are checked inside it (tls/). Deadline: limits.handshake_ms
 *              from creation, which also covers the first complete frame
 *              (HELLO for a party), so a peer that authenticates and then
 *              says nothing is dropped as fast as one that never finishes.
 *   OPEN       frames in both directions. Every received byte goes through
 *              one wire stream decoder (caps checked on the 8 header bytes);
 *              a frame that has started must complete within
 *              limits.frame_ms (slowloris); a connection that delivers no
 *              complete frame for limits.idle_ms is closed; an output queue
 *              over limits.max_pending_frames frames or max_pending_bytes
 *              bytes closes the connection (a peer that does not read cannot
 *              make us buffer without bound), as does an output queue that
 *              makes no progress for idle_ms.
 *   CLOSED     tss_dconn_close() logs the reason once, sends close_notify
 *              best-effort and unregisters the fd at once; ops.on_close and
 *              the free run after the current batch of events (a deferred
 *              call, daemon/loop.h rule 1).
 * Any framing or TLS error is fatal for the connection only.
 *
 * Ownership rule: no tss_dconn_* call ever calls back into the owner. send,
 * fail and close may end the connection (queue over its cap, TLS write
 * failed), but they only mark it closed and return; ops.on_close runs later,
 * from the loop, outside every caller's stack. So the owner's object (and
 * the tss_dconn) stays valid for the rest of the callback that called
 * them; after any of these calls, check tss_dconn_is_open() before acting
 * on the connection again. on_open/on_frame run only from loop events. */
#ifndef TSS_DAEMON_CONN_H
#define TSS_DAEMON_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/loop.h"
#include "tls/conn.h"
#include "tls/context.h"
#include "util/result.h"
#include "wire/frame.h"

typedef struct tss_dconn tss_dconn;

typedef struct {
    uint32_t max_frame;         /* header included */
    size_t max_pending_frames;  /* output queue cap, frames */
    size_t max_pending_bytes;   /* output queue cap, bytes */
    int64_t handshake_ms;       /* TLS handshake plus the first frame */
    int64_t tls_ms;             /* TLS handshake alone (0: handshake_ms); the short
                                 * pre-authentication deadline of an accepted socket */
    int64_t frame_ms;           /* a started frame must complete within this */
    int64_t idle_ms;            /* no complete frame for this long: closed */
} tss_dconn_limits;

typedef struct {
    /* The TLS handshake succeeded: the peer is authenticated (client side:
     * send HELLO now). */
    void (*on_open)(tss_dconn *c, void *arg);
    /* One complete, header-checked frame. The payload is valid during the call. */
    void (*on_frame)(tss_dconn *c, const tss_wire_frame *f, void *arg);
    /* Called exactly once, from tss_dconn_close, before the connection is freed. */
    void (*on_close)(tss_dconn *c, const char *reason, void *arg);
} tss_dconn_ops;

/* Take over fd (non-blocking, connected or connecting) and start the TLS
 * handshake; connecting: the TCP connect is still in progress (client). The
 * label names the peer in logs until its identity is known ("127.0.0.1:5000"). */
TSS_MUST_CHECK tss_result tss_dconn_new(tss_loop *loop, tss_tls_ctx *ctx, int fd, bool connecting,
                                        const tss_dconn_limits *limits, const tss_dconn_ops *ops,
                                        void *arg, const char *label, tss_dconn **out);

/* Queue one frame (payload may be empty). An error means the frame is too
 * large (the connection stays open), or the queue is over its cap or the
 * write failed (the connection is then closed: not open any more, on_close
 * pending). Never calls back into the owner. */
TSS_MUST_CHECK tss_result tss_dconn_send(tss_dconn *c, tss_wire_type type, const uint8_t *payload,
                                         size_t len);
/* Send an ERROR frame, then close once it is flushed (or after a short grace). */
void tss_dconn_fail(tss_dconn *c, uint16_t code, const char *reason);
/* Log "closing <peer>: <reason>" (at priority) and close now; on_close runs
 * after the current batch. Idempotent. */
void tss_dconn_close(tss_dconn *c, int priority, const char *reason);

bool tss_dconn_is_open(const tss_dconn *c);
/* The authenticated peer (NULL before the handshake completes). */
const tss_tls_identity *tss_dconn_peer(const tss_dconn *c);
const tss_tls_cert_info *tss_dconn_peer_cert(const tss_dconn *c);
const tss_tls_cert_info *tss_dconn_own_cert(const tss_dconn *c);
/* "urn:tssd:party:2@127.0.0.1:5000" once known, else the address. */
const char *tss_dconn_label(const tss_dconn *c);
const char *tss_dconn_address(const tss_dconn *c);
/* Change the idle limit (e.g. after HELLO_ACK fixed the heartbeat interval). */
void tss_dconn_set_idle(tss_dconn *c, int64_t idle_ms);
/* While held, silence is not idleness: the peer (an operator) waits for an
 * answer we owe it, however long the request takes; released, the idle
 * limit counts from now. The write-progress limit still applies. */
void tss_dconn_hold_idle(tss_dconn *c, bool hold);
void *tss_dconn_arg(const tss_dconn *c);
void tss_dconn_set_arg(tss_dconn *c, void *arg);

/* "host:port" of a socket's peer ("[v6]:port" for IPv6). */
void tss_sockaddr_format(const void *sa, size_t len, char *out, size_t cap);

#endif
