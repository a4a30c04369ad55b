/* Durable approval nonce record (see policy/approval_nonce.h). */
#include "policy/approval_nonce.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystore/atomic_file.h"
#include "util/bytes.h"
#include "util/secmem.h"

#define MAC_LABEL "tssd/v1/approval-nonce-mac"

struct tss_approval_nonce_store {
    tss_approval_nonce_entry *v; /* ascending by id */
    size_t n, cap;
    uint64_t high_water;
    uint8_t mac_key[32];
    char *dir, *name, *path;
};

void tss_approval_nonce_mac_key(uint8_t out[32], const uint8_t storage_key[32]) {
    crypto_generichash(out, 32, (const uint8_t *)MAC_LABEL, sizeof MAC_LABEL - 1, storage_key,
                       32);
}

static int id_cmp(const void *a, const void *b) {
    return memcmp(((const tss_approval_nonce_entry *)a)->id,
                  ((const tss_approval_nonce_entry *)b)->id, TSS_APPROVAL_NONCE_ID_LEN);
}

tss_result tss_approval_nonce_parse(const uint8_t *data, size_t len, const uint8_t mac_key[32],
                                    tss_approval_nonce_entry **entries, size_t *count,
                                    uint64_t *high_water) {
    *entries = NULL;
    *count = 0;
    *high_water = 0;
    TSS_ENSURE(len >= TSS_APPROVAL_NONCE_HEADER_LEN + 32, TSS_E_CORRUPT,
               "approval nonce record: %zu bytes, shorter than a header and tag", len);
    TSS_ENSURE(len <= TSS_APPROVAL_NONCE_FILE_MAX, TSS_E_CORRUPT,
               "approval nonce record: %zu bytes, larger than the cap", len);
    uint8_t tag[32];
    crypto_generichash(tag, 32, data, len - 32, mac_key, 32);
    TSS_ENSURE(sodium_memcmp(tag, data + len - 32, 32) == 0, TSS_E_CORRUPT,
               "approval nonce record: tag does not verify (edited, damaged, or another "
               "party's file)");
    tss_reader r;
    tss_reader_init(&r, data, len - 32);
    uint8_t magic[8], reserved[3];
    tss_read_bytes(&r, magic, 8);
    uint8_t version = tss_read_u8(&r);
    tss_read_bytes(&r, reserved, 3);
    uint64_t hw = tss_read_u64(&r);
    uint32_t n = tss_read_u32(&r);
    TSS_GUARD(tss_reader_status(&r, "approval nonce record header"));
    TSS_ENSURE(memcmp(magic, TSS_APPROVAL_NONCE_MAGIC, 8) == 0, TSS_E_CORRUPT,
               "approval nonce record: bad magic");
    TSS_ENSURE(version == TSS_APPROVAL_NONCE_VERSION, TSS_E_UNSUPPORTED,
               "approval nonce record: version %u not supported", version);
    TSS_ENSURE(reserved[0] == 0 && reserved[1] == 0 && reserved[2] == 0, TSS_E_CORRUPT,
               "approval nonce record: reserved bytes not zero");
    TSS_ENSURE(n <= TSS_APPROVAL_NONCE_MAX, TSS_E_CORRUPT,
               "approval nonce record: %u entries, more than the cap %u", n,
               TSS_APPROVAL_NONCE_MAX);
    TSS_ENSURE(tss_reader_remaining(&r) == (size_t)n * TSS_APPROVAL_NONCE_RECORD_LEN,
               TSS_E_CORRUPT, "approval nonce record: length does not match %u entries", n);
    tss_approval_nonce_entry *v = NULL;
    if (n > 0) {
        v = calloc(n, sizeof *v);
        TSS_ENSURE(v != NULL, TSS_E_NOMEM, "approval nonce record: out of memory");
    }
    for (uint32_t i = 0; i < n; i++) {
        tss_read_bytes(&r, v[i].id, TSS_APPROVAL_NONCE_ID_LEN);
        v[i].expires = tss_read_u64(&r);
        if (i > 0 && memcmp(v[i - 1].id, v[i].id, TSS_APPROVAL_NONCE_ID_LEN) >= 0) {
            free(v);
            return tss_fail(TSS_E_CORRUPT,
                            "approval nonce record: entry %u out of order or duplicate", i);
        }
    }
    tss_result res = tss_reader_finish(&r, "approval nonce record");
    if (!tss_is_ok(res)) {
        free(v);
        return res;
    }
    *entries = v;
    *count = n;
    *high_water = hw;
    return TSS_OK_RESULT;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void tss_approval_nonce_close(tss_approval_nonce_store *s) {
    if (!s) return;
    tss_wipe(s->mac_key, sizeof s->mac_key);
    free(s->v);
    free(s->dir);
    free(s->name);
    free(s->path);
    free(s);
}

tss_result tss_approval_nonce_open(tss_approval_nonce_store **out, const char *dir,
                                   const char *name, const uint8_t mac_key[32]) {
    *out = NULL;
    TSS_GUARD(tss_dir_check_private(dir));
    tss_approval_nonce_store *s = calloc(1, sizeof *s);
    TSS_ENSURE(s != NULL, TSS_E_NOMEM, "out of memory");
    memcpy(s->mac_key, mac_key, 32);
    s->dir = dup_str(dir);
    s->name = dup_str(name);
    size_t plen = strlen(dir) + strlen(name) + 2;
    s->path = malloc(plen);
    if (!s->dir || !s->name || !s->path) {
        tss_approval_nonce_close(s);
        return tss_fail(TSS_E_NOMEM, "out of memory");
    }
    snprintf(s->path, plen, "%s/%s", dir, name);
    uint8_t *file = NULL;
    size_t len = 0;
    tss_result r = tss_file_read_private(dir, name, TSS_APPROVAL_NONCE_FILE_MAX, &file, &len);
    if (r.err == TSS_E_NOT_FOUND) {
        *out = s;
        return TSS_OK_RESULT;
    }
    if (tss_is_ok(r)) {
        r = tss_approval_nonce_parse(file, len, s->mac_key, &s->v, &s->n, &s->high_water);
        s->cap = s->n;
        free(file);
    }
    if (!tss_is_ok(r)) {
        char why[300];
        snprintf(why, sizeof why, "%s", tss_error_detail());
        tss_result f = tss_fail(r.err, "%s: %s", s->path, why);
        tss_approval_nonce_close(s);
        return f;
    }
    *out = s;
    return TSS_OK_RESULT;
}

bool tss_approval_nonce_contains(const tss_approval_nonce_store *s,
                                 const uint8_t id[TSS_APPROVAL_NONCE_ID_LEN]) {
    if (s->n == 0) return false;
    tss_approval_nonce_entry key;
    memcpy(key.id, id, TSS_APPROVAL_NONCE_ID_LEN);
    return bsearch(&key, s->v, s->n, sizeof *s->v, id_cmp) != NULL;
}

uint64_t tss_approval_nonce_time(const tss_approval_nonce_store *s, uint64_t now) {
    return now > s->high_water ? now : s->high_water;
}

size_t tss_approval_nonce_count(const tss_approval_nonce_store *s) { return s->n; }
const char *tss_approval_nonce_path(const tss_approval_nonce_store *s) { return s->path; }

static tss_result write_file(tss_approval_nonce_store *s) {
    tss_writer w;
    tss_writer_init(&w, TSS_APPROVAL_NONCE_FILE_MAX);
    tss_write_bytes(&w, TSS_APPROVAL_NONCE_MAGIC, 8);
    tss_write_u8(&w, TSS_APPROVAL_NONCE_VERSION);
    tss_write_bytes(&w, "\0\0\0", 3);
    tss_write_u64(&w, s->high_water);
    tss_write_u32(&w, (uint32_t)s->n);
    for (size_t i = 0; i < s->n; i++) {
        tss_write_bytes(&w, s->v[i].id, TSS_APPROVAL_NONCE_ID_LEN);
        tss_write_u64(&w, s->v[i].expires);
    }
    tss_result r = tss_writer_status(&w, "approval nonce record");
    if (tss_is_ok(r)) {
        uint8_t tag[32];
        crypto_generichash(tag, 32, w.data, w.len, s->mac_key, 32);
        tss_write_bytes(&w, tag, 32);
        r = tss_writer_status(&w, "approval nonce record");
    }
    if (tss_is_ok(r)) r = tss_file_write_atomic(s->dir, s->name, w.data, w.len, true, NULL);
    tss_writer_free(&w);
    return r;
}

tss_result tss_approval_nonce_record(tss_approval_nonce_store *s,
                                     const tss_approval_nonce_entry *e, size_t n, uint64_t now,
                                     uint32_t skew) {
    for (size_t i = 0; i < n; i++)
        TSS_ENSURE(!tss_approval_nonce_contains(s, e[i].id), TSS_E_PROTOCOL,
                   "approval nonce already used");
    uint64_t t = tss_approval_nonce_time(s, now);
    /* Prune first: an entry whose approval is refused as expired anyway. */
    size_t keep = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!(s->v[i].expires <= UINT64_MAX - skew && s->v[i].expires + skew < t))
            s->v[keep++] = s->v[i];
    s->n = keep;
    TSS_ENSURE(s->n + n <= TSS_APPROVAL_NONCE_MAX, TSS_E_TOO_LARGE,
               "approval nonce record %s is full (%zu live entries): refusing new approvals",
               s->path, s->n);
    if (s->n + n > s->cap) {
        size_t cap = s->n + n + 64;
        if (cap > TSS_APPROVAL_NONCE_MAX) cap = TSS_APPROVAL_NONCE_MAX;
        tss_approval_nonce_entry *v = realloc(s->v, cap * sizeof *v);
        TSS_ENSURE(v != NULL, TSS_E_NOMEM, "out of memory");
        s->v = v;
        s->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        /* Duplicates inside e itself would break the ordering invariant. */
        for (size_t j = 0; j < i; j++)
            TSS_ENSURE(memcmp(e[i].id, e[j].id, TSS_APPROVAL_NONCE_ID_LEN) != 0, TSS_E_PROTOCOL,
                       "approval nonce used twice in one request");
    }
    memcpy(s->v + s->n, e, n * sizeof *e);
    s->n += n;
    qsort(s->v, s->n, sizeof *s->v, id_cmp);
    s->high_water = t;
    /* The entries are in memory (refused) before the write: a failed write fails closed. */
    tss_result r = write_file(s);
    if (!tss_is_ok(r)) {
        char why[300];
        snprintf(why, sizeof why, "%s", tss_error_detail());
        return tss_fail(TSS_E_IO, "%s: recording approval nonces: %s", s->path, why);
    }
    return TSS_OK_RESULT;
}
