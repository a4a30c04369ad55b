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
 * open many sessions before any check runs.
 *
 * EVIL_MODE=equivocate (adversary.sh): in every session the first broadcast
 * is sealed twice, as computed and with its last payload byte flipped, both
 * validly signed by this party for this session, and both are sent (the
 * coordinator, or a colluding relay, decides who sees which): an
 * inconsistent broadcast.
 *
 * EVIL_MODE=replay (adversary.sh): the round-1 broadcast of the first session
 * is recorded; in the next session this party sends that recording (envelope
 * session id rewritten) instead of its real round-1 broadcast: a replay from
 * another session. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/conn.h"
#include "mpc/msg.h"
#include "wire/frame.h"
#include "wire/msg.h"
#include "wire/secure.h"

tss_result __real_tss_dconn_send(tss_dconn *c, tss_wire_type type, const uint8_t *payload,
                                 size_t len);
tss_result __wrap_tss_dconn_send(tss_dconn *c, tss_wire_type type, const uint8_t *payload,
                                 size_t len);
tss_result __real_tss_secure_seal(tss_secure_session *s, const tss_mpc_msg *msg,
                                  tss_wire_protocol_msg *env, tss_writer *payload);
tss_result __wrap_tss_secure_seal(tss_secure_session *s, const tss_mpc_msg *msg,
                                  tss_wire_protocol_msg *env, tss_writer *payload);

#define SID TSS_WIRE_SESSION_ID_LEN

static long sent, sealed;

static bool mode_is(const char *want) {
    const char *m = getenv("EVIL_MODE");
    return strcmp(m && *m ? m : "frame", want) == 0;
}
static int ote_mode(void) { return mode_is("ote"); }

/* ---- equivocate ----------------------------------------------------------------------------- */

static uint8_t *extra; /* the second version, sent right after the first */
static size_t extra_len;
static uint8_t last_equivocated[SID];

static void seal_second_version(tss_secure_session *s, const tss_mpc_msg *msg,
                                const tss_wire_protocol_msg *env) {
    if (!tss_secure_type_is_broadcast(msg->type) || msg->len == 0 || extra ||
        memcmp(last_equivocated, env->session_id, SID) == 0)
        return;
    memcpy(last_equivocated, env->session_id, SID);
    tss_mpc_msg m2 = *msg;
    if (!(m2.data = malloc(msg->len))) return;
    memcpy(m2.data, msg->data, msg->len);
    m2.data[m2.len - 1] ^= 0x01;
    tss_writer p2, f2;
    tss_writer_init(&p2, TSS_SECURE_MAX_SEALED);
    tss_writer_init(&f2, TSS_SECURE_MAX_SEALED + 64);
    tss_wire_protocol_msg e2;
    tss_result r = __real_tss_secure_seal(s, &m2, &e2, &p2);
    if (tss_is_ok(r)) r = tss_wire_protocol_msg_encode(&f2, &e2, TSS_SECURE_MAX_SEALED);
    if (tss_is_ok(r) && (extra = malloc(f2.len))) {
        memcpy(extra, f2.data, f2.len);
        extra_len = f2.len;
    }
    free(m2.data);
    tss_writer_free(&p2);
    tss_writer_free(&f2);
}

static tss_result send_equivocating(tss_dconn *c, tss_wire_type type, const uint8_t *payload,
                                    size_t len) {
    tss_result r = __real_tss_dconn_send(c, type, payload, len);
    if (extra && tss_is_ok(r)) {
        fprintf(stderr, "warning: evil_party: sent a second, different broadcast (%zu bytes)\n", extra_len);
        r = __real_tss_dconn_send(c, type, extra, extra_len);
    }
    free(extra);
    extra = NULL;
    return r;
}

/* ---- replay ---------------------------------------------------------------------------------- */

static uint8_t *recorded; /* the first session's round-1 broadcast frame payload */
static size_t recorded_len;
static bool replayed;

static tss_result send_replaying(tss_dconn *c, tss_wire_type type, const uint8_t *payload,
                                 size_t len) {
    bool bcast_r1 = len >= TSS_WIRE_PROTOCOL_ENVELOPE_LEN && payload[SID] == 1 &&
                    payload[SID + 3] == 0 && payload[SID + 4] == 0;
    if (!bcast_r1 || replayed) return __real_tss_dconn_send(c, type, payload, len);
    if (!recorded) {
        if ((recorded = malloc(len))) {
            memcpy(recorded, payload, len);
            recorded_len = len;
        }
        return __real_tss_dconn_send(c, type, payload, len);
    }
    if (memcmp(recorded, payload, SID) == 0) return __real_tss_dconn_send(c, type, payload, len);
    memcpy(recorded, payload, SID); /* this session's id on the old message */
    replayed = true;
    fprintf(stderr, "warning: evil_party: replayed the round-1 broadcast of an earlier session\n");
    return __real_tss_dconn_send(c, type, recorded, recorded_len);
}

/* ---- hooks ------------------------------------------------------------------------------------ */

tss_result __wrap_tss_dconn_send(tss_dconn *c, tss_wire_type type, const uint8_t *payload,
                                 size_t len) {
    if (ote_mode() || type != TSS_WIRE_PROTOCOL_MSG || len == 0)
        return __real_tss_dconn_send(c, type, payload, len);
    if (mode_is("equivocate")) return send_equivocating(c, type, payload, len);
    if (mode_is("replay")) return send_replaying(c, type, payload, len);
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
    if (mode_is("equivocate")) {
        tss_result r = __real_tss_secure_seal(s, msg, env, payload);
        if (tss_is_ok(r)) seal_second_version(s, msg, env);
        return r;
    }
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
