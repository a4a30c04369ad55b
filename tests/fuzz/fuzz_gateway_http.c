/* Fuzz the gateway's HTTP handling (daemon/gateway/http.c): the input is
 * what a client sends on a plain connection (one or more pipelined requests,
 * or garbage), through libhttp-parser and the gateway's callbacks, limits,
 * keep-alive and answer writing, inside the real event loop over a
 * socketpair. The router is replaced by one that checks what it was given
 * (a complete request within the limits) and answers at once. Invariants:
 * no crash, leak or hang; every dispatched request is within the caps; the
 * connection ends when the client's side is closed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/gateway/http.c"

static void die(const char *why) {
    fprintf(stderr, "fuzz_gateway_http: %s\n", why);
    abort();
}

/* ---- what http.c calls outside itself ------------------------------------------------- */

static gw G;
static size_t dispatched;

void gw_api_handle(gw *g, const gw_http_request *rq, gw_http_hold *h) {
    if (g != &G) die("wrong gateway");
    if (rq->body_len > g->cfg.limits.max_body) die("body over the cap dispatched");
    if (strlen(rq->path) > g->cfg.limits.max_header_size) die("URL over the cap dispatched");
    if (rq->client) die("authenticated without credentials");
    dispatched++;
    /* Echo the path length; keep-alive decided by http.c. */
    char body[64];
    int n = snprintf(body, sizeof body, "{\"path\":%zu,\"body\":%zu}", strlen(rq->path), rq->body_len);
    gw_http_respond(h, 200, "application/json", body, (size_t)n);
}

/* No token is valid (the table is empty); certificates never occur on plain. */
const gw_client *gw_auth_token(const gw *g, const char *token, size_t len) {
    (void)g;
    (void)token;
    (void)len;
    return NULL;
}

const gw_client *gw_auth_cert_name(const gw *g, const char *name) {
    (void)g;
    (void)name;
    die("a certificate on a plain connection");
    return NULL;
}

/* ---- the run ------------------------------------------------------------------------------- */

typedef struct {
    int fd;
    tss_watch w;
    bool eof;
} peer_end;

static void on_peer(void *arg, uint32_t events) {
    peer_end *p = arg;
    (void)events;
    char buf[4096];
    for (;;) {
        ssize_t n = recv(p->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) continue; /* drain the answers */
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            p->eof = true;
            tss_loop_stop(G.loop);
        }
        return;
    }
}

static void on_deadline(void *arg) {
    (void)arg;
    die("the connection did not end after the client closed its side");
}

static void setup(void) {
    static const char yaml[] =
        "plain_listen: [127.0.0.1:1]\n"
        "tls: {cert: /c.pem, key: /k.pem, ca: /ca.pem}\n"
        "coordinator: {address: [127.0.0.1:2], tls: {cert: /o.pem, key: /ok.pem, ca: /ca.pem}}\n"
        "chain_id: 1\n"
        "clients:\n  - {name: fuzz, keys: [\"*\"], methods: [\"*\"]}\n"
        "limits: {max_header_size: 1KiB, max_headers: 8, max_body: 2KiB}\n"
        "timeouts: {request: 2s, idle: 2s}\n";
    if (!tss_is_ok(tss_config_gateway_load_buffer(&G.cfg, "fuzz.yaml", yaml, sizeof yaml - 1)))
        die("config");
    if (!tss_is_ok(tss_loop_new(NULL, NULL, &G.loop))) die("loop");
    tss_log_set_level(LOG_CRIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool init;
    if (!init) {
        setup();
        init = true;
    }
    if (size > 16384) return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) die("socketpair");
    /* The whole input fits the socket buffer; then the client half-closes. */
    int big = 1 << 20;
    (void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    size_t off = 0;
    while (off < size) {
        ssize_t n = send(sv[1], data + off, size - off, MSG_NOSIGNAL);
        if (n <= 0) die("cannot write the input");
        off += (size_t)n;
    }
    shutdown(sv[1], SHUT_WR);
    dispatched = 0;
    gw_http_adopt(&G, sv[0], true, "fuzz");
    peer_end p = {.fd = sv[1]};
    tss_timer deadline;
    tss_timer_init(&deadline, on_deadline, NULL);
    if (!tss_is_ok(tss_loop_watch(G.loop, &p.w, sv[1], EPOLLIN, on_peer, &p)) ||
        !tss_is_ok(tss_timer_arm(G.loop, &deadline, tss_now_ms() + 10000)))
        die("watch");
    while (!p.eof)
        if (!tss_is_ok(tss_loop_run(G.loop))) die("loop run");
    tss_timer_disarm(G.loop, &deadline);
    tss_loop_unwatch(G.loop, &p.w);
    close(sv[1]);
    gw_http_close_all(&G, "fuzz: done"); /* any connection left (none expected) */
    if (G.n_conns != 0) die("connection count");
    /* Run the deferred frees. */
    tss_timer t;
    tss_timer_init(&t, (tss_timer_fn)tss_loop_stop, G.loop);
    if (!tss_is_ok(tss_timer_arm(G.loop, &t, tss_now_ms()))) die("timer");
    if (!tss_is_ok(tss_loop_run(G.loop))) die("loop run");
    return 0;
}
