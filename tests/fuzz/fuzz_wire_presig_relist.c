/* Fuzz the PRESIG_RELIST decoder (what a party parses from the coordinator).
 * Whatever decodes must re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "wire/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char key[TSS_WIRE_MAX_KEY_ID + 1];
    if (!tss_is_ok(tss_wire_presig_relist_decode(key, data, size))) return 0;
    tss_writer w;
    tss_writer_init(&w, 1024);
    if (!tss_is_ok(tss_wire_presig_relist_encode(&w, key)) || w.len != size ||
        memcmp(w.data, data, size) != 0)
        abort();
    tss_writer_free(&w);
    return 0;
}
