#include "wire/msg.h"

#include <stdbool.h>
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

static tss_result hello_check(uint16_t party_id, uint16_t version, uint16_t max_sessions) {
    TSS_GUARD(check_party("HELLO party_id", party_id));
    TSS_ENSURE(version >= 1, TSS_E_INVALID, "HELLO protocol_version: 0 is not a version");
    TSS_ENSURE(max_sessions <= TSS_WIRE_MAX_PARTY_SESSIONS, TSS_E_INVALID,
               "HELLO max_sessions: %u exceeds %u", max_sessions, TSS_WIRE_MAX_PARTY_SESSIONS);
    return TSS_OK_RESULT;
}

/* Pins: ids 1..32, distinct, never the reporting party's own. */
static tss_result pins_check(const char *what, uint16_t self, const tss_wire_pin *pins,
                             size_t count) {
    TSS_ENSURE(count <= TSS_WIRE_MAX_PINS, TSS_E_TOO_LARGE, "%s: %zu pins exceed %u", what, count,
               TSS_WIRE_MAX_PINS);
    uint64_t seen = 0;
    for (size_t i = 0; i < count; i++) {
        uint16_t id = pins[i].party_id;
        TSS_ENSURE(id >= 1 && id <= TSS_WIRE_MAX_PARTIES && id != self, TSS_E_INVALID,
                   "%s: pin for party %u (own id %u)", what, id, self);
        TSS_ENSURE(!(seen & (1ull << id)), TSS_E_INVALID, "%s: party %u pinned twice", what, id);
        seen |= 1ull << id;
    }
    return TSS_OK_RESULT;
}

static void pins_write(tss_writer *w, const tss_wire_pin *pins, size_t count) {
    tss_write_u8(w, (uint8_t)count);
    for (size_t i = 0; i < count; i++) {
        tss_write_u16(w, pins[i].party_id);
        tss_write_bytes(w, pins[i].identity_key, sizeof pins[i].identity_key);
    }
}

static uint8_t pins_read(tss_reader *r, tss_wire_pin *pins) {
    uint8_t count = tss_read_u8(r);
    if (count > TSS_WIRE_MAX_PINS) return count; /* refused by pins_check */
    for (size_t i = 0; i < count; i++) {
        pins[i].party_id = tss_read_u16(r);
        tss_read_bytes(r, pins[i].identity_key, sizeof pins[i].identity_key);
    }
    return count;
}

tss_result tss_wire_hello_encode(tss_writer *w, const tss_wire_hello *m) {
    size_t sw;
    TSS_GUARD(hello_check(m->party_id, m->protocol_version, m->max_sessions));
    TSS_GUARD(text_len("HELLO software", m->software, 1, TSS_WIRE_MAX_SOFTWARE_LEN, &sw));
    tss_write_u16(w, m->party_id);
    tss_write_u16(w, m->protocol_version);
    tss_write_bytes(w, m->identity_key, sizeof m->identity_key);
    tss_write_var(w, m->software, sw);
    TSS_GUARD(pins_check("HELLO pins", m->party_id, m->pins, m->pin_count));
    TSS_ENSURE(!m->pin_count || m->max_sessions, TSS_E_USAGE,
               "HELLO pins need the max_sessions field before them");
    if (m->max_sessions) tss_write_u16(w, m->max_sessions);
    if (m->pin_count) pins_write(w, m->pins, m->pin_count);
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
    /* The capacity field is optional (absent in older parties' HELLO); when
     * present it is exactly a nonzero u16. */
    bool has_capacity = tss_reader_remaining(&r) > 0;
    m.max_sessions = has_capacity ? tss_read_u16(&r) : 0;
    /* Then, optionally, the pins (diagnostics). */
    bool has_pins = tss_reader_remaining(&r) > 0;
    m.pin_count = has_pins ? pins_read(&r, m.pins) : 0;
    TSS_GUARD(tss_reader_finish(&r, "HELLO"));
    TSS_ENSURE(!has_pins || m.pin_count != 0, TSS_E_INVALID,
               "HELLO pins: empty pin list (omit the field instead)");
    TSS_GUARD(pins_check("HELLO pins", m.party_id, m.pins, m.pin_count));
    TSS_ENSURE(!has_capacity || m.max_sessions != 0, TSS_E_INVALID,
               "HELLO max_sessions: 0 (omit the field instead)");
    TSS_GUARD(hello_check(m.party_id, m.protocol_version, m.max_sessions));
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
    /* Trailing section: each party's reported pins, in party order; present
     * only when some party reported pins (one encoding per response). */
    bool any_pins = false;
    for (size_t i = 0; i < m->party_count; i++) {
        const tss_wire_status_party *e = &m->parties[i];
        TSS_GUARD(pins_check("STATUS pins", e->party_id, e->pins, e->pin_count));
        any_pins = any_pins || e->pin_count;
    }
    for (size_t i = 0; any_pins && i < m->party_count; i++)
        pins_write(w, m->parties[i].pins, m->parties[i].pin_count);
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
    /* The pins section is optional (absent from older coordinators, and when
     * no party reported pins); present, some party must have pins. */
    if (tss_is_ok(res) && tss_reader_remaining(&r) > 0) {
        bool any_pins = false;
        for (size_t i = 0; tss_is_ok(res) && i < m->party_count; i++) {
            tss_wire_status_party *e = &m->parties[i];
            e->pin_count = pins_read(&r, e->pins);
            res = tss_reader_status(&r, "STATUS_RESPONSE pins");
            if (tss_is_ok(res)) res = pins_check("STATUS pins", e->party_id, e->pins, e->pin_count);
            any_pins = any_pins || e->pin_count;
        }
        if (tss_is_ok(res) && !any_pins)
            res = tss_fail(TSS_E_INVALID, "STATUS_RESPONSE pins: section without any pin (omit it)");
    }
    if (tss_is_ok(res)) res = tss_reader_finish(&r, "STATUS_RESPONSE");
    if (tss_is_ok(res)) res = status_check(m);
    if (tss_is_ok(res)) *out = *m;
    free(m);
    return res;
}

/* ---- sessions ---------------------------------------------------------------------- */

const char *tss_wire_kind_name(unsigned kind) {
    switch (kind) {
    case TSS_WIRE_KIND_KEYGEN: return "keygen";
    case TSS_WIRE_KIND_SIGN: return "sign";
    case TSS_WIRE_KIND_PRESIGN: return "presign";
    case TSS_WIRE_KIND_SIGN_PRESIG: return "sign-presigned";
    default: return NULL;
    }
}

const char *tss_wire_abort_reason_name(unsigned reason) {
    switch (reason) {
    case TSS_WIRE_ABORT_MISBEHAVIOUR: return "misbehaviour";
    case TSS_WIRE_ABORT_TIMEOUT: return "timeout";
    case TSS_WIRE_ABORT_REFUSED: return "refused";
    case TSS_WIRE_ABORT_CANCELLED: return "cancelled";
    case TSS_WIRE_ABORT_INTERNAL: return "internal";
    case TSS_WIRE_ABORT_DISCONNECTED: return "disconnected";
    case TSS_WIRE_ABORT_RELAY_OR_PARTY: return "relay-or-party";
    case TSS_WIRE_ABORT_BUSY: return "busy";
    case TSS_WIRE_ABORT_POLICY: return "policy";
    default: return NULL;
    }
}

/* ---- PRESIG_INVENTORY / PRESIG_DELETE -------------------------------------------------- */

static tss_result presig_ids_check(const char *key, size_t key_len, unsigned count,
                                   const uint8_t *ids) {
    TSS_GUARD(check_text("PRESIG key_id", (const uint8_t *)key, key_len, 1, TSS_WIRE_MAX_KEY_ID));
    TSS_ENSURE(count >= 1 && count <= TSS_WIRE_MAX_INVENTORY_IDS, TSS_E_INVALID,
               "PRESIG count: %u outside 1..%u", count, TSS_WIRE_MAX_INVENTORY_IDS);
    for (size_t i = 1; i < count; i++)
        TSS_ENSURE(memcmp(ids + (i - 1) * 32, ids + i * 32, 32) < 0, TSS_E_INVALID,
                   "PRESIG ids: id %zu is not above id %zu (must be strictly ascending)", i,
                   i - 1);
    return TSS_OK_RESULT;
}

tss_result tss_wire_presig_ids_encode(tss_writer *w, const tss_wire_presig_ids *m) {
    size_t len;
    TSS_GUARD(text_len("PRESIG key_id", m->key_id, 1, TSS_WIRE_MAX_KEY_ID, &len));
    TSS_GUARD(presig_ids_check(m->key_id, len, m->count, m->ids));
    tss_write_var(w, m->key_id, len);
    tss_write_u16(w, m->count);
    tss_write_bytes(w, m->ids, (size_t)m->count * 32);
    return tss_writer_status(w, "PRESIG ids");
}

tss_result tss_wire_presig_ids_decode(tss_wire_presig_ids *out, const uint8_t *p, size_t n) {
    tss_reader r;
    tss_wire_presig_ids m;
    size_t key_len;
    tss_reader_init(&r, p, n);
    const uint8_t *key = tss_read_var(&r, TSS_WIRE_MAX_KEY_ID, &key_len);
    m.count = tss_read_u16(&r);
    size_t want = (size_t)m.count * 32;
    m.ids = m.count <= TSS_WIRE_MAX_INVENTORY_IDS ? tss_read_view(&r, want) : NULL;
    if (m.count > TSS_WIRE_MAX_INVENTORY_IDS)
        return tss_fail(TSS_E_INVALID, "PRESIG count: %u outside 1..%u", m.count,
                        TSS_WIRE_MAX_INVENTORY_IDS);
    TSS_GUARD(tss_reader_finish(&r, "PRESIG ids"));
    TSS_GUARD(presig_ids_check((const char *)key, key_len, m.count, m.ids));
    copy_text(m.key_id, key, key_len);
    *out = m;
    return TSS_OK_RESULT;
}

tss_result tss_wire_presig_relist_encode(tss_writer *w, const char *key_id) {
    size_t len;
    TSS_GUARD(text_len("PRESIG_RELIST key_id", key_id, 1, TSS_WIRE_MAX_KEY_ID, &len));
    tss_write_var(w, key_id, len);
    return tss_writer_status(w, "PRESIG_RELIST");
}

tss_result tss_wire_presig_relist_decode(char *out, const uint8_t *p, size_t n) {
    tss_reader r;
    size_t key_len;
    tss_reader_init(&r, p, n);
    const uint8_t *key = tss_read_var(&r, TSS_WIRE_MAX_KEY_ID, &key_len);
    TSS_GUARD(tss_reader_finish(&r, "PRESIG_RELIST"));
    TSS_GUARD(check_text("PRESIG_RELIST key_id", key, key_len, 1, TSS_WIRE_MAX_KEY_ID));
    copy_text(out, key, key_len);
    return TSS_OK_RESULT;
}

const char *tss_wire_op_name(unsigned command) {
    switch (command) {
    case TSS_WIRE_OP_KEYGEN: return "keygen";
    case TSS_WIRE_OP_SIGN: return "sign";
    case TSS_WIRE_OP_PRESIGN: return "presign";
    case TSS_WIRE_OP_KEYS: return "keys";
    case TSS_WIRE_OP_RETIRE: return "retire";
    default: return NULL;
    }
}

/* Key ids: 0/1..64 characters of [A-Za-z0-9._-]. */
static tss_result check_key_id(const char *what, const uint8_t *s, size_t n, size_t min) {
    TSS_ENSURE(n >= min, TSS_E_INVALID, "%s: empty key id", what);
    TSS_ENSURE(n <= TSS_WIRE_MAX_KEY_ID, TSS_E_TOO_LARGE, "%s: key id longer than %u", what,
               TSS_WIRE_MAX_KEY_ID);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-';
        TSS_ENSURE(okc, TSS_E_INVALID, "%s: key id byte 0x%02x at %zu is not [A-Za-z0-9._-]", what,
                   c, i);
    }
    return TSS_OK_RESULT;
}

static tss_result key_id_out(const char *what, const char *s, size_t min, size_t *n) {
    *n = strnlen(s, TSS_WIRE_MAX_KEY_ID + 1);
    return check_key_id(what, (const uint8_t *)s, *n, min);
}

static tss_result read_key_id(tss_reader *r, const char *what, size_t min, char *out) {
    size_t len;
    const uint8_t *s = tss_read_var(r, TSS_WIRE_MAX_KEY_ID, &len);
    TSS_GUARD(tss_reader_status(r, what));
    TSS_GUARD(check_key_id(what, s, len, min));
    copy_text(out, s, len);
    return TSS_OK_RESULT;
}

static tss_result check_id_list(const char *what, const uint16_t *ids, uint16_t count) {
    TSS_ENSURE(count <= TSS_WIRE_MAX_PARTIES, TSS_E_TOO_LARGE, "%s: %u parties exceed %u", what,
               count, TSS_WIRE_MAX_PARTIES);
    for (size_t i = 0; i < count; i++) {
        TSS_GUARD(check_party(what, ids[i]));
        TSS_ENSURE(i == 0 || ids[i] > ids[i - 1], TSS_E_INVALID,
                   "%s: party ids not strictly ascending at %zu", what, i);
    }
    return TSS_OK_RESULT;
}

static void write_id_list(tss_writer *w, const uint16_t *ids, uint16_t count) {
    tss_write_u8(w, (uint8_t)count);
    for (size_t i = 0; i < count; i++) tss_write_u16(w, ids[i]);
}

static tss_result read_id_list(tss_reader *r, const char *what, uint16_t *ids, uint16_t *count) {
    uint8_t c = tss_read_u8(r);
    TSS_GUARD(tss_reader_status(r, what));
    TSS_ENSURE(c <= TSS_WIRE_MAX_PARTIES, TSS_E_TOO_LARGE, "%s: %u parties exceed %u", what, c,
               TSS_WIRE_MAX_PARTIES);
    for (size_t i = 0; i < c; i++) ids[i] = tss_read_u16(r);
    *count = c;
    TSS_GUARD(tss_reader_status(r, what));
    return check_id_list(what, ids, c);
}

static bool all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

/* Request content and approvals (issue 16): present only when one is
 * non-empty, so every older message keeps its one encoding. */
static tss_result content_check(const char *what, bool allowed, size_t request_len,
                                size_t approvals_len) {
    TSS_ENSURE(allowed || (request_len == 0 && approvals_len == 0), TSS_E_INVALID,
               "%s: request content is only for signing", what);
    TSS_ENSURE(request_len <= TSS_WIRE_MAX_REQUEST, TSS_E_TOO_LARGE,
               "%s: request content of %zu bytes exceeds %u", what, request_len,
               TSS_WIRE_MAX_REQUEST);
    TSS_ENSURE(approvals_len <= TSS_WIRE_MAX_APPROVALS, TSS_E_TOO_LARGE,
               "%s: approvals of %zu bytes exceed %u", what, approvals_len,
               TSS_WIRE_MAX_APPROVALS);
    TSS_ENSURE(approvals_len == 0 || request_len > 0, TSS_E_INVALID,
               "%s: approvals without request content", what);
    return TSS_OK_RESULT;
}

static void content_write(tss_writer *w, const uint8_t *req, size_t req_len, const uint8_t *apv,
                          size_t apv_len) {
    if (!req_len && !apv_len) return;
    tss_write_var(w, req, req_len);
    tss_write_var(w, apv, apv_len);
}

static tss_result content_read(tss_reader *r, const char *what, const uint8_t **req,
                               size_t *req_len, const uint8_t **apv, size_t *apv_len) {
    *req = *apv = NULL;
    *req_len = *apv_len = 0;
    if (tss_reader_remaining(r) == 0) return TSS_OK_RESULT;
    *req = tss_read_var(r, TSS_WIRE_MAX_REQUEST, req_len);
    *apv = tss_read_var(r, TSS_WIRE_MAX_APPROVALS, apv_len);
    TSS_GUARD(tss_reader_status(r, what));
    TSS_ENSURE(*req_len > 0, TSS_E_INVALID, "%s: empty request content section", what);
    return TSS_OK_RESULT;
}

static tss_result session_start_check(const tss_wire_session_start *m) {
    TSS_ENSURE(tss_wire_kind_name(m->kind) != NULL, TSS_E_INVALID,
               "SESSION_START kind: unknown kind %u", m->kind);
    TSS_GUARD(check_id_list("SESSION_START parties", m->parties, m->count));
    TSS_ENSURE(m->count >= 2, TSS_E_INVALID, "SESSION_START: %u parties, need at least 2",
               m->count);
    TSS_ENSURE(m->threshold >= 2 && m->threshold <= m->count, TSS_E_INVALID,
               "SESSION_START threshold: %u outside 2..%u", m->threshold, m->count);
    if (m->kind != TSS_WIRE_KIND_KEYGEN)
        TSS_ENSURE(m->threshold == m->count, TSS_E_INVALID,
                   "SESSION_START: %u signers for threshold %u", m->count, m->threshold);
    TSS_ENSURE(m->round_timeout_ms >= 1 && m->round_timeout_ms <= 3600000u, TSS_E_INVALID,
               "SESSION_START round_timeout_ms: %u outside 1..3600000", m->round_timeout_ms);
    bool digest = m->kind == TSS_WIRE_KIND_SIGN || m->kind == TSS_WIRE_KIND_SIGN_PRESIG;
    TSS_ENSURE(digest || all_zero(m->digest, sizeof m->digest), TSS_E_INVALID,
               "SESSION_START: digest given for a %s session", tss_wire_kind_name(m->kind));
    TSS_ENSURE(m->kind == TSS_WIRE_KIND_SIGN_PRESIG || all_zero(m->presign_id, sizeof m->presign_id),
               TSS_E_INVALID, "SESSION_START: presign id given for a %s session",
               tss_wire_kind_name(m->kind));
    TSS_ENSURE(m->kind != TSS_WIRE_KIND_KEYGEN || m->path.depth == 0, TSS_E_INVALID,
               "SESSION_START: derivation path given for a keygen session");
    TSS_ENSURE(m->kind != TSS_WIRE_KIND_KEYGEN || m->epoch == 0, TSS_E_INVALID,
               "SESSION_START: epoch %u given for a keygen session", m->epoch);
    for (unsigned i = 0; i < m->path.depth; i++)
        TSS_ENSURE(m->path.index[i] < TSS_BIP32_HARDENED, TSS_E_INVALID,
                   "SESSION_START path: level %u is hardened (index >= 2^31)", i + 1);
    return content_check("SESSION_START",
                         m->kind == TSS_WIRE_KIND_SIGN || m->kind == TSS_WIRE_KIND_SIGN_PRESIG,
                         m->request_len, m->approvals_len);
}

tss_result tss_wire_session_start_encode(tss_writer *w, const tss_wire_session_start *m) {
    size_t kl;
    TSS_GUARD(session_start_check(m));
    TSS_GUARD(key_id_out("SESSION_START key_id", m->key_id, 1, &kl));
    tss_write_bytes(w, m->session_id, sizeof m->session_id);
    tss_write_u8(w, m->kind);
    tss_write_var(w, m->key_id, kl);
    tss_write_u16(w, m->threshold);
    write_id_list(w, m->parties, m->count);
    tss_write_u32(w, m->round_timeout_ms);
    tss_write_bytes(w, m->digest, sizeof m->digest);
    tss_write_bytes(w, m->presign_id, sizeof m->presign_id);
    tss_bip32_path_write(w, &m->path);
    content_write(w, m->request, m->request_len, m->approvals, m->approvals_len);
    if (m->epoch) tss_write_u32(w, m->epoch);
    return tss_writer_status(w, "SESSION_START");
}

tss_result tss_wire_session_start_decode(tss_wire_session_start *out, const uint8_t *p,
                                         size_t n) {
    tss_reader r;
    tss_wire_session_start m;
    memset(&m, 0, sizeof m);
    tss_reader_init(&r, p, n);
    tss_read_bytes(&r, m.session_id, sizeof m.session_id);
    m.kind = tss_read_u8(&r);
    TSS_GUARD(read_key_id(&r, "SESSION_START key_id", 1, m.key_id));
    m.threshold = tss_read_u16(&r);
    TSS_GUARD(read_id_list(&r, "SESSION_START parties", m.parties, &m.count));
    m.round_timeout_ms = tss_read_u32(&r);
    tss_read_bytes(&r, m.digest, sizeof m.digest);
    tss_read_bytes(&r, m.presign_id, sizeof m.presign_id);
    TSS_GUARD(tss_bip32_path_read(&r, &m.path));
    /* The request section (optional, at least 9 bytes), then the epoch
     * (optional, exactly 4): 4 bytes left here can only be the epoch. */
    if (tss_reader_remaining(&r) != 4)
        TSS_GUARD(content_read(&r, "SESSION_START", &m.request, &m.request_len, &m.approvals,
                               &m.approvals_len));
    if (tss_reader_remaining(&r) == 4) { /* the epoch: present exactly when nonzero */
        m.epoch = tss_read_u32(&r);
        TSS_ENSURE(r.err || m.epoch != 0, TSS_E_INVALID,
                   "SESSION_START: an explicit epoch 0 (omitted when zero)");
    }
    TSS_GUARD(tss_reader_finish(&r, "SESSION_START"));
    TSS_GUARD(session_start_check(&m));
    *out = m;
    return TSS_OK_RESULT;
}

static tss_result session_result_check(const tss_wire_session_result *m) {
    size_t want;
    switch (m->kind) {
    case TSS_WIRE_KIND_KEYGEN: want = TSS_WIRE_POINT_LEN + TSS_WIRE_CHAIN_CODE_LEN; break;
    case TSS_WIRE_KIND_PRESIGN: want = TSS_WIRE_PRESIGN_ID_LEN; break;
    case TSS_WIRE_KIND_SIGN:
    case TSS_WIRE_KIND_SIGN_PRESIG: want = 0; break;
    default: return tss_fail(TSS_E_INVALID, "SESSION_RESULT kind: unknown kind %u", m->kind);
    }
    TSS_ENSURE(m->data_len == want, TSS_E_INVALID, "SESSION_RESULT %s: %zu data bytes, want %zu",
               tss_wire_kind_name(m->kind), m->data_len, want);
    return TSS_OK_RESULT;
}

tss_result tss_wire_session_result_encode(tss_writer *w, const tss_wire_session_result *m) {
    TSS_GUARD(session_result_check(m));
    tss_write_bytes(w, m->session_id, sizeof m->session_id);
    tss_write_u8(w, m->kind);
    tss_write_var(w, m->data, m->data_len);
    return tss_writer_status(w, "SESSION_RESULT");
}

tss_result tss_wire_session_result_decode(tss_wire_session_result *out, const uint8_t *p,
                                          size_t n) {
    tss_reader r;
    tss_wire_session_result m;
    memset(&m, 0, sizeof m);
    tss_reader_init(&r, p, n);
    tss_read_bytes(&r, m.session_id, sizeof m.session_id);
    m.kind = tss_read_u8(&r);
    const uint8_t *d = tss_read_var(&r, TSS_WIRE_MAX_RESULT_DATA, &m.data_len);
    TSS_GUARD(tss_reader_finish(&r, "SESSION_RESULT"));
    if (m.data_len) memcpy(m.data, d, m.data_len);
    TSS_GUARD(session_result_check(&m));
    *out = m;
    return TSS_OK_RESULT;
}

static tss_result session_abort_check(const tss_wire_session_abort *m) {
    TSS_ENSURE(tss_wire_abort_reason_name(m->reason) != NULL, TSS_E_INVALID,
               "SESSION_ABORT reason: unknown reason %u", m->reason);
    if (m->culprit) TSS_GUARD(check_party("SESSION_ABORT culprit", m->culprit));
    TSS_ENSURE(m->reason != TSS_WIRE_ABORT_POLICY || m->culprit == 0, TSS_E_INVALID,
               "SESSION_ABORT: a policy refusal names no culprit (it is no fault)");
    TSS_ENSURE(m->reason != TSS_WIRE_ABORT_BUSY || m->culprit == 0, TSS_E_INVALID,
               "SESSION_ABORT busy names culprit %u: busy blames nobody", m->culprit);
    return TSS_OK_RESULT;
}

tss_result tss_wire_session_abort_encode(tss_writer *w, const tss_wire_session_abort *m) {
    size_t len;
    TSS_GUARD(session_abort_check(m));
    TSS_GUARD(text_len("SESSION_ABORT text", m->text, 0, TSS_WIRE_MAX_ERROR_TEXT, &len));
    tss_write_bytes(w, m->session_id, sizeof m->session_id);
    tss_write_u8(w, m->reason);
    tss_write_u16(w, m->culprit);
    tss_write_var(w, m->text, len);
    return tss_writer_status(w, "SESSION_ABORT");
}

tss_result tss_wire_session_abort_decode(tss_wire_session_abort *out, const uint8_t *p,
                                         size_t n) {
    tss_reader r;
    tss_wire_session_abort m;
    size_t len;
    tss_reader_init(&r, p, n);
    tss_read_bytes(&r, m.session_id, sizeof m.session_id);
    m.reason = tss_read_u8(&r);
    m.culprit = tss_read_u16(&r);
    const uint8_t *text = tss_read_var(&r, TSS_WIRE_MAX_ERROR_TEXT, &len);
    TSS_GUARD(tss_reader_finish(&r, "SESSION_ABORT"));
    TSS_GUARD(session_abort_check(&m));
    TSS_GUARD(check_text("SESSION_ABORT text", text, len, 0, TSS_WIRE_MAX_ERROR_TEXT));
    copy_text(m.text, text, len);
    *out = m;
    return TSS_OK_RESULT;
}

/* ---- OP_REQUEST / OP_RESPONSE ------------------------------------------------------ */

static tss_result op_request_check(const tss_wire_op_request *m) {
    const char *name = tss_wire_op_name(m->command);
    TSS_ENSURE(name != NULL, TSS_E_INVALID, "OP_REQUEST command: unknown command %u",
               m->command);
    TSS_GUARD(check_id_list("OP_REQUEST parties", m->parties, m->count));
    bool keygen = m->command == TSS_WIRE_OP_KEYGEN, sign = m->command == TSS_WIRE_OP_SIGN,
         presign = m->command == TSS_WIRE_OP_PRESIGN;
    if (keygen) {
        TSS_ENSURE(m->threshold >= 2 && m->threshold <= TSS_WIRE_MAX_PARTIES, TSS_E_INVALID,
                   "OP_REQUEST keygen threshold: %u outside 2..%u", m->threshold,
                   TSS_WIRE_MAX_PARTIES);
        TSS_ENSURE(m->count == 0 || m->count >= m->threshold, TSS_E_INVALID,
                   "OP_REQUEST keygen: %u parties for threshold %u", m->count, m->threshold);
    } else {
        TSS_ENSURE(m->threshold == 0, TSS_E_INVALID, "OP_REQUEST %s: threshold must be 0", name);
    }
    TSS_ENSURE(keygen || sign || presign || m->count == 0, TSS_E_INVALID,
               "OP_REQUEST %s: no parties expected", name);
    TSS_ENSURE(sign || all_zero(m->digest, sizeof m->digest), TSS_E_INVALID,
               "OP_REQUEST %s: digest must be zero", name);
    if (presign)
        TSS_ENSURE(m->presign_count >= 1 && m->presign_count <= TSS_WIRE_MAX_PRESIGN_COUNT,
                   TSS_E_INVALID, "OP_REQUEST presign count: %u outside 1..%u", m->presign_count,
                   TSS_WIRE_MAX_PRESIGN_COUNT);
    else
        TSS_ENSURE(m->presign_count == 0, TSS_E_INVALID, "OP_REQUEST %s: presign count must be 0",
                   name);
    TSS_ENSURE((m->flags & ~TSS_WIRE_OP_FLAGS) == 0 && (sign || m->flags == 0), TSS_E_INVALID,
               "OP_REQUEST %s: flags 0x%02x not allowed", name, m->flags);
    TSS_ENSURE(sign || presign || m->path.depth == 0, TSS_E_INVALID,
               "OP_REQUEST %s: no derivation path expected", name);
    for (unsigned i = 0; i < m->path.depth; i++)
        TSS_ENSURE(m->path.index[i] < TSS_BIP32_HARDENED, TSS_E_INVALID,
                   "OP_REQUEST path: level %u is hardened (index >= 2^31); hardened derivation "
                   "needs the parent private key, which no party holds", i + 1);
    return content_check("OP_REQUEST", sign, m->request_len, m->approvals_len);
}

tss_result tss_wire_op_request_encode(tss_writer *w, const tss_wire_op_request *m) {
    size_t kl;
    TSS_GUARD(op_request_check(m));
    TSS_GUARD(key_id_out("OP_REQUEST key_id", m->key_id, m->command == TSS_WIRE_OP_KEYS ? 0 : 1,
                         &kl));
    tss_write_u32(w, m->request_id);
    tss_write_u8(w, m->command);
    tss_write_var(w, m->key_id, kl);
    tss_write_u16(w, m->threshold);
    write_id_list(w, m->parties, m->count);
    tss_write_bytes(w, m->digest, sizeof m->digest);
    tss_write_u16(w, m->presign_count);
    tss_write_u8(w, m->flags);
    tss_bip32_path_write(w, &m->path);
    content_write(w, m->request, m->request_len, m->approvals, m->approvals_len);
    return tss_writer_status(w, "OP_REQUEST");
}

tss_result tss_wire_op_request_decode(tss_wire_op_request *out, const uint8_t *p, size_t n) {
    tss_reader r;
    tss_wire_op_request m;
    memset(&m, 0, sizeof m);
    tss_reader_init(&r, p, n);
    m.request_id = tss_read_u32(&r);
    m.command = tss_read_u8(&r);
    TSS_GUARD(read_key_id(&r, "OP_REQUEST key_id", m.command == TSS_WIRE_OP_KEYS ? 0 : 1,
                          m.key_id));
    m.threshold = tss_read_u16(&r);
    TSS_GUARD(read_id_list(&r, "OP_REQUEST parties", m.parties, &m.count));
    tss_read_bytes(&r, m.digest, sizeof m.digest);
    m.presign_count = tss_read_u16(&r);
    m.flags = tss_read_u8(&r);
    TSS_GUARD(tss_bip32_path_read(&r, &m.path));
    TSS_GUARD(content_read(&r, "OP_REQUEST", &m.request, &m.request_len, &m.approvals,
                           &m.approvals_len));
    TSS_GUARD(tss_reader_finish(&r, "OP_REQUEST"));
    TSS_GUARD(op_request_check(&m));
    *out = m;
    return TSS_OK_RESULT;
}

static tss_result key_info_check(const tss_wire_key_info *k) {
    TSS_GUARD(check_id_list("key parties", k->parties, k->count));
    TSS_ENSURE(k->threshold >= 2 && k->threshold <= k->count, TSS_E_INVALID,
               "key %s: threshold %u outside 2..%u", k->key_id, k->threshold, k->count);
    TSS_ENSURE(k->public_key[0] == 2 || k->public_key[0] == 3, TSS_E_INVALID,
               "key %s: public key is not a compressed point", k->key_id);
    TSS_ENSURE(k->has_chain_code <= 1, TSS_E_INVALID, "key %s: has_chain_code %u", k->key_id,
               k->has_chain_code);
    return TSS_OK_RESULT;
}

static tss_result op_response_check(const tss_wire_op_response *m) {
    TSS_ENSURE(tss_wire_op_name(m->command) != NULL, TSS_E_INVALID,
               "OP_RESPONSE command: unknown command %u", m->command);
    TSS_ENSURE(m->key_count <= TSS_WIRE_MAX_KEYS, TSS_E_TOO_LARGE,
               "OP_RESPONSE: %zu keys exceed %u", m->key_count, TSS_WIRE_MAX_KEYS);
    if (m->culprit) TSS_GUARD(check_party("OP_RESPONSE culprit", m->culprit));
    TSS_ENSURE(m->has_signature <= 1, TSS_E_INVALID, "OP_RESPONSE: has_signature %u",
               m->has_signature);
    if (m->has_signature) {
        TSS_ENSURE(m->recid <= 1, TSS_E_INVALID, "OP_RESPONSE: recovery id %u", m->recid);
        TSS_GUARD(check_id_list("OP_RESPONSE signers", m->signers, m->signer_count));
    }
    return TSS_OK_RESULT;
}

static bool lifecycle_section(const tss_wire_op_response *m) {
    for (size_t i = 0; i < m->key_count; i++)
        if (m->keys[i].epoch || m->keys[i].retired) return true;
    return false;
}

tss_result tss_wire_op_response_encode(tss_writer *w, const tss_wire_op_response *m) {
    size_t len;
    TSS_GUARD(op_response_check(m));
    TSS_GUARD(text_len("OP_RESPONSE text", m->text, 0, TSS_WIRE_MAX_ERROR_TEXT, &len));
    tss_write_u32(w, m->request_id);
    tss_write_u8(w, m->command);
    tss_write_u16(w, m->status);
    tss_write_u16(w, m->culprit);
    tss_write_var(w, m->text, len);
    tss_write_bytes(w, m->session_id, sizeof m->session_id);
    tss_write_u16(w, (uint16_t)m->key_count);
    for (size_t i = 0; i < m->key_count; i++) {
        const tss_wire_key_info *k = &m->keys[i];
        size_t kl;
        TSS_GUARD(key_id_out("OP_RESPONSE key_id", k->key_id, 1, &kl));
        TSS_GUARD(key_info_check(k));
        tss_write_var(w, k->key_id, kl);
        tss_write_u16(w, k->threshold);
        write_id_list(w, k->parties, k->count);
        tss_write_bytes(w, k->public_key, sizeof k->public_key);
        tss_write_u8(w, k->has_chain_code);
        if (k->has_chain_code) tss_write_bytes(w, k->chain_code, sizeof k->chain_code);
        tss_write_u32(w, k->presignatures);
        tss_write_u64(w, k->created_ms);
        TSS_ENSURE(k->retired <= 1 && (k->retired || k->retired_ms == 0), TSS_E_INVALID,
                   "key %s: retired %u at %llu", k->key_id, k->retired,
                   (unsigned long long)k->retired_ms);
    }
    tss_write_u8(w, m->has_signature);
    if (m->has_signature) {
        tss_write_bytes(w, m->r, 32);
        tss_write_bytes(w, m->s, 32);
        tss_write_u8(w, m->recid);
        tss_write_bytes(w, m->digest, sizeof m->digest);
        write_id_list(w, m->signers, m->signer_count);
    }
    tss_write_u16(w, m->presigned);
    /* Lifecycle section (issue 17): present exactly when some key has an
     * epoch or is retired, so every response has one encoding. */
    if (lifecycle_section(m))
        for (size_t i = 0; i < m->key_count; i++) {
            tss_write_u32(w, m->keys[i].epoch);
            tss_write_u8(w, m->keys[i].retired);
            tss_write_u64(w, m->keys[i].retired_ms);
        }
    return tss_writer_status(w, "OP_RESPONSE");
}

tss_result tss_wire_op_response_decode(tss_wire_op_response *out, const uint8_t *p, size_t n) {
    tss_reader r;
    tss_wire_op_response m;
    size_t len;
    memset(&m, 0, sizeof m);
    tss_reader_init(&r, p, n);
    m.request_id = tss_read_u32(&r);
    m.command = tss_read_u8(&r);
    m.status = tss_read_u16(&r);
    m.culprit = tss_read_u16(&r);
    const uint8_t *text = tss_read_var(&r, TSS_WIRE_MAX_ERROR_TEXT, &len);
    TSS_GUARD(tss_reader_status(&r, "OP_RESPONSE"));
    TSS_GUARD(check_text("OP_RESPONSE text", text, len, 0, TSS_WIRE_MAX_ERROR_TEXT));
    copy_text(m.text, text, len);
    tss_read_bytes(&r, m.session_id, sizeof m.session_id);
    m.key_count = tss_read_u16(&r);
    TSS_GUARD(tss_reader_status(&r, "OP_RESPONSE"));
    TSS_ENSURE(m.key_count <= TSS_WIRE_MAX_KEYS, TSS_E_TOO_LARGE,
               "OP_RESPONSE: %zu keys exceed %u", m.key_count, TSS_WIRE_MAX_KEYS);
    /* Each record is at least 1+2+1+33+1+4+8 bytes: refuse a count the payload cannot hold
     * before allocating. */
    TSS_ENSURE(m.key_count * 50 <= tss_reader_remaining(&r), TSS_E_TRUNCATED,
               "OP_RESPONSE: %zu keys do not fit in %zu bytes", m.key_count,
               tss_reader_remaining(&r));
    tss_result res = TSS_OK_RESULT;
    if (m.key_count) {
        m.keys = calloc(m.key_count, sizeof *m.keys);
        TSS_ENSURE(m.keys != NULL, TSS_E_NOMEM, "no memory for %zu keys", m.key_count);
    }
    for (size_t i = 0; tss_is_ok(res) && i < m.key_count; i++) {
        tss_wire_key_info *k = &m.keys[i];
        res = read_key_id(&r, "OP_RESPONSE key_id", 1, k->key_id);
        if (!tss_is_ok(res)) break;
        k->threshold = tss_read_u16(&r);
        res = read_id_list(&r, "OP_RESPONSE key parties", k->parties, &k->count);
        if (!tss_is_ok(res)) break;
        tss_read_bytes(&r, k->public_key, sizeof k->public_key);
        k->has_chain_code = tss_read_u8(&r);
        if (k->has_chain_code == 1) tss_read_bytes(&r, k->chain_code, sizeof k->chain_code);
        k->presignatures = tss_read_u32(&r);
        k->created_ms = tss_read_u64(&r);
        res = tss_reader_status(&r, "OP_RESPONSE");
        if (tss_is_ok(res)) res = key_info_check(k);
    }
    if (tss_is_ok(res)) {
        m.has_signature = tss_read_u8(&r);
        if (m.has_signature == 1) {
            tss_read_bytes(&r, m.r, 32);
            tss_read_bytes(&r, m.s, 32);
            m.recid = tss_read_u8(&r);
            tss_read_bytes(&r, m.digest, sizeof m.digest);
            res = read_id_list(&r, "OP_RESPONSE signers", m.signers, &m.signer_count);
        }
    }
    if (tss_is_ok(res)) m.presigned = tss_read_u16(&r);
    if (tss_is_ok(res) && tss_reader_remaining(&r) > 0) { /* lifecycle section */
        for (size_t i = 0; i < m.key_count; i++) {
            tss_wire_key_info *k = &m.keys[i];
            k->epoch = tss_read_u32(&r);
            k->retired = tss_read_u8(&r);
            k->retired_ms = tss_read_u64(&r);
            if (!r.err && (k->retired > 1 || (!k->retired && k->retired_ms))) {
                res = tss_fail(TSS_E_INVALID, "OP_RESPONSE key %s: retired %u at %llu",
                               k->key_id, k->retired, (unsigned long long)k->retired_ms);
                break;
            }
        }
        if (tss_is_ok(res) && !r.err && !lifecycle_section(&m))
            res = tss_fail(TSS_E_INVALID, "OP_RESPONSE: an all-zero lifecycle section");
    }
    if (tss_is_ok(res)) res = tss_reader_finish(&r, "OP_RESPONSE");
    if (tss_is_ok(res)) res = op_response_check(&m);
    if (!tss_is_ok(res)) {
        free(m.keys);
        return res;
    }
    *out = m;
    return TSS_OK_RESULT;
}

void tss_wire_op_response_free(tss_wire_op_response *m) {
    if (!m) return;
    free(m->keys);
    m->keys = NULL;
    m->key_count = 0;
}

/* ---- KEY_RETIRE / KEY_RETIRED ------------------------------------------------------ */

const char *tss_wire_retire_result_name(unsigned result) {
    switch (result) {
    case TSS_WIRE_RETIRE_ERASED: return "erased";
    case TSS_WIRE_RETIRE_ABSENT: return "absent";
    case TSS_WIRE_RETIRE_REFUSED: return "refused";
    case TSS_WIRE_RETIRE_FAILED: return "failed";
    default: return NULL;
    }
}

tss_result tss_wire_key_retire_encode(tss_writer *w, const tss_wire_key_retire *m, bool reply) {
    const char *what = reply ? "KEY_RETIRED" : "KEY_RETIRE";
    size_t kl, tl;
    TSS_GUARD(key_id_out(what, m->key_id, 1, &kl));
    TSS_GUARD(text_len(what, m->text, 0, TSS_WIRE_MAX_ERROR_TEXT, &tl));
    if (!reply) {
        TSS_ENSURE(m->result == 0 && tl == 0, TSS_E_INVALID, "KEY_RETIRE: result/text not empty");
    } else {
        TSS_ENSURE(tss_wire_retire_result_name(m->result) != NULL, TSS_E_INVALID,
                   "KEY_RETIRED: unknown result %u", m->result);
    }
    tss_write_var(w, m->key_id, kl);
    if (reply) {
        tss_write_u8(w, m->result);
        tss_write_var(w, m->text, tl);
    }
    return tss_writer_status(w, what);
}

tss_result tss_wire_key_retire_decode(tss_wire_key_retire *out, const uint8_t *p, size_t n,
                                      bool reply) {
    const char *what = reply ? "KEY_RETIRED" : "KEY_RETIRE";
    tss_reader r;
    tss_wire_key_retire m;
    memset(&m, 0, sizeof m);
    tss_reader_init(&r, p, n);
    TSS_GUARD(read_key_id(&r, what, 1, m.key_id));
    if (reply) {
        m.result = tss_read_u8(&r);
        size_t len;
        const uint8_t *text = tss_read_var(&r, TSS_WIRE_MAX_ERROR_TEXT, &len);
        TSS_GUARD(tss_reader_status(&r, what));
        TSS_GUARD(check_text("KEY_RETIRED text", text, len, 0, TSS_WIRE_MAX_ERROR_TEXT));
        copy_text(m.text, text, len);
        TSS_ENSURE(tss_wire_retire_result_name(m.result) != NULL, TSS_E_INVALID,
                   "KEY_RETIRED: unknown result %u", m.result);
    }
    TSS_GUARD(tss_reader_finish(&r, what));
    *out = m;
    return TSS_OK_RESULT;
}
