/* Key retirement on a party (issue 17; docs/PROTOCOL.md "Key retirement").
 *
 * KEY_RETIRE names a key the coordinator has durably marked retired. The
 * party erases it only when its own config says so (allow_retire: true):
 * the coordinator is not trusted with the key's existence, and a
 * compromised one must not be able to destroy every key by asking. When
 * allowed: every running session of the key ends, the key's store handles
 * close, then keystore/key_erase.h erases its presignatures and its share
 * durably, and only then is ERASED (or ABSENT: nothing was left) reported.
 * A crash part-way leaves a prefix done; the coordinator asks again at the
 * next HELLO and the erasure finishes (it is idempotent). */
#include <stdio.h>
#include <string.h>

#include "daemon/party/party.h"
#include "keystore/key_erase.h"
#include "keystore/share_cache.h"
#include "util/log.h"
#include "wire/msg.h"

static void answer(pcoord *co, const char *key_id, uint8_t result, const char *text) {
    tss_wire_key_retire m;
    memset(&m, 0, sizeof m);
    snprintf(m.key_id, sizeof m.key_id, "%s", key_id);
    m.result = result;
    size_t j = 0; /* printable ASCII within the cap */
    for (size_t i = 0; text[i] && j < TSS_WIRE_MAX_ERROR_TEXT; i++)
        m.text[j++] = (text[i] >= 0x20 && text[i] <= 0x7e) ? text[i] : '?';
    m.text[j] = '\0';
    tss_writer w;
    tss_writer_init(&w, 1024);
    tss_result r = tss_wire_key_retire_encode(&w, &m, true);
    if (tss_is_ok(r)) r = tss_writer_status(&w, "KEY_RETIRED");
    if (tss_is_ok(r) && co->conn) r = tss_dconn_send(co->conn, TSS_WIRE_KEY_RETIRED, w.data, w.len);
    if (!tss_is_ok(r)) tss_log(LOG_WARNING, "cannot send KEY_RETIRED: %s", tss_error_detail());
    tss_writer_free(&w);
}

void party_key_retire(pcoord *co, const tss_wire_frame *f) {
    party *pt = co->pt;
    tss_wire_key_retire m;
    if (!tss_is_ok(tss_wire_key_retire_decode(&m, f->payload, f->len, false))) {
        char reason[400];
        snprintf(reason, sizeof reason, "bad KEY_RETIRE: %s", tss_error_detail());
        tss_dconn_fail(co->conn, TSS_WIRE_ERR_PROTOCOL, reason);
        return;
    }
    if (!tss_is_ok(tss_store_key_id_check(m.key_id))) { /* "." or "..": never a stored key */
        answer(co, m.key_id, TSS_WIRE_RETIRE_ABSENT, "");
        return;
    }
    if (!pt->cfg.allow_retire) {
        tss_log(LOG_WARNING,
                "key=%s: the coordinator asks to erase this key (retired); refused: "
                "allow_retire is off in %s (set it to true and restart to let retirements "
                "erase shares)",
                m.key_id, pt->config_path ? pt->config_path : "the config");
        answer(co, m.key_id, TSS_WIRE_RETIRE_REFUSED,
               "allow_retire is off in this party's config");
        return;
    }
    party_sessions_cancel_key(pt, m.key_id, "the key is being retired");
    party_key_close(pt, m.key_id);
    tss_share_cache_forget(pt->share_cache, m.key_id); /* the secret goes from memory too */
    bool erased = false;
    tss_result r = tss_key_erase(&pt->store, m.key_id, &erased);
    if (!tss_is_ok(r)) {
        char text[TSS_WIRE_MAX_ERROR_TEXT + 1];
        snprintf(text, sizeof text, "%s", tss_error_detail());
        tss_log(LOG_ERR, "key=%s: cannot erase the retired key: %s", m.key_id, text);
        answer(co, m.key_id, TSS_WIRE_RETIRE_FAILED, text);
        return;
    }
    if (erased)
        tss_log(LOG_NOTICE, "key=%s retired: share and presignatures erased", m.key_id);
    answer(co, m.key_id, erased ? TSS_WIRE_RETIRE_ERASED : TSS_WIRE_RETIRE_ABSENT, "");
}
