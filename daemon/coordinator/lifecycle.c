/* Key retirement on the coordinator (issue 17; docs/PROTOCOL.md "Key
 * retirement", docs/OPERATIONS.md "Retiring a key").
 *
 * OP_RETIRE, in this order:
 *   1. the key file is rewritten with "retired" (durable, atomic). From here
 *      on the key never signs: new requests are refused, queued ones are
 *      refused when they come up, and
 *   2. its running sessions are cancelled (no signature of a cancelled
 *      session is ever assembled);
 *   3. KEY_RETIRE goes to every connected party of the key; the operator's
 *      answer waits for their KEY_RETIRED, at most timeouts.round.
 * The answer is status 0 when every party confirmed (erased, or held
 * nothing), else PENDING naming the parties that did not, and why. The key
 * stays retired either way: a party offline now is asked again each time
 * it says HELLO, until it confirms (a retired key is never un-retired).
 * Running OP_RETIRE again on a retired key repeats steps 2-3 (idempotent).
 *
 * Nothing here is trusted from a party beyond its own answer: a party that
 * claims to have erased and did not only keeps a share of a key nobody will
 * ask it to sign with again. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/coordinator/coord.h"
#include "daemon/coordinator/store.h"
#include "util/log.h"

struct coord_retire {
    struct coord_retire *next;
    coord *co;
    request *rq;
    char key_id[TSS_WIRE_MAX_KEY_ID + 1];
    uint64_t pending;                 /* bit id: asked, no answer yet */
    uint8_t result[TSS_WIRE_MAX_PARTIES + 1]; /* TSS_WIRE_RETIRE_*, 0: none */
    char why[TSS_WIRE_MAX_PARTIES + 1][96];   /* a refusal's or failure's text */
    tss_timer timer;
    tss_deferred release;
};

static uint64_t bit(unsigned id) { return id <= TSS_WIRE_MAX_PARTIES ? UINT64_C(1) << id : 0; }

static tss_result send_retire(coord *co, unsigned id, const char *key_id) {
    party_slot *s = &co->parties[id];
    TSS_ENSURE(s->conn && s->conn->hello && tss_dconn_is_open(s->conn->conn), TSS_E_IO,
               "party %u is not connected", id);
    tss_wire_key_retire m;
    memset(&m, 0, sizeof m);
    snprintf(m.key_id, sizeof m.key_id, "%s", key_id);
    tss_writer w;
    tss_writer_init(&w, 256);
    tss_result r = tss_wire_key_retire_encode(&w, &m, false);
    if (tss_is_ok(r)) r = tss_dconn_send(s->conn->conn, TSS_WIRE_KEY_RETIRE, w.data, w.len);
    tss_writer_free(&w);
    return r;
}

static void append(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *out, size_t cap, const char *fmt, ...) {
    size_t n = strlen(out);
    if (n >= cap - 1) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, cap - n, fmt, ap);
    va_end(ap);
}

static void retire_free_deferred(void *arg) { free(arg); }

/* Answer the operator and forget the retirement. */
static void finish(struct coord_retire *rt) {
    coord *co = rt->co;
    for (struct coord_retire **pp = &co->retiring; *pp; pp = &(*pp)->next)
        if (*pp == rt) {
            *pp = rt->next;
            break;
        }
    tss_timer_kill(co->loop, &rt->timer);
    key_entry *k = coord_registry_find(co, rt->key_id);
    char done[100] = "", text[TSS_WIRE_MAX_ERROR_TEXT + 1];
    char missing[TSS_WIRE_MAX_ERROR_TEXT + 1] = "";
    bool all = true;
    for (size_t i = 0; k && i < k->info.count; i++) {
        unsigned id = k->info.parties[i];
        uint8_t res = rt->result[id];
        if (res == TSS_WIRE_RETIRE_ERASED || res == TSS_WIRE_RETIRE_ABSENT) {
            append(done, sizeof done, "%s%u", done[0] ? "," : "", id);
            continue;
        }
        all = false;
        if (res == TSS_WIRE_RETIRE_REFUSED || res == TSS_WIRE_RETIRE_FAILED)
            append(missing, sizeof missing, "; party %u %s: %s", id,
                   tss_wire_retire_result_name(res), rt->why[id]);
        else if (rt->pending & bit(id))
            append(missing, sizeof missing, "; party %u did not answer (asked again when it "
                   "reconnects)", id);
        else
            append(missing, sizeof missing, "; party %u offline (asked when it reconnects)", id);
    }
    /* The answer is capped at the wire's error text: a long list of
     * missing parties is cut there (append never overflows). */
    text[0] = '\0';
    if (all)
        append(text, sizeof text, "key %s retired; shares erased on parties %s", rt->key_id, done);
    else
        append(text, sizeof text, "key %s retired (it no longer signs); erased on parties [%s]%s",
               rt->key_id, done, missing);
    tss_log(all ? LOG_NOTICE : LOG_WARNING, "%s", text);
    if (rt->rq) coord_request_answer(rt->rq, all ? 0 : TSS_WIRE_ERR_PENDING, k ? &k->info : NULL,
                                     text);
    tss_loop_defer_node(co->loop, &rt->release, retire_free_deferred, rt);
}

static void on_timer(void *arg) { finish(arg); }

void coord_retire_request(coord *co, request *rq, key_entry *k) {
    struct coord_retire *rt = calloc(1, sizeof *rt);
    if (!rt) {
        coord_request_answer(rq, TSS_WIRE_ERR_INTERNAL, NULL, "out of memory");
        return;
    }
    /* 1. Durably retired before anything else happens. */
    if (!k->info.retired) {
        tss_wire_key_info before = k->info;
        k->info.retired = 1;
        k->info.retired_ms = (uint64_t)tss_wall_ms();
        tss_result r = coord_store_key_update(co, k);
        if (!tss_is_ok(r)) {
            k->info = before;
            char text[TSS_WIRE_MAX_ERROR_TEXT + 1];
            snprintf(text, sizeof text, "key %s: cannot record the retirement (nothing changed): %s",
                     k->info.key_id, tss_error_detail());
            free(rt);
            coord_request_answer(rq, TSS_WIRE_ERR_INTERNAL, NULL, text);
            return;
        }
        tss_log(LOG_NOTICE, "key=%s retired: it no longer signs", k->info.key_id);
    }
    /* Its presignatures are never handed out again (try_start refuses the
     * key): not counted as stock (nor loaded at the next start). */
    k->n_presigs = 0;
    k->info.presignatures = 0;
    rt->co = co;
    rt->rq = rq;
    snprintf(rt->key_id, sizeof rt->key_id, "%s", k->info.key_id);
    tss_timer_init(&rt->timer, on_timer, rt);
    rt->next = co->retiring;
    co->retiring = rt;
    /* 2. No session of the key survives. */
    coord_sessions_cancel_key(co, rt->key_id, "the key was retired");
    /* 3. Every connected party of the key is asked to erase it. */
    for (size_t i = 0; i < k->info.count; i++) {
        unsigned id = k->info.parties[i];
        if (tss_is_ok(send_retire(co, id, rt->key_id))) rt->pending |= bit(id);
    }
    if (!rt->pending) {
        finish(rt);
        return;
    }
    if (!tss_is_ok(tss_timer_arm(co->loop, &rt->timer,
                                 tss_now_ms() + (int64_t)co->cfg.timeouts.round)))
        finish(rt);
}

void coord_retire_party_hello(coord *co, unsigned party_id) {
    for (key_entry *k = co->keys; k; k = k->next) {
        if (!k->info.retired) continue;
        for (size_t i = 0; i < k->info.count; i++)
            if (k->info.parties[i] == party_id && !tss_is_ok(send_retire(co, party_id, k->info.key_id)))
                tss_log(LOG_WARNING, "party=%u key=%s: cannot send KEY_RETIRE: %s", party_id,
                        k->info.key_id, tss_error_detail());
    }
}

void coord_retire_party_frame(peer *p, const tss_wire_frame *f) {
    coord *co = p->co;
    tss_wire_key_retire m;
    tss_result r = tss_wire_key_retire_decode(&m, f->payload, f->len, true);
    if (!tss_is_ok(r)) {
        char reason[400];
        snprintf(reason, sizeof reason, "bad KEY_RETIRED: %s", tss_error_detail());
        tss_dconn_fail(p->conn, TSS_WIRE_ERR_PROTOCOL, reason);
        return;
    }
    key_entry *k = coord_registry_find(co, m.key_id);
    bool member = false;
    for (size_t i = 0; k && i < k->info.count; i++) member |= k->info.parties[i] == p->party_id;
    if (!k || !k->info.retired || !member) {
        /* Never asked (or not of this key): logged, nothing else. */
        tss_log(LOG_WARNING, "party=%u: KEY_RETIRED for key %s, which it was not asked to erase",
                p->party_id, m.key_id);
        return;
    }
    bool ok = m.result == TSS_WIRE_RETIRE_ERASED || m.result == TSS_WIRE_RETIRE_ABSENT;
    tss_log(ok ? LOG_NOTICE : LOG_ERR, "party=%u key=%s retirement: %s%s%s", p->party_id, m.key_id,
            tss_wire_retire_result_name(m.result), m.text[0] ? ": " : "", m.text);
    if (!tss_is_ok(coord_store_release(co, "-", ok,
                                       "\"request\":\"retire-party\",\"key\":\"%s\","
                                       "\"party\":%u,\"outcome\":\"%s\"",
                                       m.key_id, p->party_id,
                                       tss_wire_retire_result_name(m.result))))
        tss_log(LOG_ERR, "audit record dropped: %s", tss_error_detail());
    for (struct coord_retire *rt = co->retiring, *next; rt; rt = next) {
        next = rt->next;
        if (strcmp(rt->key_id, m.key_id) != 0 || !(rt->pending & bit(p->party_id))) continue;
        rt->pending &= ~bit(p->party_id);
        rt->result[p->party_id] = m.result;
        snprintf(rt->why[p->party_id], sizeof rt->why[p->party_id], "%.90s", m.text);
        if (!rt->pending) finish(rt);
    }
}

void coord_retire_party_gone(coord *co, unsigned party_id) {
    for (struct coord_retire *rt = co->retiring, *next; rt; rt = next) {
        next = rt->next;
        if (!(rt->pending & bit(party_id))) continue;
        rt->pending &= ~bit(party_id); /* reported as offline */
        if (!rt->pending) finish(rt);
    }
}

void coord_retire_free(coord *co) {
    while (co->retiring) {
        struct coord_retire *rt = co->retiring;
        co->retiring = rt->next;
        tss_timer_kill(co->loop, &rt->timer);
        free(rt);
    }
}
