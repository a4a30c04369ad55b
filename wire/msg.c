#include "wire/msg.h"

#include <stdlib.h>
#include <string.h>

#include "wire/frame.h"

/* Largest PROTOCOL_MSG payload any frame can carry. */
#define PROTOCOL_PAYLOAD_LIMIT \
    (TSS_WIRE_MAX_FRAME - TSS_WIRE_HEADER_LEN - TSS_WIRE_PROTOCOL_ENVELOPE_LEN)

static const struct {
    uint16_t code;
    const char *name;
} error_codes[] = {
#define TSS_WIRE_X_ROW(name, value) {value, #name},
    TSS_WIRE_ERROR_CODE_TABLE(TSS_WIRE_X_ROW)
#undef TSS_WIRE_X_ROW
};

const char *tss_wire_error_code_name(unsigned code) {
    for (size_t i = 0; i < sizeof error_codes / sizeof error_codes[0]; i++)
        if (error_codes[i].code == code) return error_codes[i].name;
    return NULL;
}

/* ---- shared field checks ---------------------------------------------------- */

static tss_result check_text(const char *what, const uint8_t *s, size_t n, size_t min,
                             size_t max) {
    TSS_ENSURE(n >= min, TSS_E_INVALID, "%s: empty", what);
    TSS_ENSURE(n <= max, TSS_E_TOO_LARGE, "%s: length %zu exceeds %zu", what, n, max);
    for (size_t i = 0; i < n; i++)
        TSS_ENSURE(s[i] >= 0x20 && s[i] <= 0x7e, TSS_E_INVALID,
                   "%s: byte 0x%02x at %zu is not printable ASCII", what, s[i], i);
    return TSS_OK_RESULT;
}

/* An outgoing NUL-terminated field: bounded scan, never past the array. */
static tss_result text_len(const char *what, const char *s, size_t min, size_t max,
                           size_t *n) {
    *n = strnlen(s, max + 1);
    return check_text(what, (const uint8_t *)s, *n, min, max);
}

static void copy_text(char *out, const uint8_t *s, size_t n) {
    if (n) memcpy(out, s, n);
    out[n] = '\0';
}

static tss_result check_party(const char *what, unsigned id) {
    TSS_ENSURE(id >= 1 && id <= TSS_WIRE_MAX_PARTIES, TSS_E_INVALID, "%s: %u outside 1..%u",
               what, id, TSS_WIRE_MAX_PARTIES);
    return TSS_OK_RESULT;
}

/* ---- HELLO -------------------------------------------------------------------- */

static tss_result hello_check(uint16_t party_id, uint16_t version) {
    TSS_GUARD(check_party("HELLO party_id", party_id));
    TSS_ENSURE(version >= 1, TSS_E_INVALID, "HELLO protocol_version: 0 is not a version");
    return TSS_OK_RESULT;
}

tss_result tss_wire_hello_encode(tss_writer *w, const tss_wire_hello *m) {
    size_t sw;
    TSS_GUARD(hello_check(m->party_id, m->protocol_version));
    TSS_GUARD(text_len("HELLO software", m->software, 1, TSS_WIRE_MAX_SOFTWARE_LEN, &sw));
    tss_write_u16(w, m->party_id);
    tss_write_u16(w, m->protocol_version);
    tss_write_bytes(w, m->identity_key, sizeof m->identity_key);
    tss_write_var(w, m->software, sw);
    return tss_writer_status(w, "HELLO");
}

tss_result tss_wire_hello_decode(tss_wire_hello *out, const uint8_t *p, size_t n) {
    tss_reader r;
    tss_wire_hello m;
    size_t sw_len;
    tss_reader_init(&r, p, n);
    m.party_id = tss_read_u16(&r);
    m.protocol_version = tss_read_u16(&r);
    tss_read_bytes(&r, m.identity_key, sizeof m.identity_key);
    const uint8_t *sw = tss_read_var(&r, TSS_WIRE_MAX_SOFTWARE_LEN, &sw_len);
    TSS_GUARD(tss_reader_finish(&r, "HELLO"));
    TSS_GUARD(hello_check(m.party_id, m.protocol_version));
    TSS_GUARD(check_text("HELLO software", sw, sw_len, 1, TSS_WIRE_MAX_SOFTWARE_LEN));
    copy_text(m.software, sw, sw_len);
    *out = m;
    return TSS_OK_RESULT;
}

/* ---- HELLO_ACK ----------------------------------------------------------------- */

static tss_result hello_ack_check(const tss_wire_hello_ack *m) {
    TSS_GUARD(check_party("HELLO_ACK party_id", m->party_id));
    TSS_ENSURE(m->protocol_version >= 1, TSS_E_INVALID,
               "HELLO_ACK protocol_version: 0 is not a version");
    TSS_ENSURE(m->heartbeat_interval_ms >= 1 &&
                   m->heartbeat_interval_ms <= TSS_WIRE_MAX_HEARTBEAT_MS,
               TSS_E_INVALID, "HELLO_ACK heartbeat_interval_ms: %u outside 1..%u",
               m->heartbeat_interval_ms, TSS_WIRE_MAX_HEARTBEAT_MS);
    return TSS_OK_RESULT;
}

tss_result tss_wire_hello_ack_encode(tss_writer *w, const tss_wire_hello_ack *m) {
    size_t sw;
    TSS_GUARD(hello_ack_check(m));
    TSS_GUARD(text_len("HELLO_ACK software", m->software, 1, TSS_WIRE_MAX_SOFTWARE_LEN, &sw));
    tss_write_u16(w, m->party_id);
    tss_write_u16(w, m->protocol_version);
    tss_write_u32(w, m->heartbeat_interval_ms);
    tss_write_var(w, m->software, sw);
    return tss_writer_status(w, "HELLO_ACK");
}

tss_result tss_wire_hello_ack_decode(tss_wire_hello_ack *out, const uint8_t *p, size_t n) {
    tss_reader r;
    tss_wire_hello_ack m;
    size_t sw_len;
    tss_reader_init(&r, p, n);
    m.party_id = tss_read_u16(&r);
    m.protocol_version = tss_read_u16(&r);
    m.heartbeat_interval_ms = tss_read_u32(&r);
    const uint8_t *sw = tss_read_var(&r, TSS_WIRE_MAX_SOFTWARE_LEN, &sw_len);
    TSS_GUARD(tss_reader_finish(&r, "HELLO_ACK"));
    TSS_GUARD(hello_ack_check(&m));
    TSS_GUARD(check_text("HELLO_ACK software", sw, sw_len, 1, TSS_WIRE_MAX_SOFTWARE_LEN));
    copy_text(m.software, sw, sw_len);
    *out = m;
    return TSS_OK_RESULT;
}

/* ---- HEARTBEAT / HEARTBEAT_ACK ---------------------------------------------------- */

tss_result tss_wire_heartbeat_encode(tss_writer *w, const tss_wire_heartbeat *m) {
    tss_write_u64(w, m->sequence);
    tss_write_u64(w, m->timestamp_ms);
    return tss_writer_status(w, "HEARTBEAT");
}

tss_result tss_wire_heartbeat_decode(tss_wire_heartbeat *out, const uint8_t *p, size_t n) {
    tss_reader r;
    tss_wire_heartbeat m;
    tss_reader_init(&r, p, n);
    m.sequence = tss_read_u64(&r);
    m.timestamp_ms = tss_read_u64(&r);
    TSS_GUARD(tss_reader_finish(&r, "HEARTBEAT"));
    *out = m;
    return TSS_OK_RESULT;
}

/* ---- ERROR ---------------------------------------------------------------------- */

tss_result tss_wire_error_encode(tss_writer *w, const tss_wire_error *m) {
    size_t len;
    TSS_ENSURE(m->code != 0, TSS_E_INVALID, "ERROR code: 0 is not an error");
    TSS_GUARD(text_len("ERROR text", m->text, 0, TSS_WIRE_MAX_ERROR_TEXT, &len));
    tss_write_u16(w, m->code);
    tss_write_var(w, m->text, len);
    return tss_writer_status(w, "ERROR");
}

tss_result tss_wire_error_decode(tss_wire_error *out, const uint8_t *p, size_t n) {
    tss_reader r;
    tss_wire_error m;
    size_t len;
    tss_reader_init(&r, p, n);
    m.code = tss_read_u16(&r);
    const uint8_t *text = tss_read_var(&r, TSS_WIRE_MAX_ERROR_TEXT, &len);
    TSS_GUARD(tss_reader_finish(&r, "ERROR"));
    TSS_ENSURE(m.code != 0, TSS_E_INVALID, "ERROR code: 0 is not an error");
    TSS_GUARD(check_text("ERROR text", text, len, 0, TSS_WIRE_MAX_ERROR_TEXT));
    copy_text(m.text, text, len);
    *out = m;
    return TSS_OK_RESULT;
}

/* ---- PROTOCOL_MSG ------------------------------------------------------------------ */

static tss_result protocol_check(const tss_wire_protocol_msg *m, size_t max_payload) {
    TSS_ENSURE(m->round >= 1, TSS_E_INVALID, "PROTOCOL_MSG round: 0 is not a round");
    TSS_GUARD(check_party("PROTOCOL_MSG sender", m->sender));
    if (m->receiver != TSS_WIRE_BROADCAST) {
        TSS_GUARD(check_party("PROTOCOL_MSG receiver", m->receiver));
        TSS_ENSURE(m->receiver != m->sender, TSS_E_INVALID,
                   "PROTOCOL_MSG receiver: party %u addressed itself", m->sender);
    }
    TSS_ENSURE(m->payload_len >= 1, TSS_E_INVALID, "PROTOCOL_MSG payload: empty");
    TSS_ENSURE(m->payload_len <= max_payload, TSS_E_TOO_LARGE,
               "PROTOCOL_MSG payload: length %zu exceeds %zu", m->payload_len, max_payload);
    return TSS_OK_RESULT;
}

static size_t clamp_payload(size_t max_payload) {
    return max_payload < PROTOCOL_PAYLOAD_LIMIT ? max_payload : PROTOCOL_PAYLOAD_LIMIT;
}

tss_result tss_wire_protocol_msg_encode(tss_writer *w, const tss_wire_protocol_msg *m,
                                        size_t max_payload) {
    TSS_GUARD(protocol_check(m, clamp_payload(max_payload)));
    tss_write_bytes(w, m->session_id, sizeof m->session_id);
    tss_write_u8(w, m->round);
    tss_write_u16(w, m->sender);
    tss_write_u16(w, m->receiver);
    tss_write_var(w, m->payload, m->payload_len);
    return tss_writer_status(w, "PROTOCOL_MSG");
}

tss_result tss_wire_protocol_msg_decode(tss_wire_protocol_msg *out, const uint8_t *p, size_t n,
                                        size_t max_payload) {
    tss_reader r;
    tss_wire_protocol_msg m;
    max_payload = clamp_payload(max_payload);
    tss_reader_init(&r, p, n);
    tss_read_bytes(&r, m.session_id, sizeof m.session_id);
    m.round = tss_read_u8(&r);
    m.sender = tss_read_u16(&r);
    m.receiver = tss_read_u16(&r);
    m.payload = tss_read_var(&r, max_payload, &m.payload_len);
    TSS_GUARD(tss_reader_finish(&r, "PROTOCOL_MSG"));
    TSS_GUARD(protocol_check(&m, max_payload));
    *out = m;
    return TSS_OK_RESULT;
}

/* ---- STATUS_REQUEST / STATUS_RESPONSE ------------------------------------------------ */

tss_result tss_wire_status_request_encode(tss_writer *w) {
    return tss_writer_status(w, "STATUS_REQUEST");
}

tss_result tss_wire_status_request_decode(const uint8_t *p, size_t n) {
    tss_reader r;
    tss_reader_init(&r, p, n);
    return tss_reader_finish(&r, "STATUS_REQUEST");
}

static tss_result status_party_check(const tss_wire_status_party *e) {
    TSS_GUARD(check_party("STATUS party_id", e->party_id));
    TSS_ENSURE((e->flags & ~TSS_WIRE_STATUS_FLAGS) == 0, TSS_E_INVALID,
               "STATUS party %u: unknown flags 0x%02x", e->party_id, e->flags);
    TSS_ENSURE(!(e->flags & TSS_WIRE_STATUS_CONNECTED) || (e->flags & TSS_WIRE_STATUS_KNOWN),
               TSS_E_INVALID, "STATUS party %u: connected but not known", e->party_id);
    return TSS_OK_RESULT;
}

static tss_result status_check(const tss_wire_status *m) {
    TSS_ENSURE(m->party_count <= TSS_WIRE_MAX_PARTIES, TSS_E_TOO_LARGE,
               "STATUS party count %u exceeds %u", m->party_count, TSS_WIRE_MAX_PARTIES);
    for (size_t i = 0; i < m->party_count; i++) {
        TSS_GUARD(status_party_check(&m->parties[i]));
        TSS_ENSURE(i == 0 || m->parties[i].party_id > m->parties[i - 1].party_id, TSS_E_INVALID,
                   "STATUS party ids not strictly increasing at entry %zu", i);
    }
    return TSS_OK_RESULT;
}

tss_result tss_wire_status_encode(tss_writer *w, const tss_wire_status *m) {
    size_t sw;
    TSS_GUARD(status_check(m));
    TSS_GUARD(text_len("STATUS software", m->software, 1, TSS_WIRE_MAX_SOFTWARE_LEN, &sw));
    tss_write_var(w, m->software, sw);
    tss_write_u64(w, m->now_ms);
    tss_write_u64(w, m->started_ms);
    tss_write_bytes(w, m->cert_fingerprint, sizeof m->cert_fingerprint);
    tss_write_u64(w, m->cert_not_after);
    tss_write_u32(w, m->tls_generation);
    tss_write_u16(w, m->connections);
    tss_write_u16(w, m->party_count);
    for (size_t i = 0; i < m->party_count; i++) {
        const tss_wire_status_party *e = &m->parties[i];
        size_t esw, addr;
        TSS_GUARD(text_len("STATUS party software", e->software, 0, TSS_WIRE_MAX_SOFTWARE_LEN,
                           &esw));
        TSS_GUARD(text_len("STATUS party address", e->address, 0, TSS_WIRE_MAX_ADDRESS_LEN,
                           &addr));
        tss_write_u16(w, e->party_id);
        tss_write_u8(w, e->flags);
        tss_write_bytes(w, e->identity_key, sizeof e->identity_key);
        tss_write_u16(w, e->protocol_version);
        tss_write_var(w, e->software, esw);
        tss_write_bytes(w, e->cert_fingerprint, sizeof e->cert_fingerprint);
        tss_write_u64(w, e->cert_not_after);
        tss_write_u64(w, e->since_ms);
        tss_write_u64(w, e->last_heartbeat_ms);
        tss_write_var(w, e->address, addr);
    }
    return tss_writer_status(w, "STATUS_RESPONSE");
}

tss_result tss_wire_status_decode(tss_wire_status *out, const uint8_t *p, size_t n) {
    tss_reader r;
    tss_wire_status *m = calloc(1, sizeof *m);
    TSS_ENSURE(m != NULL, TSS_E_NOMEM, "no memory for a STATUS_RESPONSE");
    size_t len;
    tss_result res = TSS_OK_RESULT;
    tss_reader_init(&r, p, n);
    const uint8_t *sw = tss_read_var(&r, TSS_WIRE_MAX_SOFTWARE_LEN, &len);
    res = tss_reader_status(&r, "STATUS_RESPONSE");
    if (tss_is_ok(res)) res = check_text("STATUS software", sw, len, 1, TSS_WIRE_MAX_SOFTWARE_LEN);
    if (tss_is_ok(res)) copy_text(m->software, sw, len);
    m->now_ms = tss_read_u64(&r);
    m->started_ms = tss_read_u64(&r);
    tss_read_bytes(&r, m->cert_fingerprint, sizeof m->cert_fingerprint);
    m->cert_not_after = tss_read_u64(&r);
    m->tls_generation = tss_read_u32(&r);
    m->connections = tss_read_u16(&r);
    m->party_count = tss_read_u16(&r);
    if (tss_is_ok(res) && m->party_count > TSS_WIRE_MAX_PARTIES)
        res = tss_fail(TSS_E_TOO_LARGE, "STATUS party count %u exceeds %u", m->party_count,
                       TSS_WIRE_MAX_PARTIES);
    for (size_t i = 0; tss_is_ok(res) && i < m->party_count; i++) {
        tss_wire_status_party *e = &m->parties[i];
        e->party_id = tss_read_u16(&r);
        e->flags = tss_read_u8(&r);
        tss_read_bytes(&r, e->identity_key, sizeof e->identity_key);
        e->protocol_version = tss_read_u16(&r);
        const uint8_t *esw = tss_read_var(&r, TSS_WIRE_MAX_SOFTWARE_LEN, &len);
        res = tss_reader_status(&r, "STATUS_RESPONSE");
        if (tss_is_ok(res))
            res = check_text("STATUS party software", esw, len, 0, TSS_WIRE_MAX_SOFTWARE_LEN);
        if (!tss_is_ok(res)) break;
        copy_text(e->software, esw, len);
        tss_read_bytes(&r, e->cert_fingerprint, sizeof e->cert_fingerprint);
        e->cert_not_after = tss_read_u64(&r);
        e->since_ms = tss_read_u64(&r);
        e->last_heartbeat_ms = tss_read_u64(&r);
        const uint8_t *addr = tss_read_var(&r, TSS_WIRE_MAX_ADDRESS_LEN, &len);
        res = tss_reader_status(&r, "STATUS_RESPONSE");
        if (tss_is_ok(res))
            res = check_text("STATUS party address", addr, len, 0, TSS_WIRE_MAX_ADDRESS_LEN);
        if (tss_is_ok(res)) copy_text(e->address, addr, len);
    }
    if (tss_is_ok(res)) res = tss_reader_finish(&r, "STATUS_RESPONSE");
    if (tss_is_ok(res)) res = status_check(m);
    if (tss_is_ok(res)) *out = *m;
    free(m);
    return res;
}
