/* The optional downstream Ethereum node (config `downstream`): one JSON-RPC
 * call per short plain-HTTP connection inside the event loop, answered
 * through a callback. Used to fill eth_sendTransaction's missing fields, to
 * submit the signed transaction, and to proxy methods the gateway does not
 * implement (as Web3Signer does). Bounded: the answer body is capped at
 * DOWN_MAX_BODY and the whole call at timeouts.sign. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <http_parser.h>

#include "daemon/gateway/gw.h"
#include "util/log.h"

#define DOWN_MAX_BODY (4u * 1024 * 1024)

struct gw_down_call {
    gw *g;
    int fd;
    tss_watch w;
    tss_timer t;
    bool connecting, writing, done, complete;
    char *out;
    size_t out_len, off;
    http_parser p;
    char *body;
    size_t body_len, body_cap;
    gw_down_done fn;
    void *arg;
};

static tss_config_addr down_addr;
static char down_path[256];
static char down_host[300];

bool gw_down_enabled(const gw *g) { return g->cfg.downstream != NULL; }

tss_result gw_down_init(gw *g) {
    const char *u = g->cfg.downstream;
    if (!u) return TSS_OK_RESULT;
    const char *h = u + 7; /* "http://" checked by the schema */
    const char *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    snprintf(down_path, sizeof down_path, "%s", slash ? slash : "/");
    TSS_ENSURE(hl > 0 && hl < sizeof down_host, TSS_E_CONFIG, "downstream: bad host in %s", u);
    memcpy(down_host, h, hl);
    down_host[hl] = '\0';
    memset(&down_addr, 0, sizeof down_addr);
    const char *colon = strrchr(down_host, ':');
    const char *close_br = strrchr(down_host, ']');
    size_t name_len = hl;
    down_addr.port = 80;
    if (colon && (!close_br || colon > close_br)) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        TSS_ENSURE(*end == '\0' && port >= 1 && port <= 65535, TSS_E_CONFIG,
                   "downstream: bad port in %s", u);
        down_addr.port = (uint16_t)port;
        name_len = (size_t)(colon - down_host);
    }
    const char *name = down_host;
    if (name[0] == '[' && name_len >= 2 && name[name_len - 1] == ']') name++, name_len -= 2;
    TSS_ENSURE(name_len > 0 && name_len <= TSS_CONFIG_HOST_MAX, TSS_E_CONFIG,
               "downstream: bad host in %s", u);
    memcpy(down_addr.host, name, name_len);
    return TSS_OK_RESULT;
}

static void free_call(void *arg) {
    gw_down_call *c = arg;
    free(c->out);
    free(c->body);
    free(c);
}

static void finish(gw_down_call *c, const char *err) {
    if (c->done) return;
    c->done = true;
    tss_timer_disarm(c->g->loop, &c->t);
    if (c->fd >= 0) {
        tss_loop_unwatch(c->g->loop, &c->w);
        close(c->fd);
        c->fd = -1;
    }
    json_t *reply = NULL;
    char why[200];
    if (!err) {
        int st = c->p.status_code;
        json_error_t je;
        reply = c->body ? json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;
        if (!reply) {
            snprintf(why, sizeof why, "the node answered HTTP %d without JSON", st);
            err = why;
        } else if (!json_is_object(reply)) {
            json_decref(reply);
            reply = NULL;
            err = "the node's answer is not a JSON-RPC object";
        }
    }
    c->fn(c->arg, reply, err);
    json_decref(reply);
    if (!tss_is_ok(tss_loop_defer(c->g->loop, free_call, c))) free_call(c);
}

static int on_body(http_parser *p, const char *at, size_t n) {
    gw_down_call *c = p->data;
    if (c->body_len + n > DOWN_MAX_BODY) return 1;
    if (c->body_len + n + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        while (cap < c->body_len + n + 1) cap *= 2;
        char *b = realloc(c->body, cap);
        if (!b) return 1;
        c->body = b;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, at, n);
    c->body_len += n;
    return 0;
}

static int on_complete(http_parser *p) {
    gw_down_call *c = p->data;
    c->complete = true;
    return 0;
}

static const http_parser_settings down_settings = {.on_body = on_body,
                                                   .on_message_complete = on_complete};

static void on_io(void *arg, uint32_t events) {
    gw_down_call *c = arg;
    (void)events;
    if (c->connecting) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
        if (err) {
            char why[160];
            snprintf(why, sizeof why, "cannot connect to the downstream node: %s", strerror(err));
            finish(c, why);
            return;
        }
        c->connecting = false;
    }
    while (c->writing) {
        ssize_t n = send(c->fd, c->out + c->off, c->out_len - c->off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!tss_is_ok(tss_loop_modify(c->g->loop, &c->w, EPOLLOUT))) finish(c, "epoll failed");
            return;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            finish(c, "the downstream node closed the connection");
            return;
        }
        c->off += (size_t)n;
        if (c->off == c->out_len) {
            c->writing = false;
            if (!tss_is_ok(tss_loop_modify(c->g->loop, &c->w, EPOLLIN))) {
                finish(c, "epoll failed");
                return;
            }
        }
    }
    char buf[16384];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            finish(c, "reading from the downstream node failed");
            return;
        }
        size_t used = http_parser_execute(&c->p, &down_settings, buf, (size_t)n);
        if ((n > 0 && used != (size_t)n) || HTTP_PARSER_ERRNO(&c->p) != HPE_OK) {
            finish(c, "the downstream node's answer is not valid HTTP (or too large)");
            return;
        }
        if (c->complete) {
            finish(c, NULL);
            return;
        }
        if (n == 0) {
            finish(c, "the downstream node closed the connection before answering");
            return;
        }
    }
}

static void on_timeout(void *arg) { finish(arg, "the downstream node did not answer in time"); }

tss_result gw_down_request(gw *g, const char *method, json_t *params, gw_down_done fn, void *arg) {
    TSS_ENSURE(gw_down_enabled(g), TSS_E_USAGE, "no downstream node configured");
    static unsigned long id;
    json_t *pa = params ? json_incref(params) : json_array();
    json_t *rq = json_pack("{s:s,s:I,s:s,s:o}", "jsonrpc", "2.0", "id", (json_int_t)++id, "method",
                           method, "params", pa);
    char *body = rq ? json_dumps(rq, JSON_COMPACT) : NULL;
    json_decref(rq);
    TSS_ENSURE(body != NULL, TSS_E_NOMEM, "no memory");
    gw_down_call *c = calloc(1, sizeof *c);
    if (!c) {
        free(body);
        return tss_fail(TSS_E_NOMEM, "no memory");
    }
    c->g = g;
    c->fd = -1;
    c->fn = fn;
    c->arg = arg;
    size_t bl = strlen(body);
    c->out = malloc(bl + 512 + strlen(down_path) + strlen(down_host));
    if (!c->out) {
        free(body);
        free(c);
        return tss_fail(TSS_E_NOMEM, "no memory");
    }
    c->out_len = (size_t)sprintf(c->out,
                                 "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                 down_path, down_host, bl, body);
    free(body);
    http_parser_init(&c->p, HTTP_RESPONSE);
    c->p.data = c;
    int in_progress = 0;
    tss_result r = tss_net_connect(&down_addr, &c->fd, &in_progress);
    if (tss_is_ok(r)) {
        c->connecting = in_progress != 0;
        c->writing = true;
        r = tss_loop_watch(g->loop, &c->w, c->fd, EPOLLOUT, on_io, c);
    }
    tss_timer_init(&c->t, on_timeout, c);
    if (tss_is_ok(r)) r = tss_timer_arm(g->loop, &c->t, tss_now_ms() + (int64_t)g->cfg.timeouts.sign);
    if (!tss_is_ok(r)) {
        if (c->fd >= 0) {
            tss_loop_unwatch(g->loop, &c->w);
            close(c->fd);
        }
        free_call(c);
        return r;
    }
    return TSS_OK_RESULT;
}
