/* Fuzz the PRESIG_INVENTORY / PRESIG_DELETE decoder (what the coordinator
 * parses from a party and a party from the coordinator). Whatever decodes
 * must re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "wire/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tss_wire_presig_ids m;
    if (!tss_is_ok(tss_wire_presig_ids_decode(&m, data, size))) return 0;
    tss_writer w;
    tss_writer_init(&w, 1u << 20);
    if (!tss_is_ok(tss_wire_presig_ids_encode(&w, &m)) || w.len != size ||
        memcmp(w.data, data, size) != 0)
        abort();
    tss_writer_free(&w);
    return 0;
}
