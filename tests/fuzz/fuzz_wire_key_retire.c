/* Fuzz the KEY_RETIRE / KEY_RETIRED decoders (what a party parses from the
 * coordinator, and the coordinator from a party; issue 17). The first byte
 * picks which. Whatever decodes must re-encode to the same bytes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "wire/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    bool reply = data[0] & 1;
    data++, size--;
    tss_wire_key_retire m;
    if (!tss_is_ok(tss_wire_key_retire_decode(&m, data, size, reply))) return 0;
    tss_writer w;
    tss_writer_init(&w, 4096);
    if (!tss_is_ok(tss_wire_key_retire_encode(&w, &m, reply)) || w.len != size ||
        memcmp(w.data, data, size) != 0)
        abort();
    tss_writer_free(&w);
    return 0;
}
