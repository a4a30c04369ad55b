#include "keystore/presig_store.h"

#include "util/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keystore/spent_log.h"
#include "util/hex.h"
#include "util/secmem.h"

_Static_assert(TSS_SID_BYTES == TSS_SPENT_ID_LEN, "presign ids are spent-log ids");

#define HEX_LEN (2 * TSS_SID_BYTES)
#define PRESIG_PLAIN_MAX 4096

struct tss_presig_store {
    tss_store_ctx ctx;
    char state_dir[PATH_MAX];
    char key_id[TSS_KEY_ID_MAX + 1];
    char dir[PATH_MAX];
    tss_spent_log *log;
    size_t collected;
};

static void presig_name(char out[HEX_LEN + sizeof TSS_STORE_PRESIG_SUFFIX],
                        const uint8_t id[TSS_SID_BYTES]) {
    tss_hex_encode(out, id, TSS_SID_BYTES);
    memcpy(out + HEX_LEN, TSS_STORE_PRESIG_SUFFIX, sizeof TSS_STORE_PRESIG_SUFFIX);
}

/* "<64 lower-case hex>.presig" -> id. */
static bool parse_name(const char *name, uint8_t id[TSS_SID_BYTES]) {
    if (strlen(name) != HEX_LEN + sizeof TSS_STORE_PRESIG_SUFFIX - 1) return false;
    if (strcmp(name + HEX_LEN, TSS_STORE_PRESIG_SUFFIX) != 0) return false;
    for (size_t i = 0; i < HEX_LEN; i++) {
        char c = name[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    char hex[HEX_LEN + 1];
    memcpy(hex, name, HEX_LEN);
    hex[HEX_LEN] = '\0';
    return tss_is_ok(tss_hex_decode(id, TSS_SID_BYTES, hex, "presign id"));
}

static bool is_temp_name(const char *name) {
    size_t n = strlen(name);
    return name[0] == '.' && n > 5 && strcmp(name + n - 4, ".tmp") == 0;
}


static tss_result unlink_in(const char *dir, const char *name) {
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    TSS_ENSURE(n > 0 && (size_t)n < sizeof path, TSS_E_USAGE, "path too long: %s/%s", dir, name);
    TSS_ENSURE(unlink(path) == 0 || errno == ENOENT, TSS_E_IO, "cannot remove %s: %s", path,
               strerror(errno));
    return TSS_OK_RESULT;
}

/* Remove orphans (files of spent ids) and temp files of interrupted puts. */
static tss_result collect_garbage(tss_presig_store *st) {
    DIR *d = opendir(st->dir);
    TSS_ENSURE(d, TSS_E_IO, "cannot list %s: %s", st->dir, strerror(errno));
    tss_result r = TSS_OK_RESULT;
    size_t removed = 0;
    struct dirent *e;
    errno = 0;
    while (tss_is_ok(r) && (e = readdir(d)) != NULL) {
        uint8_t id[TSS_SID_BYTES];
        bool orphan = parse_name(e->d_name, id) && tss_spent_log_contains(st->log, id);
        if (orphan || is_temp_name(e->d_name)) {
            r = unlink_in(st->dir, e->d_name);
            removed++;
        }
        errno = 0;
    }
    if (tss_is_ok(r) && errno != 0)
        r = tss_fail(TSS_E_IO, "cannot list %s: %s", st->dir, strerror(errno));
    closedir(d);
    if (tss_is_ok(r) && removed) r = tss_fsync_dir(st->dir);
    if (tss_is_ok(r)) st->collected += removed;
    return r;
}

tss_result tss_presig_store_open(tss_presig_store **out, const tss_store_ctx *ctx,
                                 const char *key_id) {
    TSS_GUARD(tss_store_key_id_check(key_id));
    tss_presig_store *st = calloc(1, sizeof *st);
    TSS_ENSURE(st, TSS_E_NOMEM, "out of memory");
    tss_result r = TSS_OK_RESULT;
    int n = snprintf(st->state_dir, sizeof st->state_dir, "%s", ctx->state_dir);
    if (n <= 0 || (size_t)n >= sizeof st->state_dir) r = tss_fail(TSS_E_USAGE, "state directory path too long");
    st->ctx = *ctx;
    st->ctx.state_dir = st->state_dir;
    snprintf(st->key_id, sizeof st->key_id, "%s", key_id);
    if (tss_is_ok(r))
        r = tss_store_ensure_dir(&st->ctx, TSS_STORE_PRESIG_DIR, key_id, st->dir, sizeof st->dir);
    if (tss_is_ok(r))
        r = tss_spent_log_open(&st->log, st->dir, TSS_STORE_SPENT_LOG, TSS_SPENT_PRESIG, key_id,
                               ctx->keys->storage_key, ctx->log_max_records);
    if (tss_is_ok(r)) r = collect_garbage(st);
    if (!tss_is_ok(r)) {
        tss_presig_store_close(st);
        return r;
    }
    *out = st;
    return TSS_OK_RESULT;
}

void tss_presig_store_close(tss_presig_store *st) {
    if (!st) return;
    tss_spent_log_close(st->log);
    free(st);
}

bool tss_presig_store_is_spent(const tss_presig_store *st, const uint8_t id[TSS_SID_BYTES]) {
    return tss_spent_log_contains(st->log, id);
}

size_t tss_presig_store_collected(const tss_presig_store *st) { return st->collected; }
size_t tss_presig_store_log_repaired(const tss_presig_store *st) {
    return tss_spent_log_repaired(st->log);
}

static void id_hex(char out[HEX_LEN + 1], const uint8_t id[TSS_SID_BYTES]) {
    tss_hex_encode(out, id, TSS_SID_BYTES);
}

tss_result tss_presig_store_put(tss_presig_store *st, const tss_presig *p) {
    char hex[HEX_LEN + 1];
    id_hex(hex, p->presign_id);
    TSS_ENSURE(strcmp(p->key_id, st->key_id) == 0, TSS_E_INVALID,
               "presignature %s is for key '%s', not '%s'", hex, p->key_id, st->key_id);
    TSS_ENSURE(p->self == st->ctx.party_id, TSS_E_INVALID,
               "presignature %s is party %u's, but this is party %u", hex, p->self,
               st->ctx.party_id);
    TSS_ENSURE(!p->used, TSS_E_PROTOCOL, "presignature %s is already used", hex);
    TSS_ENSURE(!tss_spent_log_contains(st->log, p->presign_id), TSS_E_PROTOCOL,
               "presignature %s of key '%s' was already consumed; refusing to store it again",
               hex, st->key_id);
    char name[HEX_LEN + sizeof TSS_STORE_PRESIG_SUFFIX];
    presig_name(name, p->presign_id);
    tss_writer plain, sealed;
    tss_writer_init_secret(&plain, PRESIG_PLAIN_MAX); /* plaintext secrets */
    tss_writer_init(&sealed, TSS_SEALED_MAX_FILE);
    tss_result r = tss_presig_encode(p, &plain);
    if (tss_is_ok(r)) r = tss_writer_status(&plain, "presignature");
    if (tss_is_ok(r))
        r = tss_store_seal(&st->ctx, TSS_CONTENT_PRESIG, st->key_id, plain.data, plain.len,
                           &sealed);
    if (tss_is_ok(r))
        r = tss_file_write_atomic(st->dir, name, sealed.data, sealed.len, false, st->ctx.atomic);
    tss_writer_free(&plain);
    tss_writer_free(&sealed);
    return r;
}

/* Calls fn for every well-formed, unspent presignature file name. */
static tss_result scan(tss_presig_store *st, void (*fn)(void *ctx, const uint8_t *id),
                       void *ctx) {
    DIR *d = opendir(st->dir);
    TSS_ENSURE(d, TSS_E_IO, "cannot list %s: %s", st->dir, strerror(errno));
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        uint8_t id[TSS_SID_BYTES];
        if (parse_name(e->d_name, id) && !tss_spent_log_contains(st->log, id)) fn(ctx, id);
        errno = 0;
    }
    int saved = errno;
    closedir(d);
    TSS_ENSURE(saved == 0, TSS_E_IO, "cannot list %s: %s", st->dir, strerror(saved));
    return TSS_OK_RESULT;
}

static void count_one(void *ctx, const uint8_t *id) {
    (void)id;
    (*(size_t *)ctx)++;
}

tss_result tss_presig_store_count(tss_presig_store *st, size_t *count) {
    size_t n = 0;
    TSS_GUARD(scan(st, count_one, &n));
    *count = n;
    return TSS_OK_RESULT;
}

typedef struct {
    uint8_t (*ids)[TSS_SID_BYTES];
    size_t cap, count;
} list_ctx;

static void list_one(void *ctx, const uint8_t *id) {
    list_ctx *l = ctx;
    if (l->count < l->cap) memcpy(l->ids[l->count++], id, TSS_SID_BYTES);
}

tss_result tss_presig_store_list(tss_presig_store *st, uint8_t (*ids)[TSS_SID_BYTES], size_t cap,
                                 size_t *count) {
    list_ctx l = {ids, cap, 0};
    TSS_GUARD(scan(st, list_one, &l));
    *count = l.count;
    return TSS_OK_RESULT;
}

tss_result tss_presig_store_take(tss_presig_store *st, const uint8_t id[TSS_SID_BYTES],
                                 tss_presig **out) {
    char hex[HEX_LEN + 1];
    id_hex(hex, id);
    char name[HEX_LEN + sizeof TSS_STORE_PRESIG_SUFFIX];
    presig_name(name, id);
    if (tss_spent_log_contains(st->log, id)) {
        /* A file that reappeared (restored from a backup): remove it again.
         * Best effort; the refusal does not depend on it. */
        if (tss_is_ok(unlink_in(st->dir, name))) (void)tss_fsync_dir(st->dir).err;
        return tss_fail(TSS_E_PROTOCOL,
                        "presignature %s of key '%s' was already consumed (in %s/%s); "
                        "refusing to use it again",
                        hex, st->key_id, st->dir, TSS_STORE_SPENT_LOG);
    }
    uint8_t *plain = NULL;
    size_t len = 0;
    tss_result r = tss_store_open(&st->ctx, st->dir, name, TSS_CONTENT_PRESIG, st->key_id, &plain,
                                  &len);
    if (r.err == TSS_E_NOT_FOUND)
        return tss_fail(TSS_E_NOT_FOUND, "no presignature %s for key '%s'", hex, st->key_id);
    TSS_GUARD(r);
    tss_presig *p = NULL;
    r = tss_presig_decode(&p, plain, len);
    tss_secret_free(plain);
    if (!tss_is_ok(r)) {
        char detail[400];
        snprintf(detail, sizeof detail, "%s", tss_error_detail());
        return tss_fail(r.err, "%s/%s: %s", st->dir, name, detail);
    }
    /* Authenticated contents must agree with the name and the store. */
    if (memcmp(p->presign_id, id, TSS_SID_BYTES) != 0)
        r = tss_fail(TSS_E_CORRUPT, "%s/%s holds another presignature id (renamed?); refusing it",
                     st->dir, name);
    else if (strcmp(p->key_id, st->key_id) != 0)
        r = tss_fail(TSS_E_CORRUPT, "%s/%s holds a presignature of key '%s'", st->dir, name,
                     p->key_id);
    else if (p->self != st->ctx.party_id)
        r = tss_fail(TSS_E_CORRUPT, "%s/%s holds party %u's presignature, this is party %u",
                     st->dir, name, p->self, st->ctx.party_id);
    else if (p->used)
        r = tss_fail(TSS_E_PROTOCOL, "%s/%s is marked used", st->dir, name);
    if (!tss_is_ok(r)) {
        tss_presig_free(p);
        return r;
    }
    *out = p;
    return TSS_OK_RESULT;
}

tss_result tss_presig_store_consume(tss_presig_store *st, const uint8_t id[TSS_SID_BYTES]) {
    char hex[HEX_LEN + 1];
    id_hex(hex, id);
    if (tss_spent_log_contains(st->log, id))
        return tss_fail(TSS_E_PROTOCOL,
                        "presignature %s of key '%s' was already consumed; refusing to use it "
                        "again",
                        hex, st->key_id);
    /* 1. The spent log is the point of no return. */
    TSS_GUARD(tss_spent_log_append(st->log, id));
    if (st->ctx.spend && st->ctx.spend->after_spend)
        TSS_GUARD(st->ctx.spend->after_spend(st->ctx.spend->ctx, id));
    /* 2-3. Remove the secret material durably. */
    char name[HEX_LEN + sizeof TSS_STORE_PRESIG_SUFFIX];
    presig_name(name, id);
    TSS_GUARD(unlink_in(st->dir, name));
    return tss_fsync_dir(st->dir);
}

static tss_result consume_cb(void *ctx, const uint8_t id[TSS_SID_BYTES]) {
    return tss_presig_store_consume(ctx, id);
}

tss_consume_hook tss_presig_store_consume_hook(tss_presig_store *st) {
    return (tss_consume_hook){consume_cb, st};
}
