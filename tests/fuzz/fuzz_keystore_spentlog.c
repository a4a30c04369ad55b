/* Fuzz the spent-id log parser (keystore/spent_log.h): header and tag checks,
 * the version-1 reader, the torn-tail rule, duplicate and zero-record
 * detection, the record cap.
 * Input: a selector byte, then the file. Selector bit 0 picks the kind (sign
 * sids; else bit 5: wire session ids, or presignature ids); bit 1 overwrites
 * the header with the valid version-2 one for the fuzz key id, and bit 4
 * re-tags every complete record with the fuzz MAC key, so the record logic
 * is reached without guessing tags; bits 2-3 pick a small record cap. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keystore/spent_log.h"
#include "util/secmem.h"

static bool all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) ready = tss_is_ok(tss_crypto_init());
    if (size < 1) return 0;
    uint8_t sel = data[0];
    tss_spent_kind kind = (sel & 1)      ? TSS_SPENT_SIGN_SID
                          : (sel & 0x20) ? TSS_SPENT_WIRE_SESSION
                                         : TSS_SPENT_PRESIG;
    static const size_t caps[4] = {0, 1, 3, 64};
    size_t cap = caps[(sel >> 2) & 3];
    size_t len = size - 1;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return 0;
    memcpy(buf, data + 1, len);
    uint8_t storage[32] = {7}, mk[TSS_SPENT_MAC_KEY_LEN];
    tss_spent_log_mac_key(mk, storage, kind, "fuzz-key");
    if ((sel & 2) && len >= TSS_SPENT_HEADER_LEN) tss_spent_log_header(buf, kind, "fuzz-key", mk);
    if ((sel & 16) && len >= TSS_SPENT_HEADER_LEN)
        for (size_t i = 0; TSS_SPENT_HEADER_LEN + (i + 1) * TSS_SPENT_RECORD_LEN <= len; i++) {
            uint8_t *rec = buf + TSS_SPENT_HEADER_LEN + i * TSS_SPENT_RECORD_LEN;
            if (!all_zero(rec, TSS_SPENT_RECORD_LEN)) tss_spent_log_record(rec, mk, i, rec);
        }

    tss_id_set set;
    tss_id_set_init(&set);
    tss_spent_log_scan scan;
    tss_result r = tss_spent_log_parse(buf, len, kind, "fuzz-key", mk, cap, &set, &scan);
    if (tss_is_ok(r)) {
        size_t hl = scan.version == 1 ? TSS_SPENT_V1_LEN : TSS_SPENT_HEADER_LEN;
        size_t rl = scan.version == 1 ? TSS_SPENT_V1_LEN : TSS_SPENT_RECORD_LEN;
        /* Invariants a successful parse promises. */
        if (scan.version != 1 && scan.version != TSS_SPENT_LOG_VERSION) __builtin_trap();
        if (scan.valid_len != hl + scan.records * rl) __builtin_trap();
        if (scan.valid_len > len || scan.dropped != len - scan.valid_len) __builtin_trap();
        if (set.count != scan.records) __builtin_trap();
        if (cap && scan.records > cap) __builtin_trap();
        /* Only a partial record, or one final all-zero record, is dropped. */
        if (scan.dropped >= rl && !(scan.dropped == rl && all_zero(buf + scan.valid_len, rl)))
            __builtin_trap();
        for (size_t i = 0; i < scan.records; i++) {
            const uint8_t *rec = buf + hl + i * rl;
            if (!tss_id_set_contains(&set, rec) || all_zero(rec, 32)) __builtin_trap();
            if (scan.version != 1) { /* every kept record is authentic */
                uint8_t want[TSS_SPENT_RECORD_LEN];
                tss_spent_log_record(want, mk, i, rec);
                if (memcmp(want, rec, TSS_SPENT_RECORD_LEN) != 0) __builtin_trap();
            }
        }
    } else if (tss_err_exit_code(r.err) != 65 && r.err != TSS_E_NOMEM) {
        __builtin_trap(); /* every refusal is "corrupt" (exit 65) */
    }
    tss_id_set_free(&set);
    free(buf);
    return 0;
}
