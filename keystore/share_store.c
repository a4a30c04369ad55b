#include "keystore/share_store.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keystore/key_erase.h"

#include "util/secmem.h"

/* Plaintext bound: the sealed container's. */
#define SHARE_MAX TSS_SEALED_MAX_PLAINTEXT

static tss_result name_with(char *out, size_t cap, const char *key_id, const char *pre,
                            const char *suffix) {
    TSS_GUARD(tss_store_key_id_check(key_id));
    int n = snprintf(out, cap, "%s%s%s", pre, key_id, suffix);
    TSS_ENSURE(n > 0 && (size_t)n < cap, TSS_E_USAGE, "key id too long");
    return TSS_OK_RESULT;
}

static tss_result share_name(char *out, size_t cap, const char *key_id) {
    return name_with(out, cap, key_id, "", TSS_STORE_SHARE_SUFFIX);
}

static tss_result write_named(const tss_store_ctx *ctx, const char *dir, const char *name,
                              const tss_keyshare *share, bool replace);

static tss_result write_share(const tss_store_ctx *ctx, const char *dir,
                              const tss_keyshare *share, bool replace) {
    char name[NAME_MAX];
    TSS_GUARD(share_name(name, sizeof name, share->key_id));
    return write_named(ctx, dir, name, share, replace);
}

static tss_result write_named(const tss_store_ctx *ctx, const char *dir, const char *name,
                              const tss_keyshare *share, bool replace) {
    tss_writer plain, sealed;
    tss_writer_init_secret(&plain, SHARE_MAX); /* plaintext secrets */
    tss_writer_init(&sealed, TSS_SEALED_MAX_FILE);
    tss_result r = tss_keyshare_encode(share, &plain);
    if (tss_is_ok(r)) r = tss_writer_status(&plain, "key share");
    if (tss_is_ok(r))
        r = tss_store_seal(ctx, TSS_CONTENT_KEYSHARE, share->key_id, plain.data, plain.len,
                           &sealed);
    if (tss_is_ok(r))
        r = tss_file_write_atomic(dir, name, sealed.data, sealed.len, replace, ctx->atomic);
    tss_writer_free(&plain);
    tss_writer_free(&sealed);
    return r;
}

tss_result tss_share_save(const tss_store_ctx *ctx, const tss_keyshare *share) {
    TSS_GUARD(tss_store_key_id_check(share->key_id));
    TSS_ENSURE(share->self == ctx->party_id, TSS_E_INVALID,
               "key share '%s' is party %u's, but this is party %u", share->key_id, share->self,
               ctx->party_id);
    char dir[PATH_MAX];
    TSS_GUARD(tss_store_ensure_dir(ctx, TSS_STORE_KEYS_DIR, NULL, dir, sizeof dir));
    return write_share(ctx, dir, share, false);
}

static tss_result load_named(const tss_store_ctx *ctx, const char *dir, const char *name,
                             const char *key_id, tss_keyshare **out);

static tss_result load_from(const tss_store_ctx *ctx, const char *dir, const char *key_id,
                            tss_keyshare **out) {
    char name[NAME_MAX];
    TSS_GUARD(share_name(name, sizeof name, key_id));
    return load_named(ctx, dir, name, key_id, out);
}

static tss_result load_named(const tss_store_ctx *ctx, const char *dir, const char *name,
                             const char *key_id, tss_keyshare **out) {
    uint8_t *plain = NULL;
    size_t len = 0;
    TSS_GUARD(tss_store_open(ctx, dir, name, TSS_CONTENT_KEYSHARE, key_id, &plain, &len));
    tss_keyshare *ks = NULL;
    tss_result r = tss_keyshare_decode(&ks, plain, len);
    tss_secret_free(plain);
    if (!tss_is_ok(r)) {
        char detail[400];
        snprintf(detail, sizeof detail, "%s", tss_error_detail());
        return tss_fail(r.err, "%s/%s: %s", dir, name, detail);
    }
    /* Authenticated, so a mismatch here is a writer bug or a forged file. */
    if (strcmp(ks->key_id, key_id) != 0) {
        r = tss_fail(TSS_E_CORRUPT, "%s/%s holds the share of key id '%s'", dir, name,
                     ks->key_id);
    } else if (ks->self != ctx->party_id) {
        r = tss_fail(TSS_E_CORRUPT, "%s/%s holds party %u's share, but this is party %u", dir,
                     name, ks->self, ctx->party_id);
    }
    if (!tss_is_ok(r)) {
        tss_keyshare_free(ks);
        return r;
    }
    *out = ks;
    return TSS_OK_RESULT;
}

tss_result tss_share_load(const tss_store_ctx *ctx, const char *key_id, tss_keyshare **out) {
    TSS_GUARD(tss_store_key_id_check(key_id));
    char dir[PATH_MAX];
    TSS_GUARD(tss_store_path(dir, sizeof dir, ctx->state_dir, TSS_STORE_KEYS_DIR, NULL));
    TSS_GUARD(tss_dir_check_private(ctx->state_dir));
    TSS_GUARD(tss_dir_check_private(dir));
    return load_from(ctx, dir, key_id, out);
}

static int cmp_ids(const void *a, const void *b) { return strcmp(a, b); }

tss_result tss_share_list(const tss_store_ctx *ctx, tss_key_id_list *out) {
    out->count = 0;
    out->ids = NULL;
    char dir[PATH_MAX];
    TSS_GUARD(tss_store_path(dir, sizeof dir, ctx->state_dir, TSS_STORE_KEYS_DIR, NULL));
    tss_result r = tss_dir_check_private(dir);
    if (r.err == TSS_E_NOT_FOUND) return TSS_OK_RESULT;
    TSS_GUARD(r);
    DIR *d = opendir(dir);
    TSS_ENSURE(d, TSS_E_IO, "cannot list %s: %s", dir, strerror(errno));
    tss_key_id_list l = {0, NULL};
    size_t cap = 0;
    const size_t suffix = sizeof TSS_STORE_SHARE_SUFFIX - 1;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n <= suffix || strcmp(e->d_name + n - suffix, TSS_STORE_SHARE_SUFFIX) != 0) continue;
        char id[TSS_KEY_ID_MAX + 1];
        if (n - suffix > TSS_KEY_ID_MAX) continue;
        memcpy(id, e->d_name, n - suffix);
        id[n - suffix] = '\0';
        if (!tss_is_ok(tss_store_key_id_check(id))) continue;
        if (l.count == TSS_STORE_MAX_KEYS) {
            r = tss_fail(TSS_E_TOO_LARGE, "%s holds more than %d key shares", dir,
                         TSS_STORE_MAX_KEYS);
            break;
        }
        if (l.count == cap) {
            cap = cap ? cap * 2 : 16;
            void *p = realloc(l.ids, cap * sizeof *l.ids);
            if (!p) {
                r = tss_fail(TSS_E_NOMEM, "out of memory listing %s", dir);
                break;
            }
            l.ids = p;
        }
        memcpy(l.ids[l.count++], id, sizeof id);
        errno = 0;
    }
    if (tss_is_ok(r) && errno != 0) r = tss_fail(TSS_E_IO, "cannot list %s: %s", dir, strerror(errno));
    closedir(d);
    if (!tss_is_ok(r)) {
        free(l.ids);
        return r;
    }
    if (l.count) qsort(l.ids, l.count, sizeof *l.ids, cmp_ids);
    *out = l;
    return TSS_OK_RESULT;
}

void tss_key_id_list_free(tss_key_id_list *l) {
    free(l->ids);
    l->ids = NULL;
    l->count = 0;
}

tss_result tss_share_record_ban(const tss_store_ctx *ctx, const char *key_id, uint16_t party,
                                uint32_t *banned) {
    tss_keyshare *ks = NULL;
    TSS_GUARD(tss_share_load(ctx, key_id, &ks));
    char dir[PATH_MAX];
    tss_result r = tss_store_path(dir, sizeof dir, ctx->state_dir, TSS_STORE_KEYS_DIR, NULL);
    int k = tss_keyshare_index(ks, party);
    if (tss_is_ok(r) && (k < 0 || party == ks->self))
        r = tss_fail(TSS_E_INVALID, "cannot ban party %u for key '%s': %s", party, key_id,
                     k < 0 ? "not one of its parties" : "it is this party");
    if (tss_is_ok(r) && !(ks->banned & (1u << k))) {
        ks->banned |= 1u << k;
        r = write_share(ctx, dir, ks, true);
    }
    if (tss_is_ok(r) && banned) *banned = ks->banned;
    tss_keyshare_free(ks);
    return r;
}

/* ---- epochs -------------------------------------------------------------------- */

static tss_result keys_dir(const tss_store_ctx *ctx, char *dir, size_t cap) {
    TSS_GUARD(tss_store_path(dir, cap, ctx->state_dir, TSS_STORE_KEYS_DIR, NULL));
    TSS_GUARD(tss_dir_check_private(ctx->state_dir));
    return tss_dir_check_private(dir);
}

static tss_result rename_in(const char *dir, const char *from, const char *to) {
    char a[PATH_MAX], b[PATH_MAX];
    int n = snprintf(a, sizeof a, "%s/%s", dir, from), m = snprintf(b, sizeof b, "%s/%s", dir, to);
    TSS_ENSURE(n > 0 && (size_t)n < sizeof a && m > 0 && (size_t)m < sizeof b, TSS_E_USAGE,
               "path too long");
    TSS_ENSURE(rename(a, b) == 0, errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO,
               "cannot rename %s to %s: %s", a, to, strerror(errno));
    return tss_fsync_dir(dir);
}

/* Committed share's epoch; *have false when there is none. */
static tss_result committed_epoch(const tss_store_ctx *ctx, const char *key_id, bool *have,
                                  uint32_t *epoch) {
    tss_keyshare *ks = NULL;
    tss_result r = tss_share_load(ctx, key_id, &ks);
    *have = false;
    if (r.err == TSS_E_NOT_FOUND) return TSS_OK_RESULT;
    TSS_GUARD(r);
    *have = true;
    *epoch = ks->epoch;
    tss_keyshare_free(ks);
    return TSS_OK_RESULT;
}

/* A tombstone left by an interrupted commit: put the old share back (only
 * when there is no committed share, i.e. the crash fell between step 2 and 3). */
static tss_result restore_tombstone(const tss_store_ctx *ctx, const char *dir, const char *key_id) {
    char share[NAME_MAX], tomb[NAME_MAX], path[PATH_MAX];
    TSS_GUARD(share_name(share, sizeof share, key_id));
    TSS_GUARD(name_with(tomb, sizeof tomb, key_id, ".", TSS_STORE_SHARE_SUFFIX ".old"));
    int n = snprintf(path, sizeof path, "%s/%s", dir, share);
    TSS_ENSURE(n > 0 && (size_t)n < sizeof path, TSS_E_USAGE, "path too long");
    if (access(path, F_OK) == 0) return TSS_OK_RESULT;
    tss_result r = rename_in(dir, tomb, share);
    if (r.err == TSS_E_NOT_FOUND) return TSS_OK_RESULT;
    (void)ctx;
    return r;
}

tss_result tss_share_save_next(const tss_store_ctx *ctx, const tss_keyshare *share) {
    TSS_GUARD(tss_store_key_id_check(share->key_id));
    TSS_ENSURE(share->self == ctx->party_id, TSS_E_INVALID,
               "key share '%s' is party %u's, but this is party %u", share->key_id, share->self,
               ctx->party_id);
    char dir[PATH_MAX], name[NAME_MAX];
    TSS_GUARD(tss_store_ensure_dir(ctx, TSS_STORE_KEYS_DIR, NULL, dir, sizeof dir));
    TSS_GUARD(restore_tombstone(ctx, dir, share->key_id));
    bool have = false;
    uint32_t epoch = 0;
    TSS_GUARD(committed_epoch(ctx, share->key_id, &have, &epoch));
    TSS_ENSURE(share->epoch >= 1 && (!have || share->epoch == epoch + 1), TSS_E_INVALID,
               "key '%s': a next-epoch share must have epoch %u, not %u", share->key_id,
               have ? epoch + 1 : share->epoch ? share->epoch : 1, share->epoch);
    TSS_GUARD(name_with(name, sizeof name, share->key_id, "", TSS_STORE_NEXT_SUFFIX));
    return write_named(ctx, dir, name, share, true);
}

tss_result tss_share_load_next(const tss_store_ctx *ctx, const char *key_id, tss_keyshare **out) {
    char dir[PATH_MAX], name[NAME_MAX];
    TSS_GUARD(keys_dir(ctx, dir, sizeof dir));
    TSS_GUARD(name_with(name, sizeof name, key_id, "", TSS_STORE_NEXT_SUFFIX));
    return load_named(ctx, dir, name, key_id, out);
}

tss_result tss_share_commit_next(const tss_store_ctx *ctx, const char *key_id, uint32_t epoch) {
    char dir[PATH_MAX], next[NAME_MAX], share[NAME_MAX], tomb[NAME_MAX];
    TSS_GUARD(keys_dir(ctx, dir, sizeof dir));
    TSS_GUARD(name_with(next, sizeof next, key_id, "", TSS_STORE_NEXT_SUFFIX));
    TSS_GUARD(share_name(share, sizeof share, key_id));
    TSS_GUARD(name_with(tomb, sizeof tomb, key_id, ".", TSS_STORE_SHARE_SUFFIX ".old"));
    tss_keyshare *ks = NULL;
    tss_result r = load_named(ctx, dir, next, key_id, &ks);
    if (r.err == TSS_E_NOT_FOUND) {
        /* Already committed (a repeated commit after a crash past step 3)? */
        bool have = false;
        uint32_t cur = 0;
        TSS_GUARD(committed_epoch(ctx, key_id, &have, &cur));
        TSS_ENSURE(have && cur == epoch, TSS_E_PROTOCOL,
                   "key '%s': no share of epoch %u to commit (%s)", key_id, epoch,
                   have ? "the committed share has another epoch" : "none stored");
        return tss_key_erase_tombstone(ctx, key_id, NULL); /* step 4, if it was cut */
    }
    TSS_GUARD(r);
    uint32_t got = ks->epoch;
    tss_keyshare_free(ks);
    TSS_ENSURE(got == epoch, TSS_E_PROTOCOL,
               "key '%s': the stored next share has epoch %u, the commit names %u", key_id, got,
               epoch);
    /* 1. presignatures of the old epoch */
    TSS_GUARD(tss_key_erase_presigs(ctx, key_id, NULL));
    /* 2. the old share out of the way (a tombstone from an earlier cut commit
     *    is already there when the share is not) */
    r = rename_in(dir, share, tomb);
    if (r.err != TSS_E_NOT_FOUND) TSS_GUARD(r);
    /* 3. the new epoch in force */
    TSS_GUARD(rename_in(dir, next, share));
    /* 4. the old share erased */
    return tss_key_erase_tombstone(ctx, key_id, NULL);
}

tss_result tss_share_discard_next(const tss_store_ctx *ctx, const char *key_id) {
    char dir[PATH_MAX], next[NAME_MAX], path[PATH_MAX];
    TSS_GUARD(keys_dir(ctx, dir, sizeof dir));
    TSS_GUARD(name_with(next, sizeof next, key_id, "", TSS_STORE_NEXT_SUFFIX));
    TSS_GUARD(restore_tombstone(ctx, dir, key_id));
    int n = snprintf(path, sizeof path, "%s/%s", dir, next);
    TSS_ENSURE(n > 0 && (size_t)n < sizeof path, TSS_E_USAGE, "path too long");
    if (unlink(path) != 0) {
        TSS_ENSURE(errno == ENOENT, TSS_E_IO, "cannot remove %s: %s", path, strerror(errno));
        return TSS_OK_RESULT;
    }
    return tss_fsync_dir(dir);
}
