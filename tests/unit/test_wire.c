/* wire/: frame header, stream decoder, message encodings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "util/bytes.h"
#include "util/secmem.h"
#include "wire/frame.h"
#include "wire/msg.h"

#define MAXF TSS_WIRE_DEFAULT_MAX_FRAME

static bool detail_has(const char *needle) { return strstr(tss_error_detail(), needle) != NULL; }

/* Encode one frame into a fresh writer (caller frees). */
static void frame(tss_writer *w, tss_wire_type type, const void *payload, size_t len) {
    tss_writer_init(w, TSS_WIRE_MAX_FRAME);
    CHECK_OK(tss_wire_frame_encode(w, type, payload, len, MAXF));
}

/* Feed a whole buffer in chunks of `step` bytes; collect frames. */
typedef struct {
    size_t count;
    uint8_t types[64];
    uint32_t lens[64];
    uint8_t first_byte[64];
} collected;

static tss_result feed_all(tss_wire_decoder *d, const uint8_t *p, size_t len, size_t step,
                           collected *c) {
    memset(c, 0, sizeof *c);
    size_t off = 0;
    while (off < len) {
        size_t chunk = len - off < step ? len - off : step;
        const uint8_t *q = p + off;
        off += chunk;
        while (chunk) {
            size_t used;
            bool ready;
            tss_wire_frame f;
            TSS_GUARD(tss_wire_decoder_feed(d, q, chunk, &used, &f, &ready));
            if (used > chunk) return tss_fail(TSS_E_INTERNAL, "used too much");
            q += used;
            chunk -= used;
            if (ready && c->count < 64) {
                c->types[c->count] = f.type;
                c->lens[c->count] = f.len;
                c->first_byte[c->count] = f.len ? f.payload[0] : 0;
                c->count++;
            }
            if (!ready && used == 0) return tss_fail(TSS_E_INTERNAL, "no progress");
        }
    }
    return TSS_OK_RESULT;
}

static void type_table_names(void) {
    CHECK(strcmp(tss_wire_type_name(TSS_WIRE_HELLO), "HELLO") == 0);
    CHECK(strcmp(tss_wire_type_name(TSS_WIRE_PROTOCOL_MSG), "PROTOCOL_MSG") == 0);
    CHECK(strcmp(tss_wire_type_name(TSS_WIRE_SESSION_ABORT), "SESSION_ABORT") == 0);
    CHECK(tss_wire_type_name(0) == NULL);
    CHECK(tss_wire_type_name(0xff) == NULL);
    CHECK(!tss_wire_type_known(0x06));
    CHECK(tss_wire_type_max_payload(TSS_WIRE_HEARTBEAT, MAXF) == 16);
    CHECK(tss_wire_type_max_payload(TSS_WIRE_PROTOCOL_MSG, MAXF) == MAXF - TSS_WIRE_HEADER_LEN);
    CHECK(tss_wire_type_max_payload(0x99, MAXF) == 0);
    CHECK(strcmp(tss_wire_error_code_name(TSS_WIRE_ERR_LIMIT), "LIMIT") == 0);
    CHECK(tss_wire_error_code_name(999) == NULL);
}

static void header_layout_is_exact(void) {
    tss_writer w;
    frame(&w, TSS_WIRE_ERROR, "abc", 3);
    const uint8_t want[] = {1, 0x05, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c'};
    CHECK(w.len == sizeof want && memcmp(w.data, want, sizeof want) == 0);
    tss_wire_header h;
    CHECK_OK(tss_wire_header_decode(&h, w.data, TSS_WIRE_HEADER_LEN, MAXF));
    CHECK(h.version == 1 && h.type == TSS_WIRE_ERROR && h.flags == 0 && h.len == 3);
    /* The header decoder wants exactly 8 bytes. */
    CHECK_ERR(tss_wire_header_decode(&h, w.data, 7, MAXF), TSS_E_TRUNCATED);
    CHECK_ERR(tss_wire_header_decode(&h, w.data, 9, MAXF), TSS_E_TRAILING);
    tss_writer_free(&w);
}

static void header_rejects_bad_fields(void) {
    tss_wire_header h;
    uint8_t b[8] = {1, TSS_WIRE_HELLO, 0, 0, 0, 0, 0, 10};
    CHECK_OK(tss_wire_header_decode(&h, b, 8, MAXF));
    b[0] = 2;
    CHECK_ERR(tss_wire_header_decode(&h, b, 8, MAXF), TSS_E_UNSUPPORTED);
    CHECK(detail_has("unsupported version 2"));
    b[0] = 0;
    CHECK_ERR(tss_wire_header_decode(&h, b, 8, MAXF), TSS_E_UNSUPPORTED);
    b[0] = 1;
    b[1] = 0x7f;
    CHECK_ERR(tss_wire_header_decode(&h, b, 8, MAXF), TSS_E_UNSUPPORTED);
    CHECK(detail_has("unknown type 0x7f"));
    b[1] = 0;
    CHECK_ERR(tss_wire_header_decode(&h, b, 8, MAXF), TSS_E_UNSUPPORTED);
    b[1] = TSS_WIRE_HELLO;
    b[3] = 1;
    CHECK_ERR(tss_wire_header_decode(&h, b, 8, MAXF), TSS_E_UNSUPPORTED);
    CHECK(detail_has("flags 0x0001"));
    b[3] = 0;
    b[2] = 0x80;
    CHECK_ERR(tss_wire_header_decode(&h, b, 8, MAXF), TSS_E_UNSUPPORTED);
    b[2] = 0;
    /* HELLO is capped at 1536 bytes whatever the connection allows. */
    b[6] = 6, b[7] = 0;
    CHECK_OK(tss_wire_header_decode(&h, b, 8, MAXF));
    b[7] = 1;
    CHECK_ERR(tss_wire_header_decode(&h, b, 8, MAXF), TSS_E_TOO_LARGE);
    CHECK(detail_has("HELLO: payload length 1537 exceeds limit 1536"));
    /* PROTOCOL_MSG up to max_frame - 8 exactly. */
    b[1] = TSS_WIRE_PROTOCOL_MSG;
    uint32_t ok_len = MAXF - 8, bad_len = MAXF - 7;
    for (int i = 0; i < 4; i++) b[4 + i] = (uint8_t)(ok_len >> (24 - 8 * i));
    CHECK_OK(tss_wire_header_decode(&h, b, 8, MAXF));
    for (int i = 0; i < 4; i++) b[4 + i] = (uint8_t)(bad_len >> (24 - 8 * i));
    CHECK_ERR(tss_wire_header_decode(&h, b, 8, MAXF), TSS_E_TOO_LARGE);
    b[4] = b[5] = b[6] = b[7] = 0xff;
    CHECK_ERR(tss_wire_header_decode(&h, b, 8, TSS_WIRE_MAX_FRAME), TSS_E_TOO_LARGE);
    /* max_frame itself is bounded. */
    CHECK_ERR(tss_wire_header_decode(&h, b, 8, TSS_WIRE_MIN_FRAME - 1), TSS_E_INTERNAL);
    CHECK_ERR(tss_wire_header_decode(&h, b, 8, TSS_WIRE_MAX_FRAME + 1), TSS_E_INTERNAL);
}

static void encoder_enforces_caps(void) {
    tss_writer w;
    tss_writer_init(&w, TSS_WIRE_MAX_FRAME);
    uint8_t big[1600] = {0};
    CHECK_ERR(tss_wire_frame_encode(&w, TSS_WIRE_HELLO, big, 1537, MAXF), TSS_E_TOO_LARGE);
    CHECK(w.len == 0);
    CHECK_ERR(tss_wire_frame_encode(&w, TSS_WIRE_HEARTBEAT, big, 17, MAXF), TSS_E_TOO_LARGE);
    CHECK_ERR(tss_wire_frame_encode(&w, (tss_wire_type)0x42, big, 1, MAXF), TSS_E_INTERNAL);
    CHECK_ERR(tss_wire_frame_encode(&w, TSS_WIRE_HELLO, big, 1, 100), TSS_E_INTERNAL);
    CHECK(w.len == 0);
    uint8_t *huge = calloc(1, 2048);
    CHECK(huge != NULL);
    CHECK_ERR(tss_wire_frame_encode(&w, TSS_WIRE_PROTOCOL_MSG, huge, 1024 - 7, 1024),
              TSS_E_TOO_LARGE);
    CHECK_OK(tss_wire_frame_encode(&w, TSS_WIRE_PROTOCOL_MSG, huge, 1024 - 8, 1024));
    CHECK(w.len == 1024);
    free(huge);

    /* begin/end: payload written in place, length patched, caps checked at end. */
    size_t at;
    CHECK_OK(tss_wire_frame_begin(&w, TSS_WIRE_HEARTBEAT_ACK, &at));
    CHECK(at == 1024);
    tss_write_u64(&w, 7);
    tss_write_u64(&w, 9);
    CHECK_OK(tss_wire_frame_end(&w, at, MAXF));
    CHECK(w.data[at + 7] == 16);
    CHECK_OK(tss_wire_frame_begin(&w, TSS_WIRE_HEARTBEAT, &at));
    tss_write_bytes(&w, big, 17);
    CHECK_ERR(tss_wire_frame_end(&w, at, MAXF), TSS_E_TOO_LARGE);
    CHECK_ERR(tss_wire_frame_end(&w, w.len, MAXF), TSS_E_INTERNAL);
    CHECK_ERR(tss_wire_frame_begin(&w, (tss_wire_type)0, &at), TSS_E_INTERNAL);
    tss_writer_free(&w);
}

/* Three frames of different types back to back. */
static void three_frames(tss_writer *w) {
    tss_writer_init(w, TSS_WIRE_MAX_FRAME);
    uint8_t hb[16] = {0xaa};
    uint8_t msg[500];
    memset(msg, 0xbb, sizeof msg);
    CHECK_OK(tss_wire_frame_encode(w, TSS_WIRE_HEARTBEAT, hb, sizeof hb, MAXF));
    CHECK_OK(tss_wire_frame_encode(w, TSS_WIRE_STATUS_REQUEST, NULL, 0, MAXF));
    CHECK_OK(tss_wire_frame_encode(w, TSS_WIRE_PROTOCOL_MSG, msg, sizeof msg, MAXF));
}

static void decoder_many_frames_in_one_buffer(void) {
    tss_writer w;
    three_frames(&w);
    tss_wire_decoder d;
    CHECK_OK(tss_wire_decoder_init(&d, MAXF));
    collected c;
    CHECK_OK(feed_all(&d, w.data, w.len, w.len, &c));
    CHECK(c.count == 3);
    CHECK(c.types[0] == TSS_WIRE_HEARTBEAT && c.lens[0] == 16 && c.first_byte[0] == 0xaa);
    CHECK(c.types[1] == TSS_WIRE_STATUS_REQUEST && c.lens[1] == 0);
    CHECK(c.types[2] == TSS_WIRE_PROTOCOL_MSG && c.lens[2] == 500 && c.first_byte[2] == 0xbb);
    CHECK(tss_wire_decoder_pending(&d) == 0);
    CHECK_OK(tss_wire_decoder_finish(&d));
    tss_wire_decoder_free(&d);
    tss_writer_free(&w);
}

static void decoder_byte_at_a_time_and_odd_chunks(void) {
    tss_writer w;
    three_frames(&w);
    static const size_t steps[] = {1, 2, 3, 7, 8, 9, 13, 100, 523};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        tss_wire_decoder d;
        CHECK_OK(tss_wire_decoder_init(&d, MAXF));
        collected c;
        CHECK_OK(feed_all(&d, w.data, w.len, steps[i], &c));
        CHECK(c.count == 3);
        CHECK(c.types[0] == TSS_WIRE_HEARTBEAT && c.types[1] == TSS_WIRE_STATUS_REQUEST &&
              c.types[2] == TSS_WIRE_PROTOCOL_MSG);
        CHECK(c.lens[2] == 500 && c.first_byte[2] == 0xbb);
        CHECK_OK(tss_wire_decoder_finish(&d));
        tss_wire_decoder_free(&d);
    }
    tss_writer_free(&w);
}

static void decoder_truncated_frame_stays_pending(void) {
    tss_writer w;
    frame(&w, TSS_WIRE_ERROR, "0123456789", 10);
    tss_wire_decoder d;
    CHECK_OK(tss_wire_decoder_init(&d, MAXF));
    collected c;
    /* Half a header. */
    CHECK_OK(feed_all(&d, w.data, 4, 1, &c));
    CHECK(c.count == 0 && tss_wire_decoder_pending(&d) == 4);
    CHECK_ERR(tss_wire_decoder_finish(&d), TSS_E_TRUNCATED);
    /* Header and part of the payload. */
    CHECK_OK(feed_all(&d, w.data + 4, 10, 10, &c));
    CHECK(c.count == 0 && tss_wire_decoder_pending(&d) == 14);
    CHECK_ERR(tss_wire_decoder_finish(&d), TSS_E_TRUNCATED);
    CHECK(detail_has("14 bytes pending"));
    /* The rest completes it. */
    CHECK_OK(feed_all(&d, w.data + 14, w.len - 14, 100, &c));
    CHECK(c.count == 1 && c.lens[0] == 10 && c.first_byte[0] == '0');
    CHECK(tss_wire_decoder_pending(&d) == 0);
    CHECK_OK(tss_wire_decoder_finish(&d));
    /* Zero-length input is a no-op. */
    size_t used = 1;
    bool ready = true;
    tss_wire_frame f;
    CHECK_OK(tss_wire_decoder_feed(&d, NULL, 0, &used, &f, &ready));
    CHECK(used == 0 && !ready);
    tss_wire_decoder_free(&d);
    tss_writer_free(&w);
}

static void decoder_rejects_oversize_before_payload(void) {
    tss_wire_decoder d;
    CHECK_OK(tss_wire_decoder_init(&d, 4096));
    /* A header announcing 4 GiB: refused the moment the 8th byte arrives. */
    const uint8_t hdr[8] = {1, TSS_WIRE_PROTOCOL_MSG, 0, 0, 0xff, 0xff, 0xff, 0xff};
    size_t used;
    bool ready;
    tss_wire_frame f;
    CHECK_OK(tss_wire_decoder_feed(&d, hdr, 7, &used, &f, &ready));
    CHECK(used == 7 && !ready);
    CHECK_ERR(tss_wire_decoder_feed(&d, hdr + 7, 1, &used, &f, &ready), TSS_E_TOO_LARGE);
    CHECK(!ready);
    CHECK(d.buf == NULL); /* nothing was allocated for it */
    CHECK(detail_has("PROTOCOL_MSG: payload length 4294967295 exceeds limit 4088"));
    /* The stream is dead from now on. */
    CHECK_ERR(tss_wire_decoder_feed(&d, hdr, 8, &used, &f, &ready), TSS_E_TOO_LARGE);
    CHECK(used == 0);
    CHECK_ERR(tss_wire_decoder_finish(&d), TSS_E_TOO_LARGE);
    tss_wire_decoder_free(&d);

    /* One byte over the connection's cap. */
    CHECK_OK(tss_wire_decoder_init(&d, 4096));
    const uint8_t hdr2[8] = {1, TSS_WIRE_PROTOCOL_MSG, 0, 0, 0, 0, 0x0f, 0xf9};
    CHECK_ERR(tss_wire_decoder_feed(&d, hdr2, 8, &used, &f, &ready), TSS_E_TOO_LARGE);
    tss_wire_decoder_free(&d);
    /* A heartbeat may not announce more than 16 bytes. */
    CHECK_OK(tss_wire_decoder_init(&d, 4096));
    const uint8_t hdr3[8] = {1, TSS_WIRE_HEARTBEAT, 0, 0, 0, 0, 0, 17};
    CHECK_ERR(tss_wire_decoder_feed(&d, hdr3, 8, &used, &f, &ready), TSS_E_TOO_LARGE);
    tss_wire_decoder_free(&d);

    CHECK_ERR(tss_wire_decoder_init(&d, 1023), TSS_E_INVALID);
    CHECK_ERR(tss_wire_decoder_init(&d, TSS_WIRE_MAX_FRAME + 1), TSS_E_INVALID);
    /* An uninitialised (zeroed) decoder refuses to work. */
    memset(&d, 0, sizeof d);
    CHECK_ERR(tss_wire_decoder_feed(&d, hdr3, 8, &used, &f, &ready), TSS_E_INTERNAL);
}

static void decoder_memory_follows_received_bytes(void) {
    tss_wire_decoder d;
    CHECK_OK(tss_wire_decoder_init(&d, MAXF));
    uint32_t len = MAXF - TSS_WIRE_HEADER_LEN;
    uint8_t hdr[8] = {1, TSS_WIRE_PROTOCOL_MSG, 0, 0, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
                      (uint8_t)(len >> 8), (uint8_t)len};
    size_t used;
    bool ready;
    tss_wire_frame f;
    /* A header alone allocates nothing; ten bytes allocate a little. */
    CHECK_OK(tss_wire_decoder_feed(&d, hdr, 8, &used, &f, &ready));
    CHECK(d.buf_cap == 0);
    uint8_t *chunk = calloc(1, 65536);
    CHECK(chunk != NULL);
    if (!chunk) return;
    CHECK_OK(tss_wire_decoder_feed(&d, chunk, 10, &used, &f, &ready));
    CHECK(d.buf_cap == 4096 && tss_wire_decoder_pending(&d) == 18);
    /* Then it grows with the data, and never past the announced length. */
    size_t sent = 10;
    while (sent < len) {
        size_t n = len - sent < 65536 ? len - sent : 65536;
        chunk[0] = (uint8_t)(sent >> 16);
        CHECK_OK(tss_wire_decoder_feed(&d, chunk, n, &used, &f, &ready));
        CHECK(used == n && d.buf_cap <= len && d.buf_cap >= sent + n);
        sent += n;
    }
    CHECK(ready && f.len == len && d.buf_cap == len);
    free(chunk);
    tss_wire_decoder_free(&d);
}

static void decoder_rejects_unknown_version_and_type(void) {
    tss_writer w;
    three_frames(&w);
    /* Corrupt the second frame's type: the first frame still comes out. */
    size_t second = TSS_WIRE_HEADER_LEN + 16;
    w.data[second + 1] = 0x66;
    tss_wire_decoder d;
    CHECK_OK(tss_wire_decoder_init(&d, MAXF));
    collected c;
    CHECK_ERR(feed_all(&d, w.data, w.len, 5, &c), TSS_E_UNSUPPORTED);
    CHECK(c.count == 1 && c.types[0] == TSS_WIRE_HEARTBEAT);
    CHECK(detail_has("unknown type 0x66"));
    tss_wire_decoder_free(&d);

    w.data[second + 1] = TSS_WIRE_STATUS_REQUEST;
    w.data[second] = 9;
    CHECK_OK(tss_wire_decoder_init(&d, MAXF));
    CHECK_ERR(feed_all(&d, w.data, w.len, w.len, &c), TSS_E_UNSUPPORTED);
    CHECK(detail_has("unsupported version 9"));
    tss_wire_decoder_free(&d);
    tss_writer_free(&w);
}

static void decoder_reuses_buffer_for_bigger_frames(void) {
    tss_writer w;
    tss_writer_init(&w, TSS_WIRE_MAX_FRAME);
    uint8_t *p = malloc(60000);
    CHECK(p != NULL);
    if (!p) return;
    for (size_t i = 0; i < 60000; i++) p[i] = (uint8_t)i;
    CHECK_OK(tss_wire_frame_encode(&w, TSS_WIRE_PROTOCOL_MSG, p, 10, MAXF));
    CHECK_OK(tss_wire_frame_encode(&w, TSS_WIRE_PROTOCOL_MSG, p + 1, 60000 - 1, MAXF));
    CHECK_OK(tss_wire_frame_encode(&w, TSS_WIRE_PROTOCOL_MSG, p + 2, 20, MAXF));
    tss_wire_decoder d;
    CHECK_OK(tss_wire_decoder_init(&d, MAXF));
    collected c;
    CHECK_OK(feed_all(&d, w.data, w.len, 4093, &c));
    CHECK(c.count == 3 && c.lens[0] == 10 && c.lens[1] == 59999 && c.lens[2] == 20);
    CHECK(c.first_byte[0] == 0 && c.first_byte[1] == 1 && c.first_byte[2] == 2);
    tss_wire_decoder_free(&d);
    tss_writer_free(&w);
    free(p);
}

/* ---- messages ----------------------------------------------------------------------- */

static tss_wire_hello sample_hello(void) {
    tss_wire_hello h;
    memset(&h, 0, sizeof h);
    h.party_id = 3;
    h.protocol_version = 1;
    for (int i = 0; i < 32; i++) h.identity_key[i] = (uint8_t)(0xc0 + i);
    strcpy(h.software, "tssd/0.1.0");
    return h;
}

static void hello_round_trip_and_layout(void) {
    tss_wire_hello h = sample_hello(), back;
    tss_writer w;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_hello_encode(&w, &h));
    CHECK(w.len == 2 + 2 + 32 + 4 + 10);
    const uint8_t head[] = {0, 3, 0, 1, 0xc0};
    CHECK(memcmp(w.data, head, sizeof head) == 0);
    CHECK(w.data[36] == 0 && w.data[39] == 10 && memcmp(w.data + 40, "tssd/0.1.0", 10) == 0);
    memset(&back, 0x55, sizeof back);
    CHECK_OK(tss_wire_hello_decode(&back, w.data, w.len));
    CHECK(back.party_id == 3 && back.protocol_version == 1);
    CHECK(memcmp(back.identity_key, h.identity_key, 32) == 0);
    CHECK(strcmp(back.software, "tssd/0.1.0") == 0);

    /* One byte more is a cut capacity field (hello_capacity_field); three more
     * are a capacity and an empty pins field, refused (hello_pins_field). */
    tss_write_u8(&w, 0);
    CHECK_ERR(tss_wire_hello_decode(&back, w.data, w.len), TSS_E_TRUNCATED);
    tss_write_u16(&w, 0x0100);
    CHECK_ERR(tss_wire_hello_decode(&back, w.data, w.len), TSS_E_INVALID);
    w.len -= 3;
    /* Every truncation fails, none writes the output. */
    for (size_t n = 0; n < w.len - 1; n++) {
        tss_wire_hello o;
        memset(&o, 0x77, sizeof o);
        CHECK_ERR(tss_wire_hello_decode(&o, w.data, n), TSS_E_TRUNCATED);
        CHECK(o.party_id == 0x7777);
    }
    tss_writer_free(&w);
}

/* The optional capacity field (admission control): a nonzero u16 after the
 * software string; absent means "not announced", an old party's HELLO. */
static void hello_capacity_field(void) {
    tss_wire_hello h = sample_hello(), back;
    tss_writer w;
    tss_writer_init(&w, 4096);
    h.max_sessions = 16;
    CHECK_OK(tss_wire_hello_encode(&w, &h));
    CHECK(w.len == 50 + 2 && w.data[50] == 0 && w.data[51] == 16);
    memset(&back, 0x55, sizeof back);
    CHECK_OK(tss_wire_hello_decode(&back, w.data, w.len));
    CHECK(back.max_sessions == 16 && strcmp(back.software, "tssd/0.1.0") == 0);
    /* Without the field (as before): decodes with max_sessions 0. */
    CHECK_OK(tss_wire_hello_decode(&back, w.data, 50));
    CHECK(back.max_sessions == 0);
    /* One byte of it: truncated; an explicit 0: refused; a third byte starts
     * the pins field, whose empty form is refused (omit it instead). */
    CHECK_ERR(tss_wire_hello_decode(&back, w.data, 51), TSS_E_TRUNCATED);
    w.data[51] = 0;
    CHECK_ERR(tss_wire_hello_decode(&back, w.data, w.len), TSS_E_INVALID);
    w.data[51] = 16;
    tss_write_u8(&w, 0);
    CHECK_ERR(tss_wire_hello_decode(&back, w.data, w.len), TSS_E_INVALID);
    tss_writer_free(&w);
    /* Above the cap, both ways. */
    tss_writer_init(&w, 4096);
    h.max_sessions = TSS_WIRE_MAX_PARTY_SESSIONS + 1;
    CHECK_ERR(tss_wire_hello_encode(&w, &h), TSS_E_INVALID);
    h.max_sessions = TSS_WIRE_MAX_PARTY_SESSIONS;
    CHECK_OK(tss_wire_hello_encode(&w, &h));
    w.data[50] = 0xff;
    CHECK_ERR(tss_wire_hello_decode(&back, w.data, w.len), TSS_E_INVALID);
    tss_writer_free(&w);
}

/* The optional pins field (diagnostics for `tssctl status`): after the
 * capacity, u8 count then (u16 id, 32-byte identity) per pin. */
static void hello_pins_field(void) {
    tss_wire_hello h = sample_hello(), back;
    tss_writer w;
    tss_writer_init(&w, 4096);
    h.max_sessions = 16;
    h.pin_count = 2; /* we are party 3 */
    h.pins[0].party_id = 1;
    memset(h.pins[0].identity_key, 0x11, 32);
    h.pins[1].party_id = 2;
    memset(h.pins[1].identity_key, 0x22, 32);
    CHECK_OK(tss_wire_hello_encode(&w, &h));
    CHECK(w.len == 52 + 1 + 2 * 34 && w.data[52] == 2 && w.data[53] == 0 && w.data[54] == 1);
    memset(&back, 0x55, sizeof back);
    CHECK_OK(tss_wire_hello_decode(&back, w.data, w.len));
    CHECK(back.pin_count == 2 && back.pins[1].party_id == 2 && back.pins[1].identity_key[31] == 0x22);
    /* Every cut inside the pins is truncated; at 52 bytes it is a HELLO without pins. */
    for (size_t n = 53; n < w.len; n++) CHECK(!tss_is_ok(tss_wire_hello_decode(&back, w.data, n)));
    CHECK_OK(tss_wire_hello_decode(&back, w.data, 52));
    CHECK(back.pin_count == 0);
    tss_writer_free(&w);
    /* A pin for ourselves, a duplicate, an id out of range: refused both ways. */
    uint16_t bad[][2] = {{3, 1}, {1, 1}, {1, 33}};
    for (size_t i = 0; i < 3; i++) {
        tss_wire_hello b = h;
        b.pins[0].party_id = bad[i][0];
        b.pins[1].party_id = bad[i][1];
        tss_writer_init(&w, 4096);
        CHECK_ERR(tss_wire_hello_encode(&w, &b), TSS_E_INVALID);
        tss_writer_free(&w);
        tss_writer_init(&w, 4096);
        CHECK_OK(tss_wire_hello_encode(&w, &h));
        w.data[53] = (uint8_t)(bad[i][0] >> 8), w.data[54] = (uint8_t)bad[i][0];
        w.data[53 + 34] = (uint8_t)(bad[i][1] >> 8), w.data[54 + 34] = (uint8_t)bad[i][1];
        CHECK_ERR(tss_wire_hello_decode(&back, w.data, w.len), TSS_E_INVALID);
        tss_writer_free(&w);
    }
    /* Pins without the capacity field before them cannot be encoded. */
    h.max_sessions = 0;
    tss_writer_init(&w, 4096);
    CHECK(!tss_is_ok(tss_wire_hello_encode(&w, &h)));
    tss_writer_free(&w);
    /* 31 pins (every other party) fit the HELLO frame cap. */
    h.max_sessions = 16;
    h.party_id = 32;
    h.pin_count = TSS_WIRE_MAX_PINS;
    for (unsigned i = 0; i < TSS_WIRE_MAX_PINS; i++) h.pins[i].party_id = (uint16_t)(i + 1);
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_hello_encode(&w, &h));
    CHECK(w.len <= tss_wire_type_max_payload(TSS_WIRE_HELLO, TSS_WIRE_DEFAULT_MAX_FRAME));
    CHECK_OK(tss_wire_hello_decode(&back, w.data, w.len));
    CHECK(back.pin_count == TSS_WIRE_MAX_PINS);
    tss_writer_free(&w);
}

static void hello_field_bounds(void) {
    tss_wire_hello h = sample_hello(), back;
    tss_writer w;
    tss_writer_init(&w, 4096);
    h.party_id = 0;
    CHECK_ERR(tss_wire_hello_encode(&w, &h), TSS_E_INVALID);
    h.party_id = 33;
    CHECK_ERR(tss_wire_hello_encode(&w, &h), TSS_E_INVALID);
    h.party_id = 32;
    h.protocol_version = 0;
    CHECK_ERR(tss_wire_hello_encode(&w, &h), TSS_E_INVALID);
    h.protocol_version = 0xffff;
    h.software[0] = '\0';
    CHECK_ERR(tss_wire_hello_encode(&w, &h), TSS_E_INVALID);
    memset(h.software, 'x', TSS_WIRE_MAX_SOFTWARE_LEN);
    h.software[TSS_WIRE_MAX_SOFTWARE_LEN] = '\0';
    CHECK_OK(tss_wire_hello_encode(&w, &h));
    CHECK_OK(tss_wire_hello_decode(&back, w.data, w.len));
    CHECK(back.party_id == 32 && strlen(back.software) == 64);
    CHECK(w.len == 40 + 64);
    tss_writer_free(&w);
    h.software[5] = '\n';
    tss_writer_init(&w, 4096);
    CHECK_ERR(tss_wire_hello_encode(&w, &h), TSS_E_INVALID);
    CHECK(w.len == 0); /* nothing half-written */
    tss_writer_free(&w);

    /* Decoder side, on hand-made bytes. */
    uint8_t b[40 + 65];
    memset(b, 0, sizeof b);
    b[1] = 1, b[3] = 1, b[39] = 5;
    memcpy(b + 40, "ab\x7f" "cd", 5);
    CHECK_ERR(tss_wire_hello_decode(&back, b, 45), TSS_E_INVALID);
    CHECK(detail_has("0x7f"));
    memcpy(b + 40, "ab\x80" "cd", 5);
    CHECK_ERR(tss_wire_hello_decode(&back, b, 45), TSS_E_INVALID);
    memcpy(b + 40, "abcde", 5);
    CHECK_OK(tss_wire_hello_decode(&back, b, 45));
    b[1] = 33;
    CHECK_ERR(tss_wire_hello_decode(&back, b, 45), TSS_E_INVALID);
    b[1] = 1, b[3] = 0;
    CHECK_ERR(tss_wire_hello_decode(&back, b, 45), TSS_E_INVALID);
    b[3] = 1, b[39] = 0;
    CHECK_ERR(tss_wire_hello_decode(&back, b, 40), TSS_E_INVALID); /* empty software */
    b[39] = 65;
    memset(b + 40, 'a', 65);
    CHECK_ERR(tss_wire_hello_decode(&back, b, 105), TSS_E_TOO_LARGE);
    b[36] = 0x80, b[39] = 5; /* a length of 2^31+5 */
    CHECK_ERR(tss_wire_hello_decode(&back, b, 45), TSS_E_TOO_LARGE);
}

static void hello_ack_round_trip_and_bounds(void) {
    tss_wire_hello_ack a, back;
    memset(&a, 0, sizeof a);
    a.party_id = 7;
    a.protocol_version = 1;
    a.heartbeat_interval_ms = 15000;
    strcpy(a.software, "tssd/0.1.0 coordinator");
    tss_writer w;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_hello_ack_encode(&w, &a));
    CHECK(w.len == 2 + 2 + 4 + 4 + strlen(a.software));
    const uint8_t head[] = {0, 7, 0, 1, 0, 0, 0x3a, 0x98};
    CHECK(memcmp(w.data, head, sizeof head) == 0);
    CHECK_OK(tss_wire_hello_ack_decode(&back, w.data, w.len));
    CHECK(back.party_id == 7 && back.heartbeat_interval_ms == 15000 &&
          strcmp(back.software, a.software) == 0);
    CHECK_ERR(tss_wire_hello_ack_decode(&back, w.data, w.len - 1), TSS_E_TRUNCATED);
    tss_write_u8(&w, 1);
    CHECK_ERR(tss_wire_hello_ack_decode(&back, w.data, w.len), TSS_E_TRAILING);
    w.len--;
    w.data[7] = 0, w.data[6] = 0;
    CHECK_ERR(tss_wire_hello_ack_decode(&back, w.data, w.len), TSS_E_INVALID);
    CHECK(detail_has("heartbeat_interval_ms"));
    tss_writer_free(&w);

    tss_writer_init(&w, 4096);
    a.heartbeat_interval_ms = TSS_WIRE_MAX_HEARTBEAT_MS + 1;
    CHECK_ERR(tss_wire_hello_ack_encode(&w, &a), TSS_E_INVALID);
    a.heartbeat_interval_ms = TSS_WIRE_MAX_HEARTBEAT_MS;
    a.party_id = 0;
    CHECK_ERR(tss_wire_hello_ack_encode(&w, &a), TSS_E_INVALID);
    a.party_id = 1;
    a.protocol_version = 0;
    CHECK_ERR(tss_wire_hello_ack_encode(&w, &a), TSS_E_INVALID);
    a.protocol_version = 2;
    CHECK_OK(tss_wire_hello_ack_encode(&w, &a));
    tss_writer_free(&w);
}

static void heartbeat_round_trip(void) {
    tss_wire_heartbeat hb = {0x0102030405060708ULL, 0xfffffffffffffffeULL}, back;
    tss_writer w;
    tss_writer_init(&w, 64);
    CHECK_OK(tss_wire_heartbeat_encode(&w, &hb));
    CHECK(w.len == 16 && w.data[0] == 1 && w.data[7] == 8 && w.data[15] == 0xfe);
    CHECK_OK(tss_wire_heartbeat_decode(&back, w.data, w.len));
    CHECK(back.sequence == hb.sequence && back.timestamp_ms == hb.timestamp_ms);
    CHECK_ERR(tss_wire_heartbeat_decode(&back, w.data, 15), TSS_E_TRUNCATED);
    tss_write_u8(&w, 0);
    CHECK_ERR(tss_wire_heartbeat_decode(&back, w.data, w.len), TSS_E_TRAILING);
    CHECK_ERR(tss_wire_heartbeat_decode(&back, NULL, 0), TSS_E_TRUNCATED);
    tss_writer_free(&w);
}

static void error_round_trip_and_bounds(void) {
    tss_wire_error e, back;
    memset(&e, 0, sizeof e);
    e.code = TSS_WIRE_ERR_UNAUTHORIZED;
    strcpy(e.text, "party 4 is not in this deployment");
    tss_writer w;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_error_encode(&w, &e));
    CHECK(w.len == 2 + 4 + strlen(e.text) && w.data[1] == 3);
    CHECK_OK(tss_wire_error_decode(&back, w.data, w.len));
    CHECK(back.code == 3 && strcmp(back.text, e.text) == 0);
    tss_write_u8(&w, 'x');
    CHECK_ERR(tss_wire_error_decode(&back, w.data, w.len), TSS_E_TRAILING);
    tss_writer_free(&w);

    /* Empty text is fine, code 0 is not, unknown codes pass through. */
    tss_writer_init(&w, 4096);
    e.text[0] = '\0';
    e.code = 4242;
    CHECK_OK(tss_wire_error_encode(&w, &e));
    CHECK_OK(tss_wire_error_decode(&back, w.data, w.len));
    CHECK(back.code == 4242 && back.text[0] == '\0');
    w.data[0] = w.data[1] = 0;
    CHECK_ERR(tss_wire_error_decode(&back, w.data, w.len), TSS_E_INVALID);
    e.code = 0;
    CHECK_ERR(tss_wire_error_encode(&w, &e), TSS_E_INVALID);
    tss_writer_free(&w);

    tss_writer_init(&w, 4096);
    e.code = 1;
    memset(e.text, 'a', TSS_WIRE_MAX_ERROR_TEXT);
    e.text[TSS_WIRE_MAX_ERROR_TEXT] = '\0';
    CHECK_OK(tss_wire_error_encode(&w, &e));
    CHECK_OK(tss_wire_error_decode(&back, w.data, w.len));
    CHECK(strlen(back.text) == TSS_WIRE_MAX_ERROR_TEXT);
    tss_writer_free(&w);
    uint8_t b[2 + 4 + 257];
    memset(b, 'a', sizeof b);
    b[0] = 0, b[1] = 1, b[2] = 0, b[3] = 0, b[4] = 1, b[5] = 1; /* 257 */
    CHECK_ERR(tss_wire_error_decode(&back, b, sizeof b), TSS_E_TOO_LARGE);
    b[4] = 0, b[5] = 3;
    b[6] = '\x1b'; /* escape sequences do not reach a terminal */
    CHECK_ERR(tss_wire_error_decode(&back, b, 9), TSS_E_INVALID);
}

static tss_wire_protocol_msg sample_protocol(const uint8_t *payload, size_t len) {
    tss_wire_protocol_msg m;
    memset(&m, 0, sizeof m);
    for (int i = 0; i < 16; i++) m.session_id[i] = (uint8_t)(0x10 + i);
    m.round = 2;
    m.sender = 1;
    m.receiver = 5;
    m.payload = payload;
    m.payload_len = len;
    return m;
}

static void protocol_msg_round_trip_and_layout(void) {
    const uint8_t pl[] = {0xde, 0xad, 0xbe, 0xef};
    tss_wire_protocol_msg m = sample_protocol(pl, 4), back;
    tss_writer w;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_protocol_msg_encode(&w, &m, 1000));
    CHECK(w.len == TSS_WIRE_PROTOCOL_ENVELOPE_LEN + 4);
    const uint8_t tail[] = {2, 0, 1, 0, 5, 0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef};
    CHECK(w.data[0] == 0x10 && w.data[15] == 0x1f);
    CHECK(memcmp(w.data + 16, tail, sizeof tail) == 0);
    CHECK_OK(tss_wire_protocol_msg_decode(&back, w.data, w.len, 1000));
    CHECK(back.round == 2 && back.sender == 1 && back.receiver == 5);
    CHECK(memcmp(back.session_id, m.session_id, 16) == 0);
    CHECK(back.payload_len == 4 && back.payload == w.data + 25);
    /* Payload cap at decode time. */
    CHECK_ERR(tss_wire_protocol_msg_decode(&back, w.data, w.len, 3), TSS_E_TOO_LARGE);
    CHECK_OK(tss_wire_protocol_msg_decode(&back, w.data, w.len, 4));
    tss_write_u8(&w, 0);
    CHECK_ERR(tss_wire_protocol_msg_decode(&back, w.data, w.len, 1000), TSS_E_TRAILING);
    for (size_t n = 0; n + 1 < w.len; n++)
        CHECK_ERR(tss_wire_protocol_msg_decode(&back, w.data, n, 1000), TSS_E_TRUNCATED);
    tss_writer_free(&w);

    /* Broadcast, and a payload at the cap inside a frame at the cap. */
    size_t big = 1024 - TSS_WIRE_HEADER_LEN - TSS_WIRE_PROTOCOL_ENVELOPE_LEN;
    uint8_t *p = calloc(1, big + 1);
    CHECK(p != NULL);
    if (!p) return;
    m = sample_protocol(p, big);
    m.receiver = TSS_WIRE_BROADCAST;
    tss_writer_init(&w, TSS_WIRE_MAX_FRAME);
    size_t at;
    CHECK_OK(tss_wire_frame_begin(&w, TSS_WIRE_PROTOCOL_MSG, &at));
    CHECK_OK(tss_wire_protocol_msg_encode(&w, &m, SIZE_MAX));
    CHECK_OK(tss_wire_frame_end(&w, at, 1024));
    CHECK(w.len == 1024);
    tss_writer_free(&w);
    m.payload_len = big + 1;
    tss_writer_init(&w, TSS_WIRE_MAX_FRAME);
    CHECK_OK(tss_wire_frame_begin(&w, TSS_WIRE_PROTOCOL_MSG, &at));
    CHECK_OK(tss_wire_protocol_msg_encode(&w, &m, SIZE_MAX));
    CHECK_ERR(tss_wire_frame_end(&w, at, 1024), TSS_E_TOO_LARGE);
    tss_writer_free(&w);
    free(p);
}

static void protocol_msg_field_bounds(void) {
    const uint8_t pl[] = {1};
    tss_writer w;
    tss_writer_init(&w, 4096);
    tss_wire_protocol_msg m = sample_protocol(pl, 1);
    m.round = 0;
    CHECK_ERR(tss_wire_protocol_msg_encode(&w, &m, 100), TSS_E_INVALID);
    m.round = 255;
    m.sender = 0;
    CHECK_ERR(tss_wire_protocol_msg_encode(&w, &m, 100), TSS_E_INVALID);
    m.sender = 33;
    CHECK_ERR(tss_wire_protocol_msg_encode(&w, &m, 100), TSS_E_INVALID);
    m.sender = 32;
    m.receiver = 33;
    CHECK_ERR(tss_wire_protocol_msg_encode(&w, &m, 100), TSS_E_INVALID);
    m.receiver = 32;
    CHECK_ERR(tss_wire_protocol_msg_encode(&w, &m, 100), TSS_E_INVALID);
    CHECK(detail_has("addressed itself"));
    m.receiver = 31;
    m.payload_len = 0;
    CHECK_ERR(tss_wire_protocol_msg_encode(&w, &m, 100), TSS_E_INVALID);
    m.payload_len = 1;
    CHECK_ERR(tss_wire_protocol_msg_encode(&w, &m, 0), TSS_E_TOO_LARGE);
    CHECK(w.len == 0);
    CHECK_OK(tss_wire_protocol_msg_encode(&w, &m, 1));

    /* Decoder on hand-edited bytes: offsets 16 round, 17 sender, 19 receiver. */
    tss_wire_protocol_msg back;
    CHECK_OK(tss_wire_protocol_msg_decode(&back, w.data, w.len, 100));
    w.data[16] = 0;
    CHECK_ERR(tss_wire_protocol_msg_decode(&back, w.data, w.len, 100), TSS_E_INVALID);
    w.data[16] = 1;
    w.data[18] = 0;
    CHECK_ERR(tss_wire_protocol_msg_decode(&back, w.data, w.len, 100), TSS_E_INVALID);
    w.data[18] = 2, w.data[20] = 2;
    CHECK_ERR(tss_wire_protocol_msg_decode(&back, w.data, w.len, 100), TSS_E_INVALID);
    w.data[20] = 0; /* broadcast */
    CHECK_OK(tss_wire_protocol_msg_decode(&back, w.data, w.len, 100));
    CHECK(back.receiver == TSS_WIRE_BROADCAST);
    w.data[19] = 1; /* receiver 256 */
    CHECK_ERR(tss_wire_protocol_msg_decode(&back, w.data, w.len, 100), TSS_E_INVALID);
    w.data[19] = 0;
    w.data[24] = 0; /* empty payload; one byte left over */
    CHECK_ERR(tss_wire_protocol_msg_decode(&back, w.data, w.len, 100), TSS_E_TRAILING);
    CHECK_ERR(tss_wire_protocol_msg_decode(&back, w.data, w.len - 1, 100), TSS_E_INVALID);
    tss_writer_free(&w);
}

/* A full exchange through frames and the stream decoder. */
static void messages_through_frames(void) {
    tss_writer w;
    tss_writer_init(&w, TSS_WIRE_MAX_FRAME);
    tss_wire_hello h = sample_hello();
    size_t at;
    CHECK_OK(tss_wire_frame_begin(&w, TSS_WIRE_HELLO, &at));
    CHECK_OK(tss_wire_hello_encode(&w, &h));
    CHECK_OK(tss_wire_frame_end(&w, at, MAXF));
    tss_wire_heartbeat hb = {5, 6};
    CHECK_OK(tss_wire_frame_begin(&w, TSS_WIRE_HEARTBEAT, &at));
    CHECK_OK(tss_wire_heartbeat_encode(&w, &hb));
    CHECK_OK(tss_wire_frame_end(&w, at, MAXF));

    tss_wire_decoder d;
    CHECK_OK(tss_wire_decoder_init(&d, MAXF));
    const uint8_t *p = w.data;
    size_t left = w.len;
    int got = 0;
    while (left) {
        size_t used;
        bool ready;
        tss_wire_frame f;
        CHECK_OK(tss_wire_decoder_feed(&d, p, left, &used, &f, &ready));
        p += used, left -= used;
        if (!ready) continue;
        if (f.type == TSS_WIRE_HELLO) {
            tss_wire_hello back;
            CHECK_OK(tss_wire_hello_decode(&back, f.payload, f.len));
            CHECK(back.party_id == 3);
            got |= 1;
        } else if (f.type == TSS_WIRE_HEARTBEAT) {
            tss_wire_heartbeat b;
            CHECK_OK(tss_wire_heartbeat_decode(&b, f.payload, f.len));
            CHECK(b.sequence == 5 && b.timestamp_ms == 6);
            got |= 2;
        }
    }
    CHECK(got == 3);
    tss_wire_decoder_free(&d);
    tss_writer_free(&w);
}

/* ---- STATUS_REQUEST / STATUS_RESPONSE ---------------------------------------------------- */

static tss_wire_status *sample_status(void) {
    tss_wire_status *st = calloc(1, sizeof *st);
    strcpy(st->software, "tssd/0.1.0");
    st->now_ms = 1700000000123ull;
    st->started_ms = 1700000000000ull;
    memset(st->cert_fingerprint, 0xab, sizeof st->cert_fingerprint);
    st->cert_not_after = 1800000000ull;
    st->tls_generation = 2;
    st->connections = 4;
    st->party_count = 3;
    for (unsigned i = 0; i < 3; i++) {
        tss_wire_status_party *e = &st->parties[i];
        e->party_id = (uint16_t)(i + 1);
        if (i == 2) continue; /* never seen */
        e->flags = TSS_WIRE_STATUS_KNOWN | (i == 0 ? TSS_WIRE_STATUS_CONNECTED : 0);
        memset(e->identity_key, 0x10 + i, sizeof e->identity_key);
        e->protocol_version = 1;
        strcpy(e->software, "tssd/0.1.0");
        memset(e->cert_fingerprint, 0x20 + i, sizeof e->cert_fingerprint);
        e->cert_not_after = 1800000000ull + i;
        e->since_ms = 1700000000050ull;
        e->last_heartbeat_ms = i == 0 ? 1700000000100ull : 0;
        strcpy(e->address, "127.0.0.1:40000");
    }
    st->parties[0].pin_count = 1;
    st->parties[0].pins[0].party_id = 2;
    memset(st->parties[0].pins[0].identity_key, 0x11, 32);
    return st;
}

static void status_round_trip(void) {
    tss_wire_status *st = sample_status(), *back = calloc(1, sizeof *back);
    tss_writer w;
    tss_writer_init(&w, 1u << 20);
    CHECK_OK(tss_wire_status_encode(&w, st));
    CHECK_OK(tss_wire_status_decode(back, w.data, w.len));
    CHECK(memcmp(st, back, sizeof *st) == 0);
    /* Layout: software string first, then the fixed header fields. */
    CHECK(w.len > 4 && w.data[3] == 10 && memcmp(w.data + 4, "tssd/0.1.0", 10) == 0);
    /* The trailing pins section: party 1 pins 2 (35 bytes), parties 2 and 3 none. */
    size_t pins_at = w.len - (1 + 34) - 1 - 1;
    CHECK(w.data[pins_at] == 1 && w.data[pins_at + 2] == 2 && w.data[w.len - 1] == 0);
    /* Every strict prefix is truncated, except exactly before the pins
     * section (an older coordinator's response: no pins); a trailing byte is refused. */
    for (size_t n = 0; n < w.len; n++)
        if (n != pins_at) CHECK(!tss_is_ok(tss_wire_status_decode(back, w.data, n)));
    CHECK_OK(tss_wire_status_decode(back, w.data, pins_at));
    CHECK(back->parties[0].pin_count == 0);
    /* Without any pin the section is omitted, and an all-empty one is refused
     * (one encoding per response). */
    {
        tss_writer w2;
        tss_writer_init(&w2, 1u << 20);
        st->parties[0].pin_count = 0;
        CHECK_OK(tss_wire_status_encode(&w2, st));
        CHECK(w2.len == pins_at);
        for (int i = 0; i < 3; i++) tss_write_u8(&w2, 0);
        CHECK_ERR(tss_wire_status_decode(back, w2.data, w2.len), TSS_E_INVALID);
        st->parties[0].pin_count = 1;
        tss_writer_free(&w2);
    }
    tss_write_u8(&w, 0);
    CHECK_ERR(tss_wire_status_decode(back, w.data, w.len), TSS_E_TRAILING);
    /* The empty request, and nothing else. */
    tss_writer r;
    tss_writer_init(&r, 64);
    CHECK_OK(tss_wire_status_request_encode(&r));
    CHECK(r.len == 0);
    CHECK_OK(tss_wire_status_request_decode(r.data, r.len));
    CHECK_ERR(tss_wire_status_request_decode((const uint8_t *)"x", 1), TSS_E_TRAILING);
    tss_writer_free(&r);
    tss_writer_free(&w);
    free(st);
    free(back);
}

static void status_field_bounds(void) {
    tss_wire_status *st = sample_status(), *back = calloc(1, sizeof *back);
    tss_writer w;
    /* Ids must be strictly increasing (no duplicates). */
    st->parties[1].party_id = 1;
    tss_writer_init(&w, 1u << 20);
    CHECK_ERR(tss_wire_status_encode(&w, st), TSS_E_INVALID);
    tss_writer_free(&w);
    free(st);
    /* Unknown flag bits and CONNECTED without KNOWN. */
    st = sample_status();
    st->parties[0].flags = 0x80 | TSS_WIRE_STATUS_KNOWN;
    tss_writer_init(&w, 1u << 20);
    CHECK_ERR(tss_wire_status_encode(&w, st), TSS_E_INVALID);
    tss_writer_free(&w);
    st->parties[0].flags = TSS_WIRE_STATUS_CONNECTED;
    tss_writer_init(&w, 1u << 20);
    CHECK_ERR(tss_wire_status_encode(&w, st), TSS_E_INVALID);
    tss_writer_free(&w);
    free(st);
    /* Too many parties. */
    st = sample_status();
    st->party_count = TSS_WIRE_MAX_PARTIES + 1;
    tss_writer_init(&w, 1u << 20);
    CHECK_ERR(tss_wire_status_encode(&w, st), TSS_E_TOO_LARGE);
    tss_writer_free(&w);
    free(st);
    /* Party id 0 and 33. */
    st = sample_status();
    st->parties[0].party_id = 0;
    tss_writer_init(&w, 1u << 20);
    CHECK_ERR(tss_wire_status_encode(&w, st), TSS_E_INVALID);
    tss_writer_free(&w);
    free(st);
    /* Decoder side: patch an encoded response. */
    st = sample_status();
    tss_writer_init(&w, 1u << 20);
    CHECK_OK(tss_wire_status_encode(&w, st));
    size_t count_at = 4 + 10 + 8 + 8 + 32 + 8 + 4 + 2;
    CHECK(w.data[count_at] == 0 && w.data[count_at + 1] == 3);
    w.data[count_at + 1] = 33;
    CHECK_ERR(tss_wire_status_decode(back, w.data, w.len), TSS_E_TOO_LARGE);
    w.data[count_at + 1] = 3;
    w.data[4] = 0x1b; /* ESC in the software string */
    CHECK_ERR(tss_wire_status_decode(back, w.data, w.len), TSS_E_INVALID);
    w.data[4] = 't';
    w.data[count_at + 4] = 0x04; /* first party's flags: unknown bit */
    CHECK_ERR(tss_wire_status_decode(back, w.data, w.len), TSS_E_INVALID);
    tss_writer_free(&w);
    free(st);
    free(back);
}

static void status_through_frames(void) {
    tss_wire_status *st = sample_status();
    tss_writer w;
    tss_writer_init(&w, TSS_WIRE_DEFAULT_MAX_FRAME);
    size_t at;
    CHECK_OK(tss_wire_frame_begin(&w, TSS_WIRE_STATUS_RESPONSE, &at));
    CHECK_OK(tss_wire_status_encode(&w, st));
    CHECK_OK(tss_wire_frame_end(&w, at, TSS_WIRE_DEFAULT_MAX_FRAME));
    CHECK_OK(tss_wire_frame_encode(&w, TSS_WIRE_STATUS_REQUEST, NULL, 0, TSS_WIRE_DEFAULT_MAX_FRAME));
    tss_wire_decoder d;
    CHECK_OK(tss_wire_decoder_init(&d, TSS_WIRE_DEFAULT_MAX_FRAME));
    const uint8_t *p = w.data;
    size_t len = w.len, got = 0;
    while (len) {
        size_t used;
        bool ready;
        tss_wire_frame f;
        CHECK_OK(tss_wire_decoder_feed(&d, p, len, &used, &f, &ready));
        p += used;
        len -= used;
        if (!ready) continue;
        if (got++ == 0) {
            tss_wire_status *back = calloc(1, sizeof *back);
            CHECK(f.type == TSS_WIRE_STATUS_RESPONSE);
            CHECK_OK(tss_wire_status_decode(back, f.payload, f.len));
            CHECK(back->party_count == 3 && back->parties[0].last_heartbeat_ms == 1700000000100ull);
            free(back);
        } else {
            CHECK(f.type == TSS_WIRE_STATUS_REQUEST && f.len == 0);
            CHECK_OK(tss_wire_status_request_decode(f.payload, f.len));
        }
    }
    CHECK(got == 2);
    tss_wire_decoder_free(&d);
    tss_writer_free(&w);
    free(st);
}

/* ---- sessions and operator requests ------------------------------------------------------ */

static void session_start_round_trip_and_bounds(void) {
    tss_wire_session_start m, d;
    memset(&m, 0, sizeof m);
    memset(m.session_id, 0xab, sizeof m.session_id);
    m.kind = TSS_WIRE_KIND_SIGN;
    strcpy(m.key_id, "key-1.a_b");
    m.threshold = 2;
    m.count = 2;
    m.parties[0] = 1;
    m.parties[1] = 3;
    m.round_timeout_ms = 5000;
    memset(m.digest, 7, sizeof m.digest);
    tss_writer w;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_session_start_encode(&w, &m));
    /* sid 16 | kind 1 | u32 len + 9 | u16 t | u8 n | 2*u16 | u32 timeout | 32 | 32 | path depth 0 */
    CHECK(w.len == 16 + 1 + 4 + 9 + 2 + 1 + 4 + 4 + 32 + 32 + 1);
    CHECK(w.data[16] == TSS_WIRE_KIND_SIGN);
    CHECK_OK(tss_wire_session_start_decode(&d, w.data, w.len));
    CHECK(memcmp(&d, &m, sizeof m) == 0 || (d.count == 2 && d.parties[1] == 3 &&
                                           strcmp(d.key_id, "key-1.a_b") == 0));
    CHECK_ERR(tss_wire_session_start_decode(&d, w.data, w.len - 1), TSS_E_TRUNCATED);
    uint8_t *buf = malloc(w.len + 1);
    memcpy(buf, w.data, w.len);
    buf[w.len] = 0;
    /* After the path only the optional request section may follow (issue 16):
     * a stray byte is a truncated section. */
    CHECK_ERR(tss_wire_session_start_decode(&d, buf, w.len + 1), TSS_E_TRUNCATED);
    free(buf);
    tss_writer_free(&w);
    /* Request content and approvals: var request | var approvals, present only
     * when the request is; borrowed views into the payload on decode. */
    {
        static const uint8_t req[6 + 32] = {1, 0, 0, 0, 0, 32, 0xaa};
        static const uint8_t apv[3] = {7, 8, 9};
        tss_wire_session_start cm = m;
        cm.request = req, cm.request_len = sizeof req;
        cm.approvals = apv, cm.approvals_len = sizeof apv;
        tss_writer_init(&w, 4096);
        CHECK_OK(tss_wire_session_start_encode(&w, &cm));
        size_t base = 16 + 1 + 4 + 9 + 2 + 1 + 4 + 4 + 32 + 32 + 1;
        CHECK(w.len == base + 4 + sizeof req + 4 + sizeof apv);
        CHECK_OK(tss_wire_session_start_decode(&d, w.data, w.len));
        CHECK(d.request_len == sizeof req && memcmp(d.request, req, sizeof req) == 0 &&
              d.approvals_len == sizeof apv && memcmp(d.approvals, apv, sizeof apv) == 0);
        uint8_t *b2 = malloc(w.len + 1);
        memcpy(b2, w.data, w.len);
        b2[w.len] = 0;
        CHECK_ERR(tss_wire_session_start_decode(&d, b2, w.len + 1), TSS_E_TRAILING);
        free(b2);
        tss_writer_free(&w);
        /* An empty request section has one encoding: absent. */
        uint8_t empty[8] = {0};
        tss_writer_init(&w, 4096);
        CHECK_OK(tss_wire_session_start_encode(&w, &m));
        tss_write_bytes(&w, empty, sizeof empty);
        CHECK_ERR(tss_wire_session_start_decode(&d, w.data, w.len), TSS_E_INVALID);
        tss_writer_free(&w);
        /* Approvals without a request, content on a presign session: refused. */
        cm.request_len = 0, cm.request = NULL;
        tss_writer_init(&w, 4096);
        CHECK_ERR(tss_wire_session_start_encode(&w, &cm), TSS_E_INVALID);
        tss_writer_free(&w);
        cm.request = req, cm.request_len = sizeof req, cm.kind = TSS_WIRE_KIND_PRESIGN;
        memset(cm.digest, 0, sizeof cm.digest);
        tss_writer_init(&w, 4096);
        CHECK_ERR(tss_wire_session_start_encode(&w, &cm), TSS_E_INVALID);
        tss_writer_free(&w);
    }
    /* A derivation path travels at the end: depth, then u32 indices. */
    tss_wire_session_start pm = m;
    pm.path.depth = 2, pm.path.index[0] = 44, pm.path.index[1] = 0x7fffffff;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_session_start_encode(&w, &pm));
    CHECK(w.len == 16 + 1 + 4 + 9 + 2 + 1 + 4 + 4 + 32 + 32 + 1 + 8);
    CHECK(w.data[w.len - 9] == 2 && w.data[w.len - 1] == 0xff && w.data[w.len - 5] == 44);
    CHECK_OK(tss_wire_session_start_decode(&d, w.data, w.len));
    CHECK(tss_bip32_path_eq(&d.path, &pm.path));
    w.data[w.len - 4] = 0x80; /* index >= 2^31: hardened, refused */
    CHECK_ERR(tss_wire_session_start_decode(&d, w.data, w.len), TSS_E_INVALID);
    tss_writer_free(&w);
    pm.path.index[1] = 0x80000000u;
    tss_writer_init(&w, 4096);
    CHECK_ERR(tss_wire_session_start_encode(&w, &pm), TSS_E_INVALID);
    tss_writer_free(&w);
    /* The key epoch (issue 17): a trailing u32, present exactly when nonzero. */
    tss_wire_session_start em = m;
    em.epoch = 3;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_session_start_encode(&w, &em));
    CHECK(w.len == 16 + 1 + 4 + 9 + 2 + 1 + 4 + 4 + 32 + 32 + 1 + 4 && w.data[w.len - 1] == 3);
    CHECK_OK(tss_wire_session_start_decode(&d, w.data, w.len));
    CHECK(d.epoch == 3);
    w.data[w.len - 1] = 0; /* an explicit zero: a second encoding of "no epoch" */
    CHECK_ERR(tss_wire_session_start_decode(&d, w.data, w.len), TSS_E_INVALID);
    tss_writer_free(&w);
    /* With the request section (issue 16) before it: both come back. */
    static const uint8_t req[3] = {1, 2, 3};
    em.request = req;
    em.request_len = sizeof req;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_session_start_encode(&w, &em));
    CHECK_OK(tss_wire_session_start_decode(&d, w.data, w.len));
    CHECK(d.epoch == 3 && d.request_len == 3 && d.request && d.request[2] == 3 &&
          d.approvals_len == 0);
    tss_writer_free(&w);
    em.request = NULL;
    em.request_len = 0;
    em.kind = TSS_WIRE_KIND_KEYGEN; /* a keygen has no epoch */
    em.count = 3, em.parties[2] = 4;
    memset(em.digest, 0, sizeof em.digest);
    tss_writer_init(&w, 4096);
    CHECK_ERR(tss_wire_session_start_encode(&w, &em), TSS_E_INVALID);
    tss_writer_free(&w);
    pm.path.index[1] = 1;
    pm.kind = TSS_WIRE_KIND_KEYGEN; /* a keygen has no path */
    memset(pm.digest, 0, sizeof pm.digest);
    pm.threshold = 2;
    tss_writer_init(&w, 4096);
    CHECK_ERR(tss_wire_session_start_encode(&w, &pm), TSS_E_INVALID);
    tss_writer_free(&w);
    /* Refusals. */
    tss_wire_session_start b = m;
    b.parties[1] = 1; /* not ascending */
    tss_writer_init(&w, 4096);
    CHECK_ERR(tss_wire_session_start_encode(&w, &b), TSS_E_INVALID);
    b = m;
    b.threshold = 3; /* signers != t */
    CHECK_ERR(tss_wire_session_start_encode(&w, &b), TSS_E_INVALID);
    b = m;
    strcpy(b.key_id, "bad/key");
    CHECK_ERR(tss_wire_session_start_encode(&w, &b), TSS_E_INVALID);
    b = m;
    b.kind = TSS_WIRE_KIND_KEYGEN; /* a digest on a keygen */
    CHECK_ERR(tss_wire_session_start_encode(&w, &b), TSS_E_INVALID);
    b = m;
    b.kind = 9;
    CHECK_ERR(tss_wire_session_start_encode(&w, &b), TSS_E_INVALID);
    b = m;
    b.parties[1] = 33;
    CHECK_ERR(tss_wire_session_start_encode(&w, &b), TSS_E_INVALID);
    tss_writer_free(&w);
}

static void session_result_and_abort(void) {
    tss_wire_session_result r, rd;
    memset(&r, 0, sizeof r);
    r.kind = TSS_WIRE_KIND_KEYGEN;
    r.data_len = TSS_WIRE_POINT_LEN + TSS_WIRE_CHAIN_CODE_LEN; /* X || chain code */
    r.data[0] = 2;
    r.data[64] = 0xcc;
    tss_writer w;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_session_result_encode(&w, &r));
    CHECK_OK(tss_wire_session_result_decode(&rd, w.data, w.len));
    CHECK(rd.kind == r.kind && rd.data_len == 65 && rd.data[0] == 2 && rd.data[64] == 0xcc);
    tss_writer_free(&w);
    /* Wrong sizes for a keygen: the old X-only form, one short, one long. */
    size_t bad_len[] = {TSS_WIRE_POINT_LEN, 64, 66, TSS_WIRE_MAX_RESULT_DATA};
    for (size_t i = 0; i < 4; i++) {
        r.data_len = bad_len[i];
        tss_writer_init(&w, 4096);
        CHECK_ERR(tss_wire_session_result_encode(&w, &r), TSS_E_INVALID);
        tss_writer_free(&w);
    }

    tss_wire_session_abort a, ad;
    memset(&a, 0, sizeof a);
    a.reason = TSS_WIRE_ABORT_TIMEOUT;
    a.culprit = 3;
    strcpy(a.text, "waiting for party 3");
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_session_abort_encode(&w, &a));
    CHECK_OK(tss_wire_session_abort_decode(&ad, w.data, w.len));
    CHECK(ad.reason == a.reason && ad.culprit == 3 && strcmp(ad.text, a.text) == 0);
    w.data[16] = 99; /* unknown reason */
    CHECK_ERR(tss_wire_session_abort_decode(&ad, w.data, w.len), TSS_E_INVALID);
    w.data[16] = TSS_WIRE_ABORT_TIMEOUT;
    w.data[18] = 40; /* culprit 40 */
    CHECK_ERR(tss_wire_session_abort_decode(&ad, w.data, w.len), TSS_E_INVALID);
    w.data[18] = 3;
    w.data[w.len - 1] = 0x1b; /* escape in the text */
    CHECK_ERR(tss_wire_session_abort_decode(&ad, w.data, w.len), TSS_E_INVALID);
    tss_writer_free(&w);

    /* busy (8): capacity, never a fault, so it may not name a culprit. */
    CHECK(strcmp(tss_wire_abort_reason_name(TSS_WIRE_ABORT_BUSY), "busy") == 0);
    a.reason = TSS_WIRE_ABORT_BUSY;
    tss_writer_init(&w, 4096);
    CHECK_ERR(tss_wire_session_abort_encode(&w, &a), TSS_E_INVALID);
    a.culprit = 0;
    CHECK_OK(tss_wire_session_abort_encode(&w, &a));
    CHECK(w.data[16] == 8);
    CHECK_OK(tss_wire_session_abort_decode(&ad, w.data, w.len));
    CHECK(ad.reason == TSS_WIRE_ABORT_BUSY && ad.culprit == 0);
    w.data[18] = 2; /* busy naming party 2 */
    CHECK_ERR(tss_wire_session_abort_decode(&ad, w.data, w.len), TSS_E_INVALID);
    tss_writer_free(&w);
}

/* PRESIG_INVENTORY / PRESIG_DELETE: key, u16 count, ascending distinct ids. */
static void presig_ids_round_trip_and_bounds(void) {
    uint8_t ids[3][32];
    memset(ids, 0, sizeof ids);
    ids[0][31] = 1, ids[1][0] = 2, ids[2][0] = 3;
    tss_wire_presig_ids m = {.key_id = "kp", .count = 3, .ids = ids[0]}, d;
    tss_writer w;
    tss_writer_init(&w, 1u << 20);
    CHECK_OK(tss_wire_presig_ids_encode(&w, &m));
    CHECK(w.len == 4 + 2 + 2 + 96 && w.data[3] == 2 && w.data[6] == 0 && w.data[7] == 3);
    CHECK_OK(tss_wire_presig_ids_decode(&d, w.data, w.len));
    CHECK(strcmp(d.key_id, "kp") == 0 && d.count == 3 && memcmp(d.ids, ids, 96) == 0);
    for (size_t n = 0; n < w.len; n++) { /* every cut fails */
        tss_result r = tss_wire_presig_ids_decode(&d, w.data, n);
        CHECK(!tss_is_ok(r));
    }
    w.data[8 + 32] = 0; /* id 1 now below id 0: not ascending */
    CHECK_ERR(tss_wire_presig_ids_decode(&d, w.data, w.len), TSS_E_INVALID);
    tss_writer_free(&w);
    /* duplicates, empty, too many, bad key id: refused by the encoder */
    tss_writer_init(&w, 1u << 20);
    memcpy(ids[1], ids[0], 32);
    CHECK_ERR(tss_wire_presig_ids_encode(&w, &m), TSS_E_INVALID);
    m.count = 0;
    CHECK_ERR(tss_wire_presig_ids_encode(&w, &m), TSS_E_INVALID);
    uint8_t(*many)[32] = calloc(TSS_WIRE_MAX_INVENTORY_IDS + 1, 32);
    CHECK(many != NULL);
    for (size_t i = 0; i <= TSS_WIRE_MAX_INVENTORY_IDS; i++) many[i][0] = (uint8_t)(i >> 8), many[i][1] = (uint8_t)i;
    m.ids = many[0];
    m.count = TSS_WIRE_MAX_INVENTORY_IDS;
    CHECK_OK(tss_wire_presig_ids_encode(&w, &m));
    /* the largest frame fits both per-type caps */
    CHECK(w.len <= tss_wire_type_max_payload(TSS_WIRE_PRESIG_INVENTORY, TSS_WIRE_MAX_FRAME));
    CHECK(w.len <= tss_wire_type_max_payload(TSS_WIRE_PRESIG_DELETE, TSS_WIRE_MAX_FRAME));
    m.count = TSS_WIRE_MAX_INVENTORY_IDS + 1;
    tss_writer_free(&w);
    tss_writer_init(&w, 1u << 20);
    CHECK_ERR(tss_wire_presig_ids_encode(&w, &m), TSS_E_INVALID);
    m.count = 1;
    strcpy(m.key_id, "bad\tkey");
    CHECK_ERR(tss_wire_presig_ids_encode(&w, &m), TSS_E_INVALID);
    free(many);
    tss_writer_free(&w);
}

static void op_request_response(void) {
    tss_wire_op_request q, qd;
    memset(&q, 0, sizeof q);
    q.request_id = 77;
    q.command = TSS_WIRE_OP_KEYGEN;
    strcpy(q.key_id, "k");
    q.threshold = 2;
    tss_writer w;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_op_request_encode(&w, &q));
    CHECK_OK(tss_wire_op_request_decode(&qd, w.data, w.len));
    CHECK(qd.request_id == 77 && qd.threshold == 2 && strcmp(qd.key_id, "k") == 0);
    tss_writer_free(&w);
    tss_writer_init(&w, 4096);
    q.threshold = 1;
    CHECK_ERR(tss_wire_op_request_encode(&w, &q), TSS_E_INVALID);
    q.threshold = 0;
    q.command = TSS_WIRE_OP_PRESIGN; /* count 0 */
    CHECK_ERR(tss_wire_op_request_encode(&w, &q), TSS_E_INVALID);
    q.command = TSS_WIRE_OP_SIGN;
    q.key_id[0] = '\0'; /* sign needs a key */
    CHECK_ERR(tss_wire_op_request_encode(&w, &q), TSS_E_INVALID);
    q.command = TSS_WIRE_OP_KEYS; /* keys may list all */
    CHECK_OK(tss_wire_op_request_encode(&w, &q));
    q.flags = TSS_WIRE_OP_FLAG_NO_PRESIGN; /* flags are for sign only */
    CHECK_ERR(tss_wire_op_request_encode(&w, &q), TSS_E_INVALID);
    tss_writer_free(&w);
    tss_writer_init(&w, 4096);
    q.command = TSS_WIRE_OP_SIGN;
    strcpy(q.key_id, "k");
    CHECK_OK(tss_wire_op_request_encode(&w, &q));
    CHECK_OK(tss_wire_op_request_decode(&qd, w.data, w.len));
    CHECK(qd.flags == TSS_WIRE_OP_FLAG_NO_PRESIGN);
    w.data[w.len - 2] = 0x80; /* unknown flag (the last byte is the path depth, 0) */
    CHECK_ERR(tss_wire_op_request_decode(&qd, w.data, w.len), TSS_E_INVALID);
    q.flags = 0x02;
    tss_writer_free(&w);
    tss_writer_init(&w, 4096);
    CHECK_ERR(tss_wire_op_request_encode(&w, &q), TSS_E_INVALID);
    q.flags = 0;
    tss_writer_free(&w);

    tss_wire_key_info keys[2];
    memset(keys, 0, sizeof keys);
    for (int i = 0; i < 2; i++) {
        snprintf(keys[i].key_id, sizeof keys[i].key_id, "key%d", i);
        keys[i].threshold = 2;
        keys[i].count = 3;
        keys[i].parties[0] = 1, keys[i].parties[1] = 2, keys[i].parties[2] = 3;
        keys[i].public_key[0] = 3;
        keys[i].presignatures = 5;
    }
    keys[1].has_chain_code = 1; /* key0 has none (registered before tssd kept it) */
    memset(keys[1].chain_code, 0xc7, sizeof keys[1].chain_code);
    tss_wire_op_response r, rd;
    memset(&r, 0, sizeof r);
    r.request_id = 9;
    r.command = TSS_WIRE_OP_SIGN;
    r.key_count = 2;
    r.keys = keys;
    r.has_signature = 1;
    r.recid = 1;
    r.signer_count = 2;
    r.signers[0] = 1, r.signers[1] = 3;
    tss_writer_init(&w, 1 << 20);
    CHECK_OK(tss_wire_op_response_encode(&w, &r));
    CHECK_OK(tss_wire_op_response_decode(&rd, w.data, w.len));
    CHECK(rd.key_count == 2 && strcmp(rd.keys[1].key_id, "key1") == 0 && rd.recid == 1 &&
          rd.signer_count == 2 && rd.signers[1] == 3 && rd.keys[0].presignatures == 5);
    CHECK(rd.keys[0].has_chain_code == 0 && rd.keys[1].has_chain_code == 1 &&
          rd.keys[1].chain_code[0] == 0xc7 && rd.keys[1].chain_code[31] == 0xc7 &&
          rd.keys[1].presignatures == 5);
    tss_wire_op_response_free(&rd);
    CHECK_ERR(tss_wire_op_response_decode(&rd, w.data, w.len - 1), TSS_E_TRUNCATED);
    /* A key count the payload cannot hold is refused before allocating. */
    size_t at = 4 + 1 + 2 + 2 + 4 + 16;
    w.data[at] = 0x0f, w.data[at + 1] = 0xff;
    CHECK_ERR(tss_wire_op_response_decode(&rd, w.data, w.len), TSS_E_TRUNCATED);
    tss_writer_free(&w);
    keys[1].has_chain_code = 2; /* a flag is 0 or 1 */
    tss_writer_init(&w, 1 << 20);
    CHECK_ERR(tss_wire_op_response_encode(&w, &r), TSS_E_INVALID);
    tss_writer_free(&w);
    keys[1].has_chain_code = 1;
    r.recid = 2;
    tss_writer_init(&w, 1 << 20);
    CHECK_ERR(tss_wire_op_response_encode(&w, &r), TSS_E_INVALID);
    tss_writer_free(&w);
}

/* Issue 17: OP_RETIRE, KEY_RETIRE / KEY_RETIRED, and OP_RESPONSE's lifecycle
 * section (present exactly when some key has an epoch or is retired). */
static void lifecycle_messages(void) {
    tss_wire_op_request q, qd;
    memset(&q, 0, sizeof q);
    q.command = TSS_WIRE_OP_RETIRE;
    strcpy(q.key_id, "kr");
    tss_writer w;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_op_request_encode(&w, &q));
    CHECK_OK(tss_wire_op_request_decode(&qd, w.data, w.len));
    CHECK(qd.command == TSS_WIRE_OP_RETIRE && strcmp(qd.key_id, "kr") == 0);
    CHECK(strcmp(tss_wire_op_name(TSS_WIRE_OP_RETIRE), "retire") == 0);
    tss_writer_free(&w);
    tss_writer_init(&w, 4096);
    q.key_id[0] = '\0'; /* retire names one key */
    CHECK_ERR(tss_wire_op_request_encode(&w, &q), TSS_E_INVALID);
    strcpy(q.key_id, "kr");
    q.threshold = 2; /* nothing else */
    CHECK_ERR(tss_wire_op_request_encode(&w, &q), TSS_E_INVALID);
    tss_writer_free(&w);

    /* KEY_RETIRE: the key id only; KEY_RETIRED: key id, result, text. */
    tss_wire_key_retire m, md;
    memset(&m, 0, sizeof m);
    strcpy(m.key_id, "kr");
    tss_writer_init(&w, 1024);
    CHECK_OK(tss_wire_key_retire_encode(&w, &m, false));
    CHECK(w.len == 4 + 2 && w.data[3] == 2 && w.data[4] == 'k');
    CHECK_OK(tss_wire_key_retire_decode(&md, w.data, w.len, false));
    CHECK(strcmp(md.key_id, "kr") == 0 && md.result == 0);
    CHECK(!tss_is_ok(tss_wire_key_retire_decode(&md, w.data, w.len, true))); /* no result */
    tss_writer_free(&w);
    tss_writer_init(&w, 1024);
    m.result = TSS_WIRE_RETIRE_ERASED;
    CHECK_ERR(tss_wire_key_retire_encode(&w, &m, false), TSS_E_INVALID); /* KEY_RETIRE: no result */
    m.result = TSS_WIRE_RETIRE_REFUSED;
    strcpy(m.text, "allow_retire is off");
    CHECK_OK(tss_wire_key_retire_encode(&w, &m, true));
    CHECK(w.len <= tss_wire_type_max_payload(TSS_WIRE_KEY_RETIRED, TSS_WIRE_MAX_FRAME));
    CHECK_OK(tss_wire_key_retire_decode(&md, w.data, w.len, true));
    CHECK(md.result == TSS_WIRE_RETIRE_REFUSED && strcmp(md.text, "allow_retire is off") == 0);
    CHECK(!tss_is_ok(tss_wire_key_retire_decode(&md, w.data, w.len, false))); /* trailing */
    w.data[6] = 9; /* unknown result */
    CHECK_ERR(tss_wire_key_retire_decode(&md, w.data, w.len, true), TSS_E_INVALID);
    w.data[6] = TSS_WIRE_RETIRE_REFUSED;
    w.data[w.len - 1] = '\n'; /* control byte in the text */
    CHECK_ERR(tss_wire_key_retire_decode(&md, w.data, w.len, true), TSS_E_INVALID);
    tss_writer_free(&w);
    tss_writer_init(&w, 1024);
    strcpy(m.key_id, "a/b"); /* a key id is [A-Za-z0-9._-] */
    CHECK_ERR(tss_wire_key_retire_encode(&w, &m, true), TSS_E_INVALID);
    tss_writer_free(&w);
    /* Worst case (longest key id and text) fits the per-type caps. */
    memset(m.key_id, 'k', TSS_WIRE_MAX_KEY_ID);
    m.key_id[TSS_WIRE_MAX_KEY_ID] = '\0';
    memset(m.text, 't', TSS_WIRE_MAX_ERROR_TEXT);
    m.text[TSS_WIRE_MAX_ERROR_TEXT] = '\0';
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_wire_key_retire_encode(&w, &m, true));
    CHECK(w.len <= tss_wire_type_max_payload(TSS_WIRE_KEY_RETIRED, TSS_WIRE_MAX_FRAME));
    tss_writer_free(&w);
    tss_writer_init(&w, 4096);
    m.result = 0;
    m.text[0] = '\0';
    CHECK_OK(tss_wire_key_retire_encode(&w, &m, false));
    CHECK(w.len <= tss_wire_type_max_payload(TSS_WIRE_KEY_RETIRE, TSS_WIRE_MAX_FRAME));
    tss_writer_free(&w);

    /* OP_RESPONSE: epoch and retirement round-trip; none -> no section. */
    tss_wire_key_info keys[2];
    memset(keys, 0, sizeof keys);
    for (int i = 0; i < 2; i++) {
        snprintf(keys[i].key_id, sizeof keys[i].key_id, "key%d", i);
        keys[i].threshold = 2;
        keys[i].count = 3;
        keys[i].parties[0] = 1, keys[i].parties[1] = 2, keys[i].parties[2] = 3;
        keys[i].public_key[0] = 2;
    }
    tss_wire_op_response r, rd;
    memset(&r, 0, sizeof r);
    r.command = TSS_WIRE_OP_KEYS;
    r.key_count = 2;
    r.keys = keys;
    tss_writer_init(&w, 1 << 20);
    CHECK_OK(tss_wire_op_response_encode(&w, &r));
    size_t plain = w.len;
    tss_writer_free(&w);
    keys[1].epoch = 4;
    keys[1].retired = 1;
    keys[1].retired_ms = 1780000000000ull;
    tss_writer_init(&w, 1 << 20);
    CHECK_OK(tss_wire_op_response_encode(&w, &r));
    CHECK(w.len == plain + 2 * 13);
    CHECK_OK(tss_wire_op_response_decode(&rd, w.data, w.len));
    CHECK(rd.keys[0].epoch == 0 && !rd.keys[0].retired && rd.keys[1].epoch == 4 &&
          rd.keys[1].retired == 1 && rd.keys[1].retired_ms == 1780000000000ull);
    tss_wire_op_response_free(&rd);
    /* An all-zero section (a second encoding of "no lifecycle data") is refused. */
    memset(w.data + plain, 0, 2 * 13);
    CHECK_ERR(tss_wire_op_response_decode(&rd, w.data, w.len), TSS_E_INVALID);
    /* retiredMs without retired; retired 2. */
    w.data[plain + 13 + 12] = 1; /* key1's retired_ms low byte, retired 0 */
    CHECK_ERR(tss_wire_op_response_decode(&rd, w.data, w.len), TSS_E_INVALID);
    w.data[plain + 13 + 4] = 2;
    CHECK_ERR(tss_wire_op_response_decode(&rd, w.data, w.len), TSS_E_INVALID);
    CHECK_ERR(tss_wire_op_response_decode(&rd, w.data, w.len - 1), TSS_E_TRUNCATED);
    tss_writer_free(&w);
    keys[1].retired = 0; /* retiredMs without retired: the encoder refuses too */
    tss_writer_init(&w, 1 << 20);
    CHECK_ERR(tss_wire_op_response_encode(&w, &r), TSS_E_INVALID);
    tss_writer_free(&w);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    RUN(type_table_names);
    RUN(header_layout_is_exact);
    RUN(header_rejects_bad_fields);
    RUN(encoder_enforces_caps);
    RUN(decoder_many_frames_in_one_buffer);
    RUN(decoder_byte_at_a_time_and_odd_chunks);
    RUN(decoder_truncated_frame_stays_pending);
    RUN(decoder_rejects_oversize_before_payload);
    RUN(decoder_memory_follows_received_bytes);
    RUN(decoder_rejects_unknown_version_and_type);
    RUN(decoder_reuses_buffer_for_bigger_frames);
    RUN(hello_round_trip_and_layout);
    RUN(hello_capacity_field);
    RUN(hello_pins_field);
    RUN(hello_field_bounds);
    RUN(hello_ack_round_trip_and_bounds);
    RUN(heartbeat_round_trip);
    RUN(error_round_trip_and_bounds);
    RUN(protocol_msg_round_trip_and_layout);
    RUN(protocol_msg_field_bounds);
    RUN(messages_through_frames);
    RUN(status_round_trip);
    RUN(status_field_bounds);
    RUN(status_through_frames);
    RUN(session_start_round_trip_and_bounds);
    RUN(session_result_and_abort);
    RUN(presig_ids_round_trip_and_bounds);
    RUN(op_request_response);
    RUN(lifecycle_messages);
    return harness_finish("wire");
}
