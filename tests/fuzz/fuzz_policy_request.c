/* Fuzz the request content decoder (policy/request.h): decode, re-encode
 * (must be byte-identical: one encoding per request), compute the view and
 * digest (must not crash), hash it; and the velocity state file parser
 * (policy/velocity.h) on the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/request.h"
#include "policy/velocity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tss_request req;
    if (tss_is_ok(tss_request_decode(&req, data, size))) {
        tss_writer w;
        tss_writer_init(&w, TSS_REQ_MAX_ENCODED);
        if (!tss_is_ok(tss_request_encode(&w, &req))) abort();
        if (w.len != size || memcmp(w.data, data, size) != 0) abort();
        tss_writer_free(&w);
        tss_req_view v;
        if (tss_is_ok(tss_request_evaluate(&req, &v)) && v.type != req.type) abort();
        uint8_t h[32];
        tss_request_hash("k", NULL, &req, h);
    }
    uint64_t hw;
    size_t n;
    (void)tss_velocity_parse(data, size, &hw, &n).err;
    return 0;
}
