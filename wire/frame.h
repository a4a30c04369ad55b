/* Transport frames between daemons (docs/PROTOCOL.md, "Transport frames").
 *
 * A frame is an 8-byte header then the payload:
 *   u8 version (1) | u8 type | u16 flags (0) | u32 payload length (big-endian)
 * Every length is checked against a cap before any payload byte is buffered:
 * the connection's max_frame (header included) and a tighter per-type cap,
 * so a peer cannot make us hold a megabyte for a heartbeat. Any framing error
 * is fatal for the stream: the decoder stays failed and the connection must
 * be closed, since resynchronising on a byte stream is guesswork. */
#ifndef TSS_WIRE_FRAME_H
#define TSS_WIRE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/bytes.h"
#include "util/result.h"

#define TSS_WIRE_VERSION 1
#define TSS_WIRE_HEADER_LEN 8
/* Bounds for a connection's max_frame (header included). */
#define TSS_WIRE_MIN_FRAME 1024u
#define TSS_WIRE_MAX_FRAME (16u * 1024 * 1024)
#define TSS_WIRE_DEFAULT_MAX_FRAME (1024u * 1024)

/* X(name, value, per-type payload cap; 0 = only the connection's max_frame) */
#define TSS_WIRE_TYPE_TABLE(X)                                                    \
    X(HELLO, 0x01, 1536)                                                          \
    X(HELLO_ACK, 0x02, 256)                                                       \
    X(HEARTBEAT, 0x03, 16)                                                        \
    X(HEARTBEAT_ACK, 0x04, 16)                                                    \
    X(ERROR, 0x05, 512)                                                           \
    X(STATUS_REQUEST, 0x10, 4096)                                                 \
    X(STATUS_RESPONSE, 0x11, 0)                                                   \
    X(SESSION_START, 0x20, 0)                                                     \
    X(PROTOCOL_MSG, 0x21, 0)                                                      \
    X(SESSION_RESULT, 0x22, 0)                                                    \
    X(SESSION_ABORT, 0x23, 4096)                                                  \
    X(PRESIG_INVENTORY, 0x24, 36864)                                              \
    X(PRESIG_DELETE, 0x25, 36864)                                                 \
    X(PRESIG_RELIST, 0x26, 128)                                                   \
    X(KEY_RETIRE, 0x27, 128)                                                      \
    X(KEY_RETIRED, 0x28, 512)                                                     \
    X(OP_REQUEST, 0x30, 290816) /* 4 KiB + request content + approvals */       \
    X(OP_RESPONSE, 0x31, 0)

typedef enum {
#define TSS_WIRE_X_ENUM(name, value, cap) TSS_WIRE_##name = value,
    TSS_WIRE_TYPE_TABLE(TSS_WIRE_X_ENUM)
#undef TSS_WIRE_X_ENUM
} tss_wire_type;

/* "HELLO", ... or NULL for a type this version does not know. */
const char *tss_wire_type_name(unsigned type);
bool tss_wire_type_known(unsigned type);
/* Largest payload a frame of this type may carry under max_frame (0 if unknown). */
uint32_t tss_wire_type_max_payload(unsigned type, uint32_t max_frame);

typedef struct {
    uint8_t version;
    uint8_t type;
    uint16_t flags;
    uint32_t len; /* payload length */
} tss_wire_header;

/* Decode and check exactly TSS_WIRE_HEADER_LEN bytes: version, flags, known
 * type, and len against the type's cap under max_frame. */
TSS_MUST_CHECK tss_result tss_wire_header_decode(tss_wire_header *out, const uint8_t *buf,
                                                 size_t len, uint32_t max_frame);

/* Append one whole frame to w. */
TSS_MUST_CHECK tss_result tss_wire_frame_encode(tss_writer *w, tss_wire_type type,
                                                const uint8_t *payload, size_t len,
                                                uint32_t max_frame);
/* Or in two steps, writing the payload straight into w in between:
 * begin writes a header with a zero length and returns its offset; end checks
 * the caps and patches the length. */
TSS_MUST_CHECK tss_result tss_wire_frame_begin(tss_writer *w, tss_wire_type type, size_t *at);
TSS_MUST_CHECK tss_result tss_wire_frame_end(tss_writer *w, size_t at, uint32_t max_frame);

/* A complete frame. payload points into the decoder and stays valid until the
 * next call on that decoder. */
typedef struct {
    uint8_t type;
    uint16_t flags;
    uint32_t len;
    const uint8_t *payload;
} tss_wire_frame;

/* Incremental stream decoder: holds at most one partial frame, in a buffer
 * that grows with the bytes received (never beyond the announced length). */
typedef struct {
    uint32_t max_frame;
    uint8_t hdr[TSS_WIRE_HEADER_LEN];
    size_t hdr_have;
    tss_wire_header cur;
    uint8_t *buf;
    size_t buf_cap;
    size_t have;     /* payload bytes of cur received */
    bool delivered;  /* the last call returned a frame; start a new one */
    tss_err failed;  /* sticky */
} tss_wire_decoder;

/* max_frame must lie in [TSS_WIRE_MIN_FRAME, TSS_WIRE_MAX_FRAME]. */
TSS_MUST_CHECK tss_result tss_wire_decoder_init(tss_wire_decoder *d, uint32_t max_frame);
/* Consume bytes from data until one frame is complete or data runs out.
 * *used is how many bytes were consumed; *ready says whether *out holds a frame.
 * Call again with the rest (data + *used) until it is used up:
 *     while (len) { feed(d, p, len, &used, &f, &ready); p += used; len -= used; ... }
 * A header error (unknown version or type, nonzero flags, oversized length) is
 * reported as soon as the 8 header bytes are in, before any payload is held. */
TSS_MUST_CHECK tss_result tss_wire_decoder_feed(tss_wire_decoder *d, const uint8_t *data,
                                                size_t len, size_t *used, tss_wire_frame *out,
                                                bool *ready);
/* Bytes of an incomplete frame currently held (0 at a frame boundary). */
size_t tss_wire_decoder_pending(const tss_wire_decoder *d);
/* At end of stream: an error if a frame was cut off. */
TSS_MUST_CHECK tss_result tss_wire_decoder_finish(const tss_wire_decoder *d);
void tss_wire_decoder_free(tss_wire_decoder *d);

#endif
