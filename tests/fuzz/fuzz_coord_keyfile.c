/* Fuzz the coordinator key-file parser (daemon/keyfile.h): checksum, JSON
 * fields, redundancy checks. A successful parse must round-trip: rendering
 * the parsed fields gives back exactly the input. Input: the file, parsed
 * as the key id "treasury-1". */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "daemon/keyfile.h"
#include "util/secmem.h"

static char out[TSS_KEYFILE_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) ready = tss_is_ok(tss_crypto_init());
    tss_keyfile k;
    unsigned ver = 0;
    tss_result r = tss_keyfile_parse((const char *)data, size, "treasury-1", &k, &ver);
    if (tss_is_ok(r)) {
        size_t len = 0;
        if (ver < 1 || ver > TSS_KEYFILE_VERSION) __builtin_trap();
        if (!tss_is_ok(tss_keyfile_render(&k, ver, out, sizeof out, &len))) __builtin_trap();
        if (len != size || memcmp(out, data, size) != 0) __builtin_trap();
    } else if (r.err != TSS_E_CORRUPT && r.err != TSS_E_UNSUPPORTED) {
        __builtin_trap(); /* every refusal is "corrupt" (or a newer format) */
    }
    return 0;
}
