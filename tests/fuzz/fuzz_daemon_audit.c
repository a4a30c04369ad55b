/* Fuzz the audit segment verifier (daemon/audit.h) that `tssctl audit
 * verify` runs on files an attacker may have edited: line splitting, the
 * header's canonical form, the chain. Input: a selector byte, then the
 * segment. Selector bit 0 verifies it as a continuation (a chain already at
 * segment 1 with a fixed head) instead of a first segment; bit 1 verifies
 * the same bytes twice in a row (segment N then N+1 on one chain). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "daemon/audit.h"
#include "util/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) ready = tss_is_ok(tss_crypto_init());
    if (size < 1) return 0;
    uint8_t sel = data[0];
    tss_audit_chain c;
    tss_audit_chain_init(&c);
    if (sel & 1) {
        c.started = true;
        c.segment = 1;
        memset(c.head, 0xab, sizeof c.head);
    }
    size_t line = 0;
    tss_result r = tss_audit_verify_segment(&c, data + 1, size - 1, &line);
    if (tss_is_ok(r) && line != 0) __builtin_trap();
    if (!tss_is_ok(r) && line == 0 && size > 1) {
        /* Only an empty segment may fail without naming a line. */
        __builtin_trap();
    }
    if (sel & 2) r = tss_audit_verify_segment(&c, data + 1, size - 1, &line);
    (void)r;
    return 0;
}
