/* wanlink: a user-space WAN link emulator for tests/integration/wan.sh and
 * bench/wan.sh (test tooling, never part of a production binary).
 *
 * This machine's kernel has no sch_netem (nor fq/BPF classifiers), so the
 * delay, jitter and loss that `tc netem` would add are applied here instead:
 * for every link "NS_A:DEV_A=NS_B:DEV_B" wanlink creates a TUN device DEV_A
 * inside network namespace NS_A and DEV_B inside NS_B (both named under
 * /run/netns, made by the calling script), then forwards every IP packet
 * read from one end to the other after a one-way delay, with optional
 * uniform jitter (order kept per direction, like a FIFO link) and random
 * loss. A link is point to point, so the script's addresses and routes
 * decide what crosses it; the namespaces have no other interface but lo, so
 * nothing can leave the machine.
 *
 * Usage: wanlink --delay-us N [--jitter-us N] [--loss-ppm N] [--seed N]
 *                [--stats FILE] [--params FILE] LINK...
 * On SIGHUP, --params FILE ("DELAY_US JITTER_US LOSS_PPM") replaces the
 * three link parameters for packets read from then on (bench/wan.sh changes
 * the RTT of one running cluster that way).
 * Prints "ready" on stdout once every device exists (the script then
 * configures addresses), runs until SIGTERM/SIGINT, then writes per-link
 * packet and byte counts to --stats (if given) and exits 0. The devices go
 * with the process (not persistent). Exit 64 on bad usage, 71 when a
 * namespace or device cannot be set up. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINKS 16
#define MAX_PKT 2048
#define QUEUE_CAP 8192 /* packets in flight per direction; more are dropped (a full link) */

typedef struct {
    uint64_t due_ns;
    uint16_t len;
    unsigned char data[MAX_PKT];
} packet;

typedef struct {
    int in_fd, out_fd;
    packet *q;
    size_t head, count;
    uint64_t last_due;
    uint64_t pkts, bytes, lost, overflow;
} direction;

typedef struct {
    char spec[256];
    direction dir[2]; /* 0: A -> B, 1: B -> A */
} link_t;

static volatile sig_atomic_t stop, reload, dump;
static void on_usr1(int s) { (void)s; dump = 1; }
static void on_signal(int s) { (void)s; stop = 1; }
static void on_hup(int s) { (void)s; reload = 1; }

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void) { /* xorshift64*: reproducible with --seed */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

/* A TUN device named dev inside /run/netns/ns (the caller's namespace is restored). */
static int tun_in_ns(const char *ns, const char *dev) {
    char path[300];
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int target = open(path, O_RDONLY | O_CLOEXEC);
    if (self < 0 || target < 0) {
        fprintf(stderr, "wanlink: cannot open namespace %s: %s\n", path, strerror(errno));
        return -1;
    }
    int fd = -1;
    if (setns(target, CLONE_NEWNET) != 0) {
        fprintf(stderr, "wanlink: setns(%s): %s\n", ns, strerror(errno));
    } else {
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
        if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
            fprintf(stderr, "wanlink: TUN device %s in %s: %s\n", dev, ns, strerror(errno));
            if (fd >= 0) close(fd);
            fd = -1;
        }
        if (setns(self, CLONE_NEWNET) != 0) {
            fprintf(stderr, "wanlink: cannot return to own namespace: %s\n", strerror(errno));
            if (fd >= 0) close(fd);
            fd = -1;
        }
    }
    close(self);
    close(target);
    return fd;
}

/* "NS_A:DEV_A=NS_B:DEV_B" */
static int open_link(link_t *l, const char *spec) {
    char buf[256], *eq, *c1, *c2;
    snprintf(l->spec, sizeof l->spec, "%s", spec);
    snprintf(buf, sizeof buf, "%s", spec);
    if (!(eq = strchr(buf, '=')) || (*eq = 0, !(c1 = strchr(buf, ':'))) || !(c2 = strchr(eq + 1, ':'))) {
        fprintf(stderr, "wanlink: link \"%s\" is not NS_A:DEV_A=NS_B:DEV_B\n", spec);
        return 64;
    }
    *c1 = 0;
    *c2 = 0;
    int a = tun_in_ns(buf, c1 + 1), b = tun_in_ns(eq + 1, c2 + 1);
    if (a < 0 || b < 0) return 71;
    l->dir[0] = (direction){.in_fd = a, .out_fd = b};
    l->dir[1] = (direction){.in_fd = b, .out_fd = a};
    for (int d = 0; d < 2; d++)
        if (!(l->dir[d].q = calloc(QUEUE_CAP, sizeof(packet)))) return 71;
    return 0;
}

static long arg_num(const char *opt, const char *v, long max) {
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : -1;
    if (!v || errno || *end || n < 0 || n > max) {
        fprintf(stderr, "wanlink: %s needs a number 0..%ld\n", opt, max);
        exit(64);
    }
    return n;
}

static void write_stats(const char *path, link_t *links, int nl) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    for (int i = 0; i < nl; i++)
        for (int d = 0; d < 2; d++) {
            direction *q = &links[i].dir[d];
            fprintf(f, "%s %s packets=%llu bytes=%llu lost=%llu overflow=%llu\n", links[i].spec,
                    d ? "b->a" : "a->b", (unsigned long long)q->pkts, (unsigned long long)q->bytes,
                    (unsigned long long)q->lost, (unsigned long long)q->overflow);
        }
    if (fclose(f) == 0) rename(tmp, path); /* readers never see a half-written file */
}

int main(int argc, char **argv) {
    uint64_t delay_ns = 0, jitter_ns = 0;
    uint32_t loss_ppm = 0;
    const char *stats = NULL, *params = NULL;
    link_t *links = calloc(MAX_LINKS, sizeof *links);
    int nl = 0;
    if (!links) return 71;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--delay-us")) delay_ns = (uint64_t)arg_num(a, v, 10000000) * 1000, i++;
        else if (!strcmp(a, "--jitter-us")) jitter_ns = (uint64_t)arg_num(a, v, 10000000) * 1000, i++;
        else if (!strcmp(a, "--loss-ppm")) loss_ppm = (uint32_t)arg_num(a, v, 1000000), i++;
        else if (!strcmp(a, "--seed")) rng_state = (uint64_t)arg_num(a, v, 0x7fffffffL) * 2654435761u + 1, i++;
        else if (!strcmp(a, "--stats")) { if (!v) return 64; stats = v; i++; }
        else if (!strcmp(a, "--params")) { if (!v) return 64; params = v; i++; }
        else if (a[0] == '-') { fprintf(stderr, "wanlink: unknown option %s\n", a); return 64; }
        else if (nl == MAX_LINKS) { fprintf(stderr, "wanlink: at most %d links\n", MAX_LINKS); return 64; }
        else {
            int rc = open_link(&links[nl++], a);
            if (rc) return rc;
        }
    }
    if (!nl) { fprintf(stderr, "wanlink: no LINK given\n"); return 64; }
    if (jitter_ns > delay_ns) { fprintf(stderr, "wanlink: --jitter-us above --delay-us\n"); return 64; }
    struct sigaction st;
    memset(&st, 0, sizeof st);
    st.sa_handler = on_signal;
    sigaction(SIGTERM, &st, NULL);
    sigaction(SIGINT, &st, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_hup; /* no SA_RESTART: ppoll returns EINTR */
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    /* Signals are delivered only inside ppoll, so a flag set just before it
     * cannot wait for the next packet. */
    sigset_t block, during_poll;
    sigemptyset(&block);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &during_poll);
    printf("ready\n");
    fflush(stdout);

    struct pollfd pfd[MAX_LINKS * 2];
    while (!stop) {
        if (dump && stats) {
            dump = 0;
            write_stats(stats, links, nl);
        }
        if (reload && params) {
            reload = 0;
            FILE *f = fopen(params, "r");
            unsigned long long dl, jt, ls;
            if (f && fscanf(f, "%llu %llu %llu", &dl, &jt, &ls) == 3 && jt <= dl && ls <= 1000000) {
                delay_ns = dl * 1000, jitter_ns = jt * 1000, loss_ppm = (uint32_t)ls;
                fprintf(stderr, "wanlink: delay %llu us, jitter %llu us, loss %llu ppm\n", dl, jt, ls);
            } else {
                fprintf(stderr, "wanlink: %s is not \"DELAY_US JITTER_US LOSS_PPM\"; unchanged\n", params);
            }
            if (f) fclose(f);
        }
        uint64_t now = now_ns(), next = UINT64_MAX;
        /* Deliver what is due; find the next deadline. */
        for (int i = 0; i < nl; i++)
            for (int d = 0; d < 2; d++) {
                direction *q = &links[i].dir[d];
                while (q->count && q->q[q->head].due_ns <= now) {
                    packet *p = &q->q[q->head];
                    if (write(q->out_fd, p->data, p->len) < 0 && errno != EAGAIN) q->lost++;
                    q->head = (q->head + 1) % QUEUE_CAP;
                    q->count--;
                }
                if (q->count && q->q[q->head].due_ns < next) next = q->q[q->head].due_ns;
            }
        struct timespec ts, *tp = NULL; /* ppoll: nanosecond timeouts (hrtimer) */
        if (next != UINT64_MAX) {
            uint64_t w = next - now;
            ts = (struct timespec){(time_t)(w / 1000000000u), (long)(w % 1000000000u)};
            tp = &ts;
        }
        for (int i = 0; i < nl; i++)
            for (int d = 0; d < 2; d++) pfd[i * 2 + d] = (struct pollfd){links[i].dir[d].in_fd, POLLIN, 0};
        int n = ppoll(pfd, (nfds_t)(nl * 2), tp, &during_poll);
        if (n < 0 && errno != EINTR) { perror("wanlink: ppoll"); return 71; }
        now = now_ns();
        for (int i = 0; n > 0 && i < nl; i++)
            for (int d = 0; d < 2; d++) {
                if (!(pfd[i * 2 + d].revents & POLLIN)) continue;
                direction *q = &links[i].dir[d];
                for (;;) { /* drain the device */
                    packet tmp;
                    ssize_t len = read(q->in_fd, tmp.data, sizeof tmp.data);
                    if (len <= 0) break;
                    q->pkts++;
                    q->bytes += (uint64_t)len;
                    if (loss_ppm && rng() % 1000000u < loss_ppm) { q->lost++; continue; }
                    if (q->count == QUEUE_CAP) { q->overflow++; continue; }
                    uint64_t due = now + delay_ns;
                    if (jitter_ns) due = due - jitter_ns + rng() % (2 * jitter_ns + 1);
                    if (due < q->last_due) due = q->last_due; /* FIFO: no reordering */
                    q->last_due = due;
                    packet *p = &q->q[(q->head + q->count) % QUEUE_CAP];
                    p->due_ns = due;
                    p->len = (uint16_t)len;
                    memcpy(p->data, tmp.data, (size_t)len);
                    q->count++;
                }
            }
    }
    if (stats) write_stats(stats, links, nl);
    return 0;
}
