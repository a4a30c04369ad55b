#include "keystore/passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "util/secmem.h"

const char *tss_passphrase_source_name(const tss_passphrase_source *src) {
    switch (src->kind) {
    case TSS_PASS_FILE: return "passphrase file";
    case TSS_PASS_FD: return "passphrase fd";
    case TSS_PASS_CREDENTIAL: return "systemd credential";
    case TSS_PASS_PROMPT: return "prompt";
    default: return "no passphrase source";
    }
}

/* Read up to TSS_PASSPHRASE_MAX+1 bytes from fd into buf (secret memory). */
static tss_result read_fd(int fd, uint8_t *buf, size_t *len, const char *what) {
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, TSS_PASSPHRASE_MAX + 2 - got);
        if (n < 0 && errno == EINTR) continue;
        TSS_ENSURE(n >= 0, TSS_E_IO, "cannot read %s: %s", what, strerror(errno));
        if (n == 0) break;
        got += (size_t)n;
        TSS_ENSURE(got <= TSS_PASSPHRASE_MAX + 1, TSS_E_INVALID,
                   "%s: passphrase longer than %d bytes", what, TSS_PASSPHRASE_MAX);
    }
    *len = got;
    return TSS_OK_RESULT;
}

static tss_result finish(uint8_t *buf, size_t *len, const char *what) {
    if (*len && buf[*len - 1] == '\n') (*len)--;
    if (*len && buf[*len - 1] == '\r') (*len)--;
    TSS_ENSURE(*len > 0, TSS_E_INVALID, "%s: the passphrase is empty", what);
    TSS_ENSURE(*len <= TSS_PASSPHRASE_MAX, TSS_E_INVALID, "%s: passphrase longer than %d bytes",
               what, TSS_PASSPHRASE_MAX);
    TSS_ENSURE(memchr(buf, '\0', *len) == NULL, TSS_E_INVALID,
               "%s: the passphrase contains a NUL byte", what);
    return TSS_OK_RESULT;
}

static tss_result read_file(const char *path, bool check_mode, uint8_t *buf, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tss_fail(errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO,
                        "cannot open passphrase file %s: %s", path, strerror(errno));
    struct stat st;
    tss_result r = TSS_OK_RESULT;
    if (fstat(fd, &st) != 0)
        r = tss_fail(TSS_E_IO, "cannot stat %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
        r = tss_fail(TSS_E_INVALID, "passphrase file %s is not a regular file", path);
    else if (check_mode && (st.st_mode & 077))
        r = tss_fail(TSS_E_PERMISSION,
                     "passphrase file %s is accessible by group or others (mode %04o); fix: "
                     "chmod 600 %s",
                     path, (unsigned)(st.st_mode & 07777), path);
    if (tss_is_ok(r)) r = read_fd(fd, buf, len, path);
    close(fd);
    return r;
}

static tss_result prompt_once(const char *prompt, uint8_t *buf, size_t *len) {
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    TSS_ENSURE(fd >= 0, TSS_E_USAGE, "no terminal to prompt on; give a passphrase source");
    struct termios old, quiet;
    tss_result r = TSS_OK_RESULT;
    if (tcgetattr(fd, &old) != 0) {
        close(fd);
        return tss_fail(TSS_E_IO, "cannot read terminal settings: %s", strerror(errno));
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
        close(fd);
        return tss_fail(TSS_E_IO, "cannot prepare the terminal: %s", strerror(errno));
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || buf[got] == '\n') break;
        if (++got > TSS_PASSPHRASE_MAX) {
            r = tss_fail(TSS_E_INVALID, "passphrase longer than %d bytes", TSS_PASSPHRASE_MAX);
            break;
        }
    }
    tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) { /* cosmetic only */
    }
    close(fd);
    *len = got;
    return r;
}

tss_result tss_passphrase_read(const tss_passphrase_source *src, const char *prompt,
                               bool confirm, tss_passphrase *out) {
    out->bytes = tss_secret_alloc(TSS_PASSPHRASE_MAX + 2);
    out->len = 0;
    TSS_ENSURE(out->bytes, TSS_E_NOMEM, "secret memory allocation failed");
    tss_result r;
    const char *what = tss_passphrase_source_name(src);
    switch (src->kind) {
    case TSS_PASS_FILE:
        r = read_file(src->path, true, out->bytes, &out->len);
        what = src->path;
        break;
    case TSS_PASS_FD: {
        struct stat st;
        if (src->fd < 0 || fstat(src->fd, &st) != 0) {
            r = tss_fail(TSS_E_USAGE, "--passphrase-fd %d is not an open file descriptor",
                         src->fd);
            break;
        }
        r = read_fd(src->fd, out->bytes, &out->len, "passphrase fd");
        break;
    }
    case TSS_PASS_CREDENTIAL: {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        char path[PATH_MAX];
        if (!dir || !*dir) {
            r = tss_fail(TSS_E_USAGE, "--credential %s: $CREDENTIALS_DIRECTORY is not set (is "
                                      "the unit using LoadCredential=?)",
                         src->name);
            break;
        }
        if (!*src->name || strchr(src->name, '/') || snprintf(path, sizeof path, "%s/%s", dir,
                                                               src->name) >= (int)sizeof path) {
            r = tss_fail(TSS_E_USAGE, "invalid credential name '%s'", src->name);
            break;
        }
        /* systemd owns the credential's permissions; do not second-guess them. */
        r = read_file(path, false, out->bytes, &out->len);
        what = path;
        break;
    }
    case TSS_PASS_PROMPT: {
        r = prompt_once(prompt, out->bytes, &out->len);
        if (tss_is_ok(r) && confirm) {
            tss_passphrase again = {tss_secret_alloc(TSS_PASSPHRASE_MAX + 2), 0};
            if (!again.bytes) {
                r = tss_fail(TSS_E_NOMEM, "secret memory allocation failed");
                break;
            }
            r = prompt_once("Repeat passphrase: ", again.bytes, &again.len);
            if (tss_is_ok(r) && (again.len != out->len ||
                                 !tss_ct_equal(again.bytes, out->bytes, out->len)))
                r = tss_fail(TSS_E_USAGE, "the passphrases do not match");
            tss_passphrase_free(&again);
        }
        break;
    }
    default:
        r = tss_fail(TSS_E_USAGE,
                     "no passphrase source: use --passphrase-file F, --passphrase-fd N or "
                     "--credential NAME (or run on a terminal)");
    }
    if (tss_is_ok(r)) r = finish(out->bytes, &out->len, what);
    if (!tss_is_ok(r)) tss_passphrase_free(out);
    return r;
}

void tss_passphrase_free(tss_passphrase *p) {
    tss_secret_free(p->bytes);
    p->bytes = NULL;
    p->len = 0;
}
