/* daemon/: the event loop's timers and deferred calls, and framed TLS
 * connections (daemon/conn.h) driven by one loop over socketpairs: handshake
 * and frame exchange, per-type caps at send time, the silent-peer deadline
 * and the handshake deadline. (Malformed frames, slowloris and the rest run
 * against the real daemons in tests/integration/daemons.sh.) */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/admission.h"
#include "daemon/conn.h"
#include "daemon/loop.h"
#include "tests/unit/harness.h"
#include "tls/pki.h"
#include "util/log.h"
#include "util/secmem.h"
#include "wire/msg.h"

static char root[512];

/* ---- loop ---------------------------------------------------------------------------- */

static int order[8], n_order;
static tss_loop *g_loop;

static void note(void *arg) {
    order[n_order++] = (int)(intptr_t)arg;
    if (n_order == 3) tss_loop_stop(g_loop);
}

static void loop_timers_fire_in_order(void) {
    tss_loop *l = NULL;
    CHECK_OK(tss_loop_new(NULL, NULL, &l));
    if (!l) return;
    g_loop = l;
    n_order = 0;
    tss_timer a, b, c, d;
    tss_timer_init(&a, note, (void *)1);
    tss_timer_init(&b, note, (void *)2);
    tss_timer_init(&c, note, (void *)3);
    tss_timer_init(&d, note, (void *)4);
    int64_t now = tss_now_ms();
    CHECK_OK(tss_timer_arm(l, &c, now + 60));
    CHECK_OK(tss_timer_arm(l, &a, now + 20));
    CHECK_OK(tss_timer_arm(l, &d, now + 30));
    CHECK_OK(tss_timer_arm(l, &b, now + 40));
    tss_timer_disarm(l, &d); /* never fires */
    CHECK_OK(tss_loop_run(l));
    CHECK(n_order == 3 && order[0] == 1 && order[1] == 2 && order[2] == 3);
    CHECK(tss_now_ms() - now >= 60);
    tss_loop_free(l);
}

static int deferred_ran;
static void deferred(void *arg) { deferred_ran += (int)(intptr_t)arg; }

static void loop_defer_runs_once(void) {
    tss_loop *l = NULL;
    CHECK_OK(tss_loop_new(NULL, NULL, &l));
    if (!l) return;
    g_loop = l;
    n_order = 2; /* the timer below is the third note: stops the loop */
    deferred_ran = 0;
    CHECK_OK(tss_loop_defer(l, deferred, (void *)5));
    tss_timer t;
    tss_timer_init(&t, note, (void *)9);
    CHECK_OK(tss_timer_arm(l, &t, tss_now_ms() + 5));
    CHECK_OK(tss_loop_run(l));
    CHECK(deferred_ran == 5);
    tss_loop_free(l);
    CHECK(deferred_ran == 5);
}

/* A killed timer stays unarmed whatever is armed after it (daemon/loop.h
 * rule 2); an embedded deferred node runs once, after the batch, even when
 * queued twice. */
static int killed_fired, node_runs;
static void killed_fn(void *arg) { (void)arg; killed_fired++; }
static void node_fn(void *arg) { (void)arg; node_runs++; }

static void loop_killed_timer_and_nodes(void) {
    tss_loop *l = NULL;
    CHECK_OK(tss_loop_new(NULL, NULL, &l));
    if (!l) return;
    g_loop = l;
    killed_fired = node_runs = 0;
    tss_timer k;
    tss_timer_init(&k, killed_fn, NULL);
    CHECK_OK(tss_timer_arm(l, &k, tss_now_ms() + 5));
    tss_timer_kill(l, &k);
    CHECK_OK(tss_timer_arm(l, &k, tss_now_ms() + 5)); /* a no-op */
    CHECK(!k.armed);
    tss_deferred d;
    memset(&d, 0, sizeof d);
    tss_loop_defer_node(l, &d, node_fn, NULL);
    tss_loop_defer_node(l, &d, node_fn, NULL);
    CHECK(node_runs == 0);
    n_order = 2;
    tss_timer t;
    tss_timer_init(&t, note, (void *)9);
    CHECK_OK(tss_timer_arm(l, &t, tss_now_ms() + 30));
    CHECK_OK(tss_loop_run(l));
    CHECK(killed_fired == 0 && node_runs == 1);
    tss_loop_free(l);
    CHECK(node_runs == 1);
}

/* ---- admission (issue 11, finding 3) -------------------------------------------------- */

static struct sockaddr_storage ip4(const char *ip, unsigned port) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    CHECK(inet_pton(AF_INET, ip, &in->sin_addr) == 1);
    return ss;
}

static int reports;
static void count_report(const tss_admit_entry *e, void *arg) {
    (void)arg;
    if (e->refused == 3 && e->evicted == 1) reports++;
}

static void admission_rate_refund_and_summary(void) {
    static tss_admit a; /* large: not on the stack */
    int64_t t = 1000000;
    tss_admit_init(&a, 10, t); /* 10/s, burst 40 */
    struct sockaddr_storage x1 = ip4("10.0.0.1", 1000), x2 = ip4("10.0.0.1", 2000),
                            y = ip4("10.0.0.2", 1000);
    tss_admit_entry *e = tss_admit_lookup(&a, &x1, t);
    CHECK(e == tss_admit_lookup(&a, &x2, t)); /* the port does not matter */
    CHECK(e != tss_admit_lookup(&a, &y, t));
    CHECK(strcmp(e->name, "10.0.0.1") == 0);
    int took = 0;
    while (tss_admit_take(&a, e, t) && took < 100) took++;
    CHECK(took == 40);
    CHECK(tss_admit_take(&a, tss_admit_lookup(&a, &y, t), t)); /* others unaffected */
    tss_admit_refund(&a, e); /* an authenticated connection gives its token back */
    CHECK(tss_admit_take(&a, e, t) && !tss_admit_take(&a, e, t));
    CHECK(tss_admit_take(&a, e, t + 100)); /* 10/s: one token after 100 ms */
    CHECK(tss_admit_note_refused(e) && !tss_admit_note_refused(e) && !tss_admit_note_refused(e));
    CHECK(!tss_admit_note_evicted(e)); /* first-of-minute already logged */
    reports = 0;
    tss_admit_report(&a, t + 1000, count_report, NULL); /* not yet a minute */
    CHECK(reports == 0);
    tss_admit_report(&a, t + TSS_ADMIT_REPORT_MS, count_report, NULL);
    CHECK(reports == 1 && e->refused == 0 && e->evicted == 0);
    /* A full table of busy addresses: newcomers share the overflow entry. */
    for (unsigned i = 0; i < TSS_ADMIT_SLOTS + 5; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.1.%u.%u", i / 250, i % 250);
        struct sockaddr_storage z = ip4(ip, 1);
        tss_admit_entry *ze = tss_admit_lookup(&a, &z, t);
        ze->unauth++;
    }
    struct sockaddr_storage w = ip4("10.9.9.9", 1);
    CHECK(tss_admit_lookup(&a, &w, t) == &a.overflow);
}

/* ---- connections --------------------------------------------------------------------- */

typedef struct {
    tss_dconn *c;
    bool opened, closed;
    int frames;
    uint8_t last_type;
    char reason[400];
} side;

static int open_sides;

static void s_open(tss_dconn *c, void *arg) {
    side *s = arg;
    (void)c;
    s->opened = true;
}
static void s_frame(tss_dconn *c, const tss_wire_frame *f, void *arg) {
    side *s = arg;
    s->frames++;
    s->last_type = f->type;
    /* Echo heartbeats as acks. */
    if (f->type == TSS_WIRE_HEARTBEAT) CHECK_OK(tss_dconn_send(c, TSS_WIRE_HEARTBEAT_ACK, f->payload, f->len));
}
static void s_close(tss_dconn *c, const char *reason, void *arg) {
    side *s = arg;
    (void)c;
    s->closed = true;
    snprintf(s->reason, sizeof s->reason, "%s", reason);
    if (--open_sides == 0) tss_loop_stop(g_loop);
}
static const tss_dconn_ops ops = {s_open, s_frame, s_close};

static tss_tls_ctx *srv_ctx, *cli_ctx;

static tss_tls_ctx *make_ctx(const char *dir, tss_tls_side sd, const char *urn) {
    char cert[700], key[700], ca[700];
    snprintf(cert, sizeof cert, "%s/%s/cert.pem", root, dir);
    snprintf(key, sizeof key, "%s/%s/key.pem", root, dir);
    snprintf(ca, sizeof ca, "%s/ca/ca.pem", root);
    tss_tls_config tc;
    memset(&tc, 0, sizeof tc);
    tc.side = sd;
    CHECK_OK(tss_tls_identity_parse(urn, strlen(urn), &tc.self));
    tss_tls_policy_init(&tc.peers);
    if (sd == TSS_TLS_SERVER) CHECK_OK(tss_tls_policy_allow_party(&tc.peers, 1));
    else tc.peers.coordinator = true;
    tss_tls_paths p = {cert, key, ca, NULL};
    tss_tls_ctx *ctx = NULL;
    CHECK_OK(tss_tls_ctx_new(&tc, &p, &ctx));
    return ctx;
}

static void setup_pki(void) {
    char d[700], o[700];
    harness_tmpdir(root, sizeof root);
    snprintf(d, sizeof d, "%s/ca", root);
    CHECK_OK(tss_tls_pki_init_ca(d, 2));
    snprintf(o, sizeof o, "%s/srv", root);
    CHECK_OK(tss_tls_pki_issue(d, "urn:tssd:coordinator", o, NULL, 0, NULL, 0, 2));
    snprintf(o, sizeof o, "%s/cli", root);
    CHECK_OK(tss_tls_pki_issue(d, "urn:tssd:party:1", o, NULL, 0, NULL, 0, 2));
    srv_ctx = make_ctx("srv", TSS_TLS_SERVER, "urn:tssd:coordinator");
    cli_ctx = make_ctx("cli", TSS_TLS_CLIENT, "urn:tssd:party:1");
}

static const tss_dconn_limits limits = {
    .max_frame = 4096, .max_pending_frames = 4, .max_pending_bytes = 16384,
    .handshake_ms = 2000, .frame_ms = 300, .idle_ms = 5000,
};

/* A connected pair in one loop; the stop timer bounds every test. */
static void stop_now(void *arg) { tss_loop_stop(arg); }

static bool pair(tss_loop *l, side *srv, side *cli, const tss_dconn_limits *lim) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return false;
    memset(srv, 0, sizeof *srv);
    memset(cli, 0, sizeof *cli);
    open_sides = 2;
    CHECK_OK(tss_dconn_new(l, srv_ctx, sv[0], false, lim, &ops, srv, "server-end", &srv->c));
    CHECK_OK(tss_dconn_new(l, cli_ctx, sv[1], true, lim, &ops, cli, "client-end", &cli->c));
    return srv->c && cli->c;
}

static void run_for(tss_loop *l, int ms) {
    tss_timer t;
    tss_timer_init(&t, stop_now, l);
    CHECK_OK(tss_timer_arm(l, &t, tss_now_ms() + ms));
    CHECK_OK(tss_loop_run(l));
    tss_timer_disarm(l, &t);
}

static void on_open_send_heartbeat(tss_dconn *c, void *arg) {
    s_open(c, arg);
    uint8_t hb[16] = {0};
    CHECK_OK(tss_dconn_send(c, TSS_WIRE_HEARTBEAT, hb, sizeof hb));
}

static void conn_handshake_and_echo(void) {
    tss_loop *l = NULL;
    CHECK_OK(tss_loop_new(NULL, NULL, &l));
    g_loop = l;
    side srv, cli;
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    memset(&srv, 0, sizeof srv);
    memset(&cli, 0, sizeof cli);
    open_sides = 2;
    tss_dconn_ops cops = ops;
    cops.on_open = on_open_send_heartbeat;
    CHECK_OK(tss_dconn_new(l, srv_ctx, sv[0], false, &limits, &ops, &srv, "server-end", &srv.c));
    CHECK_OK(tss_dconn_new(l, cli_ctx, sv[1], true, &limits, &cops, &cli, "client-end", &cli.c));
    run_for(l, 1000);
    CHECK(srv.opened && cli.opened);
    CHECK(srv.frames == 1 && srv.last_type == TSS_WIRE_HEARTBEAT);
    CHECK(cli.frames == 1 && cli.last_type == TSS_WIRE_HEARTBEAT_ACK);
    CHECK(!srv.closed && !cli.closed);
    CHECK(tss_dconn_peer(srv.c) && tss_dconn_peer(srv.c)->role == TSS_TLS_ROLE_PARTY);
    tss_dconn_close(cli.c, LOG_DEBUG, "test done");
    run_for(l, 500);
    CHECK(srv.closed && strstr(srv.reason, "peer closed") != NULL);
    tss_loop_free(l);
}

/* Frames over the per-type cap are refused at send time; a burst of frames
 * is delivered and answered in order. */
static void conn_caps_and_burst(void) {
    tss_loop *l = NULL;
    CHECK_OK(tss_loop_new(NULL, NULL, &l));
    g_loop = l;
    side srv, cli;
    CHECK(pair(l, &srv, &cli, &limits));
    run_for(l, 500);
    CHECK(srv.opened && cli.opened);
    uint8_t big[64] = {0};
    CHECK_ERR(tss_dconn_send(cli.c, TSS_WIRE_HEARTBEAT, big, sizeof big), TSS_E_TOO_LARGE);
    CHECK(tss_dconn_is_open(cli.c));
    for (int i = 0; i < 3; i++) {
        uint8_t hb[16] = {0};
        hb[7] = (uint8_t)i;
        CHECK_OK(tss_dconn_send(cli.c, TSS_WIRE_HEARTBEAT, hb, sizeof hb));
    }
    run_for(l, 500);
    CHECK(srv.frames == 3 && cli.frames == 3 && cli.last_type == TSS_WIRE_HEARTBEAT_ACK);
    tss_dconn_close(cli.c, LOG_DEBUG, "test done");
    run_for(l, 300);
    CHECK(srv.closed);
    tss_loop_free(l);
}

static void conn_silent_peer_times_out(void) {
    tss_loop *l = NULL;
    CHECK_OK(tss_loop_new(NULL, NULL, &l));
    g_loop = l;
    side srv, cli;
    tss_dconn_limits lim = limits;
    lim.handshake_ms = 400;
    CHECK(pair(l, &srv, &cli, &lim));
    int64_t t0 = tss_now_ms();
    run_for(l, 3000);
    CHECK(srv.closed && strstr(srv.reason, "no complete frame within 400 ms") != NULL);
    CHECK(tss_now_ms() - t0 < 2500);
    tss_loop_free(l);
}

static void conn_handshake_deadline(void) {
    tss_loop *l = NULL;
    CHECK_OK(tss_loop_new(NULL, NULL, &l));
    g_loop = l;
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    side srv;
    memset(&srv, 0, sizeof srv);
    open_sides = 1;
    tss_dconn_limits lim = limits;
    lim.handshake_ms = 300;
    CHECK_OK(tss_dconn_new(l, srv_ctx, sv[0], false, &lim, &ops, &srv, "mute-client", &srv.c));
    /* One byte of a ClientHello, then nothing. */
    CHECK(write(sv[1], "\x16", 1) == 1);
    run_for(l, 2000);
    CHECK(srv.closed && strstr(srv.reason, "TLS handshake timed out") != NULL);
    close(sv[1]);
    tss_loop_free(l);
}

/* Findings 1 and 2 of issue 11: a send that overflows the queue ends the
 * connection, but never calls on_close from inside send (the owner would
 * free what its caller still uses); on_close runs once, after the batch. */
typedef struct {
    side base;
    bool on_close_during_send;
    bool in_send;
} owner;

static owner *g_owner;
static void o_close(tss_dconn *c, const char *reason, void *arg) {
    if (g_owner && g_owner->in_send) g_owner->on_close_during_send = true;
    s_close(c, reason, arg);
}
static const tss_dconn_ops owner_ops = {s_open, s_frame, o_close};

static void conn_close_inside_send_is_deferred(void) {
    tss_loop *l = NULL;
    CHECK_OK(tss_loop_new(NULL, NULL, &l));
    g_loop = l;
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    int small = 4096;
    (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    (void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    owner o;
    side cli;
    memset(&o, 0, sizeof o);
    memset(&cli, 0, sizeof cli);
    g_owner = &o;
    open_sides = 2;
    CHECK_OK(tss_dconn_new(l, srv_ctx, sv[0], false, &limits, &owner_ops, &o.base, "server-end",
                           &o.base.c));
    CHECK_OK(tss_dconn_new(l, cli_ctx, sv[1], true, &limits, &ops, &cli, "client-end", &cli.c));
    run_for(l, 1000);
    CHECK(o.base.opened && cli.opened);
    /* The client's loop is not running: nobody reads. Queue until refused. */
    uint8_t payload[4000];
    memset(payload, 0x5a, sizeof payload);
    tss_result r = TSS_OK_RESULT;
    int sent = 0;
    for (; sent < 400 && tss_is_ok(r); sent++) {
        o.in_send = true;
        r = tss_dconn_send(o.base.c, TSS_WIRE_PROTOCOL_MSG, payload, sizeof payload);
        o.in_send = false;
    }
    CHECK_ERR(r, TSS_E_TOO_LARGE);
    CHECK(!o.on_close_during_send); /* old code: on_close ran inside send */
    CHECK(!o.base.closed);
    CHECK(!tss_dconn_is_open(o.base.c)); /* ended, still valid memory */
    CHECK_ERR(tss_dconn_send(o.base.c, TSS_WIRE_HEARTBEAT, payload, 16), TSS_E_IO);
    tss_dconn_close(o.base.c, LOG_DEBUG, "closed twice: a no-op");
    run_for(l, 1000);
    CHECK(o.base.closed && strstr(o.base.reason, "output queue over its cap") != NULL);
    CHECK(cli.closed);
    g_owner = NULL;
    tss_loop_free(l);
}

/* The pre-authentication deadline (limits.tls_ms, coordinator
 * timeouts.preauth) is shorter than the handshake-plus-first-frame one. */
static void conn_preauth_deadline(void) {
    tss_loop *l = NULL;
    CHECK_OK(tss_loop_new(NULL, NULL, &l));
    g_loop = l;
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    side srv;
    memset(&srv, 0, sizeof srv);
    open_sides = 1;
    tss_dconn_limits lim = limits;
    lim.handshake_ms = 5000;
    lim.tls_ms = 200;
    int64_t t0 = tss_now_ms();
    CHECK_OK(tss_dconn_new(l, srv_ctx, sv[0], false, &lim, &ops, &srv, "idle-client", &srv.c));
    run_for(l, 3000);
    CHECK(srv.closed && strstr(srv.reason, "TLS handshake timed out") != NULL);
    CHECK(tss_now_ms() - t0 < 2500);
    close(sv[1]);
    tss_loop_free(l);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    tss_log_set_level(getenv("TEST_DEBUG") ? LOG_DEBUG : LOG_CRIT);
    RUN(loop_timers_fire_in_order);
    RUN(loop_defer_runs_once);
    RUN(loop_killed_timer_and_nodes);
    RUN(admission_rate_refund_and_summary);
    setup_pki();
    RUN(conn_handshake_and_echo);
    RUN(conn_caps_and_burst);
    RUN(conn_silent_peer_times_out);
    RUN(conn_handshake_deadline);
    RUN(conn_close_inside_send_is_deferred);
    RUN(conn_preauth_deadline);
    tss_tls_ctx_free(srv_ctx);
    tss_tls_ctx_free(cli_ctx);
    harness_rmtree(root);
    return harness_finish("daemon");
}
