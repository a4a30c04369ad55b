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
#include "util/file.h"

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

tss_result tss_tls_pki_write_file(const char *dir, const char *name, const void *data, size_t len,
                                  mode_t mode, bool overwrite) {
    return tss_file_write_atomic_mode(dir, name, data, len, mode, overwrite, NULL);
}
