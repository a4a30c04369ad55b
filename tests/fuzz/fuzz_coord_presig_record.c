/* Fuzz the coordinator presignature-record parser (daemon/presig_record.h).
 * Input: a selector byte, then the file. Selector bit 0: re-sum every
 * complete line after the header with the fuzz key id (so the record logic
 * is reached without guessing checksums). Invariants of a successful parse:
 * available ids are distinct, their signer sets are threshold-many ascending
 * parties of the key, and keep + torn == len. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/presig_record.h"
#include "util/hex.h"
#include "util/secmem.h"

static const uint16_t PARTIES[3] = {1, 2, 5};
static const tss_precord_key KEY = {"fuzz-key", 2, 3, PARTIES};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) ready = tss_is_ok(tss_crypto_init());
    if (size < 1 || size > 8192) return 0;
    uint8_t sel = data[0];
    size_t len = size - 1;
    char *buf = malloc(len ? 2 * len + 64 : 1);
    if (!buf) return 0;
    memcpy(buf, data + 1, len);
    const size_t hl = sizeof TSS_PRECORD_HEADER - 1;
    if ((sel & 1) && len >= hl) {
        /* Rebuild: each complete line "<op> <64 hex>[ signers]" gets its sum. */
        char *out = malloc(2 * len + 64 + TSS_PRECORD_LINE_MAX);
        if (!out) {
            free(buf);
            return 0;
        }
        memcpy(out, TSS_PRECORD_HEADER, hl);
        size_t o = hl, index = 0, i = hl;
        while (i < len) {
            char *nl = memchr(buf + i, '\n', len - i);
            if (!nl) break;
            size_t ll = (size_t)(nl - (buf + i));
            tss_precord_entry e;
            memset(&e, 0, sizeof e);
            char hex[65];
            if (ll >= 66 && (buf[i] == '+' || buf[i] == '-')) {
                memcpy(hex, buf + i + 2, 64);
                hex[64] = '\0';
                if (tss_is_ok(tss_hex_decode(e.id, 32, hex, "id"))) {
                    e.count = 2;
                    e.signers[0] = (uint16_t)(1 + (buf[i + ll - 1] & 1));
                    e.signers[1] = 5;
                    o += tss_precord_line(out + o, KEY.key_id, index++, buf[i], &e);
                }
            }
            i += ll + 1;
        }
        memcpy(out + o, buf + i, len - i);
        o += len - i;
        free(buf);
        buf = out;
        len = o;
    }
    tss_precord r;
    memset(&r, 0, sizeof r);
    tss_result res = tss_precord_parse(buf, len, &KEY, &r);
    if (tss_is_ok(res)) {
        if (r.keep + r.torn != len) __builtin_trap();
        for (size_t i = 0; i < r.n_avail; i++) {
            const tss_precord_entry *e = &r.avail[i];
            if (e->count != KEY.threshold) __builtin_trap();
            for (size_t j = 0; j < e->count; j++) {
                bool member = false;
                for (size_t m = 0; m < KEY.count; m++) member |= KEY.parties[m] == e->signers[j];
                if (!member || (j && e->signers[j] <= e->signers[j - 1])) __builtin_trap();
            }
            for (size_t j = 0; j < i; j++)
                if (memcmp(r.avail[j].id, e->id, 32) == 0) __builtin_trap();
        }
    } else if (res.err != TSS_E_CORRUPT && res.err != TSS_E_NOMEM) {
        __builtin_trap();
    }
    tss_precord_free(&r);
    free(buf);
    return 0;
}
