#include "keystore/key_erase.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"

static tss_result unlink_at(const char *dir, const char *name) {
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    TSS_ENSURE(n > 0 && (size_t)n < sizeof path, TSS_E_USAGE, "path too long");
    TSS_ENSURE(unlink(path) == 0 || errno == ENOENT, TSS_E_IO, "cannot remove %s: %s", path,
               strerror(errno));
    return TSS_OK_RESULT;
}

/* Step 1: the presignature directory (all but spent.log, then spent.log). */
static tss_result erase_presigs(const tss_store_ctx *ctx, const char *key_id, bool *found) {
    char parent[PATH_MAX], dir[PATH_MAX];
    TSS_GUARD(tss_store_path(parent, sizeof parent, ctx->state_dir, TSS_STORE_PRESIG_DIR, NULL));
    TSS_GUARD(tss_store_path(dir, sizeof dir, ctx->state_dir, TSS_STORE_PRESIG_DIR, key_id));
    DIR *d = opendir(dir);
    if (!d && errno == ENOENT) return TSS_OK_RESULT;
    TSS_ENSURE(d, TSS_E_IO, "cannot list %s: %s", dir, strerror(errno));
    *found = true;
    tss_result r = TSS_OK_RESULT;
    size_t removed = 0;
    struct dirent *e;
    while (tss_is_ok(r) && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, TSS_STORE_SPENT_LOG) == 0)
            continue;
        r = unlink_at(dir, e->d_name);
        removed++;
    }
    closedir(d);
    TSS_GUARD(r);
    if (removed) TSS_GUARD(tss_fsync_dir(dir));
    TSS_GUARD(unlink_at(dir, TSS_STORE_SPENT_LOG));
    TSS_ENSURE(rmdir(dir) == 0 || errno == ENOENT, TSS_E_IO, "cannot remove %s: %s", dir,
               strerror(errno));
    return tss_fsync_dir(parent);
}

/* Step 2: the share. Renamed first to ".<key-id>.share.erasing" (which no
 * listing or load matches), so a crash while it is being zeroed never leaves
 * a damaged "<key-id>.share" that would stop the party at start; then
 * zeroed, synced, unlinked. A leftover tombstone is finished by a re-run. */
static tss_result erase_share(const tss_store_ctx *ctx, const char *key_id, bool *found) {
    char dir[PATH_MAX], name[NAME_MAX], tomb[NAME_MAX], path[PATH_MAX], tpath[PATH_MAX];
    TSS_GUARD(tss_store_path(dir, sizeof dir, ctx->state_dir, TSS_STORE_KEYS_DIR, NULL));
    int n = snprintf(name, sizeof name, "%s%s", key_id, TSS_STORE_SHARE_SUFFIX);
    int m = snprintf(tomb, sizeof tomb, ".%s%s.erasing", key_id, TSS_STORE_SHARE_SUFFIX);
    TSS_ENSURE(n > 0 && (size_t)n < sizeof name && m > 0 && (size_t)m < sizeof tomb, TSS_E_USAGE,
               "key id too long");
    TSS_GUARD(tss_store_path(path, sizeof path, ctx->state_dir, TSS_STORE_KEYS_DIR, name));
    TSS_GUARD(tss_store_path(tpath, sizeof tpath, ctx->state_dir, TSS_STORE_KEYS_DIR, tomb));
    if (rename(path, tpath) == 0) {
        TSS_GUARD(tss_fsync_dir(dir));
    } else {
        TSS_ENSURE(errno == ENOENT, TSS_E_IO, "cannot rename %s: %s", path, strerror(errno));
    }
    int fd = open(tpath, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return TSS_OK_RESULT;
    TSS_ENSURE(fd >= 0, TSS_E_IO, "cannot open %s: %s", tpath, strerror(errno));
    *found = true;
    struct stat st;
    tss_result r = TSS_OK_RESULT;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r = tss_fail(TSS_E_IO, "%s is not a regular file", tpath);
    } else {
        static const uint8_t zeros[4096];
        for (off_t off = 0; tss_is_ok(r) && off < st.st_size;) {
            size_t chunk = (size_t)(st.st_size - off) < sizeof zeros ? (size_t)(st.st_size - off)
                                                                     : sizeof zeros;
            ssize_t w = pwrite(fd, zeros, chunk, off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) r = tss_fail(TSS_E_IO, "cannot overwrite %s: %s", tpath, strerror(errno));
            else off += w;
        }
        if (tss_is_ok(r) && fdatasync(fd) != 0)
            r = tss_fail(TSS_E_IO, "%s: fdatasync: %s", tpath, strerror(errno));
    }
    close(fd);
    TSS_GUARD(r);
    TSS_GUARD(unlink_at(dir, tomb));
    return tss_fsync_dir(dir);
}

tss_result tss_key_erase(const tss_store_ctx *ctx, const char *key_id, bool *erased) {
    TSS_GUARD(tss_store_key_id_check(key_id));
    bool found = false;
    TSS_GUARD(erase_presigs(ctx, key_id, &found));
    TSS_GUARD(erase_share(ctx, key_id, &found));
    if (erased) *erased = found;
    return TSS_OK_RESULT;
}
