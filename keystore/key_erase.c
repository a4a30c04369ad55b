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

/* keys/<tomb>: zeroed, synced, unlinked, directory synced. */
static tss_result zero_unlink(const char *dir, const char *tomb, bool *found) {
    char tpath[PATH_MAX];
    int n = snprintf(tpath, sizeof tpath, "%s/%s", dir, tomb);
    TSS_ENSURE(n > 0 && (size_t)n < sizeof tpath, TSS_E_USAGE, "path too long");
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

/* Step 2: the share files. Each is renamed first to ".<key-id>.share.erasing"
 * (which no listing or load matches), so a crash while it is being zeroed
 * never leaves a damaged "<key-id>.share" that would stop the party at
 * start; then zeroed, synced, unlinked. A leftover tombstone is finished by
 * a re-run. share_too: also <key-id>.share and <key-id>.next (retirement);
 * always: an interrupted erasure's tombstone and the previous epoch's share
 * an interrupted commit left (".<key-id>.share.old", share_store.h). */
static tss_result erase_share(const tss_store_ctx *ctx, const char *key_id, bool *found,
                              bool share_too) {
    char dir[PATH_MAX], tomb[NAME_MAX], src[3][NAME_MAX];
    TSS_GUARD(tss_store_path(dir, sizeof dir, ctx->state_dir, TSS_STORE_KEYS_DIR, NULL));
    int m = snprintf(tomb, sizeof tomb, ".%s%s.erasing", key_id, TSS_STORE_SHARE_SUFFIX);
    int a = snprintf(src[0], sizeof src[0], ".%s%s.old", key_id, TSS_STORE_SHARE_SUFFIX);
    int b = snprintf(src[1], sizeof src[1], "%s%s", key_id, TSS_STORE_NEXT_SUFFIX);
    int c = snprintf(src[2], sizeof src[2], "%s%s", key_id, TSS_STORE_SHARE_SUFFIX);
    TSS_ENSURE(m > 0 && (size_t)m < sizeof tomb && a > 0 && (size_t)a < sizeof src[0] && b > 0 &&
                   (size_t)b < sizeof src[1] && c > 0 && (size_t)c < sizeof src[2],
               TSS_E_USAGE, "key id too long");
    TSS_GUARD(zero_unlink(dir, tomb, found)); /* an interrupted erasure first */
    for (int i = 0; i < (share_too ? 3 : 1); i++) {
        char from[PATH_MAX], to[PATH_MAX];
        int x = snprintf(from, sizeof from, "%s/%s", dir, src[i]);
        int y = snprintf(to, sizeof to, "%s/%s", dir, tomb);
        TSS_ENSURE(x > 0 && (size_t)x < sizeof from && y > 0 && (size_t)y < sizeof to,
                   TSS_E_USAGE, "path too long");
        if (rename(from, to) != 0) {
            TSS_ENSURE(errno == ENOENT, TSS_E_IO, "cannot rename %s: %s", from, strerror(errno));
            continue;
        }
        TSS_GUARD(tss_fsync_dir(dir));
        TSS_GUARD(zero_unlink(dir, tomb, found));
    }
    return TSS_OK_RESULT;
}

tss_result tss_key_erase_presigs(const tss_store_ctx *ctx, const char *key_id, bool *erased) {
    TSS_GUARD(tss_store_key_id_check(key_id));
    bool found = false;
    TSS_GUARD(erase_presigs(ctx, key_id, &found));
    if (erased) *erased = found;
    return TSS_OK_RESULT;
}

tss_result tss_key_erase_tombstone(const tss_store_ctx *ctx, const char *key_id, bool *erased) {
    TSS_GUARD(tss_store_key_id_check(key_id));
    bool found = false;
    TSS_GUARD(erase_share(ctx, key_id, &found, false));
    if (erased) *erased = found;
    return TSS_OK_RESULT;
}

tss_result tss_key_erase(const tss_store_ctx *ctx, const char *key_id, bool *erased) {
    TSS_GUARD(tss_store_key_id_check(key_id));
    bool found = false;
    TSS_GUARD(erase_presigs(ctx, key_id, &found));
    TSS_GUARD(erase_share(ctx, key_id, &found, true));
    if (erased) *erased = found;
    return TSS_OK_RESULT;
}
