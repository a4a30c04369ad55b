#include "wire/frame.h"

#include <stdlib.h>
#include <string.h>

#include "util/secmem.h"

static const struct {
    uint8_t type;
    const char *name;
    uint32_t cap;
} type_table[] = {
#define TSS_WIRE_X_ROW(name, value, cap) {value, #name, cap},
    TSS_WIRE_TYPE_TABLE(TSS_WIRE_X_ROW)
#undef TSS_WIRE_X_ROW
};

static int type_index(unsigned type) {
    for (size_t i = 0; i < sizeof type_table / sizeof type_table[0]; i++)
        if (type_table[i].type == type) return (int)i;
    return -1;
}

const char *tss_wire_type_name(unsigned type) {
    int i = type_index(type);
    return i < 0 ? NULL : type_table[i].name;
}

bool tss_wire_type_known(unsigned type) { return type_index(type) >= 0; }

uint32_t tss_wire_type_max_payload(unsigned type, uint32_t max_frame) {
    int i = type_index(type);
    if (i < 0 || max_frame < TSS_WIRE_HEADER_LEN) return 0;
    uint32_t cap = max_frame - TSS_WIRE_HEADER_LEN;
    if (type_table[i].cap && type_table[i].cap < cap) cap = type_table[i].cap;
    return cap;
}

static bool max_frame_valid(uint32_t max_frame) {
    return max_frame >= TSS_WIRE_MIN_FRAME && max_frame <= TSS_WIRE_MAX_FRAME;
}

static tss_result check_len(unsigned type, uint64_t len, uint32_t max_frame) {
    uint32_t cap = tss_wire_type_max_payload(type, max_frame);
    TSS_ENSURE(len <= cap, TSS_E_TOO_LARGE, "frame %s: payload length %llu exceeds limit %u",
               tss_wire_type_name(type), (unsigned long long)len, cap);
    return TSS_OK_RESULT;
}

tss_result tss_wire_header_decode(tss_wire_header *out, const uint8_t *buf, size_t len,
                                  uint32_t max_frame) {
    TSS_ENSURE(max_frame_valid(max_frame), TSS_E_INTERNAL, "frame: max_frame %u out of range",
               max_frame);
    tss_reader r;
    tss_reader_init(&r, buf, len);
    tss_wire_header h;
    h.version = tss_read_u8(&r);
    h.type = tss_read_u8(&r);
    h.flags = tss_read_u16(&r);
    h.len = tss_read_u32(&r);
    TSS_GUARD(tss_reader_finish(&r, "frame header"));
    TSS_ENSURE(h.version == TSS_WIRE_VERSION, TSS_E_UNSUPPORTED,
               "frame: unsupported version %u (expected %u)", h.version, TSS_WIRE_VERSION);
    TSS_ENSURE(tss_wire_type_known(h.type), TSS_E_UNSUPPORTED, "frame: unknown type 0x%02x",
               h.type);
    /* No flag is defined in version 1; refusing them keeps their future meaning free. */
    TSS_ENSURE(h.flags == 0, TSS_E_UNSUPPORTED, "frame %s: unknown flags 0x%04x",
               tss_wire_type_name(h.type), h.flags);
    TSS_GUARD(check_len(h.type, h.len, max_frame));
    *out = h;
    return TSS_OK_RESULT;
}

tss_result tss_wire_frame_begin(tss_writer *w, tss_wire_type type, size_t *at) {
    TSS_ENSURE(tss_wire_type_known(type), TSS_E_INTERNAL, "frame: unknown type 0x%02x",
               (unsigned)type);
    *at = w->len;
    tss_write_u8(w, TSS_WIRE_VERSION);
    tss_write_u8(w, (uint8_t)type);
    tss_write_u16(w, 0);
    tss_write_u32(w, 0);
    return tss_writer_status(w, "frame header");
}

tss_result tss_wire_frame_end(tss_writer *w, size_t at, uint32_t max_frame) {
    TSS_GUARD(tss_writer_status(w, "frame"));
    TSS_ENSURE(max_frame_valid(max_frame), TSS_E_INTERNAL, "frame: max_frame %u out of range",
               max_frame);
    TSS_ENSURE(at <= w->len && w->len - at >= TSS_WIRE_HEADER_LEN && w->data[at] == TSS_WIRE_VERSION,
               TSS_E_INTERNAL, "frame: no header at offset %zu", at);
    uint8_t type = w->data[at + 1];
    size_t len = w->len - at - TSS_WIRE_HEADER_LEN;
    TSS_GUARD(check_len(type, len, max_frame));
    for (int i = 0; i < 4; i++) w->data[at + 4 + i] = (uint8_t)(len >> (24 - 8 * i));
    return TSS_OK_RESULT;
}

tss_result tss_wire_frame_encode(tss_writer *w, tss_wire_type type, const uint8_t *payload,
                                 size_t len, uint32_t max_frame) {
    TSS_ENSURE(max_frame_valid(max_frame), TSS_E_INTERNAL, "frame: max_frame %u out of range",
               max_frame);
    /* Check before writing so an oversized payload is not copied at all. */
    TSS_ENSURE(tss_wire_type_known(type), TSS_E_INTERNAL, "frame: unknown type 0x%02x",
               (unsigned)type);
    TSS_GUARD(check_len(type, len, max_frame));
    size_t at;
    TSS_GUARD(tss_wire_frame_begin(w, type, &at));
    tss_write_bytes(w, payload, len);
    return tss_wire_frame_end(w, at, max_frame);
}

tss_result tss_wire_decoder_init(tss_wire_decoder *d, uint32_t max_frame) {
    memset(d, 0, sizeof *d);
    TSS_ENSURE(max_frame_valid(max_frame), TSS_E_INVALID,
               "frame decoder: max_frame %u outside %u..%u", max_frame, TSS_WIRE_MIN_FRAME,
               TSS_WIRE_MAX_FRAME);
    d->max_frame = max_frame;
    return TSS_OK_RESULT;
}

/* Room for `need` payload bytes. The buffer grows with what has arrived (at
 * least doubling, at most to the announced length), not with what a header
 * claims: an 8-byte header must not buy a megabyte of memory per connection. */
static tss_result reserve(tss_wire_decoder *d, size_t need) {
    if (need <= d->buf_cap) return TSS_OK_RESULT;
    size_t cap = d->buf_cap * 2 > 4096 ? d->buf_cap * 2 : 4096;
    if (cap < need) cap = need;
    if (cap > d->cur.len) cap = d->cur.len;
    uint8_t *p = malloc(cap);
    if (!p) return tss_fail(TSS_E_NOMEM, "frame decoder: out of memory");
    if (d->buf) {
        memcpy(p, d->buf, d->have);
        tss_wipe(d->buf, d->buf_cap);
        free(d->buf);
    }
    d->buf = p;
    d->buf_cap = cap;
    return TSS_OK_RESULT;
}

static tss_result decoder_fail(tss_wire_decoder *d, tss_result r) {
    d->failed = r.err;
    return r;
}

tss_result tss_wire_decoder_feed(tss_wire_decoder *d, const uint8_t *data, size_t len,
                                 size_t *used, tss_wire_frame *out, bool *ready) {
    *used = 0;
    *ready = false;
    if (d->failed)
        return tss_fail(d->failed, "frame decoder: stream already failed (%s)",
                        tss_err_message(d->failed));
    if (d->max_frame == 0) return tss_fail(TSS_E_INTERNAL, "frame decoder: not initialised");
    if (d->delivered) {
        d->delivered = false;
        d->hdr_have = 0;
        d->have = 0;
    }
    size_t pos = 0;
    if (d->hdr_have < TSS_WIRE_HEADER_LEN) {
        size_t n = TSS_WIRE_HEADER_LEN - d->hdr_have;
        if (n > len) n = len;
        if (n) memcpy(d->hdr + d->hdr_have, data, n);
        d->hdr_have += n;
        pos += n;
        *used = pos;
        if (d->hdr_have < TSS_WIRE_HEADER_LEN) return TSS_OK_RESULT;
        tss_result r = tss_wire_header_decode(&d->cur, d->hdr, TSS_WIRE_HEADER_LEN, d->max_frame);
        if (!tss_is_ok(r)) return decoder_fail(d, r);
    }
    size_t n = d->cur.len - d->have;
    if (n > len - pos) n = len - pos;
    if (n) {
        tss_result r = reserve(d, d->have + n);
        if (!tss_is_ok(r)) return decoder_fail(d, r);
        memcpy(d->buf + d->have, data + pos, n);
    }
    d->have += n;
    pos += n;
    *used = pos;
    if (d->have < d->cur.len) return TSS_OK_RESULT;
    out->type = d->cur.type;
    out->flags = d->cur.flags;
    out->len = d->cur.len;
    out->payload = d->cur.len ? d->buf : (const uint8_t *)"";
    *ready = true;
    d->delivered = true;
    return TSS_OK_RESULT;
}

size_t tss_wire_decoder_pending(const tss_wire_decoder *d) {
    if (d->delivered) return 0;
    return d->hdr_have + d->have;
}

tss_result tss_wire_decoder_finish(const tss_wire_decoder *d) {
    if (d->failed)
        return tss_fail(d->failed, "frame decoder: stream failed (%s)", tss_err_message(d->failed));
    size_t pending = tss_wire_decoder_pending(d);
    TSS_ENSURE(pending == 0, TSS_E_TRUNCATED,
               "frame decoder: stream ended inside a frame (%zu bytes pending)", pending);
    return TSS_OK_RESULT;
}

void tss_wire_decoder_free(tss_wire_decoder *d) {
    if (d->buf) {
        tss_wipe(d->buf, d->buf_cap);
        free(d->buf);
    }
    memset(d, 0, sizeof *d);
}
