#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

tss_result tss_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    TSS_ENSURE(fd >= 0, TSS_E_IO, "cannot open directory %s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    TSS_ENSURE(rc == 0, TSS_E_IO, "fsync of directory %s failed: %s", dir, strerror(saved));
    return TSS_OK_RESULT;
}

tss_result tss_write_all(int fd, const void *data, size_t len, const char *path) {
    const uint8_t *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        TSS_ENSURE(n > 0, TSS_E_IO, "write to %s failed: %s", path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return TSS_OK_RESULT;
}

static tss_result path_join(char out[PATH_MAX], const char *dir, const char *name) {
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    TSS_ENSURE(n > 0 && n < PATH_MAX, TSS_E_USAGE, "path too long: %s/%s", dir, name);
    return TSS_OK_RESULT;
}

tss_result tss_file_write_atomic_mode(const char *dir, const char *name, const void *data,
                                      size_t len, mode_t mode, bool replace,
                                      const tss_atomic_hooks *hooks) {
    char final_path[PATH_MAX], tmp_path[PATH_MAX], tmp_name[NAME_MAX + 1];
    uint8_t rnd[8];
    char rnd_hex[17];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(rnd_hex, sizeof rnd_hex, rnd, sizeof rnd);
    TSS_ENSURE(strlen(name) + 24 <= NAME_MAX, TSS_E_USAGE, "file name too long: %s", name);
    snprintf(tmp_name, sizeof tmp_name, ".%s.%s.tmp", name, rnd_hex);
    TSS_GUARD(path_join(final_path, dir, name));
    TSS_GUARD(path_join(tmp_path, dir, tmp_name));

    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    TSS_ENSURE(fd >= 0, TSS_E_IO, "cannot create %s: %s", tmp_path, strerror(errno));
    /* The umask may have narrowed the mode; never widened it. Set it exactly. */
    tss_result r = fchmod(fd, mode) == 0
                       ? tss_write_all(fd, data, len, tmp_path)
                       : tss_fail(TSS_E_IO, "cannot set mode of %s: %s", tmp_path, strerror(errno));
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
            r = errno == EEXIST ? tss_fail(TSS_E_EXISTS, "%s already exists; refusing to "
                                                         "overwrite it", final_path)
                                : tss_fail(TSS_E_IO, "cannot create %s: %s", final_path,
                                           strerror(errno));
        }
    }
    if (!replace || !tss_is_ok(r)) unlink(tmp_path);
    if (tss_is_ok(r)) r = tss_fsync_dir(dir);
    return r;
}
