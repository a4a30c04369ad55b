#include "util/bytes.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/secmem.h"

void tss_reader_init(tss_reader *r, const uint8_t *data, size_t len) {
    r->data = data;
    r->len = data ? len : 0;
    r->pos = 0;
    r->err = TSS_OK;
}

size_t tss_reader_remaining(const tss_reader *r) { return r->err ? 0 : r->len - r->pos; }

void tss_reader_set_error(tss_reader *r, tss_err err) {
    if (r->err == TSS_OK) r->err = err;
}

const uint8_t *tss_read_view(tss_reader *r, size_t n) {
    if (r->err) return NULL;
    if (n > r->len - r->pos) {
        r->err = TSS_E_TRUNCATED;
        return NULL;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

void tss_read_bytes(tss_reader *r, uint8_t *out, size_t n) {
    const uint8_t *p = tss_read_view(r, n);
    if (p)
        memcpy(out, p, n);
    else if (n)
        memset(out, 0, n);
}

static uint64_t read_be(tss_reader *r, size_t n) {
    const uint8_t *p = tss_read_view(r, n);
    uint64_t v = 0;
    if (!p) return 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

uint8_t tss_read_u8(tss_reader *r) { return (uint8_t)read_be(r, 1); }
uint16_t tss_read_u16(tss_reader *r) { return (uint16_t)read_be(r, 2); }
uint32_t tss_read_u32(tss_reader *r) { return (uint32_t)read_be(r, 4); }
uint64_t tss_read_u64(tss_reader *r) { return read_be(r, 8); }

const uint8_t *tss_read_var(tss_reader *r, size_t max_len, size_t *out_len) {
    uint32_t n = tss_read_u32(r);
    *out_len = 0;
    if (r->err) return NULL;
    if (n > max_len) {
        r->err = TSS_E_TOO_LARGE;
        return NULL;
    }
    const uint8_t *p = tss_read_view(r, n);
    if (p) *out_len = n;
    return p;
}

tss_result tss_reader_status(const tss_reader *r, const char *what) {
    if (r->err)
        return tss_fail(r->err, "%s: %s at offset %zu of %zu", what, tss_err_message(r->err),
                        r->pos, r->len);
    return TSS_OK_RESULT;
}

tss_result tss_reader_finish(const tss_reader *r, const char *what) {
    TSS_GUARD(tss_reader_status(r, what));
    TSS_ENSURE(r->pos == r->len, TSS_E_TRAILING, "%s: %zu unexpected trailing bytes", what,
               r->len - r->pos);
    return TSS_OK_RESULT;
}

void tss_writer_init(tss_writer *w, size_t max) {
    w->data = NULL;
    w->len = w->cap = 0;
    w->max = max;
    w->err = TSS_OK;
    w->secret = 0;
}

void tss_writer_init_secret(tss_writer *w, size_t max) {
    tss_writer_init(w, max);
    w->secret = 1;
}

/* Wipes and releases a buffer of the writer's kind. */
static void writer_release(const tss_writer *w, uint8_t *p, size_t cap) {
    if (!p) return;
    if (w->secret) {
        tss_secret_free(p); /* wipes */
        return;
    }
    sodium_memzero(p, cap);
    free(p);
}

static int writer_reserve(tss_writer *w, size_t n) {
    if (w->err) return 0;
    if (n > w->max - w->len) {
        w->err = TSS_E_TOO_LARGE;
        return 0;
    }
    if (w->len + n <= w->cap) return 1;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < w->len + n) cap = cap > w->max / 2 ? w->max : cap * 2;
    /* Grow by copy so the old buffer can be wiped (it may hold secrets). */
    uint8_t *p = w->secret ? tss_secret_alloc(cap) : malloc(cap);
    if (!p) {
        w->err = TSS_E_NOMEM;
        return 0;
    }
    if (w->data) {
        memcpy(p, w->data, w->len);
        writer_release(w, w->data, w->cap);
    }
    w->data = p;
    w->cap = cap;
    return 1;
}

void tss_write_bytes(tss_writer *w, const void *p, size_t n) {
    if (!n || !writer_reserve(w, n)) return;
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

static void write_be(tss_writer *w, uint64_t v, size_t n) {
    uint8_t b[8];
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    tss_write_bytes(w, b, n);
}

void tss_write_u8(tss_writer *w, uint8_t v) { write_be(w, v, 1); }
void tss_write_u16(tss_writer *w, uint16_t v) { write_be(w, v, 2); }
void tss_write_u32(tss_writer *w, uint32_t v) { write_be(w, v, 4); }
void tss_write_u64(tss_writer *w, uint64_t v) { write_be(w, v, 8); }

void tss_write_var(tss_writer *w, const void *p, size_t n) {
    if (n > UINT32_MAX) {
        if (!w->err) w->err = TSS_E_TOO_LARGE;
        return;
    }
    tss_write_u32(w, (uint32_t)n);
    tss_write_bytes(w, p, n);
}

tss_result tss_writer_status(const tss_writer *w, const char *what) {
    if (w->err) return tss_fail(w->err, "%s: %s", what, tss_err_message(w->err));
    return TSS_OK_RESULT;
}

void tss_writer_free(tss_writer *w) {
    int secret = w->secret;
    writer_release(w, w->data, w->cap);
    tss_writer_init(w, w->max);
    w->secret = secret;
}
