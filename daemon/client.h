/* A blocking, framed mutual-TLS client for command-line tools (tssctl) and
 * test helpers: connect with a deadline, send frames (or raw bytes inside TLS,
 * for tests), receive whole frames through the same stream decoder the
 * daemons use. Not for the daemons themselves, which never block. */
#ifndef TSS_DAEMON_CLIENT_H
#define TSS_DAEMON_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "config/schema.h"
#include "tls/conn.h"
#include "tls/context.h"
#include "util/result.h"
#include "wire/frame.h"

typedef struct tss_client tss_client;

/* TCP connect and TLS handshake to the first address that answers, within
 * timeout_ms each. The error names the address and the reason. */
TSS_MUST_CHECK tss_result tss_client_connect(tss_tls_ctx *ctx, const tss_config_addr *addrs,
                                             size_t n_addrs, uint32_t max_frame, int timeout_ms,
                                             tss_client **out);
void tss_client_free(tss_client *c);

TSS_MUST_CHECK tss_result tss_client_send(tss_client *c, tss_wire_type type,
                                          const uint8_t *payload, size_t len, int timeout_ms);
/* Raw bytes inside TLS (tests: malformed frames). */
TSS_MUST_CHECK tss_result tss_client_send_raw(tss_client *c, const void *p, size_t len,
                                              int timeout_ms);
/* The next complete frame; valid until the next call. A clean close before a
 * frame is TSS_E_IO "connection closed by the coordinator". */
TSS_MUST_CHECK tss_result tss_client_recv(tss_client *c, tss_wire_frame *out, int timeout_ms);
/* The server certificate seen on this connection. */
const tss_tls_cert_info *tss_client_server_cert(const tss_client *c);

#endif
