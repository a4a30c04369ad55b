/* Fuzz the approval decoders (policy/approval.h, policy/approval_nonce.h):
 * the wire list of approvals, one approval, the party's M-of-K check over
 * whatever decodes, and the nonce record parser.
 * Input: a selector byte, then the bytes. Selector bit 0: the bytes are a
 * nonce record file (bit 1 re-tags it with the fuzz MAC key so structure
 * checks are reached); else an approval list, checked against two pinned
 * approvers when it decodes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "policy/approval.h"
#include "policy/approval_nonce.h"
#include "util/bytes.h"
#include "util/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) ready = tss_is_ok(tss_crypto_init());
    if (size < 1) return 0;
    uint8_t sel = data[0];
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    static const uint8_t mk[32] = {9};
    if (sel & 1) {
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf) return 0;
        memcpy(buf, p, len);
        if ((sel & 2) && len >= 32) crypto_generichash(buf + len - 32, 32, buf, len - 32, mk, 32);
        tss_approval_nonce_entry *e = NULL;
        size_t n = 0;
        uint64_t hw = 0;
        tss_result r = tss_approval_nonce_parse(buf, len, mk, &e, &n, &hw);
        if (tss_is_ok(r)) {
            for (size_t i = 1; i < n; i++)
                if (memcmp(e[i - 1].id, e[i].id, 32) >= 0) abort();
        } else if (e || n) {
            abort();
        }
        free(e);
        free(buf);
        return 0;
    }
    tss_approval_set set;
    if (!tss_is_ok(tss_approval_list_decode(p, len, &set))) {
        tss_approval one;
        (void)tss_approval_decode(p, len, &one);
        return 0;
    }
    /* Round trip: the encoding is canonical. */
    tss_writer w;
    tss_writer_init(&w, TSS_APPROVAL_LIST_MAX);
    if (!tss_is_ok(tss_approval_list_encode(&set, &w)) || w.len != len ||
        memcmp(w.data, p, len) != 0)
        abort();
    tss_writer_free(&w);
    /* The check itself must never count a forgery: no pinned key signed anything. */
    static tss_approver_pin pin_v[2];
    static int pinned;
    if (!pinned) {
        uint8_t sk[64];
        crypto_sign_keypair(pin_v[0].public_key, sk);
        crypto_sign_keypair(pin_v[1].public_key, sk);
        strcpy(pin_v[0].name, "alice");
        strcpy(pin_v[1].name, "bob");
        pinned = 1;
    }
    tss_approver_pins pins = {pin_v, 2};
    tss_approval_policy pol = {.m = 1, .now = 1800000000, .skew = 300, .max_lifetime = 86400};
    /* An empty store in a private directory; the check must fail before recording. */
    static tss_approval_nonce_store *store;
    static char dir[] = "/tmp/fuzz-approval-XXXXXX";
    if (!store && mkdtemp(dir) != NULL &&
        !tss_is_ok(tss_approval_nonce_open(&store, dir, "nonces", mk)))
        store = NULL;
    if (store) {
        char rep[256];
        if (tss_is_ok(tss_approval_check(&set, set.n ? set.v[0].key_id : "k",
                                         set.n ? set.v[0].request_hash : mk, &pins, &pol, store,
                                         rep, sizeof rep)))
            abort();
    }
    return 0;
}
