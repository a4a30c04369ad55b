#include "daemon/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "util/log.h"
#include "wire/msg.h"

#define READ_CHUNK 16384
#define WRITE_CHUNK 16384
#define READ_BUDGET (256 * 1024) /* per wakeup, so one busy peer cannot starve others */
#define CLOSE_GRACE_MS 1000      /* to flush a final ERROR frame */

typedef enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSING, ST_CLOSED } conn_state;

typedef struct outframe {
    struct outframe *next;
    size_t len, off;
    uint8_t data[];
} outframe;

struct tss_dconn {
    tss_loop *loop;
    tss_tls_conn *tls;
    int fd;
    tss_watch watch;
    tss_timer timer;
    tss_deferred teardown; /* on_close and the free, after the batch */
    conn_state state;
    tss_dconn_limits lim;
    tss_dconn_ops ops;
    void *arg;
    tss_wire_decoder dec;
    outframe *head, *tail;
    size_t n_out, out_bytes;
    size_t inflight;           /* length of a write that returned WANT_* (retry it) */
    tss_tls_io hs_want;        /* handshake direction */
    tss_tls_io write_want;     /* what a pending write waits for */
    bool read_wants_write;
    bool read_again;           /* read budget exhausted: continue on the next tick */
    bool got_frame;
    bool idle_held;            /* tss_dconn_hold_idle: the peer awaits our answer */
    int64_t created, hs_deadline, tls_deadline, frame_started, last_frame, write_stalled_since;
    int64_t closing_deadline;
    int close_priority;
    char close_reason[320];
    char addr[80];
    char label[TSS_TLS_URN_MAX + 90];
};

static void rearm(tss_dconn *c);

void tss_sockaddr_format(const void *sa_, size_t len, char *out, size_t cap) {
    const struct sockaddr *sa = sa_;
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = sa_;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = sa_;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(out, cap, "unknown");
    }
}

/* ---- teardown --------------------------------------------------------------------- */

static void free_conn(void *arg) {
    tss_dconn *c = arg;
    tss_tls_conn_free(c->tls);
    if (c->fd >= 0) close(c->fd);
    tss_wire_decoder_free(&c->dec);
    for (outframe *f = c->head, *n; f; f = n) {
        n = f->next;
        free(f);
    }
    free(c);
}

/* Deferred (daemon/loop.h rule 1): no caller's stack refers to c any more. */
static void teardown(void *arg) {
    tss_dconn *c = arg;
    if (c->ops.on_close) c->ops.on_close(c, c->close_reason, c->arg);
    free_conn(c);
}

void tss_dconn_close(tss_dconn *c, int priority, const char *reason) {
    if (c->state == ST_CLOSED) return;
    bool was_open = c->state == ST_OPEN || c->state == ST_CLOSING;
    c->state = ST_CLOSED;
    tss_log(priority, "conn: closing peer=%s: %s", c->label, reason);
    if (reason != c->close_reason) snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    if (was_open && c->tls) tss_tls_shutdown(c->tls);
    tss_loop_unwatch(c->loop, &c->watch);
    tss_timer_kill(c->loop, &c->timer);
    tss_loop_defer_node(c->loop, &c->teardown, teardown, c);
}

static void close_fmt(tss_dconn *c, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void close_fmt(tss_dconn *c, int priority, const char *fmt, ...) {
    char reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    tss_dconn_close(c, priority, reason);
}

/* ---- output ------------------------------------------------------------------------ */

static void flush(tss_dconn *c) {
    while (c->head && c->state != ST_CLOSED) {
        outframe *f = c->head;
        size_t n = c->inflight ? c->inflight : f->len - f->off;
        if (n > WRITE_CHUNK) n = WRITE_CHUNK;
        tss_tls_io io;
        tss_result r = tss_tls_write(c->tls, f->data + f->off, n, &io);
        if (!tss_is_ok(r)) {
            close_fmt(c, LOG_WARNING, "TLS write failed: %s", tss_error_detail());
            return;
        }
        if (io != TSS_TLS_IO_DONE) {
            c->inflight = n;
            c->write_want = io;
            return;
        }
        c->inflight = 0;
        c->write_want = TSS_TLS_IO_DONE;
        c->write_stalled_since = tss_now_ms();
        f->off += n;
        c->out_bytes -= n;
        if (f->off == f->len) {
            c->head = f->next;
            if (!c->head) c->tail = NULL;
            c->n_out--;
            free(f);
        }
    }
    if (!c->head && c->state == ST_CLOSING) tss_dconn_close(c, c->close_priority, c->close_reason);
}

tss_result tss_dconn_send(tss_dconn *c, tss_wire_type type, const uint8_t *payload, size_t len) {
    TSS_ENSURE(c->state == ST_OPEN, TSS_E_IO, "connection to %s is not open", c->label);
    tss_writer w;
    tss_writer_init(&w, c->lim.max_frame);
    tss_result r = tss_wire_frame_encode(&w, type, payload, len, c->lim.max_frame);
    if (!tss_is_ok(r)) {
        tss_writer_free(&w);
        return r;
    }
    if (c->n_out + 1 > c->lim.max_pending_frames || c->out_bytes + w.len > c->lim.max_pending_bytes) {
        tss_writer_free(&w);
        close_fmt(c, LOG_WARNING, "output queue over its cap (%zu frames, %zu bytes queued): "
                  "peer is not reading", c->n_out, c->out_bytes);
        return tss_fail(TSS_E_TOO_LARGE, "output queue of %s over its cap", c->label);
    }
    outframe *f = malloc(sizeof *f + w.len);
    if (!f) {
        tss_writer_free(&w);
        return tss_fail(TSS_E_NOMEM, "no memory for an output frame");
    }
    f->next = NULL;
    f->len = w.len;
    f->off = 0;
    memcpy(f->data, w.data, w.len);
    tss_writer_free(&w);
    if (!c->head) c->write_stalled_since = tss_now_ms();
    if (c->tail) c->tail->next = f;
    else c->head = f;
    c->tail = f;
    c->n_out++;
    c->out_bytes += f->len;
    flush(c);
    rearm(c);
    return TSS_OK_RESULT;
}

void tss_dconn_fail(tss_dconn *c, uint16_t code, const char *reason) {
    /* Our own clean shutdown is not a warning. */
    int priority = code == TSS_WIRE_ERR_SHUTDOWN ? LOG_NOTICE : LOG_WARNING;
    if (c->state != ST_OPEN) {
        tss_dconn_close(c, priority, reason);
        return;
    }
    tss_wire_error e = {.code = code};
    size_t j = 0;
    for (size_t i = 0; reason[i] && j < TSS_WIRE_MAX_ERROR_TEXT; i++)
        e.text[j++] = (reason[i] >= 0x20 && reason[i] <= 0x7e) ? reason[i] : '?';
    e.text[j] = '\0';
    tss_writer w;
    tss_writer_init(&w, 1024);
    if (tss_is_ok(tss_wire_error_encode(&w, &e)) &&
        tss_is_ok(tss_dconn_send(c, TSS_WIRE_ERROR, w.data, w.len)) && c->state == ST_OPEN &&
        c->head) {
        c->state = ST_CLOSING;
        c->close_priority = priority;
        snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
        c->closing_deadline = tss_now_ms() + CLOSE_GRACE_MS;
        tss_writer_free(&w);
        rearm(c);
        return;
    }
    tss_writer_free(&w);
    tss_dconn_close(c, priority, reason);
}

/* ---- input ------------------------------------------------------------------------ */

static void deliver(tss_dconn *c, const uint8_t *p, size_t len) {
    while (len && c->state == ST_OPEN) {
        size_t used = 0;
        bool ready = false;
        tss_wire_frame f;
        tss_result r = tss_wire_decoder_feed(&c->dec, p, len, &used, &f, &ready);
        if (!tss_is_ok(r)) {
            char reason[400];
            snprintf(reason, sizeof reason, "bad frame: %s", tss_error_detail());
            tss_dconn_fail(c, TSS_WIRE_ERR_PROTOCOL, reason);
            return;
        }
        p += used;
        len -= used;
        if (ready) {
            c->got_frame = true;
            c->last_frame = tss_now_ms();
            c->frame_started = 0;
            if (c->ops.on_frame) c->ops.on_frame(c, &f, c->arg);
        }
    }
    if (c->state != ST_OPEN) return;
    if (tss_wire_decoder_pending(&c->dec) == 0)
        c->frame_started = 0;
    else if (c->frame_started == 0)
        c->frame_started = tss_now_ms();
}

static void do_read(tss_dconn *c) {
    uint8_t buf[READ_CHUNK];
    size_t total = 0;
    c->read_wants_write = false;
    c->read_again = false;
    while (c->state == ST_OPEN) {
        if (total >= READ_BUDGET) {
            c->read_again = true;
            return;
        }
        size_t got = 0;
        tss_tls_io io;
        tss_result r = tss_tls_read(c->tls, buf, sizeof buf, &got, &io);
        if (!tss_is_ok(r)) {
            close_fmt(c, LOG_WARNING, "TLS read failed: %s", tss_error_detail());
            return;
        }
        if (io == TSS_TLS_IO_WANT_READ) return;
        if (io == TSS_TLS_IO_WANT_WRITE) {
            c->read_wants_write = true;
            return;
        }
        if (io == TSS_TLS_IO_CLOSED) {
            size_t pending = tss_wire_decoder_pending(&c->dec);
            if (pending)
                close_fmt(c, LOG_WARNING, "peer closed the connection inside a frame "
                          "(truncated frame, %zu bytes pending)", pending);
            else
                tss_dconn_close(c, LOG_INFO, "peer closed the connection");
            return;
        }
        total += got;
        deliver(c, buf, got);
    }
}

/* ---- handshake ------------------------------------------------------------------- */

static void do_handshake(tss_dconn *c) {
    tss_tls_io io;
    tss_result r = tss_tls_handshake(c->tls, &io);
    if (!tss_is_ok(r)) {
        close_fmt(c, LOG_WARNING, "TLS handshake refused: %s", tss_error_detail());
        return;
    }
    if (io != TSS_TLS_IO_DONE) {
        c->hs_want = io;
        return;
    }
    c->state = ST_OPEN;
    c->last_frame = tss_now_ms();
    char urn[TSS_TLS_URN_MAX];
    tss_tls_identity_format(tss_tls_conn_peer(c->tls), urn, sizeof urn);
    snprintf(c->label, sizeof c->label, "%s@%s", urn, c->addr);
    const tss_tls_cert_info *pc = tss_tls_conn_peer_cert(c->tls);
    tss_log(LOG_INFO, "conn: authenticated peer=%s cert_sha256=%s notAfter=%s", c->label,
            pc->fingerprint, pc->not_after_iso);
    if (c->ops.on_open) c->ops.on_open(c, c->arg);
    if (c->state == ST_OPEN) do_read(c);
}

/* ---- events and deadlines ------------------------------------------------------------ */

static void update_interest(tss_dconn *c) {
    uint32_t ev = 0;
    switch (c->state) {
    case ST_CONNECTING: ev = EPOLLOUT; break;
    case ST_HANDSHAKE: ev = c->hs_want == TSS_TLS_IO_WANT_WRITE ? EPOLLOUT : EPOLLIN; break;
    case ST_OPEN:
    case ST_CLOSING:
        if (c->state == ST_OPEN) ev |= EPOLLIN;
        if (c->read_wants_write) ev |= EPOLLOUT;
        if (c->head) ev |= c->write_want == TSS_TLS_IO_WANT_READ ? EPOLLIN : EPOLLOUT;
        break;
    case ST_CLOSED: return;
    }
    if (!tss_is_ok(tss_loop_modify(c->loop, &c->watch, ev)))
        close_fmt(c, LOG_ERR, "cannot update epoll interest: %s", tss_error_detail());
}

static void on_io(void *arg, uint32_t events) {
    tss_dconn *c = arg;
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err == 0 && (events & (EPOLLERR | EPOLLHUP))) err = ECONNREFUSED;
        if (err) {
            close_fmt(c, LOG_WARNING, "connect failed: %s", strerror(err));
            return;
        }
        c->state = ST_HANDSHAKE;
    }
    if (c->state == ST_HANDSHAKE) do_handshake(c);
    else if (c->state == ST_OPEN || c->state == ST_CLOSING) {
        if (c->head) flush(c);
        if (c->state == ST_OPEN) do_read(c);
        else if (c->state == ST_CLOSING && (events & (EPOLLHUP | EPOLLERR)))
            tss_dconn_close(c, c->close_priority, c->close_reason);
    }
    if (c->state != ST_CLOSED) {
        update_interest(c);
        rearm(c);
    }
}

static int64_t min_due(int64_t a, int64_t b) { return a == 0 ? b : (b == 0 || a < b ? a : b); }

static void on_timer(void *arg) {
    tss_dconn *c = arg;
    int64_t now = tss_now_ms();
    if (c->read_again && c->state == ST_OPEN) {
        do_read(c);
        if (c->state == ST_CLOSED) return;
        update_interest(c);
    }
    switch (c->state) {
    case ST_CONNECTING:
    case ST_HANDSHAKE:
        if (now >= c->tls_deadline) {
            close_fmt(c, LOG_WARNING, "%s timed out after %lld ms",
                      c->state == ST_CONNECTING ? "TCP connect" : "TLS handshake",
                      (long long)(now - c->created));
            return;
        }
        break;
    case ST_OPEN:
        if (!c->got_frame && now >= c->hs_deadline) {
            close_fmt(c, LOG_WARNING, "no complete frame within %lld ms of connecting",
                      (long long)c->lim.handshake_ms);
            return;
        }
        if (c->frame_started && now - c->frame_started >= c->lim.frame_ms) {
            close_fmt(c, LOG_WARNING, "frame not completed within %lld ms (%zu bytes pending): "
                      "slow or stalled peer", (long long)c->lim.frame_ms,
                      tss_wire_decoder_pending(&c->dec));
            return;
        }
        if (!c->idle_held && now - c->last_frame >= c->lim.idle_ms) {
            close_fmt(c, LOG_WARNING, "idle: no frame for %lld ms", (long long)(now - c->last_frame));
            return;
        }
        if (c->head && now - c->write_stalled_since >= c->lim.idle_ms) {
            close_fmt(c, LOG_WARNING, "peer stopped reading: no write progress for %lld ms",
                      (long long)(now - c->write_stalled_since));
            return;
        }
        break;
    case ST_CLOSING:
        if (now >= c->closing_deadline) {
            tss_dconn_close(c, c->close_priority, c->close_reason);
            return;
        }
        break;
    case ST_CLOSED: return;
    }
    rearm(c);
}

static void rearm(tss_dconn *c) {
    if (c->state == ST_CLOSED) return;
    int64_t due = 0;
    if (c->read_again) due = tss_now_ms();
    switch (c->state) {
    case ST_CONNECTING:
    case ST_HANDSHAKE: due = min_due(due, c->tls_deadline); break;
    case ST_OPEN:
        if (!c->got_frame) due = min_due(due, c->hs_deadline);
        if (c->frame_started) due = min_due(due, c->frame_started + c->lim.frame_ms);
        if (!c->idle_held) due = min_due(due, c->last_frame + c->lim.idle_ms);
        if (c->head) due = min_due(due, c->write_stalled_since + c->lim.idle_ms);
        break;
    case ST_CLOSING: due = min_due(due, c->closing_deadline); break;
    case ST_CLOSED: return;
    }
    if (due == 0) { /* no deadline (idle held, nothing pending): a due of 0 would fire at once */
        tss_timer_disarm(c->loop, &c->timer);
        return;
    }
    if (!tss_is_ok(tss_timer_arm(c->loop, &c->timer, due)))
        close_fmt(c, LOG_ERR, "cannot arm a timer: %s", tss_error_detail());
}

/* ---- creation and accessors ---------------------------------------------------------- */

tss_result tss_dconn_new(tss_loop *loop, tss_tls_ctx *ctx, int fd, bool connecting,
                         const tss_dconn_limits *limits, const tss_dconn_ops *ops, void *arg,
                         const char *label, tss_dconn **out) {
    tss_dconn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return tss_fail(TSS_E_NOMEM, "no memory for a connection");
    }
    c->fd = fd;
    c->loop = loop;
    c->lim = *limits;
    c->ops = *ops;
    c->arg = arg;
    c->created = tss_now_ms();
    c->hs_deadline = c->created + limits->handshake_ms;
    c->tls_deadline = limits->tls_ms > 0 && limits->tls_ms < limits->handshake_ms
                          ? c->created + limits->tls_ms
                          : c->hs_deadline;
    c->state = connecting ? ST_CONNECTING : ST_HANDSHAKE;
    c->hs_want = TSS_TLS_IO_WANT_READ;
    snprintf(c->addr, sizeof c->addr, "%s", label);
    snprintf(c->label, sizeof c->label, "%s", label);
    tss_timer_init(&c->timer, on_timer, c);
    tss_result r = tss_wire_decoder_init(&c->dec, limits->max_frame);
    if (tss_is_ok(r)) r = tss_tls_conn_new(ctx, fd, &c->tls);
    /* Both directions at first: the first event starts the handshake from
     * inside the loop, never from here, so callbacks never run before the
     * caller has its pointer. */
    if (tss_is_ok(r))
        r = tss_loop_watch(loop, &c->watch, fd, connecting ? EPOLLOUT : EPOLLIN | EPOLLOUT,
                           on_io, c);
    if (tss_is_ok(r)) r = tss_timer_arm(loop, &c->timer, c->tls_deadline);
    if (!tss_is_ok(r)) {
        tss_loop_unwatch(loop, &c->watch);
        tss_timer_disarm(loop, &c->timer);
        free_conn(c);
        return r;
    }
    *out = c;
    return TSS_OK_RESULT;
}

bool tss_dconn_is_open(const tss_dconn *c) { return c->state == ST_OPEN; }
const tss_tls_identity *tss_dconn_peer(const tss_dconn *c) {
    return c->state == ST_OPEN || c->state == ST_CLOSING ? tss_tls_conn_peer(c->tls) : NULL;
}
const tss_tls_cert_info *tss_dconn_peer_cert(const tss_dconn *c) {
    return c->state == ST_OPEN || c->state == ST_CLOSING ? tss_tls_conn_peer_cert(c->tls) : NULL;
}
const tss_tls_cert_info *tss_dconn_own_cert(const tss_dconn *c) {
    return tss_tls_conn_own_cert(c->tls);
}
const char *tss_dconn_label(const tss_dconn *c) { return c->label; }
const char *tss_dconn_address(const tss_dconn *c) { return c->addr; }
void tss_dconn_set_idle(tss_dconn *c, int64_t idle_ms) {
    c->lim.idle_ms = idle_ms;
    rearm(c);
}
void tss_dconn_hold_idle(tss_dconn *c, bool hold) {
    if (c->idle_held == hold) return;
    c->idle_held = hold;
    if (!hold) c->last_frame = tss_now_ms(); /* idle counts from the answer */
    rearm(c);
}
void *tss_dconn_arg(const tss_dconn *c) { return c->arg; }
void tss_dconn_set_arg(tss_dconn *c, void *arg) { c->arg = arg; }
