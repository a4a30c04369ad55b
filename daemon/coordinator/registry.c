/* The coordinator's public key registry and presignature record (state_dir).
 *
 *   <state>/keys/<key-id>.json  one file per key, written atomically once,
 *                               when every keygen party reported success
 *                               (format and integrity checks:
 *                               daemon/keyfile.h; it carries the key's BIP-32
 *                               chain code since issue 15).
 *   (the audit log, <state>/audit/, is audit.c's)
 *   <state>/presig/<key-id>.log the presignatures created for the key and
 *                               which of them have been handed out:
 *                               append-only text, every record fdatasynced
 *                               (daemon/presig_record.h).
 * A damaged key file or presignature record refuses only its key (listed
 * in co->damaged, with the message naming the file and record); an I/O
 * error stops the start. Nothing here is secret. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/coordinator/coord.h"
#include "daemon/keyfile.h"
#include "daemon/presig_record.h"
#include "util/file.h"
#include "util/hex.h"
#include "util/json.h"
#include "util/log.h"

#define KEYS_DIR "keys"
#define PRESIG_DIR "presig"

key_entry *coord_registry_find(coord *co, const char *key_id) {
    for (key_entry *k = co->keys; k; k = k->next)
        if (strcmp(k->info.key_id, key_id) == 0) return k;
    return NULL;
}

static tss_result presig_load(coord *co, key_entry *k);

/* A key whose state file is damaged: refused (fail closed) until an
 * operator acts and restarts the coordinator; other keys keep working. */
struct damaged_key {
    struct damaged_key *next;
    char key_id[TSS_WIRE_MAX_KEY_ID + 1];
    char why[600];
};

const char *coord_registry_damaged(const coord *co, const char *key_id) {
    for (const struct damaged_key *d = co->damaged; d; d = d->next)
        if (strcmp(d->key_id, key_id) == 0) return d->why;
    return NULL;
}

const char *coord_registry_first_damaged(const coord *co) {
    return co->damaged ? co->damaged->key_id : NULL;
}

/* What an operator does about a damaged file (docs/OPERATIONS.md). */
#define DAMAGED_HINT "see docs/OPERATIONS.md \"Damaged state files\""

static tss_result load_one(coord *co, const char *dir, const char *name) {
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    TSS_ENSURE(fd >= 0, TSS_E_IO, "%s: %s", path, strerror(errno));
    char *buf = malloc(TSS_KEYFILE_MAX);
    size_t len = 0;
    tss_result r = buf ? TSS_OK_RESULT : tss_fail(TSS_E_NOMEM, "no memory");
    while (tss_is_ok(r) && len < TSS_KEYFILE_MAX) {
        ssize_t n = read(fd, buf + len, TSS_KEYFILE_MAX - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) r = tss_fail(TSS_E_IO, "%s: read: %s", path, strerror(errno));
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    char key_id[TSS_WIRE_MAX_KEY_ID + 1];
    size_t nl = strlen(name) - 5; /* without ".json" */
    snprintf(key_id, sizeof key_id, "%.*s", (int)(nl < sizeof key_id ? nl : 0), name);
    tss_keyfile kf;
    unsigned version = 0;
    if (tss_is_ok(r)) r = tss_keyfile_parse(buf, len, key_id, &kf, &version);
    if (tss_is_ok(r) && version < TSS_KEYFILE_VERSION) {
        /* Migration: rewrite in the current format (same fields, checksum). */
        size_t olen = 0;
        r = tss_keyfile_render(&kf, TSS_KEYFILE_VERSION, buf, TSS_KEYFILE_MAX, &olen);
        if (tss_is_ok(r)) r = tss_file_write_atomic_mode(dir, name, buf, olen, 0644, true, NULL);
        if (tss_is_ok(r))
            tss_log(LOG_NOTICE, "key registry %s: migrated to format %u", path,
                    TSS_KEYFILE_VERSION);
    }
    free(buf);
    if (!tss_is_ok(r)) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", tss_error_detail());
        return tss_fail(r.err, "key registry %s: %s%s", path, detail,
                        r.err == TSS_E_CORRUPT ? "; " DAMAGED_HINT : "");
    }
    key_entry *k = calloc(1, sizeof *k);
    TSS_ENSURE(k != NULL, TSS_E_NOMEM, "no memory");
    k->presig_fd = -1;
    k->info = kf.info;
    memcpy(k->identities, kf.identities, sizeof k->identities);
    memcpy(k->session, kf.session, sizeof k->session);
    if (coord_registry_find(co, k->info.key_id)) {
        free(k);
        return tss_fail(TSS_E_CORRUPT, "key registry %s: duplicate key id", path);
    }
    r = k->info.retired ? TSS_OK_RESULT : presig_load(co, k); /* retired: never used again */
    if (!tss_is_ok(r)) {
        free(k);
        return r;
    }
    if (k->n_presigs)
        tss_log(LOG_INFO, "key=%s: %zu presignature(s) available", k->info.key_id, k->n_presigs);
    k->next = co->keys;
    co->keys = k;
    return TSS_OK_RESULT;
}

/* ---- presignature record (format: daemon/presig_record.h) ------------------------------- */

static void presig_path(const coord *co, const key_entry *k, char *dir, size_t dcap, char *name,
                        size_t ncap) {
    snprintf(dir, dcap, "%s/" PRESIG_DIR, co->cfg.state_dir);
    snprintf(name, ncap, "%s.log", k->info.key_id);
}

static tss_result presig_mkdir(const coord *co, const char *dir) {
    if (mkdir(dir, 0700) == 0) return tss_fsync_dir(co->cfg.state_dir);
    TSS_ENSURE(errno == EEXIST, TSS_E_IO, "cannot create %s: %s", dir, strerror(errno));
    return TSS_OK_RESULT;
}

tss_result coord_presig_push(key_entry *k, const coord_presig *p) {
    if (k->n_presigs == k->cap_presigs) {
        size_t cap = k->cap_presigs ? 2 * k->cap_presigs : 16;
        coord_presig *n = realloc(k->presigs, cap * sizeof *n);
        TSS_ENSURE(n != NULL, TSS_E_NOMEM, "no memory for presignature records");
        k->presigs = n;
        k->cap_presigs = cap;
    }
    k->presigs[k->n_presigs] = *p;
    if (!p->made_ms) k->presigs[k->n_presigs].made_ms = tss_now_ms();
    k->n_presigs++;
    k->info.presignatures = (uint32_t)k->n_presigs;
    return TSS_OK_RESULT;
}

void coord_presig_remove(key_entry *k, size_t idx) {
    memmove(&k->presigs[idx], &k->presigs[idx + 1], (k->n_presigs - idx - 1) * sizeof k->presigs[0]);
    k->n_presigs--;
    k->info.presignatures = (uint32_t)k->n_presigs;
}

/* Rewrite dir/name atomically as header + the available records, and reopen
 * it for appends. */
static tss_result presig_rewrite(key_entry *k, const char *dir, const char *name,
                                 const char *path) {
    const size_t hl = sizeof TSS_PRECORD_HEADER - 1;
    size_t cap = hl + k->n_presigs * TSS_PRECORD_LINE_MAX, o = hl;
    char *out = malloc(cap);
    TSS_ENSURE(out != NULL, TSS_E_NOMEM, "no memory");
    memcpy(out, TSS_PRECORD_HEADER, hl);
    for (size_t i = 0; i < k->n_presigs; i++)
        o += tss_precord_line(out + o, k->info.key_id, i, '+', &k->presigs[i]);
    tss_result r = tss_file_write_atomic_mode(dir, name, out, o, 0600, true, NULL);
    free(out);
    TSS_GUARD(r);
    if (k->presig_fd >= 0) close(k->presig_fd);
    k->presig_fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    TSS_ENSURE(k->presig_fd >= 0, TSS_E_IO, "%s: %s", path, strerror(errno));
    k->presig_records = k->n_presigs;
    return TSS_OK_RESULT;
}

/* Load (or reload, after a failed append) the record of key k if there is
 * one, replacing what is in memory; apply the torn-tail rule; migrate a
 * format-1 file; compact when most records are spent. Leaves k->presig_fd
 * open for appends. */
static tss_result presig_load(coord *co, key_entry *k) {
    char dir[4096], name[TSS_WIRE_MAX_KEY_ID + 8], path[4200];
    presig_path(co, k, dir, sizeof dir, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (k->presig_fd >= 0) close(k->presig_fd);
    k->presig_fd = -1;
    k->n_presigs = 0;
    k->info.presignatures = 0;
    int fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return TSS_OK_RESULT;
    TSS_ENSURE(fd >= 0, TSS_E_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    char *buf = NULL;
    tss_result r = TSS_OK_RESULT;
    if (fstat(fd, &st) != 0) r = tss_fail(TSS_E_IO, "%s: fstat: %s", path, strerror(errno));
    else if ((uint64_t)st.st_size > TSS_PRECORD_MAX) r = tss_fail(TSS_E_TOO_LARGE, "%s: too large", path);
    else if (!(buf = malloc((size_t)st.st_size + 1))) r = tss_fail(TSS_E_NOMEM, "no memory");
    size_t len = 0;
    while (tss_is_ok(r) && len < (size_t)st.st_size) {
        ssize_t n = pread(fd, buf + len, (size_t)st.st_size - len, (off_t)len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) r = tss_fail(TSS_E_IO, "%s: read: %s", path, n < 0 ? strerror(errno) : "short");
        else len += (size_t)n;
    }
    tss_precord rec;
    memset(&rec, 0, sizeof rec);
    tss_precord_key key = {k->info.key_id, k->info.threshold, k->info.count, k->info.parties};
    if (tss_is_ok(r)) r = tss_precord_parse(buf, len, &key, &rec);
    free(buf);
    for (size_t i = 0; tss_is_ok(r) && i < rec.n_avail; i++) r = coord_presig_push(k, &rec.avail[i]);
    tss_precord_free(&rec);
    if (!tss_is_ok(r)) {
        close(fd);
        k->n_presigs = 0;
        k->info.presignatures = 0;
        char detail[512]; /* tss_fail formats into the detail buffer: copy it first */
        snprintf(detail, sizeof detail, "%s", tss_error_detail());
        return tss_fail(r.err, "presignature record %s: %s%s", path, detail,
                        r.err == TSS_E_CORRUPT ? "; " DAMAGED_HINT : "");
    }
    k->presig_fd = fd;
    k->presig_records = rec.records;
    if (rec.torn)
        tss_log(LOG_WARNING,
                "key=%s: %s ends with an unfinished record (%zu bytes, a crash or failed write "
                "mid-append): dropped%s, %zu presignature(s) counted as used",
                k->info.key_id, path, rec.torn,
                rec.burned ? " and, as it was a \"used\" record," : "", rec.burned);
    /* Rewrite: to drop a torn tail (and persist what it took), to migrate,
     * or to compact when most records are spent. */
    bool must = rec.torn || rec.version != 2;
    if (must || rec.records > 2 * k->n_presigs + 64) {
        r = presig_rewrite(k, dir, name, path);
        if (!tss_is_ok(r)) {
            if (must) {
                char detail[512];
                snprintf(detail, sizeof detail, "%s", tss_error_detail());
                close(k->presig_fd);
                k->presig_fd = -1;
                return tss_fail(r.err, "presignature record %s: cannot rewrite it: %s", path,
                                detail);
            }
            tss_log(LOG_WARNING, "key=%s: cannot compact %s (kept as is): %s", k->info.key_id,
                    path, tss_error_detail());
        } else if (rec.version == 1) {
            tss_log(LOG_NOTICE, "key=%s: %s migrated to format 2", k->info.key_id, path);
        } else if (!rec.torn) {
            tss_log(LOG_INFO, "key=%s: presignature record compacted (%zu records, %zu available)",
                    k->info.key_id, rec.records, k->n_presigs);
        }
    }
    return TSS_OK_RESULT;
}

static tss_result presig_open(coord *co, key_entry *k) {
    if (k->presig_fd >= 0) return TSS_OK_RESULT;
    char dir[4096], name[TSS_WIRE_MAX_KEY_ID + 8], path[4200];
    presig_path(co, k, dir, sizeof dir, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    TSS_GUARD(presig_mkdir(co, dir));
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) return presig_load(co, k); /* exists, or reload after a failure */
    TSS_ENSURE(fd >= 0, TSS_E_IO, "%s: %s", path, strerror(errno));
    tss_result r = tss_write_all(fd, TSS_PRECORD_HEADER, sizeof TSS_PRECORD_HEADER - 1, path);
    if (tss_is_ok(r) && fdatasync(fd) != 0)
        r = tss_fail(TSS_E_IO, "%s: fdatasync: %s", path, strerror(errno));
    if (tss_is_ok(r)) r = tss_fsync_dir(dir);
    if (!tss_is_ok(r)) {
        close(fd);
        (void)unlink(path); /* a torn header is harmless, but do not leave one */
        return r;
    }
    k->presig_fd = fd;
    k->presig_records = 0;
    return TSS_OK_RESULT;
}

/* A failed append leaves the file's tail unknown: close it, so the next use
 * reloads and verifies it (presig_open -> presig_load) instead of appending
 * after a partial line. Recovers without a restart once the disk has room. */
static tss_result presig_append(key_entry *k, const char *line, size_t n) {
    tss_result r = tss_write_all(k->presig_fd, line, n, "presignature record");
    if (tss_is_ok(r) && fdatasync(k->presig_fd) != 0)
        r = tss_fail(TSS_E_IO, "presignature record of key %s: fdatasync: %s", k->info.key_id,
                     strerror(errno));
    if (!tss_is_ok(r)) {
        close(k->presig_fd);
        k->presig_fd = -1;
        return r;
    }
    k->presig_records++;
    return TSS_OK_RESULT;
}

tss_result coord_presig_add(coord *co, key_entry *k, const uint8_t id[TSS_WIRE_PRESIGN_ID_LEN],
                            const uint16_t *signers, uint16_t count, const tss_bip32_path *path) {
    coord_presig p;
    memset(&p, 0, sizeof p);
    memcpy(p.id, id, sizeof p.id);
    p.count = count;
    p.path = *path;
    memcpy(p.signers, signers, count * sizeof signers[0]);
    TSS_GUARD(presig_open(co, k));
    for (size_t i = 0; i < k->n_presigs; i++)
        TSS_ENSURE(memcmp(k->presigs[i].id, id, sizeof p.id) != 0, TSS_E_EXISTS,
                   "presignature id already recorded");
    char line[TSS_PRECORD_LINE_MAX];
    size_t n = tss_precord_line(line, k->info.key_id, k->presig_records, '+', &p);
    TSS_GUARD(presig_append(k, line, n));
    return coord_presig_push(k, &p);
}

tss_result coord_presig_take(coord *co, key_entry *k, size_t idx, coord_presig *out) {
    TSS_ENSURE(idx < k->n_presigs, TSS_E_INTERNAL, "no such presignature");
    *out = k->presigs[idx];
    TSS_GUARD(presig_open(co, k));
    /* A reload (after an earlier failure) may have changed the list. */
    size_t at = k->n_presigs;
    for (size_t i = 0; i < k->n_presigs; i++)
        if (memcmp(k->presigs[i].id, out->id, sizeof out->id) == 0) at = i;
    TSS_ENSURE(at < k->n_presigs, TSS_E_NOT_FOUND, "presignature no longer available");
    coord_presig_remove(k, at); /* whatever happens below: it may be marked used on disk */
    char line[TSS_PRECORD_LINE_MAX];
    size_t n = tss_precord_line(line, k->info.key_id, k->presig_records, '-', out);
    return presig_append(k, line, n);
}

tss_result coord_registry_adopt(coord *co, const tss_keyfile *kf, key_entry **out) {
    TSS_ENSURE(coord_registry_find(co, kf->info.key_id) == NULL, TSS_E_EXISTS,
               "key %s already registered", kf->info.key_id);
    key_entry *k = calloc(1, sizeof *k);
    TSS_ENSURE(k != NULL, TSS_E_NOMEM, "no memory");
    k->presig_fd = -1;
    k->info = kf->info;
    k->info.presignatures = 0;
    memcpy(k->identities, kf->identities, sizeof k->identities);
    memcpy(k->session, kf->session, sizeof k->session);
    k->next = co->keys;
    co->keys = k;
    *out = k;
    return TSS_OK_RESULT;
}

tss_result coord_registry_mark_damaged(coord *co, const char *key_id, const char *why) {
    struct damaged_key *dk = calloc(1, sizeof *dk);
    TSS_ENSURE(dk != NULL, TSS_E_NOMEM, "no memory");
    snprintf(dk->key_id, sizeof dk->key_id, "%s", key_id);
    snprintf(dk->why, sizeof dk->why, "%s", why);
    tss_log(LOG_ERR, "key=%s refused until an operator acts: %s", dk->key_id, dk->why);
    dk->next = co->damaged;
    co->damaged = dk;
    return TSS_OK_RESULT;
}

tss_result coord_registry_load(coord *co) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/" KEYS_DIR, co->cfg.state_dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return tss_fail(TSS_E_IO, "cannot create %s: %s", dir, strerror(errno));
    DIR *d = opendir(dir);
    TSS_ENSURE(d != NULL, TSS_E_IO, "cannot read %s: %s", dir, strerror(errno));
    size_t n = 0;
    tss_result r = TSS_OK_RESULT;
    for (struct dirent *e; tss_is_ok(r) && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0 || e->d_name[0] == '.') continue;
        r = load_one(co, dir, e->d_name);
        n++;
        if (r.err == TSS_E_CORRUPT || r.err == TSS_E_UNSUPPORTED) {
            struct damaged_key *dk = calloc(1, sizeof *dk);
            if (!dk) {
                r = tss_fail(TSS_E_NOMEM, "no memory");
                break;
            }
            snprintf(dk->key_id, sizeof dk->key_id, "%.*s",
                     (int)(l - 5 < TSS_WIRE_MAX_KEY_ID ? l - 5 : TSS_WIRE_MAX_KEY_ID), e->d_name);
            snprintf(dk->why, sizeof dk->why, "%s", tss_error_detail());
            tss_log(LOG_ERR, "key=%s refused until an operator acts: %s", dk->key_id, dk->why);
            dk->next = co->damaged;
            co->damaged = dk;
            r = TSS_OK_RESULT;
        }
    }
    closedir(d);
    TSS_GUARD(r);
    tss_log(LOG_INFO, "key registry: %zu key(s) in %s", n, dir);
    return TSS_OK_RESULT;
}

tss_result coord_registry_add(coord *co, const tss_wire_key_info *info,
                              const uint8_t identities[][32], const uint8_t session_id[16]) {
    key_entry *k = calloc(1, sizeof *k);
    TSS_ENSURE(k != NULL, TSS_E_NOMEM, "no memory");
    k->presig_fd = -1;
    k->info = *info;
    k->info.presignatures = 0;
    memcpy(k->session, session_id, sizeof k->session);
    tss_keyfile kf;
    memset(&kf, 0, sizeof kf);
    kf.info = k->info;
    for (size_t i = 0; i < info->count; i++) {
        memcpy(k->identities[info->parties[i]], identities[info->parties[i]], 32);
        memcpy(kf.identities[info->parties[i]], identities[info->parties[i]], 32);
    }
    memcpy(kf.session, session_id, sizeof kf.session);
    char *buf = malloc(TSS_KEYFILE_MAX);
    size_t o = 0;
    tss_result r = buf ? tss_keyfile_render(&kf, TSS_KEYFILE_VERSION, buf, TSS_KEYFILE_MAX, &o)
                       : tss_fail(TSS_E_NOMEM, "no memory");
    char dir[4096], name[TSS_WIRE_MAX_KEY_ID + 8];
    snprintf(dir, sizeof dir, "%s/" KEYS_DIR, co->cfg.state_dir);
    snprintf(name, sizeof name, "%s.json", info->key_id);
    if (tss_is_ok(r)) r = tss_file_write_atomic_mode(dir, name, buf, o, 0644, false, NULL);
    free(buf);
    if (!tss_is_ok(r)) {
        free(k);
        return r;
    }
    k->next = co->keys;
    co->keys = k;
    char pk_hex[67];
    tss_hex_encode(pk_hex, info->public_key, TSS_WIRE_POINT_LEN);
    tss_log(LOG_NOTICE, "key=%s committed: t=%u n=%u public_key=%s", info->key_id,
            info->threshold, info->count, pk_hex);
    return TSS_OK_RESULT;
}

tss_result coord_registry_save(coord *co, const key_entry *k) {
    tss_keyfile kf;
    memset(&kf, 0, sizeof kf);
    kf.info = k->info;
    kf.info.presignatures = 0;
    memcpy(kf.identities, k->identities, sizeof kf.identities);
    memcpy(kf.session, k->session, sizeof kf.session);
    char *buf = malloc(TSS_KEYFILE_MAX);
    size_t o = 0;
    tss_result r = buf ? tss_keyfile_render(&kf, TSS_KEYFILE_VERSION, buf, TSS_KEYFILE_MAX, &o)
                       : tss_fail(TSS_E_NOMEM, "no memory");
    char dir[4096], name[TSS_WIRE_MAX_KEY_ID + 8];
    snprintf(dir, sizeof dir, "%s/" KEYS_DIR, co->cfg.state_dir);
    snprintf(name, sizeof name, "%s.json", k->info.key_id);
    if (tss_is_ok(r)) r = tss_file_write_atomic_mode(dir, name, buf, o, 0644, true, NULL);
    free(buf);
    return r;
}

void coord_registry_free(coord *co) {
    while (co->keys) {
        key_entry *k = co->keys;
        co->keys = k->next;
        if (k->presig_fd >= 0) close(k->presig_fd);
        free(k->presigs);
        free(k);
    }
    while (co->damaged) {
        struct damaged_key *d = co->damaged;
        co->damaged = d->next;
        free(d);
    }
}
