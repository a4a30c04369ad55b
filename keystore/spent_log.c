#include "keystore/spent_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "keystore/atomic_file.h"
#include "util/secmem.h"

#define BINDING_LABEL "tssd/v1/spent-log"
#define BINDING_LEN 20

/* ---- id set ----------------------------------------------------------------- */

void tss_id_set_init(tss_id_set *s) {
    memset(s, 0, sizeof *s);
    randombytes_buf(s->key, sizeof s->key);
}

void tss_id_set_free(tss_id_set *s) {
    free(s->ids);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

static size_t slot_of(const tss_id_set *s, const uint8_t id[TSS_SPENT_ID_LEN]) {
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id, TSS_SPENT_ID_LEN, s->key);
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof h; i++) v = v << 8 | h[i];
    return (size_t)(v & (s->nslots - 1));
}

/* Index slot of id, or of the empty slot where it would go. */
static size_t probe(const tss_id_set *s, const uint8_t id[TSS_SPENT_ID_LEN]) {
    size_t i = slot_of(s, id);
    while (s->slots[i] && memcmp(s->ids[s->slots[i] - 1], id, TSS_SPENT_ID_LEN) != 0)
        i = (i + 1) & (s->nslots - 1);
    return i;
}

bool tss_id_set_contains(const tss_id_set *s, const uint8_t id[TSS_SPENT_ID_LEN]) {
    if (!s->nslots) return false;
    return s->slots[probe(s, id)] != 0;
}

static tss_result grow_slots(tss_id_set *s) {
    size_t n = s->nslots ? s->nslots * 2 : 64;
    uint32_t *slots = calloc(n, sizeof *slots);
    TSS_ENSURE(slots, TSS_E_NOMEM, "out of memory for the spent-id index");
    free(s->slots);
    s->slots = slots;
    s->nslots = n;
    for (size_t k = 0; k < s->count; k++) s->slots[probe(s, s->ids[k])] = (uint32_t)(k + 1);
    return TSS_OK_RESULT;
}

tss_result tss_id_set_add(tss_id_set *s, const uint8_t id[TSS_SPENT_ID_LEN], bool *added) {
    *added = false;
    if (tss_id_set_contains(s, id)) return TSS_OK_RESULT;
    TSS_ENSURE(s->count < TSS_SPENT_LOG_ABSOLUTE_MAX, TSS_E_TOO_LARGE, "spent-id set is full");
    if (s->count == s->ids_cap) {
        size_t cap = s->ids_cap ? s->ids_cap * 2 : 32;
        void *p = realloc(s->ids, cap * TSS_SPENT_ID_LEN);
        TSS_ENSURE(p, TSS_E_NOMEM, "out of memory for the spent-id set");
        s->ids = p;
        s->ids_cap = cap;
    }
    /* Load factor at most 1/2. */
    if ((s->count + 1) * 2 > s->nslots) TSS_GUARD(grow_slots(s));
    memcpy(s->ids[s->count], id, TSS_SPENT_ID_LEN);
    s->slots[probe(s, id)] = (uint32_t)(s->count + 1);
    s->count++;
    *added = true;
    return TSS_OK_RESULT;
}

/* ---- format ------------------------------------------------------------------ */

#define MAC_LABEL "tssd/v2/spent-log-mac"
#define HEADER_INDEX UINT64_MAX

static const char *kind_name(tss_spent_kind kind) {
    return kind == TSS_SPENT_PRESIG      ? "presignature"
           : kind == TSS_SPENT_SIGN_SID ? "sign-sid"
                                        : "wire-session";
}

void tss_spent_log_mac_key(uint8_t out[TSS_SPENT_MAC_KEY_LEN], const uint8_t storage_key[32],
                           tss_spent_kind kind, const char *key_id) {
    crypto_generichash_state st;
    uint8_t k = (uint8_t)kind;
    crypto_generichash_init(&st, storage_key, 32, TSS_SPENT_MAC_KEY_LEN);
    crypto_generichash_update(&st, (const uint8_t *)MAC_LABEL, sizeof MAC_LABEL - 1);
    crypto_generichash_update(&st, &k, 1);
    crypto_generichash_update(&st, (const uint8_t *)key_id, strlen(key_id));
    crypto_generichash_final(&st, out, TSS_SPENT_MAC_KEY_LEN);
    sodium_memzero(&st, sizeof st);
}

static void tag_of(uint8_t out[TSS_SPENT_TAG_LEN], const uint8_t mac_key[TSS_SPENT_MAC_KEY_LEN],
                   uint64_t index, const uint8_t body[32]) {
    uint8_t msg[8 + 32];
    for (int i = 0; i < 8; i++) msg[i] = (uint8_t)(index >> (8 * i));
    memcpy(msg + 8, body, 32);
    crypto_generichash(out, TSS_SPENT_TAG_LEN, msg, sizeof msg, mac_key, TSS_SPENT_MAC_KEY_LEN);
}

/* The 32-byte header prefix both versions share (version byte aside). */
static void header_prefix(uint8_t out[32], uint8_t version, tss_spent_kind kind,
                          const char *key_id) {
    memset(out, 0, 32);
    memcpy(out, TSS_SPENT_LOG_MAGIC, 8);
    out[8] = version;
    out[9] = (uint8_t)kind;
    crypto_generichash_state st;
    uint8_t k = (uint8_t)kind;
    crypto_generichash_init(&st, (const uint8_t *)BINDING_LABEL, sizeof BINDING_LABEL - 1,
                            BINDING_LEN);
    crypto_generichash_update(&st, &k, 1);
    crypto_generichash_update(&st, (const uint8_t *)key_id, strlen(key_id));
    crypto_generichash_final(&st, out + 12, BINDING_LEN);
}

void tss_spent_log_header(uint8_t out[TSS_SPENT_HEADER_LEN], tss_spent_kind kind,
                          const char *key_id, const uint8_t mac_key[TSS_SPENT_MAC_KEY_LEN]) {
    header_prefix(out, TSS_SPENT_LOG_VERSION, kind, key_id);
    tag_of(out + 32, mac_key, HEADER_INDEX, out);
}

void tss_spent_log_record(uint8_t out[TSS_SPENT_RECORD_LEN],
                          const uint8_t mac_key[TSS_SPENT_MAC_KEY_LEN], uint64_t index,
                          const uint8_t id[TSS_SPENT_ID_LEN]) {
    memcpy(out, id, TSS_SPENT_ID_LEN);
    tag_of(out + TSS_SPENT_ID_LEN, mac_key, index, id);
}

static bool all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

tss_result tss_spent_log_parse(const uint8_t *data, size_t len, tss_spent_kind kind,
                               const char *key_id, const uint8_t mac_key[TSS_SPENT_MAC_KEY_LEN],
                               size_t max_records, tss_id_set *set, tss_spent_log_scan *scan) {
    if (max_records == 0) max_records = TSS_SPENT_LOG_DEFAULT_MAX;
    if (max_records > TSS_SPENT_LOG_ABSOLUTE_MAX) max_records = TSS_SPENT_LOG_ABSOLUTE_MAX;
    TSS_ENSURE(len >= TSS_SPENT_V1_LEN, TSS_E_CORRUPT,
               "spent-id log is %zu bytes, shorter than its header", len);
    TSS_ENSURE(memcmp(data, TSS_SPENT_LOG_MAGIC, 8) == 0, TSS_E_CORRUPT,
               "not a tssd spent-id log (bad magic)");
    unsigned version = data[8];
    TSS_ENSURE(version == 1 || version == TSS_SPENT_LOG_VERSION, TSS_E_UNSUPPORTED,
               "spent-id log version %u is not supported (this build reads 1 and %u)", version,
               TSS_SPENT_LOG_VERSION);
    TSS_ENSURE(data[9] == (uint8_t)kind, TSS_E_CORRUPT,
               "spent-id log holds kind %u, expected %u (%s ids)", data[9], (unsigned)kind,
               kind_name(kind));
    uint8_t want[32];
    header_prefix(want, (uint8_t)version, kind, key_id);
    TSS_ENSURE(data[10] == 0 && data[11] == 0, TSS_E_CORRUPT,
               "spent-id log header: reserved bytes are not zero");
    TSS_ENSURE(memcmp(data + 12, want + 12, BINDING_LEN) == 0, TSS_E_CORRUPT,
               "spent-id log belongs to another key id than '%s'", key_id);
    size_t hlen = version == 1 ? TSS_SPENT_V1_LEN : TSS_SPENT_HEADER_LEN;
    size_t rlen = version == 1 ? TSS_SPENT_V1_LEN : TSS_SPENT_RECORD_LEN;
    if (version == 1 && len >= TSS_SPENT_HEADER_LEN) {
        /* A version-2 file relabelled as 1 would parse as untagged records. */
        uint8_t v2[32], tag[TSS_SPENT_TAG_LEN];
        memcpy(v2, data, 32);
        v2[8] = TSS_SPENT_LOG_VERSION;
        tag_of(tag, mac_key, HEADER_INDEX, v2);
        TSS_ENSURE(sodium_memcmp(tag, data + 32, sizeof tag) != 0, TSS_E_CORRUPT,
                   "spent-id log header (byte offset 8): a version-2 log with its version byte "
                   "changed to 1");
    }
    if (version != 1) {
        TSS_ENSURE(len >= hlen, TSS_E_CORRUPT,
                   "spent-id log is %zu bytes, shorter than its header", len);
        uint8_t tag[TSS_SPENT_TAG_LEN];
        tag_of(tag, mac_key, HEADER_INDEX, data);
        TSS_ENSURE(sodium_memcmp(tag, data + 32, sizeof tag) == 0, TSS_E_CORRUPT,
                   "spent-id log header (byte offset 0) fails its integrity check (damaged, or "
                   "not this party's log)");
    }

    size_t body = len - hlen;
    size_t full = body / rlen;
    size_t partial = body % rlen;
    TSS_ENSURE(full <= max_records, TSS_E_CORRUPT,
               "spent-id log has %zu records, more than the cap of %zu", full, max_records);
    size_t kept = full;
    const uint8_t *rec = data + hlen;
    for (size_t i = 0; i < full; i++, rec += rlen) {
        size_t off = hlen + i * rlen;
        if (all_zero(rec, rlen)) {
            /* Only the very last record can be a torn (zero-filled) append. */
            TSS_ENSURE(i + 1 == full && partial == 0, TSS_E_CORRUPT,
                       "spent-id log record %zu (byte offset %zu) is all zeros: the log is "
                       "damaged",
                       i, off);
            kept = i;
            break;
        }
        if (version != 1) {
            uint8_t tag[TSS_SPENT_TAG_LEN];
            tag_of(tag, mac_key, i, rec);
            TSS_ENSURE(sodium_memcmp(tag, rec + TSS_SPENT_ID_LEN, sizeof tag) == 0,
                       TSS_E_CORRUPT,
                       "spent-id log record %zu (byte offset %zu) fails its integrity check: "
                       "the log is damaged",
                       i, off);
        }
        TSS_ENSURE(!all_zero(rec, TSS_SPENT_ID_LEN), TSS_E_CORRUPT,
                   "spent-id log record %zu (byte offset %zu) holds a zero id: the log is "
                   "damaged",
                   i, off);
        bool added = false;
        TSS_GUARD(tss_id_set_add(set, rec, &added));
        TSS_ENSURE(added, TSS_E_CORRUPT,
                   "spent-id log record %zu (byte offset %zu) repeats an earlier id: the log "
                   "is damaged",
                   i, off);
    }
    scan->version = version;
    scan->records = kept;
    scan->valid_len = hlen + kept * rlen;
    scan->dropped = len - scan->valid_len;
    return TSS_OK_RESULT;
}

/* ---- the file ------------------------------------------------------------------ */

struct tss_spent_log {
    int fd;
    tss_spent_kind kind;
    size_t len; /* bytes in the file (header + records) */
    size_t max_records;
    size_t repaired;
    bool unverified; /* an append failed: re-read and verify before the next */
    bool migrated;
    uint8_t *mac_key; /* secret memory */
    tss_id_set set;
    char key_id[256];
    char dir[PATH_MAX];
    char name[NAME_MAX + 1];
    char path[PATH_MAX];
};

static tss_result open_locked(const char *path, int *fd_out) {
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return tss_fail(TSS_E_NOT_FOUND, "%s does not exist", path);
        if (errno == ELOOP)
            return tss_fail(TSS_E_PERMISSION, "%s is a symbolic link; refusing it", path);
        if (errno == EACCES)
            return tss_fail(TSS_E_PERMISSION, "cannot open %s: permission denied", path);
        return tss_fail(TSS_E_IO, "cannot open %s: %s", path, strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return tss_fail(TSS_E_IO, "%s is in use by another handle or process", path);
        return tss_fail(TSS_E_IO, "cannot lock %s: %s", path, strerror(e));
    }
    *fd_out = fd;
    return TSS_OK_RESULT;
}

static tss_result read_all(int fd, const char *path, size_t max, uint8_t **out, size_t *out_len) {
    struct stat st;
    TSS_ENSURE(fstat(fd, &st) == 0, TSS_E_IO, "cannot stat %s: %s", path, strerror(errno));
    TSS_ENSURE(S_ISREG(st.st_mode), TSS_E_INVALID, "%s is not a regular file", path);
    TSS_ENSURE(!(st.st_mode & 077), TSS_E_PERMISSION,
               "%s is accessible by group or others (mode %04o); fix: chmod 600 %s", path,
               (unsigned)(st.st_mode & 07777), path);
    TSS_ENSURE((uint64_t)st.st_size <= max, TSS_E_CORRUPT,
               "%s is %lld bytes, more than the %zu allowed", path, (long long)st.st_size, max);
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    TSS_ENSURE(buf, TSS_E_NOMEM, "out of memory reading %s", path);
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            free(buf);
            /* We hold the lock, so the file cannot shrink under us legitimately. */
            return n < 0 ? tss_fail(TSS_E_IO, "read of %s failed: %s", path, strerror(errno))
                         : tss_fail(TSS_E_IO, "%s shrank while being read", path);
        }
        got += (size_t)n;
    }
    *out = buf;
    *out_len = size;
    return TSS_OK_RESULT;
}

/* Name the file and the consequence: the parser's detail knows neither. */
static tss_result damaged(const tss_spent_log *l, tss_result r) {
    char detail[400];
    snprintf(detail, sizeof detail, "%s", tss_error_detail());
    if (r.err != TSS_E_CORRUPT && r.err != TSS_E_UNSUPPORTED)
        return tss_fail(r.err, "%s: %s", l->path, detail);
    return tss_fail(r.err,
                    "%s: %s; key '%s' is refused until an operator acts "
                    "(docs/OPERATIONS.md \"Damaged state files\")",
                    l->path, detail, l->key_id);
}

/* Read and verify the file into set; drop a torn tail durably. */
static tss_result scan_file(tss_spent_log *l, tss_id_set *set, tss_spent_log_scan *scan) {
    size_t max_bytes = TSS_SPENT_HEADER_LEN + (l->max_records + 1) * TSS_SPENT_RECORD_LEN;
    uint8_t *data = NULL;
    size_t len = 0;
    TSS_GUARD(read_all(l->fd, l->path, max_bytes, &data, &len));
    tss_result r = tss_spent_log_parse(data, len, l->kind, l->key_id, l->mac_key, l->max_records,
                                       set, scan);
    free(data);
    if (!tss_is_ok(r)) return damaged(l, r);
    if (scan->dropped) {
        /* The torn tail's append never completed: drop it durably so the
         * next record lands on a record boundary. */
        TSS_ENSURE(ftruncate(l->fd, (off_t)scan->valid_len) == 0, TSS_E_IO,
                   "cannot truncate the torn tail of %s: %s", l->path, strerror(errno));
        TSS_ENSURE(fdatasync(l->fd) == 0, TSS_E_IO, "fdatasync of %s failed: %s", l->path,
                   strerror(errno));
        l->repaired += scan->dropped;
    }
    return TSS_OK_RESULT;
}

/* Write ids as a fresh version-2 log, atomically replacing dir/name. */
static tss_result write_fresh(const char *dir, const char *name, tss_spent_kind kind,
                              const char *key_id, const uint8_t *mac_key, const tss_id_set *set) {
    size_t len = TSS_SPENT_HEADER_LEN + set->count * TSS_SPENT_RECORD_LEN;
    uint8_t *buf = malloc(len);
    TSS_ENSURE(buf, TSS_E_NOMEM, "out of memory writing %s/%s", dir, name);
    tss_spent_log_header(buf, kind, key_id, mac_key);
    for (size_t i = 0; i < set->count; i++)
        tss_spent_log_record(buf + TSS_SPENT_HEADER_LEN + i * TSS_SPENT_RECORD_LEN, mac_key, i,
                             set->ids[i]);
    tss_result r = tss_file_write_atomic(dir, name, buf, len, true, NULL);
    free(buf);
    return r;
}

/* Rewrite a version-1 log as version 2 (atomically) and reopen it. */
static tss_result migrate(tss_spent_log *l) {
    tss_result r = write_fresh(l->dir, l->name, l->kind, l->key_id, l->mac_key, &l->set);
    if (!tss_is_ok(r)) {
        char detail[400];
        snprintf(detail, sizeof detail, "%s", tss_error_detail());
        return tss_fail(r.err, "cannot migrate %s to format version 2: %s", l->path, detail);
    }
    close(l->fd);
    l->fd = -1;
    TSS_GUARD(open_locked(l->path, &l->fd));
    l->migrated = true;
    return TSS_OK_RESULT;
}

static tss_result load(tss_spent_log *l) {
    tss_spent_log_scan scan;
    TSS_GUARD(scan_file(l, &l->set, &scan));
    if (scan.version == 1) {
        TSS_GUARD(migrate(l));
        tss_id_set_free(&l->set);
        tss_id_set_init(&l->set);
        TSS_GUARD(scan_file(l, &l->set, &scan));
    }
    l->len = scan.valid_len;
    return TSS_OK_RESULT;
}

tss_result tss_spent_log_salvage(const char *dir, const char *name, tss_spent_kind kind,
                                 const char *key_id, const uint8_t storage_key[32],
                                 size_t *authentic, size_t *damaged, char *saved,
                                 size_t saved_cap) {
    *authentic = *damaged = 0;
    if (saved_cap) saved[0] = '\0';
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    TSS_ENSURE(n > 0 && (size_t)n < sizeof path, TSS_E_USAGE, "path too long");
    struct stat st;
    TSS_ENSURE(lstat(path, &st) == 0, errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO,
               "%s: %s", path, strerror(errno));
    /* A clean open proves there is nothing to salvage (and migrates v1). */
    tss_spent_log *l = NULL;
    tss_result r = tss_spent_log_open(&l, dir, name, kind, key_id, storage_key, 0);
    if (tss_is_ok(r)) {
        *authentic = tss_spent_log_count(l);
        tss_spent_log_close(l);
        return TSS_OK_RESULT;
    }
    if (r.err != TSS_E_CORRUPT && r.err != TSS_E_UNSUPPORTED) return r;
    int fd = -1;
    TSS_GUARD(open_locked(path, &fd));
    uint8_t *data = NULL;
    size_t len = 0;
    r = read_all(fd, path,
                 TSS_SPENT_HEADER_LEN + (TSS_SPENT_LOG_ABSOLUTE_MAX + 1) * TSS_SPENT_RECORD_LEN,
                 &data, &len);
    uint8_t *mk = tss_secret_alloc(TSS_SPENT_MAC_KEY_LEN);
    if (tss_is_ok(r) && !mk) r = tss_fail(TSS_E_NOMEM, "out of secret memory");
    tss_id_set set;
    tss_id_set_init(&set);
    if (tss_is_ok(r)) {
        tss_spent_log_mac_key(mk, storage_key, kind, key_id);
        /* The version byte decides the record size; a damaged one means 2. */
        bool v1 = len >= 9 && data[8] == 1;
        size_t hl = v1 ? TSS_SPENT_V1_LEN : TSS_SPENT_HEADER_LEN;
        size_t rl = v1 ? TSS_SPENT_V1_LEN : TSS_SPENT_RECORD_LEN;
        for (size_t i = 0; tss_is_ok(r) && len >= hl && i < (len - hl) / rl; i++) {
            const uint8_t *rec = data + hl + i * rl;
            if (all_zero(rec, TSS_SPENT_ID_LEN)) {
                (*damaged)++;
                continue;
            }
            uint8_t tag[TSS_SPENT_TAG_LEN];
            if (!v1) tag_of(tag, mk, i, rec);
            if (!v1 && sodium_memcmp(tag, rec + TSS_SPENT_ID_LEN, sizeof tag) != 0) (*damaged)++;
            else (*authentic)++;
            bool added = false;
            r = tss_id_set_add(&set, rec, &added);
        }
    }
    free(data);
    if (tss_is_ok(r)) {
        /* Keep the damaged file for analysis, then replace it. */
        char bak[PATH_MAX + 32];
        snprintf(bak, sizeof bak, "%s.damaged-%lld", path, (long long)time(NULL));
        if (link(path, bak) != 0)
            r = tss_fail(TSS_E_IO, "cannot keep a copy as %s: %s", bak, strerror(errno));
        else if (saved_cap)
            snprintf(saved, saved_cap, "%s", bak);
    }
    if (tss_is_ok(r)) r = write_fresh(dir, name, kind, key_id, mk, &set);
    tss_secret_free(mk);
    tss_id_set_free(&set);
    close(fd);
    return r;
}

tss_result tss_spent_log_open(tss_spent_log **out, const char *dir, const char *name,
                              tss_spent_kind kind, const char *key_id,
                              const uint8_t storage_key[32], size_t max_records) {
    TSS_ENSURE(kind == TSS_SPENT_PRESIG || kind == TSS_SPENT_SIGN_SID ||
                   kind == TSS_SPENT_WIRE_SESSION,
               TSS_E_USAGE,
               "unknown spent-log kind");
    TSS_ENSURE(strlen(key_id) < 256 && strlen(name) <= NAME_MAX, TSS_E_USAGE,
               "key id or file name too long");
    tss_spent_log *l = calloc(1, sizeof *l);
    TSS_ENSURE(l, TSS_E_NOMEM, "out of memory");
    l->fd = -1;
    l->kind = kind;
    l->max_records = max_records == 0 ? TSS_SPENT_LOG_DEFAULT_MAX
                     : max_records > TSS_SPENT_LOG_ABSOLUTE_MAX ? TSS_SPENT_LOG_ABSOLUTE_MAX
                                                                : max_records;
    tss_id_set_init(&l->set);
    snprintf(l->key_id, sizeof l->key_id, "%s", key_id);
    snprintf(l->name, sizeof l->name, "%s", name);
    tss_result r = TSS_OK_RESULT;
    l->mac_key = tss_secret_alloc(TSS_SPENT_MAC_KEY_LEN);
    if (!l->mac_key) {
        r = tss_fail(TSS_E_NOMEM, "out of secret memory");
        goto fail;
    }
    tss_spent_log_mac_key(l->mac_key, storage_key, kind, key_id);
    int n = snprintf(l->path, sizeof l->path, "%s/%s", dir, name);
    int m = snprintf(l->dir, sizeof l->dir, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof l->path || m <= 0 || (size_t)m >= sizeof l->dir) {
        r = tss_fail(TSS_E_USAGE, "path too long: %s/%s", dir, name);
        goto fail;
    }
    r = open_locked(l->path, &l->fd);
    if (r.err == TSS_E_NOT_FOUND) {
        uint8_t header[TSS_SPENT_HEADER_LEN];
        tss_spent_log_header(header, kind, key_id, l->mac_key);
        r = tss_file_write_atomic(dir, name, header, sizeof header, false, NULL);
        if (r.err == TSS_E_EXISTS) r = TSS_OK_RESULT; /* created concurrently */
        if (tss_is_ok(r)) r = open_locked(l->path, &l->fd);
    }
    if (tss_is_ok(r)) r = load(l);
    if (!tss_is_ok(r)) goto fail;
    *out = l;
    return TSS_OK_RESULT;
fail:
    tss_spent_log_close(l);
    return r;
}

bool tss_spent_log_contains(const tss_spent_log *l, const uint8_t id[TSS_SPENT_ID_LEN]) {
    return tss_id_set_contains(&l->set, id);
}

/* After a failed append: re-read the file and verify it. Every id on disk
 * must be one this handle knows (it holds the lock, so nobody else writes);
 * ids in memory but not on disk (the failed appends) stay refused. */
static tss_result reverify(tss_spent_log *l) {
    tss_id_set disk;
    tss_id_set_init(&disk);
    tss_spent_log_scan scan;
    tss_result r = scan_file(l, &disk, &scan);
    if (tss_is_ok(r) && scan.version != TSS_SPENT_LOG_VERSION)
        r = tss_fail(TSS_E_CORRUPT, "%s changed format version while open", l->path);
    for (size_t i = 0; tss_is_ok(r) && i < disk.count; i++)
        if (!tss_id_set_contains(&l->set, disk.ids[i]))
            r = tss_fail(TSS_E_CORRUPT,
                         "%s: record %zu holds an id this process never wrote (the file was "
                         "changed while open); key '%s' is refused until an operator acts",
                         l->path, i, l->key_id);
    /* Ids in memory but not on disk are the failed appends' ids: they were
     * never acknowledged, stay refused here, and the file stays a valid
     * prefix numbered by disk.count. */
    if (tss_is_ok(r)) {
        l->len = scan.valid_len;
        l->unverified = false;
    }
    tss_id_set_free(&disk);
    return r;
}

tss_result tss_spent_log_append(tss_spent_log *l, const uint8_t id[TSS_SPENT_ID_LEN]) {
    if (l->unverified) TSS_GUARD(reverify(l));
    TSS_ENSURE(!tss_id_set_contains(&l->set, id), TSS_E_PROTOCOL,
               "id already recorded in %s: refusing to use it again", l->path);
    TSS_ENSURE(!all_zero(id, TSS_SPENT_ID_LEN), TSS_E_INVALID, "refusing an all-zero id");
    TSS_ENSURE(l->set.count < l->max_records, TSS_E_TOO_LARGE,
               "%s is full (%zu ids): generate a new key", l->path, l->max_records);
    /* In memory first: whatever happens on disk, this handle refuses the id. */
    bool added = false;
    TSS_GUARD(tss_id_set_add(&l->set, id, &added));
    uint8_t rec[TSS_SPENT_RECORD_LEN];
    size_t index = (l->len - TSS_SPENT_HEADER_LEN) / TSS_SPENT_RECORD_LEN;
    tss_spent_log_record(rec, l->mac_key, index, id);
    const uint8_t *p = rec;
    size_t left = TSS_SPENT_RECORD_LEN;
    off_t at = (off_t)l->len;
    while (left) {
        ssize_t n = pwrite(l->fd, p, left, at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            l->unverified = true;
            return tss_fail(TSS_E_IO,
                            "append to %s failed: %s (the id stays refused; the log is "
                            "re-verified on its next use)",
                            l->path, n < 0 ? strerror(errno) : "short write");
        }
        p += n;
        at += n;
        left -= (size_t)n;
    }
    if (fdatasync(l->fd) != 0) {
        l->unverified = true;
        return tss_fail(TSS_E_IO,
                        "fdatasync of %s failed: %s (the id stays refused; the log is "
                        "re-verified on its next use)",
                        l->path, strerror(errno));
    }
    l->len += TSS_SPENT_RECORD_LEN;
    return TSS_OK_RESULT;
}

size_t tss_spent_log_count(const tss_spent_log *l) { return l->set.count; }
size_t tss_spent_log_repaired(const tss_spent_log *l) { return l->repaired; }
bool tss_spent_log_migrated(const tss_spent_log *l) { return l->migrated; }
const char *tss_spent_log_path(const tss_spent_log *l) { return l->path; }

void tss_spent_log_close(tss_spent_log *l) {
    if (!l) return;
    if (l->fd >= 0) close(l->fd);
    tss_secret_free(l->mac_key);
    tss_id_set_free(&l->set);
    free(l);
}
