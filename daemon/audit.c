#include "daemon/audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "util/bytes.h"
#include "util/file.h"
#include "util/hex.h"
#include "util/log.h"

#define DOMAIN "tssd-audit-v1" /* hashed with its terminating NUL */
#define FORMAT "tssd-audit-1"
#define NAME_PREFIX "audit-"
#define NAME_LEN (6 + 8 + 1 + 16 + 4) /* audit-NNNNNNNN-YYYYmmddTHHMMSSZ.log */
#define MAX_SEGMENT_NO 99999999ull
#define MAX_SEGMENT_FILE (1ull << 32) /* verify reads a whole segment */
#define ISO_LEN 24                    /* 2026-12-03T15:17:42.123Z */

struct tss_audit {
    char dir[4096];
    char path[4200];
    int fd;
    uint64_t segment;
    uint64_t size;       /* bytes in the current segment */
    int64_t created_ms;  /* wall clock, from the header */
    uint8_t head[TSS_AUDIT_HASH_LEN];
    tss_audit_options opt;
    char *queue; /* bodies, each followed by '\n' */
    size_t queue_len, queue_cap;
    bool queue_durable;
    bool unsynced;
    int64_t rotate_retry_ms; /* after a failed rotation: not before this (wall clock) */
};

static void chain_hash(uint8_t out[TSS_AUDIT_HASH_LEN], const uint8_t prev[TSS_AUDIT_HASH_LEN],
                       const char *body, size_t len) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)DOMAIN, sizeof DOMAIN);
    crypto_hash_sha256_update(&st, prev, TSS_AUDIT_HASH_LEN);
    crypto_hash_sha256_update(&st, (const uint8_t *)body, len);
    crypto_hash_sha256_final(&st, out);
}

static void iso_time(int64_t ms, char out[ISO_LEN + 1]) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, ISO_LEN + 1, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, ISO_LEN + 1 - n, ".%03dZ", (int)(ms % 1000));
}

static bool parse_iso(const char *s, int64_t *ms) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!e || e[0] != '.' || e[4] != 'Z') return false;
    for (int i = 1; i <= 3; i++)
        if (e[i] < '0' || e[i] > '9') return false;
    *ms = (int64_t)timegm(&tm) * 1000 + (e[1] - '0') * 100 + (e[2] - '0') * 10 + (e[3] - '0');
    return true;
}

static size_t header_body(char *out, size_t cap, uint64_t segment, const char *created,
                          const uint8_t prev[TSS_AUDIT_HASH_LEN]) {
    char hex[2 * TSS_AUDIT_HASH_LEN + 1];
    tss_hex_encode(hex, prev, TSS_AUDIT_HASH_LEN);
    int n = snprintf(out, cap,
                     "{\"type\":\"segment\",\"format\":\"" FORMAT "\",\"segment\":%llu,"
                     "\"created\":\"%s\",\"prev\":\"%s\"}",
                     (unsigned long long)segment, created, hex);
    return n < 0 ? 0 : (size_t)n;
}

static bool lower_hex(const uint8_t *s, size_t n, uint8_t *out) {
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned hi = s[2 * i] <= '9' ? s[2 * i] - '0' : s[2 * i] - 'a' + 10;
        unsigned lo = s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0' : s[2 * i + 1] - 'a' + 10;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* Split one line (without '\n') into body and hash; false if malformed. */
static bool split_line(const uint8_t *line, size_t len, size_t *body_len,
                       uint8_t hash[TSS_AUDIT_HASH_LEN]) {
    const size_t hl = 2 * TSS_AUDIT_HASH_LEN;
    if (len < 2 + 1 + hl || len > TSS_AUDIT_MAX_LINE - 1 || line[len - hl - 1] != ' ') return false;
    size_t b = len - hl - 1;
    if (line[0] != '{' || line[b - 1] != '}') return false;
    for (size_t i = 0; i < b; i++)
        if (line[i] < 0x20 || line[i] > 0x7e) return false;
    *body_len = b;
    return lower_hex(line + b + 1, hl, hash);
}

/* A header body: fields out, and it must be byte for byte the canonical form. */
static bool parse_header(const uint8_t *body, size_t len, uint64_t *segment, int64_t *created_ms,
                         uint8_t prev[TSS_AUDIT_HASH_LEN]) {
    static const char pre[] = "{\"type\":\"segment\",\"format\":\"" FORMAT "\",\"segment\":";
    const size_t pl = sizeof pre - 1;
    if (len < pl || len > 512 || memcmp(body, pre, pl) != 0) return false;
    char buf[513];
    memcpy(buf, body, len);
    buf[len] = '\0';
    const char *p = buf + pl;
    uint64_t n = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 9; p++, digits++) n = n * 10 + (uint64_t)(*p - '0');
    if (digits == 0 || n == 0 || n > MAX_SEGMENT_NO) return false;
    static const char mid[] = ",\"created\":\"";
    if (strncmp(p, mid, sizeof mid - 1) != 0) return false;
    p += sizeof mid - 1;
    char created[ISO_LEN + 1];
    if (strlen(p) < ISO_LEN) return false;
    memcpy(created, p, ISO_LEN);
    created[ISO_LEN] = '\0';
    p += ISO_LEN;
    static const char mid2[] = "\",\"prev\":\"";
    if (strncmp(p, mid2, sizeof mid2 - 1) != 0) return false;
    p += sizeof mid2 - 1;
    if (strlen(p) != 2 * TSS_AUDIT_HASH_LEN + 2 || strcmp(p + 2 * TSS_AUDIT_HASH_LEN, "\"}") != 0)
        return false;
    if (!lower_hex((const uint8_t *)p, 2 * TSS_AUDIT_HASH_LEN, prev)) return false;
    if (!parse_iso(created, created_ms)) return false;
    /* Canonical: regenerate and compare (no leading zeros, no other spelling). */
    char canon[513];
    size_t cl = header_body(canon, sizeof canon, n, created, prev);
    if (cl != len || memcmp(canon, body, len) != 0) return false;
    *segment = n;
    return true;
}

static bool is_header(const uint8_t *body, size_t len) {
    static const char t[] = "{\"type\":\"segment\"";
    return len >= sizeof t - 1 && memcmp(body, t, sizeof t - 1) == 0;
}

/* ---- verification ---------------------------------------------------------------------- */

void tss_audit_chain_init(tss_audit_chain *c) { memset(c, 0, sizeof *c); }

tss_result tss_audit_verify_segment(tss_audit_chain *c, const uint8_t *buf, size_t len,
                                    size_t *line) {
    *line = 0;
    TSS_ENSURE(len > 0, TSS_E_CORRUPT, "empty segment (no header record)");
    tss_reader r;
    tss_reader_init(&r, buf, len);
    uint8_t prev[TSS_AUDIT_HASH_LEN], h[TSS_AUDIT_HASH_LEN], want[TSS_AUDIT_HASH_LEN];
    uint64_t segment = 0;
    size_t n = 0;
    while (tss_reader_remaining(&r) > 0) {
        n++;
        *line = n;
        size_t rem = tss_reader_remaining(&r);
        const uint8_t *start = buf + (len - rem);
        const uint8_t *nl = memchr(start, '\n', rem < TSS_AUDIT_MAX_LINE ? rem : TSS_AUDIT_MAX_LINE);
        if (!nl) {
            TSS_ENSURE(rem >= TSS_AUDIT_MAX_LINE, TSS_E_CORRUPT,
                       "line %zu: truncated record (no newline at the end of the file)", n);
            return tss_fail(TSS_E_CORRUPT, "line %zu: longer than %d bytes", n, TSS_AUDIT_MAX_LINE);
        }
        size_t ll = (size_t)(nl - start);
        const uint8_t *l = tss_read_view(&r, ll + 1);
        TSS_ENSURE(l != NULL, TSS_E_CORRUPT, "line %zu: unreadable", n);
        size_t bl;
        TSS_ENSURE(split_line(l, ll, &bl, h), TSS_E_CORRUPT,
                   "line %zu: not a record (\"<JSON object> <64 lowercase hex>\")", n);
        if (n == 1) {
            int64_t created;
            TSS_ENSURE(parse_header(l, bl, &segment, &created, prev), TSS_E_CORRUPT,
                       "line 1: not a segment header record");
            if (!c->started) {
                static const uint8_t zero[TSS_AUDIT_HASH_LEN];
                TSS_ENSURE(segment != 1 || memcmp(prev, zero, sizeof zero) == 0, TSS_E_CORRUPT,
                           "line 1: segment 1 must start the chain (prev all zeros)");
                c->first_segment = segment;
            } else {
                TSS_ENSURE(segment == c->segment + 1, TSS_E_CORRUPT,
                           "line 1: segment %llu follows segment %llu (missing or reordered segment)",
                           (unsigned long long)segment, (unsigned long long)c->segment);
                TSS_ENSURE(sodium_memcmp(prev, c->head, sizeof prev) == 0, TSS_E_CORRUPT,
                           "line 1: prev does not match the last hash of segment %llu "
                           "(segment %llu was cut or replaced)",
                           (unsigned long long)c->segment, (unsigned long long)c->segment);
            }
        } else {
            TSS_ENSURE(!is_header(l, bl), TSS_E_CORRUPT, "line %zu: a header record inside a segment",
                       n);
        }
        chain_hash(want, prev, (const char *)l, bl);
        TSS_ENSURE(sodium_memcmp(want, h, sizeof h) == 0, TSS_E_CORRUPT,
                   "line %zu: hash does not match (record changed, removed, inserted or reordered)",
                   n);
        memcpy(prev, h, sizeof prev);
        if (c->have_anchor && sodium_memcmp(h, c->anchor, sizeof h) == 0) c->anchor_found = true;
    }
    c->started = true;
    c->segment = segment;
    memcpy(c->head, prev, sizeof prev);
    c->records += n;
    c->segments++;
    *line = 0;
    return TSS_OK_RESULT;
}

static tss_result read_file(const char *path, uint8_t **out, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    TSS_ENSURE(fd >= 0, errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO, "%s: %s", path,
               strerror(errno));
    struct stat st;
    tss_result r = TSS_OK_RESULT;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) != 0) r = tss_fail(TSS_E_IO, "%s: fstat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode)) r = tss_fail(TSS_E_INVALID, "%s: not a regular file", path);
    else if ((uint64_t)st.st_size > MAX_SEGMENT_FILE) r = tss_fail(TSS_E_TOO_LARGE, "%s: larger than 4 GiB", path);
    else if (!(buf = malloc((size_t)st.st_size + 1))) r = tss_fail(TSS_E_NOMEM, "no memory for %s", path);
    size_t got = 0;
    while (tss_is_ok(r) && got < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) r = tss_fail(TSS_E_IO, "%s: read: %s", path, k < 0 ? strerror(errno) : "short");
        else got += (size_t)k;
    }
    close(fd);
    if (!tss_is_ok(r)) {
        free(buf);
        return r;
    }
    *out = buf;
    *len = got;
    return TSS_OK_RESULT;
}

tss_result tss_audit_verify_files(tss_audit_chain *c, const char *const *paths, size_t n,
                                  size_t *bad_file, size_t *line) {
    for (size_t i = 0; i < n; i++) {
        *bad_file = i;
        *line = 0;
        uint8_t *buf;
        size_t len;
        TSS_GUARD(read_file(paths[i], &buf, &len));
        tss_result r = tss_audit_verify_segment(c, buf, len, line);
        free(buf);
        TSS_GUARD(r);
    }
    return TSS_OK_RESULT;
}

/* audit-NNNNNNNN-YYYYmmddTHHMMSSZ.log -> N; 0 if the name does not match. */
static uint64_t name_segment(const char *name) {
    if (strlen(name) != NAME_LEN || strncmp(name, NAME_PREFIX, 6) != 0 || name[14] != '-' ||
        strcmp(name + NAME_LEN - 4, ".log") != 0)
        return 0;
    uint64_t n = 0;
    for (int i = 6; i < 14; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        n = n * 10 + (uint64_t)(name[i] - '0');
    }
    return n;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The segment file names in dir, sorted (N is zero-padded: name order is number order). */
static tss_result list_segments(const char *dir, char ***out, size_t *count) {
    DIR *d = opendir(dir);
    TSS_ENSURE(d != NULL, errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO, "%s: %s", dir,
               strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    tss_result r = TSS_OK_RESULT;
    for (struct dirent *e; tss_is_ok(r) && (e = readdir(d));) {
        if (!name_segment(e->d_name)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = cap <= (1u << 24) ? realloc(names, cap * sizeof *nn) : NULL;
            if (!nn) {
                r = tss_fail(TSS_E_NOMEM, "no memory for the segment list");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) r = tss_fail(TSS_E_NOMEM, "no memory");
        else n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    if (!tss_is_ok(r)) {
        for (size_t i = 0; i < n; i++) free(names[i]);
        free(names);
        return r;
    }
    *out = names;
    *count = n;
    return TSS_OK_RESULT;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

tss_result tss_audit_verify_dir(tss_audit_chain *c, const char *dir, char *bad_path, size_t cap,
                                size_t *line) {
    char **names;
    size_t n;
    *line = 0;
    snprintf(bad_path, cap, "%s", dir);
    TSS_GUARD(list_segments(dir, &names, &n));
    tss_result r = n ? TSS_OK_RESULT : tss_fail(TSS_E_NOT_FOUND, "%s: no audit segments", dir);
    for (size_t i = 0; tss_is_ok(r) && i < n; i++) {
        snprintf(bad_path, cap, "%s/%s", dir, names[i]);
        uint8_t *buf;
        size_t len;
        r = read_file(bad_path, &buf, &len);
        /* The live segment may be caught in the middle of a write: read it
         * again (a batch is one write(), done in microseconds). */
        for (int retry = 0; tss_is_ok(r) && i + 1 == n && retry < 5 && len && buf[len - 1] != '\n';
             retry++) {
            free(buf);
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            r = read_file(bad_path, &buf, &len);
        }
        if (!tss_is_ok(r)) break;
        r = tss_audit_verify_segment(c, buf, len, line);
        free(buf);
        if (tss_is_ok(r) && c->segment != name_segment(names[i]))
            r = tss_fail(TSS_E_CORRUPT, "the header says segment %llu, the name says %llu "
                         "(renamed or reordered)", (unsigned long long)c->segment,
                         (unsigned long long)name_segment(names[i]));
    }
    free_names(names, n);
    return r;
}

/* ---- writer ------------------------------------------------------------------------------ */

static tss_result new_segment(tss_audit *a, uint64_t segment, int64_t wall_ms) {
    TSS_ENSURE(segment <= MAX_SEGMENT_NO, TSS_E_TOO_LARGE, "audit: segment numbers exhausted");
    char iso[ISO_LEN + 1], stamp[20], body[512], line[700], hex[2 * TSS_AUDIT_HASH_LEN + 1];
    iso_time(wall_ms, iso);
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    char path[sizeof a->path];
    snprintf(path, sizeof path, "%s/" NAME_PREFIX "%08llu-%s.log", a->dir,
             (unsigned long long)segment, stamp);
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    TSS_ENSURE(fd >= 0, TSS_E_IO, "cannot create %s: %s", path, strerror(errno));
    size_t bl = header_body(body, sizeof body, segment, iso, a->head);
    uint8_t h[TSS_AUDIT_HASH_LEN];
    chain_hash(h, a->head, body, bl);
    tss_hex_encode(hex, h, sizeof h);
    int ll = snprintf(line, sizeof line, "%s %s\n", body, hex);
    tss_result r = tss_write_all(fd, line, (size_t)ll, path);
    if (tss_is_ok(r) && fdatasync(fd) != 0)
        r = tss_fail(TSS_E_IO, "%s: fdatasync: %s", path, strerror(errno));
    if (tss_is_ok(r)) r = tss_fsync_dir(a->dir);
    if (!tss_is_ok(r)) {
        close(fd);
        (void)unlink(path);
        return r;
    }
    memcpy(a->path, path, sizeof path);
    if (a->fd >= 0) close(a->fd);
    a->fd = fd;
    a->segment = segment;
    a->size = (uint64_t)ll;
    a->created_ms = wall_ms;
    memcpy(a->head, h, sizeof h);
    return TSS_OK_RESULT;
}

/* Continue the newest segment: read its header and last line. */
static tss_result resume(tss_audit *a, const char *name, bool *empty) {
    *empty = false;
    snprintf(a->path, sizeof a->path, "%s/%s", a->dir, name);
    int fd = open(a->path, O_RDWR | O_APPEND | O_CLOEXEC);
    TSS_ENSURE(fd >= 0, TSS_E_IO, "%s: %s", a->path, strerror(errno));
    struct stat st;
    tss_result r = TSS_OK_RESULT;
    uint8_t head[TSS_AUDIT_MAX_LINE], tail[2 * TSS_AUDIT_MAX_LINE];
    ssize_t hn = 0, tn = 0;
    off_t tail_off = 0;
    if (fstat(fd, &st) != 0) r = tss_fail(TSS_E_IO, "%s: fstat: %s", a->path, strerror(errno));
    if (tss_is_ok(r)) {
        hn = pread(fd, head, sizeof head, 0);
        tail_off = st.st_size > (off_t)sizeof tail ? st.st_size - (off_t)sizeof tail : 0;
        tn = pread(fd, tail, sizeof tail, tail_off);
        if (hn < 0 || tn < 0) r = tss_fail(TSS_E_IO, "%s: read: %s", a->path, strerror(errno));
    }
    /* A torn last line: a crash mid-write of records never acknowledged. */
    size_t keep = (size_t)tn;
    while (tss_is_ok(r) && keep > 0 && tail[keep - 1] != '\n') keep--;
    if (tss_is_ok(r) && keep < (size_t)tn) {
        off_t cut = tail_off + (off_t)keep;
        if (keep == 0 && tail_off > 0)
            r = tss_fail(TSS_E_CORRUPT, "%s: the last %zu bytes hold no complete record", a->path,
                         sizeof tail);
        else {
            tss_log(LOG_WARNING, "audit: dropping a torn record (%lld bytes) at the end of %s",
                    (long long)(st.st_size - cut), a->path);
            if (ftruncate(fd, cut) != 0 || fdatasync(fd) != 0)
                r = tss_fail(TSS_E_IO, "%s: cannot cut the torn record: %s", a->path, strerror(errno));
            st.st_size = cut;
        }
    }
    if (tss_is_ok(r) && st.st_size == 0) {
        /* A crash while creating it: nothing was ever recorded there. */
        close(fd);
        if (unlink(a->path) != 0)
            return tss_fail(TSS_E_IO, "%s: cannot remove the empty segment: %s", a->path,
                            strerror(errno));
        *empty = true;
        return tss_fsync_dir(a->dir);
    }
    size_t bl;
    uint8_t h[TSS_AUDIT_HASH_LEN], prev[TSS_AUDIT_HASH_LEN];
    uint64_t seg = 0;
    if (tss_is_ok(r)) {
        const uint8_t *nl = memchr(head, '\n', (size_t)hn);
        if (!nl || !split_line(head, (size_t)(nl - head), &bl, h) ||
            !parse_header(head, bl, &seg, &a->created_ms, prev) || seg != name_segment(name))
            r = tss_fail(TSS_E_CORRUPT, "%s: line 1 is not this segment's header record", a->path);
    }
    if (tss_is_ok(r)) {
        size_t e = keep - 1, s = e;
        while (s > 0 && tail[s - 1] != '\n') s--;
        if ((s == 0 && tail_off > 0) || !split_line(tail + s, e - s, &bl, a->head))
            r = tss_fail(TSS_E_CORRUPT, "%s: the last record is malformed", a->path);
    }
    if (!tss_is_ok(r)) {
        close(fd);
        return r;
    }
    a->fd = fd;
    a->segment = seg;
    a->size = (uint64_t)st.st_size;
    return TSS_OK_RESULT;
}

tss_result tss_audit_open(tss_audit **out, const char *dir, const tss_audit_options *opt,
                          int64_t wall_ms) {
    TSS_ENSURE(strlen(dir) < 4000, TSS_E_INVALID, "audit directory path too long");
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return tss_fail(TSS_E_IO, "cannot create %s: %s", dir, strerror(errno));
    tss_audit *a = calloc(1, sizeof *a);
    TSS_ENSURE(a != NULL, TSS_E_NOMEM, "no memory");
    snprintf(a->dir, sizeof a->dir, "%s", dir);
    a->fd = -1;
    a->opt = *opt;
    tss_result r = TSS_OK_RESULT;
    for (int attempt = 0; tss_is_ok(r) && a->fd < 0 && attempt < 4; attempt++) {
        char **names;
        size_t n;
        r = list_segments(dir, &names, &n);
        if (!tss_is_ok(r)) break;
        bool empty = false;
        if (n == 0) r = new_segment(a, 1, wall_ms);
        else r = resume(a, names[n - 1], &empty);
        free_names(names, n);
    }
    if (tss_is_ok(r) && a->fd < 0) r = tss_fail(TSS_E_CORRUPT, "%s: empty audit segments", dir);
    if (!tss_is_ok(r)) {
        free(a);
        return r;
    }
    *out = a;
    return TSS_OK_RESULT;
}

tss_result tss_audit_append(tss_audit *a, const char *body, size_t len, bool durable) {
    TSS_ENSURE(len >= 2 && len <= TSS_AUDIT_MAX_BODY && body[0] == '{' && body[len - 1] == '}',
               TSS_E_INVALID, "audit record: not a JSON object of at most %d bytes",
               TSS_AUDIT_MAX_BODY);
    TSS_ENSURE(!is_header((const uint8_t *)body, len), TSS_E_INVALID,
               "audit record: type segment is reserved");
    if (a->queue_len + len + 1 > a->queue_cap) {
        size_t cap = a->queue_cap ? a->queue_cap : 8192;
        while (cap < a->queue_len + len + 1) cap *= 2;
        TSS_ENSURE(cap <= TSS_AUDIT_MAX_PENDING, TSS_E_TOO_LARGE,
                   "audit log: %u bytes queued and not written", TSS_AUDIT_MAX_PENDING);
        char *q = realloc(a->queue, cap);
        TSS_ENSURE(q != NULL, TSS_E_NOMEM, "no memory for the audit queue");
        a->queue = q;
        a->queue_cap = cap;
    }
    char *dst = a->queue + a->queue_len;
    for (size_t i = 0; i < len; i++)
        dst[i] = (body[i] < 0x20 || body[i] > 0x7e) ? '?' : body[i];
    dst[len] = '\n';
    a->queue_len += len + 1;
    a->queue_durable = a->queue_durable || durable;
    return TSS_OK_RESULT;
}

bool tss_audit_has_pending(const tss_audit *a) { return a->queue_len > 0; }
bool tss_audit_has_unsynced(const tss_audit *a) { return a->unsynced; }
bool tss_audit_needs_sync(const tss_audit *a) { return a->queue_durable; }

tss_result tss_audit_flush(tss_audit *a, bool sync, int64_t wall_ms) {
    bool age_due = a->opt.rotate_age_ms && wall_ms - a->created_ms >= (int64_t)a->opt.rotate_age_ms;
    bool size_due = a->opt.rotate_size && a->size >= a->opt.rotate_size;
    if (a->queue_len && (age_due || size_due) && wall_ms >= a->rotate_retry_ms) {
        if (a->unsynced && fdatasync(a->fd) != 0)
            return tss_fail(TSS_E_IO, "%s: fdatasync: %s", a->path, strerror(errno));
        a->unsynced = false;
        uint64_t closed = a->segment;
        char hex[2 * TSS_AUDIT_HASH_LEN + 1], old[sizeof a->path];
        tss_hex_encode(hex, a->head, sizeof a->head);
        snprintf(old, sizeof old, "%s", a->path);
        if (tss_is_ok(new_segment(a, a->segment + 1, wall_ms)))
            tss_log(LOG_NOTICE, "audit: segment %llu closed (%s, last hash %s); now %s",
                    (unsigned long long)closed, old, hex, a->path);
        else { /* keep recording: a late rotation beats lost records */
            tss_log(LOG_ERR, "audit: cannot start segment %llu (%s); continuing in %s, "
                    "retrying in 10 s", (unsigned long long)closed + 1, tss_error_detail(), old);
            a->rotate_retry_ms = wall_ms + 10000;
        }
    }
    if (a->queue_len) {
        /* Each body becomes "<body> <64 hex>\n": 65 more bytes per record. */
        size_t records = 0;
        for (size_t i = 0; i < a->queue_len; i++) records += a->queue[i] == '\n';
        size_t cap = a->queue_len + records * (1 + 2 * TSS_AUDIT_HASH_LEN);
        char *out = malloc(cap);
        TSS_ENSURE(out != NULL, TSS_E_NOMEM, "no memory to write the audit log");
        uint8_t head[TSS_AUDIT_HASH_LEN];
        memcpy(head, a->head, sizeof head);
        size_t o = 0;
        for (size_t s = 0; s < a->queue_len;) {
            const char *nl = memchr(a->queue + s, '\n', a->queue_len - s);
            size_t bl = (size_t)(nl - (a->queue + s));
            chain_hash(head, head, a->queue + s, bl);
            memcpy(out + o, a->queue + s, bl);
            o += bl;
            out[o++] = ' ';
            tss_hex_encode(out + o, head, sizeof head); /* writes a NUL at out[o+64] */
            o += 2 * TSS_AUDIT_HASH_LEN;
            out[o++] = '\n';
            s += bl + 1;
        }
        tss_result r = tss_write_all(a->fd, out, o, a->path);
        free(out);
        if (!tss_is_ok(r)) {
            /* Cut a partial write so the next flush appends to an intact chain. */
            if (ftruncate(a->fd, (off_t)a->size) != 0)
                tss_log(LOG_ERR, "audit: cannot cut a partial write of %s: %s", a->path,
                        strerror(errno));
            return r;
        }
        a->size += o;
        memcpy(a->head, head, sizeof head);
        a->queue_len = 0;
        a->unsynced = true;
        sync = sync || a->queue_durable;
        a->queue_durable = false;
    }
    if (sync && a->unsynced) {
        TSS_ENSURE(fdatasync(a->fd) == 0, TSS_E_IO, "%s: fdatasync: %s", a->path, strerror(errno));
        a->unsynced = false;
    }
    return TSS_OK_RESULT;
}

void tss_audit_head(const tss_audit *a, uint8_t out[TSS_AUDIT_HASH_LEN]) {
    memcpy(out, a->head, TSS_AUDIT_HASH_LEN);
}
uint64_t tss_audit_segment(const tss_audit *a) { return a->segment; }
const char *tss_audit_path(const tss_audit *a) { return a->path; }

void tss_audit_close(tss_audit *a) {
    if (!a) return;
    /* created_ms as the clock: closing never rotates by age. */
    tss_result r = tss_audit_flush(a, true, a->created_ms);
    if (!tss_is_ok(r)) tss_log(LOG_ERR, "audit: final flush failed: %s", tss_error_detail());
    if (a->fd >= 0) close(a->fd);
    free(a->queue);
    free(a);
}
