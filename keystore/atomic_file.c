#include "keystore/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


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

tss_result tss_file_write_atomic(const char *dir, const char *name, const uint8_t *data,
                                 size_t len, bool replace, const tss_atomic_hooks *hooks) {
    return tss_file_write_atomic_mode(dir, name, data, len, 0600, replace, hooks);
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
