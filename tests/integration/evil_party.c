/* A malicious party for the integration tests: the real tss-party (the
 * objects of daemon/party, unmodified, with its real certificate, keystore
 * and pairwise keys) linked with -Wl,--wrap=tss_dconn_send and
 * -Wl,--wrap=tss_secure_seal (build_evil_party in cluster.sh), so that this
 * file sees every frame and every mpc message the party sends. Only the test
 * scripts build this; production binaries have no such hook.
 *
 * EVIL_MODE unset or "frame" (robustness.sh): flips one byte in the payload
 * of the EVIL_NTH-th PROTOCOL_MSG (counting from 1; default 1), after the
 * routing envelope: the signed or encrypted part the honest parties check.
 * The tampering is exactly one corrupted message from an authenticated
 * party, which the honest parties must detect and attribute.
 *
 * EVIL_MODE=ote (bans.sh): flips one bit of the u-matrix in every signing
 * OT-extension message before it is sealed, so the message is authentic and
 * fails the honest sender's consistency check: a ban. If EVIL_HOLD names a
 * file, the first such message waits (blocking this party, at most
 * EVIL_HOLD_MAX_MS, default 2500) while the file exists, so that the test can
 * open many sessions before any check runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/conn.h"
#include "mpc/msg.h"
#include "wire/frame.h"
#include "wire/secure.h"

tss_result __real_tss_dconn_send(tss_dconn *c, tss_wire_type type, const uint8_t *payload,
                                 size_t len);
tss_result __wrap_tss_dconn_send(tss_dconn *c, tss_wire_type type, const uint8_t *payload,
                                 size_t len);
tss_result __real_tss_secure_seal(tss_secure_session *s, const tss_mpc_msg *msg,
                                  tss_wire_protocol_msg *env, tss_writer *payload);
tss_result __wrap_tss_secure_seal(tss_secure_session *s, const tss_mpc_msg *msg,
                                  tss_wire_protocol_msg *env, tss_writer *payload);

static long sent, sealed;

static int ote_mode(void) {
    const char *m = getenv("EVIL_MODE");
    return m && strcmp(m, "ote") == 0;
}

tss_result __wrap_tss_dconn_send(tss_dconn *c, tss_wire_type type, const uint8_t *payload,
                                 size_t len) {
    if (ote_mode() || type != TSS_WIRE_PROTOCOL_MSG || len == 0)
        return __real_tss_dconn_send(c, type, payload, len);
    const char *e = getenv("EVIL_NTH");
    long nth = e ? strtol(e, NULL, 10) : 1;
    if (++sent != nth) return __real_tss_dconn_send(c, type, payload, len);
    uint8_t *copy = malloc(len);
    if (!copy) return __real_tss_dconn_send(c, type, payload, len);
    memcpy(copy, payload, len);
    copy[len - 1] ^= 0x01; /* last byte: inside the opaque, authenticated part */
    fprintf(stderr, "warning: evil_party: flipped a byte in PROTOCOL_MSG #%ld (%zu bytes)\n", sent, len);
    tss_result r = __real_tss_dconn_send(c, type, copy, len);
    free(copy);
    return r;
}

static void hold_once(void) {
    static int done;
    const char *f = getenv("EVIL_HOLD");
    if (done || !f) return;
    done = 1;
    const char *m = getenv("EVIL_HOLD_MAX_MS");
    long max_ms = m ? strtol(m, NULL, 10) : 2500, waited = 0;
    struct timespec step = {0, 20 * 1000 * 1000};
    while (access(f, F_OK) == 0 && waited < max_ms) {
        nanosleep(&step, NULL);
        waited += 20;
    }
    fprintf(stderr, "warning: evil_party: held the first OT-extension message for %ldms\n", waited);
}

tss_result __wrap_tss_secure_seal(tss_secure_session *s, const tss_mpc_msg *msg,
                                  tss_wire_protocol_msg *env, tss_writer *payload) {
    if (!ote_mode() || msg->type != TSS_MSG_SIGN_R1_P2P || msg->len <= 1000)
        return __real_tss_secure_seal(s, msg, env, payload);
    hold_once();
    tss_mpc_msg copy = *msg;
    copy.data = malloc(msg->len);
    if (!copy.data) return __real_tss_secure_seal(s, msg, env, payload);
    memcpy(copy.data, msg->data, msg->len);
    copy.data[1000] ^= 0x10; /* u-matrix column 12: the challenges change, the check fails */
    fprintf(stderr, "warning: evil_party: tampered OT-extension message #%ld to party %u\n", ++sealed,
            msg->to);
    tss_result r = __real_tss_secure_seal(s, &copy, env, payload);
    free(copy.data);
    return r;
}
