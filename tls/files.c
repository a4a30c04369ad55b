/* Reading certificate, CA, CRL and key files with size caps and clear errors.
 * Keys are read through the descriptor we checked (no stat/open race) into
 * secret memory, and refused when group or others may read them. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wolfssl/wolfcrypt/ecc.h>

#include "tls/internal.h"
#include "util/secmem.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void init_wolfssl(void) {
    init_rc = wolfSSL_Init() == WOLFSSL_SUCCESS && tss_is_ok(tss_crypto_init());
}

tss_result tss_tls_global_init(void) {
    pthread_once(&init_once, init_wolfssl);
    TSS_ENSURE(init_rc, TSS_E_CRYPTO, "wolfSSL initialisation failed");
    return TSS_OK_RESULT;
}

void tss_tls_thread_cleanup(void) { wc_ecc_fp_free(); }

void tss_tls_global_cleanup(void) {
    if (init_rc) (void)wolfSSL_Cleanup();
}

tss_result tss_tls_wrap(tss_result r, const char *prefix) {
    if (tss_is_ok(r)) return r;
    char detail[512];
    snprintf(detail, sizeof detail, "%s", tss_error_detail());
    return tss_fail(r.err, "%s: %s", prefix, detail);
}

static tss_result open_checked(const char *path, const char *what, bool private_key, int *fd_out,
                               size_t *size_out, size_t max) {
    TSS_ENSURE(path && *path, TSS_E_USAGE, "no %s file given", what);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return tss_fail(e == ENOENT   ? TSS_E_NOT_FOUND
                        : e == EACCES ? TSS_E_PERMISSION
                                      : TSS_E_IO,
                        "cannot open %s file %s: %s", what, path, strerror(e));
    }
    struct stat st;
    tss_result r = TSS_OK_RESULT;
    if (fstat(fd, &st) != 0)
        r = tss_fail(TSS_E_IO, "cannot stat %s file %s: %s", what, path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        r = tss_fail(TSS_E_INVALID, "%s file %s is not a regular file", what, path);
    else if (private_key && (st.st_mode & 077))
        r = tss_fail(TSS_E_PERMISSION,
                     "%s file %s is accessible by group or others (mode %04o); fix: chmod 600 %s",
                     what, path, (unsigned)(st.st_mode & 07777), path);
    else if ((size_t)st.st_size > max)
        r = tss_fail(TSS_E_TOO_LARGE, "%s file %s is larger than %zu bytes", what, path, max);
    else if (st.st_size == 0)
        r = tss_fail(TSS_E_INVALID, "%s file %s is empty", what, path);
    if (!tss_is_ok(r)) {
        close(fd);
        return r;
    }
    *fd_out = fd;
    *size_out = (size_t)st.st_size;
    return TSS_OK_RESULT;
}

static tss_result read_fd(int fd, uint8_t *buf, size_t size, const char *what, const char *path) {
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        TSS_ENSURE(n >= 0, TSS_E_IO, "cannot read %s file %s: %s", what, path, strerror(errno));
        TSS_ENSURE(n > 0, TSS_E_IO, "%s file %s shrank while being read", what, path);
        got += (size_t)n;
    }
    return TSS_OK_RESULT;
}

/* Read a whole capped file, NUL-terminated; private keys (key_file) must not
 * be group/other-accessible and go into secret memory. */
static tss_result read_whole(const char *path, const char *what, size_t max, bool key_file,
                             uint8_t **out, size_t *out_len) {
    int fd = -1;
    size_t size = 0;
    TSS_GUARD(open_checked(path, what, key_file, &fd, &size, max));
    uint8_t *buf = key_file ? tss_secret_alloc(size + 1) : malloc(size + 1);
    if (!buf) {
        close(fd);
        return tss_fail(TSS_E_NOMEM, "no memory for %s file %s", what, path);
    }
    tss_result r = read_fd(fd, buf, size, what, path);
    close(fd);
    if (!tss_is_ok(r)) {
        if (key_file)
            tss_secret_free(buf);
        else
            free(buf);
        return r;
    }
    buf[size] = '\0';
    *out = buf;
    *out_len = size;
    return TSS_OK_RESULT;
}

tss_result tss_tls_read_file(const char *path, const char *what, size_t max, uint8_t **out,
                             size_t *out_len) {
    return read_whole(path, what, max, false, out, out_len);
}

tss_result tss_tls_read_key_file(const char *path, const char *what, uint8_t **out,
                                 size_t *out_len) {
    TSS_GUARD(tss_tls_global_init());
    return read_whole(path, what, TSS_TLS_MAX_KEY_FILE, true, out, out_len);
}
