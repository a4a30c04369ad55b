/* Application connections: TLS 1.3 (or plain HTTP on loopback), HTTP/1.1
 * with keep-alive, parsed by libhttp-parser inside the event loop.
 *
 * One request at a time per connection: when a request is complete the
 * parser is paused and reading stops until its answer is written, so a
 * pipelining client cannot queue work without bound. Limits, each ending
 * the connection with a precise 4xx:
 *   - request line plus headers over limits.max_header_size: 431;
 *   - more than limits.max_headers headers: 431;
 *   - a body over limits.max_body (declared or streamed): 413;
 *   - a request not complete within timeouts.request of its first byte
 *     (slowloris), or a TLS handshake not done within it: 408 / close;
 *   - a kept-alive connection idle for timeouts.idle: closed;
 *   - limits.max_connections in total (closed at accept) and
 *     limits.max_connections_per_client per authenticated client: 429;
 *   - a Tssd-Approval header (docs/API.md) that is not the hex of one
 *     approval, or more than 16 of them: 400. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <http_parser.h>

#include "daemon/gateway/gw.h"
#include "policy/approval.h"
#include "util/hex.h"
#include "tls/conn.h"
#include "util/log.h"

#define READ_CHUNK 16384
#define READ_BUDGET (256 * 1024)
#define AUTH_MAX 1024

typedef enum { ST_HANDSHAKE, ST_READING, ST_BUSY, ST_WRITING, ST_CLOSED } conn_state;

struct gw_http_hold {
    gw_conn *conn;
};

struct gw_conn {
    gw *g;
    int fd;
    bool plain;
    tss_tls_conn *tls;
    tss_tls_io hs_want, io_want;
    tss_watch watch;
    tss_timer timer;
    conn_state state;
    char addr[80];
    const gw_client *cert_client; /* from a client certificate */
    gw_client *counted;            /* the client whose connection count includes us */
    const char *cert_refusal;      /* a certificate that names no configured client */
    char cert_name[TSS_TLS_OPERATOR_NAME_MAX + 1];
    http_parser parser;
    /* The request being read. */
    bool in_request;
    int64_t request_deadline, idle_deadline;
    size_t header_bytes;
    size_t n_headers;
    bool last_was_value;
    char field[32];
    size_t field_len;
    bool field_is_auth;
    bool field_is_apv;
    /* Tssd-Approval headers: the value being read, and the approval list
     * (policy/approval.h wire encoding) of those complete, allocated on the
     * first one. */
    char apv_hex[2 * TSS_APPROVAL_BLOB_MAX + 3];
    size_t apv_hex_len;
    bool apv_too_long;
    uint8_t *apv;
    size_t apv_len;
    char *url;
    size_t url_len;
    char auth[AUTH_MAX + 1];
    size_t auth_len;
    bool auth_too_long;
    char *body;
    size_t body_len, body_cap;
    int fail_status; /* set by a callback: answer this and close */
    const char *fail_text;
    bool complete;
    /* Bytes read past a complete request (pipelining), fed after the answer. */
    uint8_t *rest;
    size_t rest_len;
    /* The answer being written. */
    char *out;
    size_t out_len, out_off;
    bool close_after;
    gw_http_hold *hold;
    gw_conn *prev, *next;
};

static void rearm(gw_conn *c);
static void process(gw_conn *c, const uint8_t *data, size_t len);

/* ---- teardown ------------------------------------------------------------------------ */

static void reset_request(gw_conn *c) {
    free(c->url);
    free(c->body);
    c->url = c->body = NULL;
    c->url_len = c->body_len = c->body_cap = 0;
    c->header_bytes = c->n_headers = 0;
    c->last_was_value = false;
    c->field_len = 0;
    c->field_is_auth = false;
    c->field_is_apv = false;
    c->apv_hex_len = 0;
    c->apv_too_long = false;
    free(c->apv);
    c->apv = NULL;
    c->apv_len = 0;
    c->auth_len = 0;
    c->auth[0] = '\0';
    c->auth_too_long = false;
    c->fail_status = 0;
    c->fail_text = NULL;
    c->complete = false;
    c->in_request = false;
}

static void free_conn(void *arg) {
    gw_conn *c = arg;
    tss_tls_conn_free(c->tls);
    if (c->fd >= 0) close(c->fd);
    reset_request(c);
    free(c->rest);
    free(c->out);
    free(c);
}

static void conn_close(gw_conn *c, int prio, const char *why) {
    if (c->state == ST_CLOSED) return;
    tss_log(prio, "http: closing %s: %s", c->addr, why);
    c->state = ST_CLOSED;
    gw *g = c->g;
    if (c->hold) c->hold->conn = NULL;
    c->hold = NULL;
    if (c->counted) c->counted->conns--;
    c->counted = NULL;
    if (c->tls) tss_tls_shutdown(c->tls);
    tss_timer_disarm(g->loop, &c->timer);
    tss_loop_unwatch(g->loop, &c->watch);
    if (c->prev) c->prev->next = c->next;
    else g->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    g->n_conns--;
    if (!tss_is_ok(tss_loop_defer(g->loop, free_conn, c))) free_conn(c); /* not yet referenced */
}

void gw_http_close_all(gw *g, const char *reason) {
    while (g->conns) conn_close(g->conns, LOG_INFO, reason);
}

/* ---- writing ------------------------------------------------------------------------- */

static const char *status_text(int s) {
    switch (s) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

static void flush_out(gw_conn *c) {
    while (c->state == ST_WRITING && c->out_off < c->out_len) {
        size_t left = c->out_len - c->out_off;
        if (c->plain) {
            ssize_t n = send(c->fd, c->out + c->out_off, left, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    c->io_want = TSS_TLS_IO_WANT_WRITE;
                    rearm(c);
                    return;
                }
                if (errno == EINTR) continue;
                conn_close(c, LOG_INFO, "write failed");
                return;
            }
            c->out_off += (size_t)n;
        } else {
            tss_tls_io io;
            tss_result r = tss_tls_write(c->tls, c->out + c->out_off, left, &io);
            if (!tss_is_ok(r)) {
                conn_close(c, LOG_INFO, tss_error_detail());
                return;
            }
            if (io != TSS_TLS_IO_DONE) {
                c->io_want = io;
                rearm(c);
                return;
            }
            c->out_off = c->out_len;
        }
    }
    if (c->state != ST_WRITING) return;
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    if (c->close_after) {
        conn_close(c, LOG_DEBUG, "answered, closing as announced");
        return;
    }
    /* Next request: whatever was read past the last one first. */
    reset_request(c);
    c->state = ST_READING;
    c->idle_deadline = tss_now_ms() + (int64_t)c->g->cfg.timeouts.idle;
    http_parser_pause(&c->parser, 0);
    rearm(c);
    if (c->rest_len) {
        uint8_t *rest = c->rest;
        size_t n = c->rest_len;
        c->rest = NULL;
        c->rest_len = 0;
        process(c, rest, n);
        free(rest);
    }
}

static void send_response(gw_conn *c, int status, const char *ctype, const char *body, size_t len,
                          bool close_after) {
    if (c->state == ST_CLOSED) return;
    c->g->stats.http_requests++;
    if (status >= 400 && status < 500) c->g->stats.http_4xx++;
    if (status >= 500) c->g->stats.http_5xx++;
    bool keep = !close_after && c->in_request && http_should_keep_alive(&c->parser) &&
                !c->g->stopping;
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Cache-Control: no-store\r\nConnection: %s\r\n%s\r\n",
                      status, status_text(status), ctype, len, keep ? "keep-alive" : "close",
                      status == 401 ? "WWW-Authenticate: Bearer realm=\"tssd\"\r\n" : "");
    free(c->out);
    c->out = malloc((size_t)hl + len);
    if (!c->out) {
        conn_close(c, LOG_ERR, "out of memory");
        return;
    }
    memcpy(c->out, head, (size_t)hl);
    if (len) memcpy(c->out + hl, body, len);
    c->out_len = (size_t)hl + len;
    c->out_off = 0;
    c->close_after = !keep;
    c->state = ST_WRITING;
    c->io_want = TSS_TLS_IO_DONE;
    flush_out(c);
}

/* A refusal before the request reached the router: JSON body, then close. */
static void refuse(gw_conn *c, int status, const char *text) {
    json_t *o = json_pack("{s:i,s:s}", "code", status, "message", text);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    tss_log(LOG_INFO, "http: %s: %d %s", c->addr, status, text);
    send_response(c, status, "application/json", s ? s : "{}", s ? strlen(s) : 2, true);
    free(s);
}

gw_http_hold *gw_http_hold_new(gw_conn *conn) {
    gw_http_hold *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->conn = conn;
    conn->hold = h;
    return h;
}

bool gw_http_hold_alive(const gw_http_hold *h) { return h && h->conn; }

void gw_http_respond(gw_http_hold *h, int status, const char *ctype, const char *body,
                     size_t len) {
    if (!h) return;
    gw_conn *c = h->conn;
    free(h);
    if (!c) return; /* the client went away meanwhile */
    c->hold = NULL;
    send_response(c, status, ctype, body, len, false);
}

/* ---- parser callbacks -------------------------------------------------------------- */

static gw_conn *of(http_parser *p) { return p->data; }

static int fail_cb(gw_conn *c, int status, const char *text) {
    c->fail_status = status;
    c->fail_text = text;
    return 1; /* stops the parser */
}

static int count_header_bytes(gw_conn *c, size_t n) {
    c->header_bytes += n;
    if (c->header_bytes > c->g->cfg.limits.max_header_size)
        return fail_cb(c, 431, "request line and headers exceed limits.max_header_size");
    return 0;
}

static int on_message_begin(http_parser *p) {
    gw_conn *c = of(p);
    reset_request(c);
    c->in_request = true;
    c->request_deadline = tss_now_ms() + (int64_t)c->g->cfg.timeouts.request;
    rearm(c);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
    gw_conn *c = of(p);
    if (count_header_bytes(c, n)) return 1;
    char *u = realloc(c->url, c->url_len + n + 1);
    if (!u) return fail_cb(c, 500, "out of memory");
    memcpy(u + c->url_len, at, n);
    c->url = u;
    c->url_len += n;
    u[c->url_len] = '\0';
    return 0;
}

/* A complete Tssd-Approval value: one approval in hex (0x optional), added
 * to the request's approval list. The parties verify it; here it must only
 * parse, so a garbled header is a clear 400 rather than a refusal later. */
static int finish_approval(gw_conn *c) {
    c->field_is_apv = false;
    const char *h = c->apv_hex;
    size_t n = c->apv_hex_len;
    while (n && (h[n - 1] == ' ' || h[n - 1] == '\t')) n--;
    if (n >= 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) h += 2, n -= 2;
    uint8_t blob[TSS_APPROVAL_BLOB_MAX];
    tss_approval a;
    char hex[2 * TSS_APPROVAL_BLOB_MAX + 1];
    if (c->apv_too_long || n == 0 || n % 2 || n / 2 > sizeof blob)
        return fail_cb(c, 400, "Tssd-Approval: expected the hex of one approval (tssctl approve)");
    memcpy(hex, h, n);
    hex[n] = '\0';
    if (!tss_is_ok(tss_hex_decode(blob, n / 2, hex, "Tssd-Approval")) ||
        !tss_is_ok(tss_approval_decode(blob, n / 2, &a)))
        return fail_cb(c, 400, "Tssd-Approval: not an approval (tssctl approve writes one)");
    if (!c->apv) {
        c->apv = malloc(TSS_APPROVAL_LIST_MAX);
        if (!c->apv) return fail_cb(c, 500, "out of memory");
        c->apv[0] = 0;
        c->apv_len = 1;
    }
    if (c->apv[0] == TSS_APPROVAL_MAX)
        return fail_cb(c, 400, "more than 16 Tssd-Approval headers");
    c->apv[c->apv_len++] = (uint8_t)((n / 2) >> 8);
    c->apv[c->apv_len++] = (uint8_t)(n / 2);
    memcpy(c->apv + c->apv_len, blob, n / 2);
    c->apv_len += n / 2;
    c->apv[0]++;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
    gw_conn *c = of(p);
    if (count_header_bytes(c, n)) return 1;
    if (c->last_was_value && c->field_is_apv && finish_approval(c)) return 1;
    if (c->last_was_value || c->n_headers == 0) {
        if (++c->n_headers > (size_t)c->g->cfg.limits.max_headers)
            return fail_cb(c, 431, "more headers than limits.max_headers");
        c->field_len = 0;
        c->last_was_value = false;
    }
    for (size_t i = 0; i < n && c->field_len < sizeof c->field - 1; i++)
        c->field[c->field_len++] = at[i];
    c->field[c->field_len] = '\0';
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
    gw_conn *c = of(p);
    if (count_header_bytes(c, n)) return 1;
    if (!c->last_was_value) {
        c->last_was_value = true;
        c->field_is_auth = strcasecmp(c->field, "authorization") == 0;
        if (c->field_is_auth && c->auth_len)
            return fail_cb(c, 400, "more than one Authorization header");
        c->field_is_apv = strcasecmp(c->field, "tssd-approval") == 0;
        c->apv_hex_len = 0;
        c->apv_too_long = false;
    }
    if (c->field_is_apv) {
        if (c->apv_hex_len + n > sizeof c->apv_hex - 1) {
            c->apv_too_long = true;
        } else {
            memcpy(c->apv_hex + c->apv_hex_len, at, n);
            c->apv_hex_len += n;
        }
    }
    if (c->field_is_auth) {
        if (c->auth_len + n > AUTH_MAX) {
            c->auth_too_long = true;
        } else {
            memcpy(c->auth + c->auth_len, at, n);
            c->auth_len += n;
            c->auth[c->auth_len] = '\0';
        }
    }
    return 0;
}

static int on_headers_complete(http_parser *p) {
    gw_conn *c = of(p);
    if (c->last_was_value && c->field_is_apv && finish_approval(c)) return 1;
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->g->cfg.limits.max_body)
        return fail_cb(c, 413, "request body exceeds limits.max_body");
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
    gw_conn *c = of(p);
    if (c->body_len + n > c->g->cfg.limits.max_body)
        return fail_cb(c, 413, "request body exceeds limits.max_body");
    if (c->body_len + n + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        while (cap < c->body_len + n + 1) cap *= 2;
        char *b = realloc(c->body, cap);
        if (!b) return fail_cb(c, 500, "out of memory");
        c->body = b;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, at, n);
    c->body_len += n;
    c->body[c->body_len] = '\0';
    return 0;
}

static int on_message_complete(http_parser *p) {
    gw_conn *c = of(p);
    c->complete = true;
    http_parser_pause(p, 1); /* one request at a time */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- dispatch ------------------------------------------------------------------------- */

static void authenticate(gw_conn *c, gw_http_request *rq) {
    gw *g = c->g;
    const gw_client *tok = NULL;
    rq->client = NULL;
    if (c->auth_too_long) {
        rq->auth_error = "Authorization header too long";
        return;
    }
    if (c->auth_len) {
        if (c->auth_len < 8 || strncasecmp(c->auth, "Bearer ", 7) != 0) {
            rq->auth_error = "Authorization must be \"Bearer <token>\"";
            return;
        }
        const char *t = c->auth + 7;
        while (*t == ' ') t++;
        tok = gw_auth_token(g, t, strlen(t));
        if (!tok) {
            g->stats.auth_failures++;
            rq->auth_error = "unknown bearer token";
            return;
        }
    }
    if (c->cert_client && tok && tok != c->cert_client) {
        rq->auth_error = "the client certificate and the bearer token name different clients";
        return;
    }
    if (!tok && !c->cert_client) {
        rq->auth_error = c->cert_refusal ? c->cert_refusal
                                         : "authentication required: a client certificate "
                                           "(urn:tssd:client:<name>) or a bearer token";
        return;
    }
    rq->client = tok ? tok : c->cert_client;
}

static void dispatch(gw_conn *c) {
    gw *g = c->g;
    gw_http_request rq;
    memset(&rq, 0, sizeof rq);
    rq.conn = c;
    rq.method = c->parser.method;
    rq.path = c->url ? c->url : "/";
    rq.body = c->body ? c->body : "";
    rq.body_len = c->body_len;
    rq.approvals = c->apv;
    rq.approvals_len = c->apv_len;
    rq.peer = c->addr;
    authenticate(c, &rq);
    if (rq.client && c->counted != rq.client) {
        gw_client *cl = (gw_client *)rq.client;
        if (c->counted) c->counted->conns--;
        c->counted = NULL;
        if (cl->conns >= (size_t)g->cfg.limits.max_connections_per_client) {
            char why[200];
            snprintf(why, sizeof why, "client %s already has %zu connections "
                     "(limits.max_connections_per_client)", cl->cfg->name, cl->conns);
            g->stats.conns_refused++;
            c->state = ST_BUSY;
            refuse(c, 429, why);
            return;
        }
        cl->conns++;
        c->counted = cl;
    }
    c->state = ST_BUSY;
    rearm(c);
    gw_http_hold *h = gw_http_hold_new(c);
    if (!h) {
        refuse(c, 500, "out of memory");
        return;
    }
    gw_api_handle(g, &rq, h);
}

/* Feed bytes to the parser; a complete request is dispatched (and what
 * follows it kept for later), a malformed one answered with 400. */
static void process(gw_conn *c, const uint8_t *data, size_t len) {
    if (c->state != ST_READING) return;
    size_t used = http_parser_execute(&c->parser, &settings, (const char *)data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (c->fail_status) {
        c->state = ST_BUSY;
        refuse(c, c->fail_status, c->fail_text);
        return;
    }
    if (e != HPE_OK && e != HPE_PAUSED) {
        char why[200];
        snprintf(why, sizeof why, "malformed HTTP request: %s", http_errno_description(e));
        c->state = ST_BUSY;
        refuse(c, 400, why);
        return;
    }
    if (c->complete) {
        if (used < len) {
            c->rest = malloc(len - used);
            if (!c->rest) {
                conn_close(c, LOG_ERR, "out of memory");
                return;
            }
            memcpy(c->rest, data + used, len - used);
            c->rest_len = len - used;
        }
        dispatch(c);
    }
}

/* ---- I/O events ---------------------------------------------------------------------- */

static void read_some(gw_conn *c) {
    uint8_t buf[READ_CHUNK];
    size_t total = 0;
    while (c->state == ST_READING && total < READ_BUDGET) {
        size_t got = 0;
        if (c->plain) {
            ssize_t n = recv(c->fd, buf, sizeof buf, 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) return;
                if (errno == EINTR) continue;
                conn_close(c, LOG_INFO, "read failed");
                return;
            }
            if (n == 0) {
                conn_close(c, LOG_DEBUG, "client closed the connection");
                return;
            }
            got = (size_t)n;
        } else {
            tss_tls_io io;
            tss_result r = tss_tls_read(c->tls, buf, sizeof buf, &got, &io);
            if (!tss_is_ok(r)) {
                conn_close(c, LOG_INFO, tss_error_detail());
                return;
            }
            if (io == TSS_TLS_IO_CLOSED) {
                conn_close(c, LOG_DEBUG, "client closed the connection");
                return;
            }
            if (io != TSS_TLS_IO_DONE) {
                c->io_want = io;
                rearm(c);
                return;
            }
        }
        total += got;
        process(c, buf, got);
    }
}

static void handshake(gw_conn *c) {
    tss_tls_io io;
    tss_result r = tss_tls_handshake(c->tls, &io);
    if (!tss_is_ok(r)) {
        c->g->stats.auth_failures++;
        conn_close(c, LOG_NOTICE, tss_error_detail());
        return;
    }
    if (io != TSS_TLS_IO_DONE) {
        c->hs_want = io;
        rearm(c);
        return;
    }
    const tss_tls_identity *id = tss_tls_conn_peer(c->tls);
    if (id && id->role == TSS_TLS_ROLE_CLIENT) {
        snprintf(c->cert_name, sizeof c->cert_name, "%s", id->operator_name);
        c->cert_client = gw_auth_cert_name(c->g, id->operator_name);
    }
    c->state = ST_READING;
    c->idle_deadline = tss_now_ms() + (int64_t)c->g->cfg.timeouts.idle;
    c->io_want = TSS_TLS_IO_DONE;
    rearm(c);
    read_some(c); /* data may already be buffered inside TLS */
}

static void on_io(void *arg, uint32_t events) {
    gw_conn *c = arg;
    (void)events;
    switch (c->state) {
    case ST_HANDSHAKE: handshake(c); break;
    case ST_READING: read_some(c); break;
    case ST_WRITING: flush_out(c); break;
    default: break;
    }
}

static void on_timer(void *arg) {
    gw_conn *c = arg;
    int64_t now = tss_now_ms();
    if (c->state == ST_HANDSHAKE) {
        conn_close(c, LOG_INFO, "TLS handshake not finished within timeouts.request");
    } else if (c->state == ST_READING && c->in_request && now >= c->request_deadline) {
        c->state = ST_BUSY;
        refuse(c, 408, "request not received completely within timeouts.request");
    } else if (c->state == ST_READING && !c->in_request && now >= c->idle_deadline) {
        conn_close(c, LOG_DEBUG, "idle keep-alive connection (timeouts.idle)");
    } else if (c->state == ST_WRITING && now >= c->request_deadline + 
               (int64_t)c->g->cfg.timeouts.request) {
        conn_close(c, LOG_INFO, "client does not read its answer");
    } else {
        rearm(c);
    }
}

static void rearm(gw_conn *c) {
    if (c->state == ST_CLOSED) return;
    uint32_t ev = 0;
    int64_t due = 0;
    switch (c->state) {
    case ST_HANDSHAKE:
        ev = c->hs_want == TSS_TLS_IO_WANT_WRITE ? EPOLLOUT : EPOLLIN;
        due = c->request_deadline;
        break;
    case ST_READING:
        ev = c->io_want == TSS_TLS_IO_WANT_WRITE ? EPOLLOUT : EPOLLIN;
        due = c->in_request ? c->request_deadline : c->idle_deadline;
        break;
    case ST_WRITING:
        ev = c->io_want == TSS_TLS_IO_WANT_READ ? EPOLLIN : EPOLLOUT;
        due = tss_now_ms() + (int64_t)c->g->cfg.timeouts.request;
        c->request_deadline = due - (int64_t)c->g->cfg.timeouts.request;
        break;
    default: ev = 0; break; /* BUSY: the answer comes from the coordinator */
    }
    if (!tss_is_ok(tss_loop_modify(c->g->loop, &c->watch, ev))) {
        conn_close(c, LOG_ERR, "epoll failed");
        return;
    }
    if (due) {
        if (!tss_is_ok(tss_timer_arm(c->g->loop, &c->timer, due)))
            conn_close(c, LOG_ERR, "timer failed");
    } else {
        tss_timer_disarm(c->g->loop, &c->timer);
    }
}

/* ---- accepting ---------------------------------------------------------------------- */

void gw_http_accept(void *arg, uint32_t events) {
    gw_listener *l = arg;
    gw *g = l->g;
    (void)events;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            tss_log(LOG_ERR, "accept: %s", strerror(errno));
            return;
        }
        char addr[80];
        tss_sockaddr_format(&ss, len, addr, sizeof addr);
        if (g->stopping || g->n_conns >= (size_t)g->cfg.limits.max_connections) {
            g->stats.conns_refused++;
            tss_log(LOG_WARNING, "http: refusing %s: %s", addr,
                    g->stopping ? "shutting down" : "limits.max_connections reached");
            close(fd);
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        gw_http_adopt(g, fd, l->plain, addr);
    }
}

void gw_http_adopt(gw *g, int fd, bool plain, const char *addr) {
    gw_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->g = g;
    c->fd = fd;
    c->plain = plain;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    tss_timer_init(&c->timer, on_timer, c);
    tss_result r = c->plain ? TSS_OK_RESULT : tss_tls_conn_new(g->https, fd, &c->tls);
    if (tss_is_ok(r)) r = tss_loop_watch(g->loop, &c->watch, fd, EPOLLIN, on_io, c);
    if (!tss_is_ok(r)) {
        tss_log(LOG_ERR, "http: cannot serve %s: %s", addr, tss_error_detail());
        tss_tls_conn_free(c->tls);
        close(fd);
        free(c);
        return;
    }
    c->next = g->conns;
    if (g->conns) g->conns->prev = c;
    g->conns = c;
    g->n_conns++;
    g->stats.conns_total++;
    c->request_deadline = tss_now_ms() + (int64_t)g->cfg.timeouts.request;
    c->idle_deadline = tss_now_ms() + (int64_t)g->cfg.timeouts.idle;
    c->state = c->plain ? ST_READING : ST_HANDSHAKE;
    c->hs_want = TSS_TLS_IO_WANT_READ;
    rearm(c);
}
