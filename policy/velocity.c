/* Durable velocity state (policy/velocity.h).
 *
 * File: magic "TSSVEL1\n" | u64 high-water time (Unix ms) | u32 count |
 * count x (u8 len | rule | u8 len | key id | u64 time | value[32]) |
 * BLAKE2b-256 of everything before it. */
#include "policy/velocity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util/bytes.h"
#include "util/file.h"

#define MAGIC "TSSVEL1\n"
#define NAME_MAX_LEN 64

typedef struct {
    char rule[NAME_MAX_LEN + 1];
    char key[NAME_MAX_LEN + 1];
    uint64_t t;
    uint8_t value[32];
} record;

struct tss_velocity {
    char *dir;
    record *recs;
    size_t n, cap;
    uint64_t high_water; /* latest charge time */
    uint64_t base_wall, base_mono;
};

static tss_result read_name(tss_reader *rd, char out[NAME_MAX_LEN + 1]) {
    uint8_t n = tss_read_u8(rd);
    const uint8_t *p = tss_read_view(rd, n);
    TSS_GUARD(tss_reader_status(rd, "velocity state"));
    TSS_ENSURE(n >= 1 && n <= NAME_MAX_LEN, TSS_E_CORRUPT, "velocity state: bad name length %u", n);
    for (size_t i = 0; i < n; i++)
        TSS_ENSURE(p[i] > 0x20 && p[i] < 0x7f, TSS_E_CORRUPT, "velocity state: bad name byte");
    memcpy(out, p, n);
    out[n] = '\0';
    return TSS_OK_RESULT;
}

/* Parse into recs (may be NULL: count only). */
static tss_result parse(const uint8_t *buf, size_t len, uint64_t *hw, record *recs, size_t *count) {
    TSS_ENSURE(len >= 8 + 8 + 4 + 32, TSS_E_CORRUPT, "velocity state: truncated (%zu bytes)", len);
    TSS_ENSURE(memcmp(buf, MAGIC, 8) == 0, TSS_E_CORRUPT, "velocity state: bad magic");
    uint8_t sum[32];
    crypto_generichash(sum, 32, buf, len - 32, NULL, 0);
    TSS_ENSURE(sodium_memcmp(sum, buf + len - 32, 32) == 0, TSS_E_CORRUPT,
               "velocity state: checksum mismatch (corrupt or truncated)");
    tss_reader rd;
    tss_reader_init(&rd, buf + 8, len - 8 - 32);
    *hw = tss_read_u64(&rd);
    uint32_t n = tss_read_u32(&rd);
    TSS_GUARD(tss_reader_status(&rd, "velocity state"));
    TSS_ENSURE(n <= TSS_VELOCITY_MAX_RECORDS, TSS_E_CORRUPT, "velocity state: %u records", n);
    /* Each record takes at least 1+1+1+1+8+32 bytes: refuse a count the bytes cannot hold. */
    TSS_ENSURE((size_t)n * 44 <= tss_reader_remaining(&rd), TSS_E_CORRUPT,
               "velocity state: record count exceeds the file");
    for (uint32_t i = 0; i < n; i++) {
        record r;
        TSS_GUARD(read_name(&rd, r.rule));
        TSS_GUARD(read_name(&rd, r.key));
        r.t = tss_read_u64(&rd);
        tss_read_bytes(&rd, r.value, 32);
        TSS_GUARD(tss_reader_status(&rd, "velocity state"));
        TSS_ENSURE(r.t <= *hw, TSS_E_CORRUPT, "velocity state: record after the high-water time");
        if (recs) recs[i] = r;
    }
    TSS_GUARD(tss_reader_finish(&rd, "velocity state"));
    *count = n;
    return TSS_OK_RESULT;
}

tss_result tss_velocity_parse(const uint8_t *buf, size_t len, uint64_t *high_water, size_t *count) {
    return parse(buf, len, high_water, NULL, count);
}

static tss_result read_file(const char *path, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) return tss_fail(TSS_E_NOT_FOUND, "%s: absent", path);
    TSS_ENSURE(fd >= 0, TSS_E_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    size_t cap = (size_t)TSS_VELOCITY_MAX_RECORDS * (2 + 2 * NAME_MAX_LEN + 40) + 64;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > cap) {
        close(fd);
        return tss_fail(TSS_E_CORRUPT, "%s: not a regular file of at most %zu bytes", path, cap);
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return tss_fail(TSS_E_NOMEM, "%s: no memory", path);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(buf);
        return tss_fail(TSS_E_IO, "%s: short read", path);
    }
    *out = buf;
    *len = got;
    return TSS_OK_RESULT;
}

tss_result tss_velocity_open(tss_velocity **out, const char *dir, uint64_t wall_ms,
                             uint64_t mono_ms) {
    *out = NULL;
    TSS_ENSURE(sodium_init() >= 0, TSS_E_CRYPTO, "libsodium init");
    tss_velocity *v = calloc(1, sizeof *v);
    TSS_ENSURE(v, TSS_E_NOMEM, "velocity state: no memory");
    v->dir = strdup(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, TSS_VELOCITY_FILE);
    uint8_t *buf = NULL;
    size_t len = 0;
    tss_result r = v->dir ? read_file(path, &buf, &len) : tss_fail(TSS_E_NOMEM, "no memory");
    if (r.err == TSS_E_NOT_FOUND) {
        r = TSS_OK_RESULT;
    } else if (tss_is_ok(r)) {
        size_t n = 0;
        r = parse(buf, len, &v->high_water, NULL, &n);
        if (tss_is_ok(r) && n) {
            v->recs = calloc(n, sizeof *v->recs);
            v->cap = n;
            r = v->recs ? parse(buf, len, &v->high_water, v->recs, &v->n)
                        : tss_fail(TSS_E_NOMEM, "velocity state: no memory");
        }
        if (!tss_is_ok(r)) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s", tss_error_detail());
            r = tss_fail(r.err, "%s: %s (restore it from backup or see docs/OPERATIONS.md "
                         "\"Signing policy\"; deleting it reopens every window)", path, detail);
        }
    }
    free(buf);
    if (!tss_is_ok(r)) {
        tss_velocity_close(v);
        return r;
    }
    v->base_wall = wall_ms > v->high_water ? wall_ms : v->high_water;
    v->base_mono = mono_ms;
    *out = v;
    return TSS_OK_RESULT;
}

void tss_velocity_close(tss_velocity *v) {
    if (!v) return;
    free(v->recs);
    free(v->dir);
    free(v);
}

uint64_t tss_velocity_now(const tss_velocity *v, uint64_t mono_ms) {
    uint64_t now = v->base_wall + (mono_ms > v->base_mono ? mono_ms - v->base_mono : 0);
    return now > v->high_water ? now : v->high_water;
}

static void u256_add_sat(uint8_t acc[32], const uint8_t b[32]) {
    unsigned carry = 0;
    uint8_t out[32];
    for (int i = 31; i >= 0; i--) {
        unsigned s = (unsigned)acc[i] + b[i] + carry;
        out[i] = (uint8_t)s;
        carry = s >> 8;
    }
    if (carry) memset(out, 0xff, 32); /* saturate: a sum past 2^256-1 exceeds any limit */
    memcpy(acc, out, 32);
}

void tss_velocity_sum(void *ctx, const char *rule, const char *key_id, uint64_t since_ms,
                      uint8_t value[32], uint64_t *count) {
    const tss_velocity *v = ctx;
    memset(value, 0, 32);
    *count = 0;
    for (size_t i = 0; i < v->n; i++) {
        const record *r = &v->recs[i];
        if (r->t < since_ms || strcmp(r->rule, rule) != 0 || strcmp(r->key, key_id) != 0) continue;
        u256_add_sat(value, r->value);
        (*count)++;
    }
}

static tss_result persist(const tss_velocity *v, uint64_t hw, size_t n) {
    tss_writer w;
    tss_writer_init(&w, (size_t)TSS_VELOCITY_MAX_RECORDS * (2 + 2 * NAME_MAX_LEN + 40) + 64);
    tss_write_bytes(&w, MAGIC, 8);
    tss_write_u64(&w, hw);
    tss_write_u32(&w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const record *r = &v->recs[i];
        tss_write_u8(&w, (uint8_t)strlen(r->rule));
        tss_write_bytes(&w, r->rule, strlen(r->rule));
        tss_write_u8(&w, (uint8_t)strlen(r->key));
        tss_write_bytes(&w, r->key, strlen(r->key));
        tss_write_u64(&w, r->t);
        tss_write_bytes(&w, r->value, 32);
    }
    tss_result res = tss_writer_status(&w, "velocity state");
    if (tss_is_ok(res)) {
        uint8_t sum[32];
        crypto_generichash(sum, 32, w.data, w.len, NULL, 0);
        tss_write_bytes(&w, sum, 32);
        res = tss_writer_status(&w, "velocity state");
    }
    if (tss_is_ok(res))
        res = tss_file_write_atomic_mode(v->dir, TSS_VELOCITY_FILE, w.data, w.len, 0600, true, NULL);
    tss_writer_free(&w);
    return res;
}

tss_result tss_velocity_charge(tss_velocity *v, const char *rule, const char *key_id,
                               uint64_t now_ms, const uint8_t value[32]) {
    size_t rl = strlen(rule), kl = strlen(key_id);
    TSS_ENSURE(rl >= 1 && rl <= NAME_MAX_LEN && kl >= 1 && kl <= NAME_MAX_LEN, TSS_E_INVALID,
               "velocity: rule and key names are 1..%d bytes", NAME_MAX_LEN);
    if (now_ms < v->high_water) now_ms = v->high_water; /* never back in time */
    /* Prune what no window can reach any more. */
    size_t keep = 0;
    for (size_t i = 0; i < v->n; i++)
        if (now_ms - v->recs[i].t < TSS_VELOCITY_KEEP_MS) v->recs[keep++] = v->recs[i];
    v->n = keep;
    TSS_ENSURE(v->n < TSS_VELOCITY_MAX_RECORDS, TSS_E_TOO_LARGE,
               "velocity state holds %d records in the last 31 days: refusing to charge more",
               TSS_VELOCITY_MAX_RECORDS);
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 64;
        record *nr = realloc(v->recs, ncap * sizeof *nr);
        TSS_ENSURE(nr, TSS_E_NOMEM, "velocity state: no memory");
        v->recs = nr;
        v->cap = ncap;
    }
    record *r = &v->recs[v->n];
    memset(r, 0, sizeof *r);
    memcpy(r->rule, rule, rl);
    memcpy(r->key, key_id, kl);
    r->t = now_ms;
    memcpy(r->value, value, 32);
    TSS_GUARD(persist(v, now_ms, v->n + 1)); /* not counted in memory unless on disk */
    v->n++;
    v->high_water = now_ms;
    return TSS_OK_RESULT;
}
