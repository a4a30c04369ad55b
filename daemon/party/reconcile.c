/* Presignature reconciliation, party side (issue 11, finding 8; frames in
 * docs/PROTOCOL.md "Presignature reconciliation").
 *
 * A presign session stores the presignature at each party before the
 * coordinator records it; a session cut short in between (the coordinator or
 * another signer killed, a failed store elsewhere) leaves "orphans" that no
 * coordinator record knows and nothing would ever use or reclaim. So after
 * every HELLO_ACK the party lists the ids it holds per key
 * (PRESIG_INVENTORY) and the coordinator answers with the ones it will never
 * hand out (PRESIG_DELETE), which the party consumes exactly like a used
 * presignature (spent log first, then unlink, then fsync of the directory):
 * a deleted id can never come back, not even from a restored file.
 *
 * Only ids listed on the current connection are deleted: the snapshot is
 * taken before any session of this connection can start (the coordinator
 * starts none before HELLO_ACK, and every session of the previous connection
 * was dropped), so a presignature made after the listing, which the
 * coordinator may be about to record, is never touched, whatever the
 * coordinator names. A coordinator can at worst make the party discard
 * presignatures, which costs availability (full signing), never safety. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/party/party.h"
#include "keystore/share_store.h"
#include "util/log.h"
#include "wire/msg.h"

#define MAX_INVENTORY_PER_KEY 65536 /* ids listed per key and connection */

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 32); }

static tss_result send_ids(party *pt, tss_wire_type type, const char *key_id,
                           const uint8_t (*ids)[32], size_t n) {
    tss_wire_presig_ids m;
    memset(&m, 0, sizeof m);
    snprintf(m.key_id, sizeof m.key_id, "%s", key_id);
    m.count = (uint16_t)n;
    m.ids = ids[0];
    tss_writer w;
    tss_writer_init(&w, 64 + 32 * TSS_WIRE_MAX_INVENTORY_IDS + 64);
    tss_result r = tss_wire_presig_ids_encode(&w, &m);
    if (tss_is_ok(r)) {
        TSS_ENSURE(pt->conn != NULL, TSS_E_IO, "not connected to the coordinator");
        r = tss_dconn_send(pt->conn, type, w.data, w.len);
    }
    tss_writer_free(&w);
    return r;
}

/* List one key's presignatures (snapshot kept in k) and send them. */
static tss_result list_key(party *pt, pkey *k, size_t *listed) {
    free(k->inventory);
    k->inventory = NULL;
    k->n_inventory = 0;
    *listed = 0;
    size_t n = 0;
    TSS_GUARD(tss_presig_store_count(k->presigs, &n));
    if (n == 0) return TSS_OK_RESULT;
    if (n > MAX_INVENTORY_PER_KEY) n = MAX_INVENTORY_PER_KEY;
    uint8_t(*ids)[32] = malloc(n * sizeof *ids);
    TSS_ENSURE(ids != NULL, TSS_E_NOMEM, "no memory for the presignature inventory");
    tss_result r = tss_presig_store_list(k->presigs, ids, n, &n);
    if (!tss_is_ok(r) || n == 0) {
        free(ids);
        return r;
    }
    qsort(ids, n, sizeof *ids, cmp_id);
    k->inventory = ids;
    k->n_inventory = n;
    for (size_t off = 0; off < n; off += TSS_WIRE_MAX_INVENTORY_IDS) {
        size_t c = n - off < TSS_WIRE_MAX_INVENTORY_IDS ? n - off : TSS_WIRE_MAX_INVENTORY_IDS;
        TSS_GUARD(send_ids(pt, TSS_WIRE_PRESIG_INVENTORY, k->key_id,
                           (const uint8_t(*)[32])ids + off, c));
    }
    *listed = n;
    return TSS_OK_RESULT;
}

/* Whether presig/<key-id>/ holds at least one *.presig file. */
static bool has_presig_files(party *pt, const char *key_id) {
    char dir[4096];
    if (!tss_is_ok(tss_store_path(dir, sizeof dir, pt->store.state_dir, TSS_STORE_PRESIG_DIR,
                                  key_id)))
        return true; /* let the store report the problem */
    DIR *d = opendir(dir);
    if (!d) return false;
    bool found = false;
    const size_t sl = strlen(TSS_STORE_PRESIG_SUFFIX);
    for (struct dirent *e; !found && (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        found = n > sl && strcmp(e->d_name + n - sl, TSS_STORE_PRESIG_SUFFIX) == 0;
    }
    closedir(d);
    return found;
}

void party_presig_inventory(party *pt) {
    /* A snapshot of a previous connection is void: sessions have run since. */
    for (pkey *k = pt->keys_open; k; k = k->next) {
        free(k->inventory);
        k->inventory = NULL;
        k->n_inventory = 0;
    }
    tss_key_id_list keys;
    memset(&keys, 0, sizeof keys);
    tss_result r = tss_share_list(&pt->store, &keys);
    if (!tss_is_ok(r)) {
        tss_log(LOG_WARNING, "presignature inventory: cannot list keys: %s", tss_error_detail());
        return;
    }
    for (size_t i = 0; i < keys.count; i++) {
        pkey *k;
        size_t listed = 0;
        /* Open a key's handles (file descriptors held for the process
         * lifetime) only if it has presignature files at all. */
        if (!has_presig_files(pt, keys.ids[i])) continue;
        r = party_key_handles(pt, keys.ids[i], &k);
        if (tss_is_ok(r)) r = list_key(pt, k, &listed);
        if (!tss_is_ok(r)) {
            tss_log(LOG_WARNING, "key=%s: presignature inventory not sent: %s", keys.ids[i],
                    tss_error_detail());
            continue;
        }
        if (listed)
            tss_log(LOG_INFO, "key=%s: %zu presignatures listed to the coordinator", keys.ids[i],
                    listed);
    }
    tss_key_id_list_free(&keys);
}

/* The coordinator retired presignatures (its pool's max_age) and asks for a
 * new listing of one key so that its PRESIG_DELETE can name them now. The
 * snapshot rule above holds for the new listing: a presign session stores
 * its presignature and sends SESSION_RESULT in one step of this loop, so
 * every id listed was reported to the coordinator first (on the same
 * connection, in order), and one made after the listing is never deleted. */
void party_presig_relist(party *pt, const tss_wire_frame *f) {
    char key_id[TSS_WIRE_MAX_KEY_ID + 1];
    if (!tss_is_ok(tss_wire_presig_relist_decode(key_id, f->payload, f->len))) {
        char reason[400];
        snprintf(reason, sizeof reason, "bad PRESIG_RELIST: %s", tss_error_detail());
        tss_dconn_fail(pt->conn, TSS_WIRE_ERR_PROTOCOL, reason);
        return;
    }
    if (!has_presig_files(pt, key_id)) {
        /* Nothing to list; an older snapshot of this key is void all the same. */
        for (pkey *k = pt->keys_open; k; k = k->next)
            if (strcmp(k->key_id, key_id) == 0) {
                free(k->inventory);
                k->inventory = NULL;
                k->n_inventory = 0;
            }
        return;
    }
    pkey *k;
    size_t listed = 0;
    tss_result r = party_key_handles(pt, key_id, &k);
    if (tss_is_ok(r)) r = list_key(pt, k, &listed);
    if (!tss_is_ok(r)) {
        tss_log(LOG_WARNING, "key=%s: presignature inventory not sent: %s", key_id,
                tss_error_detail());
        return;
    }
    tss_log(LOG_INFO, "key=%s: %zu presignatures listed again at the coordinator's request",
            key_id, listed);
}

void party_presig_delete(party *pt, const tss_wire_frame *f) {
    tss_wire_presig_ids m;
    if (!tss_is_ok(tss_wire_presig_ids_decode(&m, f->payload, f->len))) {
        char reason[400];
        snprintf(reason, sizeof reason, "bad PRESIG_DELETE: %s", tss_error_detail());
        tss_dconn_fail(pt->conn, TSS_WIRE_ERR_PROTOCOL, reason);
        return;
    }
    pkey *k = NULL;
    for (pkey *o = pt->keys_open; o; o = o->next)
        if (strcmp(o->key_id, m.key_id) == 0) k = o;
    size_t deleted = 0, ignored = 0, failed = 0;
    for (size_t i = 0; i < m.count; i++) {
        const uint8_t *id = m.ids + 32 * i;
        if (!k || !k->inventory ||
            !bsearch(id, k->inventory, k->n_inventory, sizeof k->inventory[0], cmp_id)) {
            ignored++; /* not listed on this connection: never deleted */
            continue;
        }
        if (tss_presig_store_is_spent(k->presigs, id)) continue; /* consumed meanwhile */
        tss_result r = tss_presig_store_consume(k->presigs, id);
        if (tss_is_ok(r)) {
            deleted++;
        } else {
            failed++;
            tss_log(LOG_WARNING, "key=%s: cannot delete an orphaned presignature: %s", m.key_id,
                    tss_error_detail());
        }
    }
    tss_log(deleted || failed ? LOG_NOTICE : LOG_INFO,
            "key=%s: reconciliation with the coordinator deleted %zu orphaned presignature(s), "
            "ignored %zu not listed on this connection, %zu failed",
            m.key_id, deleted, ignored, failed);
}
