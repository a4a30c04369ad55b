/* tls_poke: a test client for tests/integration/daemons.sh. Not installed.
 *
 *   tls_poke steps --addr H:P --cert C --key K --ca CA STEP...
 *       Connects through tls/ (the identity comes from the certificate) and
 *       runs steps in order, printing one line each:
 *         hello          send HELLO for the certificate's party id
 *         status         send STATUS_REQUEST
 *         heartbeat      send HEARTBEAT
 *         raw:HEX        send these bytes inside TLS (malformed frames)
 *         trickle:HEX:MS send the bytes one at a time, MS apart (slowloris)
 *         sleep:MS       wait
 *         expect:TYPE    the next frame must be TYPE (ERROR prints its text)
 *         closed         the server must close the connection within 10 s
 *         hold:SECS      heartbeat every 300 ms for SECS, every one acknowledged
 *         pipeline:TYPE:N  send N HEARTBEAT or STATUS_REQUEST frames at once
 *                        without reading a reply (issue 11 finding 2)
 *       Exit 0 if every step succeeded, 1 otherwise, 2 if the handshake failed.
 *
 *   tls_poke wolf --addr H:P [--cert C --key K] --ca CA [--tls12]
 *       A bare wolfSSL client (no local validation of its own certificate, so
 *       it can present expired ones or none): handshake, send a HEARTBEAT
 *       frame, and report whether the server answered or hung up.
 *       Exit 0 answered, 1 refused.
 *
 *   tls_poke idle --addr H:P --count N --secs S [--source IPV4]
 *       Open N plain TCP connections, say nothing, hold them S seconds;
 *       print how many the server had closed by then. --source binds them
 *       to another loopback address (127.0.0.2): the flood comes from an
 *       attacker's address, not from the operator's own.
 *
 *   tls_poke issue-expired --ca DIR --identity URN --out DIR
 *       A certificate that expired yesterday (tls/pki.h issue_ex). */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/schema.h"
#include "daemon/client.h"
#include "daemon/loop.h"
#include "daemon/net.h"
#include "tls/certinfo.h"
#include "tls/context.h"
#include "tls/pki.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/secmem.h"
#include "wire/msg.h"

static const char *addr_s, *cert, *key, *ca;
static bool tls12;
static int idle_count, idle_secs = 5;
static const char *idle_source;

static int die(const char *what) {
    fprintf(stderr, "tls_poke: %s: %s\n", what, tss_error_detail());
    return 2;
}

static bool parse_addr(const char *s, tss_config_addr *a) {
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) > TSS_CONFIG_HOST_MAX) return false;
    memset(a, 0, sizeof *a);
    memcpy(a->host, s, (size_t)(colon - s));
    a->port = (uint16_t)atoi(colon + 1);
    return a->port != 0;
}

static size_t unhex(const char *h, uint8_t *out, size_t cap) {
    size_t n = strlen(h) / 2;
    if (n > cap) n = cap;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1) return i;
        out[i] = (uint8_t)v;
    }
    return n;
}

static int type_by_name(const char *name) {
    for (unsigned t = 0; t < 256; t++) {
        const char *n = tss_wire_type_name(t);
        if (n && strcmp(n, name) == 0) return (int)t;
    }
    return -1;
}

static bool expect(tss_client *c, const char *name) {
    tss_wire_frame f;
    tss_result r = tss_client_recv(c, &f, 10000);
    if (!tss_is_ok(r)) {
        printf("expect %s: %s\n", name, tss_error_detail());
        return false;
    }
    const char *got = tss_wire_type_name(f.type);
    if (f.type == TSS_WIRE_ERROR) {
        tss_wire_error e;
        if (tss_is_ok(tss_wire_error_decode(&e, f.payload, f.len)))
            printf("got ERROR %s: %s\n", tss_wire_error_code_name(e.code), e.text);
    } else {
        printf("got %s\n", got);
    }
    return (int)f.type == type_by_name(name);
}

static bool send_msg(tss_client *c, tss_wire_type t, tss_result enc, tss_writer *w) {
    tss_result r = enc;
    if (tss_is_ok(r)) r = tss_client_send(c, t, w->data, w->len, 5000);
    tss_writer_free(w);
    if (!tss_is_ok(r)) printf("send %s: %s\n", tss_wire_type_name(t), tss_error_detail());
    else printf("sent %s\n", tss_wire_type_name(t));
    return tss_is_ok(r);
}

static int run_steps(int argc, char **argv) {
    tss_config_addr a;
    if (!addr_s || !parse_addr(addr_s, &a) || !cert || !key || !ca) {
        fprintf(stderr, "tls_poke steps: --addr --cert --key --ca needed\n");
        return 2;
    }
    tss_tls_cert_info info;
    if (!tss_is_ok(tss_tls_cert_info_from_file(cert, &info))) return die("cert");
    tss_tls_config tc;
    memset(&tc, 0, sizeof tc);
    tc.side = TSS_TLS_CLIENT;
    tc.self = info.identity;
    tss_tls_policy_init(&tc.peers);
    tc.peers.coordinator = true;
    tss_tls_paths paths = {cert, key, ca, NULL};
    tss_tls_ctx *ctx = NULL;
    if (!tss_is_ok(tss_tls_ctx_new(&tc, &paths, &ctx))) return die("tls context");
    tss_client *c = NULL;
    if (!tss_is_ok(tss_client_connect(ctx, &a, 1, TSS_WIRE_DEFAULT_MAX_FRAME, 5000, &c))) {
        printf("handshake failed: %s\n", tss_error_detail());
        tss_tls_ctx_free(ctx);
        return 2;
    }
    printf("connected, server sha256=%s\n", tss_client_server_cert(c)->fingerprint);
    fflush(stdout);
    bool ok = true;
    for (int i = 0; i < argc && ok; i++) {
        const char *s = argv[i];
        tss_writer w;
        tss_writer_init(&w, 4096);
        if (strcmp(s, "hello") == 0) {
            /* Not a party certificate: claim party 1 (the coordinator must refuse). */
            unsigned id = info.identity.role == TSS_TLS_ROLE_PARTY ? info.identity.party_id : 1;
            tss_wire_hello h = {.party_id = (uint16_t)id, .protocol_version = 1};
            memset(h.identity_key, 0x42, sizeof h.identity_key);
            strcpy(h.software, "tls_poke/1");
            ok = send_msg(c, TSS_WIRE_HELLO, tss_wire_hello_encode(&w, &h), &w);
        } else if (strcmp(s, "status") == 0) {
            ok = send_msg(c, TSS_WIRE_STATUS_REQUEST, tss_wire_status_request_encode(&w), &w);
        } else if (strcmp(s, "heartbeat") == 0) {
            tss_wire_heartbeat hb = {1, 2};
            ok = send_msg(c, TSS_WIRE_HEARTBEAT, tss_wire_heartbeat_encode(&w, &hb), &w);
        } else if (strncmp(s, "raw:", 4) == 0) {
            tss_writer_free(&w);
            uint8_t buf[4096];
            size_t n = unhex(s + 4, buf, sizeof buf);
            ok = tss_is_ok(tss_client_send_raw(c, buf, n, 5000));
            printf("sent %zu raw bytes%s\n", n, ok ? "" : " (failed)");
        } else if (strncmp(s, "trickle:", 8) == 0) {
            tss_writer_free(&w);
            uint8_t buf[4096];
            char hex[8200];
            snprintf(hex, sizeof hex, "%s", s + 8);
            char *ms = strchr(hex, ':');
            int delay = ms ? atoi(ms + 1) : 500;
            if (ms) *ms = '\0';
            size_t n = unhex(hex, buf, sizeof buf), sent = 0;
            for (; sent < n; sent++) {
                if (!tss_is_ok(tss_client_send_raw(c, buf + sent, 1, 5000))) break;
                usleep((useconds_t)delay * 1000);
            }
            printf("trickled %zu of %zu bytes\n", sent, n);
        } else if (strncmp(s, "sleep:", 6) == 0) {
            tss_writer_free(&w);
            usleep((useconds_t)atoi(s + 6) * 1000);
        } else if (strncmp(s, "expect:", 7) == 0) {
            tss_writer_free(&w);
            ok = expect(c, s + 7);
        } else if (strcmp(s, "closed") == 0) {
            tss_writer_free(&w);
            tss_wire_frame f;
            int64_t t0 = tss_now_ms();
            tss_result r;
            while (tss_is_ok(r = tss_client_recv(c, &f, 10000)))
                printf("got %s\n", tss_wire_type_name(f.type));
            ok = strstr(tss_error_detail(), "within") == NULL; /* not a timeout */
            printf("closed after %lld ms: %s\n", (long long)(tss_now_ms() - t0), tss_error_detail());
        } else if (strncmp(s, "pipeline:", 9) == 0) {
            bool status = strncmp(s + 9, "status", 6) == 0;
            const char *nc = strrchr(s, ':');
            int n = nc ? atoi(nc + 1) : 0;
            tss_writer one;
            tss_writer_init(&one, 64);
            tss_wire_heartbeat hb = {7, 7};
            tss_result r = status ? tss_wire_status_request_encode(&one)
                                  : tss_wire_heartbeat_encode(&one, &hb);
            size_t flen = 8 + one.len, total = (size_t)n * flen;
            uint8_t *buf = tss_is_ok(r) ? malloc(total) : NULL;
            for (int k = 0; buf && k < n; k++) {
                uint8_t *fp = buf + (size_t)k * flen;
                tss_writer fw;
                tss_writer_init(&fw, 4096);
                r = tss_wire_frame_encode(&fw, status ? TSS_WIRE_STATUS_REQUEST : TSS_WIRE_HEARTBEAT,
                                          one.data, one.len, 4096);
                if (tss_is_ok(r) && fw.len == flen) memcpy(fp, fw.data, flen);
                tss_writer_free(&fw);
            }
            tss_writer_free(&one);
            size_t sent = 0;
            for (; buf && sent < total; sent += 16384) {
                size_t m = total - sent < 16384 ? total - sent : 16384;
                if (!tss_is_ok(tss_client_send_raw(c, buf + sent, m, 3000))) break;
            }
            free(buf);
            printf("pipelined %d %s frames (%zu of %zu bytes sent)\n", n,
                   status ? "STATUS_REQUEST" : "HEARTBEAT", sent > total ? total : sent, total);
            tss_writer_free(&w);
        } else if (strncmp(s, "hold:", 5) == 0) {
            tss_writer_free(&w);
            int64_t end = tss_now_ms() + atoi(s + 5) * 1000LL;
            unsigned n = 0;
            while (ok && tss_now_ms() < end) {
                tss_writer hw;
                tss_writer_init(&hw, 64);
                tss_wire_heartbeat hb = {++n, (uint64_t)tss_now_ms()};
                tss_result r = tss_wire_heartbeat_encode(&hw, &hb);
                if (tss_is_ok(r)) r = tss_client_send(c, TSS_WIRE_HEARTBEAT, hw.data, hw.len, 5000);
                tss_writer_free(&hw);
                tss_wire_frame f;
                if (tss_is_ok(r)) r = tss_client_recv(c, &f, 5000);
                ok = tss_is_ok(r) && f.type == TSS_WIRE_HEARTBEAT_ACK;
                if (!ok) printf("hold: heartbeat %u failed: %s\n", n, tss_error_detail());
                usleep(300000);
            }
            if (ok) printf("held the connection, %u heartbeats acknowledged\n", n);
        } else {
            tss_writer_free(&w);
            printf("unknown step %s\n", s);
            ok = false;
        }
        fflush(stdout);
    }
    tss_client_free(c);
    tss_tls_ctx_free(ctx);
    return ok ? 0 : 1;
}

static int run_wolf(void) {
    tss_config_addr a;
    if (!addr_s || !parse_addr(addr_s, &a) || !ca) {
        fprintf(stderr, "tls_poke wolf: --addr and --ca needed\n");
        return 2;
    }
    wolfSSL_Init();
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(tls12 ? wolfTLSv1_2_client_method() : wolfTLSv1_3_client_method());
    if (!ctx) return 2;
    if (wolfSSL_CTX_load_verify_locations(ctx, ca, NULL) != WOLFSSL_SUCCESS) {
        fprintf(stderr, "cannot load CA %s\n", ca);
        return 2;
    }
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
    if (cert && (wolfSSL_CTX_use_certificate_file(ctx, cert, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
                 wolfSSL_CTX_use_PrivateKey_file(ctx, key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS)) {
        fprintf(stderr, "cannot load %s / %s\n", cert, key);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(a.port)};
    inet_pton(AF_INET, a.host, &sin.sin_addr);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        printf("tcp connect failed: %s\n", strerror(errno));
        return 2;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    WOLFSSL *ssl = wolfSSL_new(ctx);
    wolfSSL_set_fd(ssl, fd);
    int rc = wolfSSL_connect(ssl);
    if (rc != WOLFSSL_SUCCESS) {
        char buf[128];
        int err = wolfSSL_get_error(ssl, rc);
        printf("refused during handshake: %s (%d)\n", wolfSSL_ERR_error_string((unsigned long)err, buf), err);
        return 1;
    }
    /* TLS 1.3: the server checks our certificate after our Finished; its
     * verdict arrives as an alert or a close on the next read. */
    uint8_t frame[24] = {1, TSS_WIRE_HEARTBEAT, 0, 0, 0, 0, 0, 16};
    if (wolfSSL_write(ssl, frame, sizeof frame) != (int)sizeof frame) {
        printf("refused: write failed\n");
        return 1;
    }
    uint8_t buf[512];
    int n = wolfSSL_read(ssl, buf, sizeof buf);
    if (n <= 0) {
        char ebuf[128];
        int err = wolfSSL_get_error(ssl, n);
        printf("refused after handshake: %s (%d)\n", wolfSSL_ERR_error_string((unsigned long)err, ebuf), err);
        return 1;
    }
    printf("answered: %d bytes, frame type 0x%02x\n", n, n > 1 ? buf[1] : 0);
    wolfSSL_free(ssl);
    close(fd);
    wolfSSL_CTX_free(ctx);
    return 0;
}

static int run_issue_expired(const char *ca_dir, const char *urn, const char *out) {
    tss_tls_pki_issue_opts o;
    memset(&o, 0, sizeof o);
    o.not_before = time(NULL) - 10 * 86400;
    o.not_after = time(NULL) - 86400;
    if (!tss_is_ok(tss_tls_pki_issue_ex(ca_dir, urn, out, &o))) return die("issue_ex");
    return 0;
}

/* A non-blocking IPv4 connect bound to a chosen source address. */
static bool connect_from(const char *source, const tss_config_addr *a, int *fd) {
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    dst.sin_port = htons(a->port);
    if (inet_pton(AF_INET, source, &src.sin_addr) != 1 ||
        inet_pton(AF_INET, a->host, &dst.sin_addr) != 1)
        return false;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return false;
    if (bind(s, (struct sockaddr *)&src, sizeof src) != 0 ||
        (connect(s, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS)) {
        close(s);
        return false;
    }
    *fd = s;
    return true;
}

static int idle_mode(int n, int secs) {
    tss_config_addr a;
    if (!addr_s || !parse_addr(addr_s, &a) || n <= 0) {
        fprintf(stderr, "tls_poke idle: --addr --count needed\n");
        return 2;
    }
    int *fds = calloc((size_t)n, sizeof *fds);
    int opened = 0;
    for (int i = 0; fds && i < n; i++) {
        int in_progress = 0;
        fds[i] = -1;
        if (idle_source) {
            if (connect_from(idle_source, &a, &fds[i])) opened++;
        } else if (tss_is_ok(tss_net_connect(&a, &fds[i], &in_progress))) {
            opened++;
        }
    }
    printf("opened %d idle connections\n", opened);
    fflush(stdout);
    sleep((unsigned)secs);
    /* A socket whose SYN the full listen backlog dropped is still
     * connecting: the server never saw it, so it is not counted. */
    int closed = 0, connecting = 0;
    for (int i = 0; fds && i < n; i++) {
        if (fds[i] < 0) continue;
        char b;
        ssize_t r = recv(fds[i], &b, 1, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            closed++;
        } else {
            struct sockaddr_storage peer;
            socklen_t len = sizeof peer;
            if (getpeername(fds[i], (struct sockaddr *)&peer, &len) != 0 && errno == ENOTCONN)
                connecting++;
        }
        close(fds[i]);
    }
    printf("server closed %d of %d (%d never got through the listen backlog)\n", closed,
           opened - connecting, connecting);
    free(fds);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || !tss_is_ok(tss_crypto_init())) return 2;
    tss_log_set_level(getenv("TLS_POKE_DEBUG") ? LOG_DEBUG : LOG_CRIT);
    const char *mode = argv[1], *ca_dir = NULL, *urn = NULL, *out = NULL;
    int i = 2;
    for (; i < argc; i++) {
        const char *o = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(o, "--addr") == 0 && has) addr_s = argv[++i];
        else if (strcmp(o, "--cert") == 0 && has) cert = argv[++i];
        else if (strcmp(o, "--key") == 0 && has) key = argv[++i];
        else if (strcmp(o, "--ca") == 0 && has) ca = ca_dir = argv[++i];
        else if (strcmp(o, "--identity") == 0 && has) urn = argv[++i];
        else if (strcmp(o, "--out") == 0 && has) out = argv[++i];
        else if (strcmp(o, "--tls12") == 0) tls12 = true;
        else if (strcmp(o, "--count") == 0 && has) idle_count = atoi(argv[++i]);
        else if (strcmp(o, "--secs") == 0 && has) idle_secs = atoi(argv[++i]);
        else if (strcmp(o, "--source") == 0 && has) idle_source = argv[++i];
        else break;
    }
    if (strcmp(mode, "steps") == 0) return run_steps(argc - i, argv + i);
    if (strcmp(mode, "wolf") == 0) return run_wolf();
    if (strcmp(mode, "idle") == 0) return idle_mode(idle_count, idle_secs);
    if (strcmp(mode, "issue-expired") == 0 && ca_dir && urn && out)
        return run_issue_expired(ca_dir, urn, out);
    fprintf(stderr, "usage: see the comment at the top of tests/integration/tls_poke.c\n");
    return 2;
}
