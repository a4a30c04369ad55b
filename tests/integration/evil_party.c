/* A malicious party for tests/integration/robustness.sh: the real tss-party
 * (the objects of daemon/party, unmodified, with its real certificate, keystore and
 * pairwise keys) linked with -Wl,--wrap=tss_dconn_send, so that this file
 * sees every frame the party sends. It flips one byte in the payload of the
 * EVIL_NTH-th PROTOCOL_MSG (counting from 1; default 1), after the routing
 * envelope: the signed or encrypted part the honest parties check. Everything
 * else is sent unchanged, so the tampering is exactly one corrupted message
 * from an authenticated party, which the honest parties must detect and
 * attribute. Only the test script builds this; production binaries have no
 * such hook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/conn.h"
#include "wire/frame.h"

tss_result __real_tss_dconn_send(tss_dconn *c, tss_wire_type type, const uint8_t *payload,
                                 size_t len);
tss_result __wrap_tss_dconn_send(tss_dconn *c, tss_wire_type type, const uint8_t *payload,
                                 size_t len);

static long sent;

tss_result __wrap_tss_dconn_send(tss_dconn *c, tss_wire_type type, const uint8_t *payload,
                                 size_t len) {
    if (type != TSS_WIRE_PROTOCOL_MSG || len == 0) return __real_tss_dconn_send(c, type, payload, len);
    const char *e = getenv("EVIL_NTH");
    long nth = e ? strtol(e, NULL, 10) : 1;
    if (++sent != nth) return __real_tss_dconn_send(c, type, payload, len);
    uint8_t *copy = malloc(len);
    if (!copy) return __real_tss_dconn_send(c, type, payload, len);
    memcpy(copy, payload, len);
    copy[len - 1] ^= 0x01; /* last byte: inside the opaque, authenticated part */
    fprintf(stderr, "<4>evil_party: flipped a byte in PROTOCOL_MSG #%ld (%zu bytes)\n", sent, len);
    tss_result r = __real_tss_dconn_send(c, type, copy, len);
    free(copy);
    return r;
}
