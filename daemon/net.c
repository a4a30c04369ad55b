#include "daemon/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void tss_net_addr_format(const tss_config_addr *addr, char *out, size_t cap) {
    if (strchr(addr->host, ':'))
        snprintf(out, cap, "[%s]:%u", addr->host, addr->port);
    else
        snprintf(out, cap, "%s:%u", addr->host, addr->port);
}

static tss_result resolve(const tss_config_addr *addr, bool passive, struct addrinfo **res) {
    char port[8];
    snprintf(port, sizeof port, "%u", addr->port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : AI_ADDRCONFIG);
    int rc = getaddrinfo(addr->host, port, &hints, res);
    char text[300];
    tss_net_addr_format(addr, text, sizeof text);
    TSS_ENSURE(rc == 0, TSS_E_IO, "cannot resolve %s: %s", text, gai_strerror(rc));
    return TSS_OK_RESULT;
}

tss_result tss_net_listen(const tss_config_addr *addr, int *out, size_t cap, size_t *n) {
    struct addrinfo *res = NULL;
    TSS_GUARD(resolve(addr, true, &res));
    char text[300];
    tss_net_addr_format(addr, text, sizeof text);
    tss_result r = TSS_OK_RESULT;
    size_t got = 0;
    for (struct addrinfo *ai = res; ai && tss_is_ok(r); ai = ai->ai_next) {
        if (got == cap) {
            r = tss_fail(TSS_E_TOO_LARGE, "%s: too many listening sockets", text);
            break;
        }
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            r = tss_fail(TSS_E_IO, "listen %s: socket: %s", text, strerror(errno));
            break;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        /* "[::]:port" and "0.0.0.0:port" both listed: keep the families apart. */
        if (ai->ai_family == AF_INET6) (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
            r = tss_fail(TSS_E_IO, "listen %s: %s", text, strerror(errno));
            close(fd);
            break;
        }
        out[got++] = fd;
    }
    freeaddrinfo(res);
    if (!tss_is_ok(r)) {
        for (size_t i = 0; i < got; i++) close(out[i]);
        return r;
    }
    *n = got;
    return TSS_OK_RESULT;
}

tss_result tss_net_connect(const tss_config_addr *addr, int *fd_out, int *in_progress) {
    struct addrinfo *res = NULL;
    TSS_GUARD(resolve(addr, false, &res));
    char text[300];
    tss_net_addr_format(addr, text, sizeof text);
    struct addrinfo *ai = res;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        freeaddrinfo(res);
        return tss_fail(TSS_E_IO, "connect %s: socket: %s", text, strerror(errno));
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return tss_fail(TSS_E_IO, "connect %s: %s", text, strerror(e));
    }
    *fd_out = fd;
    *in_progress = rc != 0;
    return TSS_OK_RESULT;
}
