/* PKI output files: written whole or not at all, keys never overwritten. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tls/pki_internal.h"

tss_result tss_tls_pki_ensure_dir(const char *dir) {
    TSS_ENSURE(dir && *dir, TSS_E_USAGE, "no directory given");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return tss_fail(errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO, "cannot create %s: %s", dir,
                        strerror(errno));
    struct stat st;
    TSS_ENSURE(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), TSS_E_INVALID, "%s is not a directory",
               dir);
    return TSS_OK_RESULT;
}

tss_result tss_tls_pki_refuse_existing(const char *dir, const char *name) {
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    TSS_ENSURE(n > 0 && (size_t)n < sizeof path, TSS_E_USAGE, "path too long: %s/%s", dir, name);
    struct stat st;
    TSS_ENSURE(lstat(path, &st) != 0, TSS_E_EXISTS,
               "%s already exists; refusing to overwrite a private key (move it away first)", path);
    return TSS_OK_RESULT;
}

static tss_result fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    TSS_ENSURE(fd >= 0, TSS_E_IO, "cannot open directory %s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    TSS_ENSURE(rc == 0, TSS_E_IO, "fsync of %s failed: %s", dir, strerror(e));
    return TSS_OK_RESULT;
}

static tss_result write_fd(int fd, const uint8_t *p, size_t len, const char *path) {
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        TSS_ENSURE(n > 0, TSS_E_IO, "write to %s failed: %s", path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    TSS_ENSURE(fsync(fd) == 0, TSS_E_IO, "fsync of %s failed: %s", path, strerror(errno));
    return TSS_OK_RESULT;
}

tss_result tss_tls_pki_write_file(const char *dir, const char *name, const void *data, size_t len,
                                  mode_t mode, bool overwrite) {
    char path[PATH_MAX], tmp[PATH_MAX];
    int n1 = snprintf(path, sizeof path, "%s/%s", dir, name);
    int n2 = snprintf(tmp, sizeof tmp, "%s/.%s.tmp-XXXXXX", dir, name);
    TSS_ENSURE(n1 > 0 && (size_t)n1 < sizeof path && n2 > 0 && (size_t)n2 < sizeof tmp, TSS_E_USAGE,
               "path too long: %s/%s", dir, name);
    int fd = mkstemp(tmp); /* mode 0600 from the start: a key is never exposed */
    TSS_ENSURE(fd >= 0, TSS_E_IO, "cannot create a file in %s: %s", dir, strerror(errno));
    tss_result r = TSS_OK_RESULT;
    if (fchmod(fd, mode) != 0)
        r = tss_fail(TSS_E_IO, "cannot set mode of %s: %s", tmp, strerror(errno));
    if (tss_is_ok(r)) r = write_fd(fd, data, len, tmp);
    close(fd);
    if (tss_is_ok(r)) {
        if (overwrite) {
            if (rename(tmp, path) != 0)
                r = tss_fail(TSS_E_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        } else if (link(tmp, path) != 0) {
            r = errno == EEXIST
                    ? tss_fail(TSS_E_EXISTS, "%s already exists; refusing to overwrite it", path)
                    : tss_fail(TSS_E_IO, "cannot create %s: %s", path, strerror(errno));
        }
    }
    unlink(tmp); /* after rename it is gone already; after link it is the extra name */
    if (tss_is_ok(r)) r = fsync_dir(dir);
    return r;
}
