/* Party liveness (issue 11, finding 9): a party whose process is stalled
 * (SIGSTOP, swapped out, wedged) keeps its TCP connection, so the
 * connection's idle timeout (timeouts.idle, a minute) is far too slow to keep
 * it out of quorums. The coordinator probes every connected party with a
 * HEARTBEAT every timeouts.liveness/4 (a party answers HEARTBEAT_ACK) and
 * notes when any frame last arrived from it. A party silent for
 * timeouts.liveness is marked unresponsive: coordinator-chosen quorums and
 * presignature picks skip it and its running sessions fail at once (culprit
 * for the retry only: being slow is no evidence of misbehaviour, and
 * nothing is banned), so a request waits a few seconds instead of a round
 * timeout. Its next frame makes it responsive again. */
#include <string.h>

#include "daemon/coordinator/coord.h"
#include "util/log.h"

#define MIN_TICK_MS 100

static int64_t tick_ms(const coord *co) {
    int64_t t = (int64_t)co->cfg.timeouts.liveness / 4;
    return t < MIN_TICK_MS ? MIN_TICK_MS : t;
}

static void probe(coord *co, unsigned id) {
    party_slot *s = &co->parties[id];
    tss_wire_heartbeat hb = {.sequence = ++s->probe_seq, .timestamp_ms = (uint64_t)tss_now_ms()};
    tss_writer w;
    tss_writer_init(&w, 64);
    tss_result r = tss_wire_heartbeat_encode(&w, &hb);
    /* A failed send ends the connection (deferred): on_close handles it. */
    if (tss_is_ok(r)) r = tss_dconn_send(s->conn->conn, TSS_WIRE_HEARTBEAT, w.data, w.len);
    if (!tss_is_ok(r))
        tss_log(LOG_WARNING, "party=%u: cannot send a liveness probe: %s", id, tss_error_detail());
    tss_writer_free(&w);
}

static void on_tick(void *arg) {
    coord *co = arg;
    int64_t now = tss_now_ms(), limit = (int64_t)co->cfg.timeouts.liveness;
    for (unsigned id = 1; id <= TSS_WIRE_MAX_PARTIES; id++) {
        party_slot *s = &co->parties[id];
        if (!s->conn || !s->conn->hello || !tss_dconn_is_open(s->conn->conn)) continue;
        if (!s->unresponsive && now - s->last_seen >= limit) {
            s->unresponsive = true;
            tss_log(LOG_WARNING,
                    "party=%u unresponsive: no frame for %lldms (timeouts.liveness %lldms); not "
                    "chosen for new sessions, its sessions fail",
                    id, (long long)(now - s->last_seen), (long long)limit);
            coord_party_unresponsive(co, id, now - s->last_seen);
        }
        if (tss_dconn_is_open(s->conn->conn)) probe(co, id);
    }
    if (!tss_is_ok(tss_timer_arm(co->loop, &co->liveness_timer, now + tick_ms(co))))
        tss_log(LOG_ERR, "cannot arm the liveness timer: %s", tss_error_detail());
}

tss_result coord_liveness_start(coord *co) {
    tss_timer_init(&co->liveness_timer, on_tick, co);
    return tss_timer_arm(co->loop, &co->liveness_timer, tss_now_ms() + tick_ms(co));
}

void coord_liveness_seen(coord *co, unsigned id) {
    party_slot *s = &co->parties[id];
    int64_t now = tss_now_ms();
    if (s->unresponsive) {
        s->unresponsive = false;
        tss_log(LOG_NOTICE, "party=%u responsive again after %lldms of silence", id,
                (long long)(now - s->last_seen));
    }
    s->last_seen = now;
}

bool coord_party_available(const coord *co, unsigned id) {
    if (id < 1 || id > TSS_WIRE_MAX_PARTIES) return false;
    const party_slot *s = &co->parties[id];
    return s->conn && s->conn->hello && !s->unresponsive && tss_dconn_is_open(s->conn->conn);
}
