/* Fuzz the frame stream decoder and every message decoder.
 *
 * Input byte 0 picks max_frame and the chunking; the rest is the stream. The
 * stream is fed in varying chunk sizes and each complete frame goes to the
 * decoder for its type. Decoded messages are re-encoded and must decode to
 * the same bytes: whatever we accept we can also produce. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "wire/frame.h"
#include "wire/msg.h"

static void reencode_equal(tss_writer *w, const uint8_t *p, size_t n) {
    if (!tss_is_ok(tss_writer_status(w, "fuzz")) || w->len != n || memcmp(w->data, p, n) != 0)
        abort();
}

static void decode_message(const tss_wire_frame *f) {
    tss_writer w;
    tss_writer_init(&w, TSS_WIRE_MAX_FRAME);
    switch (f->type) {
    case TSS_WIRE_HELLO: {
        tss_wire_hello m;
        if (tss_is_ok(tss_wire_hello_decode(&m, f->payload, f->len))) {
            if (!tss_is_ok(tss_wire_hello_encode(&w, &m))) abort();
            reencode_equal(&w, f->payload, f->len);
        }
        break;
    }
    case TSS_WIRE_HELLO_ACK: {
        tss_wire_hello_ack m;
        if (tss_is_ok(tss_wire_hello_ack_decode(&m, f->payload, f->len))) {
            if (!tss_is_ok(tss_wire_hello_ack_encode(&w, &m))) abort();
            reencode_equal(&w, f->payload, f->len);
        }
        break;
    }
    case TSS_WIRE_HEARTBEAT:
    case TSS_WIRE_HEARTBEAT_ACK: {
        tss_wire_heartbeat m;
        if (tss_is_ok(tss_wire_heartbeat_decode(&m, f->payload, f->len))) {
            if (!tss_is_ok(tss_wire_heartbeat_encode(&w, &m))) abort();
            reencode_equal(&w, f->payload, f->len);
        }
        break;
    }
    case TSS_WIRE_ERROR: {
        tss_wire_error m;
        if (tss_is_ok(tss_wire_error_decode(&m, f->payload, f->len))) {
            if (!tss_is_ok(tss_wire_error_encode(&w, &m))) abort();
            reencode_equal(&w, f->payload, f->len);
        }
        break;
    }
    case TSS_WIRE_PROTOCOL_MSG: {
        tss_wire_protocol_msg m;
        if (tss_is_ok(tss_wire_protocol_msg_decode(&m, f->payload, f->len, f->len))) {
            if (m.payload < f->payload || m.payload + m.payload_len > f->payload + f->len)
                abort();
            if (!tss_is_ok(tss_wire_protocol_msg_encode(&w, &m, m.payload_len))) abort();
            reencode_equal(&w, f->payload, f->len);
        }
        break;
    }
#define ROUND_TRIP(TYPE, T, DEC, ENC)                                                  \
    case TYPE: {                                                                       \
        T m;                                                                           \
        if (tss_is_ok(DEC(&m, f->payload, f->len))) {                                  \
            if (!tss_is_ok(ENC(&w, &m))) abort();                                      \
            reencode_equal(&w, f->payload, f->len);                                    \
        }                                                                              \
        break;                                                                         \
    }
        ROUND_TRIP(TSS_WIRE_SESSION_START, tss_wire_session_start, tss_wire_session_start_decode,
                   tss_wire_session_start_encode)
        ROUND_TRIP(TSS_WIRE_SESSION_RESULT, tss_wire_session_result,
                   tss_wire_session_result_decode, tss_wire_session_result_encode)
        ROUND_TRIP(TSS_WIRE_SESSION_ABORT, tss_wire_session_abort, tss_wire_session_abort_decode,
                   tss_wire_session_abort_encode)
        ROUND_TRIP(TSS_WIRE_OP_REQUEST, tss_wire_op_request, tss_wire_op_request_decode,
                   tss_wire_op_request_encode)
    case TSS_WIRE_OP_RESPONSE: {
        tss_wire_op_response m;
        if (tss_is_ok(tss_wire_op_response_decode(&m, f->payload, f->len))) {
            if (!tss_is_ok(tss_wire_op_response_encode(&w, &m))) abort();
            reencode_equal(&w, f->payload, f->len);
            tss_wire_op_response_free(&m);
        }
        break;
    }
    default:
        break;
    }
    tss_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t ctl = data[0];
    data++, size--;
    static const uint32_t caps[4] = {TSS_WIRE_MIN_FRAME, 4096, TSS_WIRE_DEFAULT_MAX_FRAME,
                                     TSS_WIRE_MAX_FRAME};
    uint32_t max_frame = caps[ctl & 3];
    size_t step = (ctl >> 2) ? (size_t)(ctl >> 2) : size; /* 1..63 bytes, or all at once */

    tss_wire_decoder d;
    if (!tss_is_ok(tss_wire_decoder_init(&d, max_frame))) abort();
    size_t off = 0;
    bool failed = false;
    while (off < size && !failed) {
        size_t chunk = size - off < step ? size - off : step;
        const uint8_t *p = data + off;
        off += chunk;
        while (chunk) {
            size_t used;
            bool ready;
            tss_wire_frame f;
            if (!tss_is_ok(tss_wire_decoder_feed(&d, p, chunk, &used, &f, &ready))) {
                failed = true;
                break;
            }
            if (used > chunk || (!ready && used != chunk)) abort();
            p += used, chunk -= used;
            if (ready) {
                if (f.len > tss_wire_type_max_payload(f.type, max_frame)) abort();
                decode_message(&f);
            }
        }
    }
    if (!failed && tss_wire_decoder_pending(&d) > max_frame) abort();
    (void)tss_wire_decoder_finish(&d);
    tss_wire_decoder_free(&d);

    /* Also throw the raw bytes at each message decoder directly. */
    tss_wire_frame raw = {0, 0, (uint32_t)size, data};
    static const uint8_t types[] = {TSS_WIRE_HELLO, TSS_WIRE_HELLO_ACK, TSS_WIRE_HEARTBEAT,
                                    TSS_WIRE_ERROR, TSS_WIRE_PROTOCOL_MSG};
    if (size <= TSS_WIRE_MAX_FRAME) {
        raw.type = types[ctl % sizeof types];
        decode_message(&raw);
    }
    return 0;
}
