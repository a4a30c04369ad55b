#include "eth/rlp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- encoding ---- */

static void put_header(tss_writer *w, uint8_t offset, size_t len) {
    if (len <= 55) {
        tss_write_u8(w, (uint8_t)(offset + len));
        return;
    }
    uint8_t be[sizeof(size_t)];
    size_t n = 0;
    for (size_t v = len; v; v >>= 8) n++;
    for (size_t i = 0; i < n; i++) be[i] = (uint8_t)(len >> (8 * (n - 1 - i)));
    tss_write_u8(w, (uint8_t)(offset + 55 + n));
    tss_write_bytes(w, be, n);
}

void tss_rlp_put_bytes(tss_writer *w, const void *p, size_t n) {
    const uint8_t *b = p;
    if (n == 1 && b[0] < 0x80) {
        tss_write_u8(w, b[0]);
        return;
    }
    put_header(w, 0x80, n);
    tss_write_bytes(w, p, n);
}

void tss_rlp_put_uint_be(tss_writer *w, const uint8_t *be, size_t n) {
    while (n > 0 && be[0] == 0) {
        be++;
        n--;
    }
    tss_rlp_put_bytes(w, be, n);
}

void tss_rlp_put_u64(tss_writer *w, uint64_t v) {
    uint8_t be[8];
    for (size_t i = 0; i < 8; i++) be[i] = (uint8_t)(v >> (56 - 8 * i));
    tss_rlp_put_uint_be(w, be, sizeof be);
}

void tss_rlp_put_u256(tss_writer *w, const uint8_t be[32]) { tss_rlp_put_uint_be(w, be, 32); }

void tss_rlp_put_list_header(tss_writer *w, size_t payload_len) { put_header(w, 0xc0, payload_len); }

void tss_rlp_put_list(tss_writer *w, const tss_writer *payload) {
    if (payload->err) {
        if (!w->err) w->err = payload->err;
        return;
    }
    tss_rlp_put_list_header(w, payload->len);
    tss_write_bytes(w, payload->data, payload->len);
}

/* ---- decoding ---- */

/* Mark r failed and return a result naming the field, the rule and the offset. */
__attribute__((format(printf, 4, 5))) static tss_result rlp_fail(tss_reader *r, tss_err err,
                                                                 const char *what,
                                                                 const char *fmt, ...) {
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t pos = r->pos;
    tss_reader_set_error(r, err);
    return tss_fail(err, "rlp %s: %s (offset %zu)", what, msg, pos);
}

/* A long-form length: n big-endian bytes, minimal, above 55, within the input. */
static tss_result read_long_len(tss_reader *r, size_t n, size_t *out, const char *what) {
    if (n > sizeof(size_t)) return rlp_fail(r, TSS_E_TOO_LARGE, what, "length of length %zu", n);
    const uint8_t *p = tss_read_view(r, n);
    if (!p) return rlp_fail(r, TSS_E_TRUNCATED, what, "length bytes cut off");
    if (p[0] == 0) return rlp_fail(r, TSS_E_INVALID, what, "length has a leading zero byte");
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len = (len << 8) | p[i];
    if (len <= 55)
        return rlp_fail(r, TSS_E_INVALID, what, "long form used for length %zu <= 55", len);
    *out = len;
    return TSS_OK_RESULT;
}

tss_result tss_rlp_read_item(tss_reader *r, tss_rlp_item *item, const char *what) {
    TSS_GUARD(tss_reader_status(r, what));
    const uint8_t *head = tss_read_view(r, 1);
    if (!head) return rlp_fail(r, TSS_E_TRUNCATED, what, "item missing");
    uint8_t b = head[0];
    size_t len;
    bool is_list = b >= 0xc0;
    if (b < 0x80) {
        *item = (tss_rlp_item){false, head, 1};
        return TSS_OK_RESULT;
    } else if (b <= 0xb7) {
        len = (size_t)(b - 0x80);
    } else if (b <= 0xbf) {
        TSS_GUARD(read_long_len(r, (size_t)(b - 0xb7), &len, what));
    } else if (b <= 0xf7) {
        len = (size_t)(b - 0xc0);
    } else {
        TSS_GUARD(read_long_len(r, (size_t)(b - 0xf7), &len, what));
    }
    size_t left = tss_reader_remaining(r);
    if (len > left)
        return rlp_fail(r, TSS_E_TRUNCATED, what, "payload of %zu bytes but only %zu left", len,
                        left);
    const uint8_t *p = tss_read_view(r, len);
    if (!is_list && len == 1 && p[0] < 0x80)
        return rlp_fail(r, TSS_E_INVALID, what,
                        "single byte 0x%02x below 0x80 must be encoded as itself", p[0]);
    *item = (tss_rlp_item){is_list, p, len};
    return TSS_OK_RESULT;
}

tss_result tss_rlp_read_list(tss_reader *r, tss_reader *inner, const char *what) {
    tss_rlp_item it;
    tss_reader_init(inner, NULL, 0);
    TSS_GUARD(tss_rlp_read_item(r, &it, what));
    if (!it.is_list) return rlp_fail(r, TSS_E_INVALID, what, "expected a list, got a string");
    tss_reader_init(inner, it.payload, it.len);
    return TSS_OK_RESULT;
}

tss_result tss_rlp_end_list(tss_reader *r, const tss_reader *inner, const char *what) {
    if (inner->err) {
        tss_reader_set_error(r, inner->err);
        return tss_reader_status(inner, what);
    }
    size_t extra = inner->len - inner->pos;
    if (extra) return rlp_fail(r, TSS_E_TRAILING, what, "%zu bytes of extra items in list", extra);
    return TSS_OK_RESULT;
}

tss_result tss_rlp_read_string(tss_reader *r, size_t max_len, const uint8_t **p, size_t *len,
                               const char *what) {
    tss_rlp_item it;
    *p = NULL;
    *len = 0;
    TSS_GUARD(tss_rlp_read_item(r, &it, what));
    if (it.is_list) return rlp_fail(r, TSS_E_INVALID, what, "expected a string, got a list");
    if (it.len > max_len)
        return rlp_fail(r, TSS_E_TOO_LARGE, what, "%zu bytes exceeds limit %zu", it.len, max_len);
    *p = it.payload;
    *len = it.len;
    return TSS_OK_RESULT;
}

tss_result tss_rlp_read_fixed(tss_reader *r, uint8_t *out, size_t n, const char *what) {
    const uint8_t *p;
    size_t len;
    TSS_GUARD(tss_rlp_read_string(r, n, &p, &len, what));
    if (len != n) return rlp_fail(r, TSS_E_INVALID, what, "expected %zu bytes, got %zu", n, len);
    memcpy(out, p, n);
    return TSS_OK_RESULT;
}

tss_result tss_rlp_read_uint_be(tss_reader *r, uint8_t *out, size_t width, const char *what) {
    const uint8_t *p;
    size_t len;
    TSS_GUARD(tss_rlp_read_string(r, width, &p, &len, what));
    if (len > 0 && p[0] == 0)
        return rlp_fail(r, TSS_E_INVALID, what, "integer has a leading zero byte");
    memset(out, 0, width - len);
    if (len) memcpy(out + width - len, p, len);
    return TSS_OK_RESULT;
}

tss_result tss_rlp_read_u64(tss_reader *r, uint64_t *out, const char *what) {
    uint8_t be[8];
    TSS_GUARD(tss_rlp_read_uint_be(r, be, sizeof be, what));
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) v = (v << 8) | be[i];
    *out = v;
    return TSS_OK_RESULT;
}

tss_result tss_rlp_read_u256(tss_reader *r, uint8_t out[32], const char *what) {
    return tss_rlp_read_uint_be(r, out, 32, what);
}

/* Walk every item of r; depth is the nesting level of the list r covers. */
static tss_result validate_items(tss_reader *r, unsigned depth) {
    while (tss_reader_remaining(r) > 0) {
        tss_rlp_item it;
        TSS_GUARD(tss_rlp_read_item(r, &it, "item"));
        if (!it.is_list) continue;
        if (depth >= TSS_RLP_MAX_DEPTH)
            return rlp_fail(r, TSS_E_TOO_LARGE, "item", "lists nested deeper than %d",
                            TSS_RLP_MAX_DEPTH);
        tss_reader inner;
        tss_reader_init(&inner, it.payload, it.len);
        tss_result res = validate_items(&inner, depth + 1);
        if (!tss_is_ok(res)) {
            tss_reader_set_error(r, res.err);
            return res;
        }
    }
    return tss_reader_status(r, "rlp");
}

tss_result tss_rlp_validate(const uint8_t *data, size_t len) {
    tss_reader r;
    tss_reader_init(&r, data, len);
    tss_rlp_item it;
    TSS_GUARD(tss_rlp_read_item(&r, &it, "item"));
    if (it.is_list) {
        tss_reader inner;
        tss_reader_init(&inner, it.payload, it.len);
        TSS_GUARD(validate_items(&inner, 1));
    }
    return tss_reader_finish(&r, "rlp");
}
