/* Presignature reconciliation, coordinator side (daemon/party/reconcile.c
 * has the party side and the why; frames in docs/PROTOCOL.md).
 *
 * For each PRESIG_INVENTORY a party sends after HELLO_ACK, the coordinator
 * answers PRESIG_DELETE with the listed ids it will never hand out: those
 * not in the key's available record (coord_presig: created and not marked
 * used) and not the id of a presign session still running (one whose
 * SESSION_RESULT from this party arrived before it reconnected, while the
 * other signers have yet to report: it may still be recorded). An unknown
 * key, or one this party holds no share of, is left alone (another
 * coordinator's, or a keygen that never committed here: not ours to judge). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/coordinator/coord.h"
#include "daemon/coordinator/store.h"
#include "util/log.h"

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, TSS_WIRE_PRESIGN_ID_LEN); }

/* Mark the listed ids (ascending, as the wire requires) that the key's
 * record has available: one pass over the record, a binary search each, so
 * a large stock costs O(stock · log 1024) per frame, not stock × listed. */
static void mark_available(const key_entry *k, const tss_wire_presig_ids *m, bool *avail) {
    for (size_t i = 0; i < k->n_presigs; i++) {
        const uint8_t *hit = bsearch(k->presigs[i].id, m->ids, m->count, 32, cmp_id);
        if (hit) avail[(size_t)(hit - m->ids) / 32] = true;
    }
}

void coord_presig_inventory(peer *p, const tss_wire_frame *f) {
    coord *co = p->co;
    tss_wire_presig_ids m;
    if (!tss_is_ok(tss_wire_presig_ids_decode(&m, f->payload, f->len))) {
        char reason[400];
        snprintf(reason, sizeof reason, "bad PRESIG_INVENTORY: %s", tss_error_detail());
        tss_dconn_fail(p->conn, TSS_WIRE_ERR_PROTOCOL, reason);
        return;
    }
    /* postgresql: re-read the key's ready presignatures first, so one
     * another coordinator recorded is not deleted as an orphan. */
    key_entry *k = coord_store_key_sync(co, m.key_id);
    bool holder = false;
    for (size_t i = 0; k && i < k->info.count; i++) holder = holder || k->info.parties[i] == p->party_id;
    if (!k || !holder) {
        tss_log(LOG_NOTICE, "party=%u lists %u presignature(s) of key %s, which %s; left alone",
                p->party_id, m.count, m.key_id,
                k ? "it holds no share of here" : "this coordinator does not know");
        return;
    }
    uint8_t(*del)[32] = malloc((size_t)m.count * 32);
    if (!del) {
        tss_log(LOG_ERR, "party=%u key=%s: no memory to reconcile presignatures", p->party_id,
                m.key_id);
        return;
    }
    bool avail[TSS_WIRE_MAX_INVENTORY_IDS] = {false};
    mark_available(k, &m, avail);
    uint16_t n = 0;
    for (size_t i = 0; i < m.count; i++) {
        const uint8_t *id = m.ids + 32 * i;
        if (!avail[i] && !coord_presign_in_flight(co, m.key_id, id))
            memcpy(del[n++], id, 32); /* stays ascending: a subsequence */
    }
    tss_log(n ? LOG_NOTICE : LOG_INFO,
            "party=%u key=%s: %u presignature(s) listed, %u orphaned or used: deleting", p->party_id,
            m.key_id, m.count, n);
    if (n) {
        tss_wire_presig_ids d;
        memset(&d, 0, sizeof d);
        snprintf(d.key_id, sizeof d.key_id, "%s", m.key_id);
        d.count = n;
        d.ids = del[0];
        tss_writer w;
        tss_writer_init(&w, co->lim.max_frame);
        tss_result r = tss_wire_presig_ids_encode(&w, &d);
        if (tss_is_ok(r)) r = tss_dconn_send(p->conn, TSS_WIRE_PRESIG_DELETE, w.data, w.len);
        if (!tss_is_ok(r))
            tss_log(LOG_WARNING, "party=%u: cannot send PRESIG_DELETE: %s", p->party_id,
                    tss_error_detail());
        tss_writer_free(&w);
    }
    free(del);
}
