/* Fuzz the STATUS_RESPONSE and STATUS_REQUEST decoders (what tssctl parses
 * from the coordinator). Whatever decodes must re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "wire/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static tss_wire_status m;
    (void)tss_wire_status_request_decode(data, size);
    if (!tss_is_ok(tss_wire_status_decode(&m, data, size))) return 0;
    tss_writer w;
    tss_writer_init(&w, 1u << 24);
    if (!tss_is_ok(tss_wire_status_encode(&w, &m)) || w.len != size || memcmp(w.data, data, size) != 0)
        abort();
    tss_writer_free(&w);
    return 0;
}
