#include "keystore/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static tss_result path_join(char out[PATH_MAX], const char *dir, const char *name) {
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    TSS_ENSURE(n > 0 && n < PATH_MAX, TSS_E_USAGE, "path too long: %s/%s", dir, name);
    return TSS_OK_RESULT;
}

static tss_result check_mode(const char *path, const struct stat *st, bool is_dir) {
    if (st->st_mode & 077)
        return tss_fail(TSS_E_PERMISSION,
                        "%s is accessible by group or others (mode %04o); fix: chmod %s %s", path,
                        (unsigned)(st->st_mode & 07777), is_dir ? "700" : "600", path);
    return TSS_OK_RESULT;
}

tss_result tss_dir_check_private(const char *dir) {
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (errno == ENOENT) return tss_fail(TSS_E_NOT_FOUND, "keystore directory %s does not exist", dir);
        return tss_fail(TSS_E_IO, "cannot stat %s: %s", dir, strerror(errno));
    }
    TSS_ENSURE(S_ISDIR(st.st_mode), TSS_E_INVALID, "%s is not a directory", dir);
    return check_mode(dir, &st, true);
}

tss_result tss_dir_ensure_private(const char *dir) {
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return tss_fail(errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO, "cannot create %s: %s",
                        dir, strerror(errno));
    return tss_dir_check_private(dir);
}

static tss_result fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    TSS_ENSURE(fd >= 0, TSS_E_IO, "cannot open directory %s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    TSS_ENSURE(rc == 0, TSS_E_IO, "fsync of directory %s failed: %s", dir, strerror(saved));
    return TSS_OK_RESULT;
}

static tss_result write_all(int fd, const uint8_t *data, size_t len, const char *path) {
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        TSS_ENSURE(n > 0, TSS_E_IO, "write to %s failed: %s", path, strerror(errno));
        data += n;
        len -= (size_t)n;
    }
    return TSS_OK_RESULT;
}

tss_result tss_file_write_atomic(const char *dir, const char *name, const uint8_t *data,
                                 size_t len, bool replace, const tss_atomic_hooks *hooks) {
    char final_path[PATH_MAX], tmp_path[PATH_MAX], tmp_name[NAME_MAX];
    uint8_t rnd[8];
    char rnd_hex[17];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(rnd_hex, sizeof rnd_hex, rnd, sizeof rnd);
    snprintf(tmp_name, sizeof tmp_name, ".%s.%s.tmp", name, rnd_hex);
    TSS_GUARD(path_join(final_path, dir, name));
    TSS_GUARD(path_join(tmp_path, dir, tmp_name));

    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    TSS_ENSURE(fd >= 0, TSS_E_IO, "cannot create %s: %s", tmp_path, strerror(errno));
    tss_result r = write_all(fd, data, len, tmp_path);
    if (tss_is_ok(r) && fsync(fd) != 0)
        r = tss_fail(TSS_E_IO, "fsync of %s failed: %s", tmp_path, strerror(errno));
    if (close(fd) != 0 && tss_is_ok(r))
        r = tss_fail(TSS_E_IO, "close of %s failed: %s", tmp_path, strerror(errno));
    if (tss_is_ok(r) && hooks && hooks->before_rename) r = hooks->before_rename(hooks->ctx);
    if (tss_is_ok(r)) {
        if (replace) {
            if (rename(tmp_path, final_path) != 0)
                r = tss_fail(TSS_E_IO, "rename %s -> %s failed: %s", tmp_path, final_path,
                             strerror(errno));
        } else if (link(tmp_path, final_path) != 0) {
            /* link() refuses an existing target atomically, unlike rename(). */
            r = errno == EEXIST ? tss_fail(TSS_E_EXISTS, "%s already exists; refusing to "
                                                         "overwrite it", final_path)
                                : tss_fail(TSS_E_IO, "cannot create %s: %s", final_path,
                                           strerror(errno));
        }
    }
    if (!replace || !tss_is_ok(r)) unlink(tmp_path);
    if (tss_is_ok(r)) r = fsync_dir(dir);
    return r;
}

tss_result tss_file_read_private(const char *dir, const char *name, size_t max, uint8_t **out,
                                 size_t *out_len) {
    char path[PATH_MAX];
    TSS_GUARD(path_join(path, dir, name));
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return tss_fail(TSS_E_NOT_FOUND, "%s does not exist", path);
        if (errno == ELOOP) return tss_fail(TSS_E_PERMISSION, "%s is a symbolic link; refusing it", path);
        return tss_fail(TSS_E_IO, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    tss_result r = TSS_OK_RESULT;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) != 0) {
        r = tss_fail(TSS_E_IO, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = tss_fail(TSS_E_INVALID, "%s is not a regular file", path);
        goto out;
    }
    r = check_mode(path, &st, false);
    if (!tss_is_ok(r)) goto out;
    if ((uint64_t)st.st_size > max) {
        r = tss_fail(TSS_E_CORRUPT, "%s is %lld bytes, more than the %zu allowed", path,
                     (long long)st.st_size, max);
        goto out;
    }
    buf = malloc(max + 1);
    if (!buf) {
        r = tss_fail(TSS_E_NOMEM, "out of memory reading %s", path);
        goto out;
    }
    /* Read to EOF rather than trusting st_size: the file may change under us. */
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, max + 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            r = tss_fail(TSS_E_IO, "read of %s failed: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0) break;
        got += (size_t)n;
        if (got > max) {
            r = tss_fail(TSS_E_CORRUPT, "%s is larger than the %zu bytes allowed", path, max);
            goto out;
        }
    }
    *out = buf;
    *out_len = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return r;
}
