/* Sockets for the daemons: listeners and non-blocking outgoing connections.
 * Name resolution (getaddrinfo) is blocking; it runs once per listener at
 * start and once per connection attempt of a party, where a slow resolver
 * only delays that party's own reconnect. */
#ifndef TSS_DAEMON_NET_H
#define TSS_DAEMON_NET_H

#include <stddef.h>

#include "config/schema.h"
#include "util/result.h"

#define TSS_NET_MAX_LISTEN 16

/* Bind and listen on every address host:port resolves to (SO_REUSEADDR,
 * non-blocking, close-on-exec). Returns the fds in out (up to cap). */
TSS_MUST_CHECK tss_result tss_net_listen(const tss_config_addr *addr, int *out, size_t cap,
                                         size_t *n);
/* Start a non-blocking TCP connect to the first address host:port resolves
 * to. *in_progress tells whether completion must be awaited (EPOLLOUT). */
TSS_MUST_CHECK tss_result tss_net_connect(const tss_config_addr *addr, int *fd, int *in_progress);
/* "host:port", IPv6 literals in brackets. */
void tss_net_addr_format(const tss_config_addr *addr, char *out, size_t cap);

#endif
