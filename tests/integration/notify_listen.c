/* notify_listen: the service manager's side of sd_notify(3), for tests.
 *
 *   notify_listen SOCKET-PATH SECONDS
 *
 * Binds a datagram socket at SOCKET-PATH (what systemd passes as
 * NOTIFY_SOCKET) and prints one line per datagram received, flushed at once:
 *
 *   <ms since start> pid=<sender pid> <fields joined by ';'>
 *
 * e.g. "1532 pid=4711 READY=1;STATUS=serving". The sender pid comes from the
 * kernel (SCM_CREDENTIALS), as systemd's NotifyAccess=main check uses it.
 * Exits after SECONDS, or on SIGTERM/SIGINT; removes SOCKET-PATH. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: notify_listen SOCKET-PATH SECONDS\n");
        return 64;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof sa.sun_path) {
        fprintf(stderr, "notify_listen: path too long\n");
        return 64;
    }
    strcpy(sa.sun_path, argv[1]);
    long seconds = strtol(argv[2], NULL, 10);
    if (seconds <= 0 || seconds > 3600) seconds = 60;

    struct sigaction act = {.sa_handler = on_signal};
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int one = 1;
    unlink(sa.sun_path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0) {
        fprintf(stderr, "notify_listen: %s: %s\n", sa.sun_path, strerror(errno));
        return 71;
    }
    long long t0 = now_ms(), end = t0 + seconds * 1000;
    while (!stop) {
        long long left = end - now_ms();
        if (left <= 0) break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, left > 200 ? 200 : (int)left);
        if (n <= 0) continue;
        char buf[4096];
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(struct ucred))];
        } ctl;
        struct iovec iov = {buf, sizeof buf - 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
                           .msg_controllen = sizeof ctl};
        ssize_t len = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (len < 0) continue;
        buf[len] = '\0';
        long pid = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred u;
                memcpy(&u, CMSG_DATA(c), sizeof u);
                pid = (long)u.pid;
            }
        while (len > 0 && buf[len - 1] == '\n') buf[--len] = '\0';
        for (ssize_t i = 0; i < len; i++)
            if (buf[i] == '\n') buf[i] = ';';
            else if (buf[i] < 0x20 || buf[i] == 0x7f) buf[i] = '?';
        printf("%lld pid=%ld %s\n", now_ms() - t0, pid, buf);
        fflush(stdout);
    }
    close(fd);
    unlink(sa.sun_path);
    return 0;
}
