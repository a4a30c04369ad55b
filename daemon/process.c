#include "daemon/process.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "util/log.h"

bool tss_daemon_parse_args(int argc, char **argv, const char *prog, const char *summary,
                           tss_daemon_args *out) {
    out->config = NULL;
    out->check = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0 && i + 1 < argc) {
            out->config = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            out->config = a + 9;
        } else if (strcmp(a, "--check") == 0) {
            out->check = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("Usage: %s --config FILE [--check]\n\n%s\n\n"
                   "  --config FILE  YAML configuration (see packaging/examples/)\n"
                   "  --check        validate the configuration and exit (0 ok, 78 invalid)\n"
                   "  --version      print the version\n\n"
                   "Signals: SIGHUP reloads certificate, key, CA bundle and CRL;\n"
                   "SIGTERM/SIGINT stop gracefully.\n"
                   "Exit status (sysexits): 0 ok, 64 usage, 65 corrupt keystore, 66 missing file,\n"
                   "73 another instance holds the state directory, 74 I/O error,\n"
                   "77 wrong passphrase or unsafe permissions, 78 configuration error.\n",
                   prog, summary);
            exit(0);
        } else if (strcmp(a, "--version") == 0) {
            printf("%s %s\n", prog, TSS_SOFTWARE);
            exit(0);
        } else {
            fprintf(stderr, "%s: unknown argument '%s' (see %s --help)\n", prog, a, prog);
            return false;
        }
    }
    if (!out->config) {
        fprintf(stderr, "%s: --config FILE is required (see %s --help)\n", prog, prog);
        return false;
    }
    return true;
}

tss_result tss_daemon_lock_state_dir(const char *state_dir, int *fd_out) {
    if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
        return tss_fail(TSS_E_IO, "cannot create state directory %s: %s", state_dir,
                        strerror(errno));
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", state_dir, TSS_LOCK_FILE);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    TSS_ENSURE(fd >= 0, errno == EACCES ? TSS_E_PERMISSION : TSS_E_IO, "cannot open lock file %s: %s",
               path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return tss_fail(TSS_E_EXISTS,
                            "another instance is already running with state directory %s "
                            "(lock %s is held)", state_dir, path);
        return tss_fail(TSS_E_IO, "cannot lock %s: %s", path, strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && write(fd, pid, (size_t)n) < 0) {
        /* The pid is informational only. */
    }
    *fd_out = fd;
    return TSS_OK_RESULT;
}

void tss_daemon_notify(const char *fmt, ...) {
    if (!getenv("NOTIFY_SOCKET")) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    (void)sd_notify(0, buf);
}

int tss_daemon_exit(tss_result r, const char *what) {
    tss_log(LOG_ERR, "%s: %s: %s", what, tss_err_message(r.err),
            *tss_error_detail() ? tss_error_detail() : "(no detail)");
    return tss_err_exit_code(r.err);
}

void tss_daemon_config_error(const char *prog) {
    tss_log(LOG_ERR, "%s: configuration error: %s", prog,
            *tss_error_detail() ? tss_error_detail() : "(no detail)");
}

tss_result tss_daemon_check_private_dir(const char *dir) {
    struct stat st;
    TSS_ENSURE(stat(dir, &st) == 0, TSS_E_IO, "cannot stat state directory %s: %s", dir,
               strerror(errno));
    TSS_ENSURE(S_ISDIR(st.st_mode), TSS_E_CONFIG, "state_dir %s is not a directory", dir);
    TSS_ENSURE((st.st_mode & 077) == 0, TSS_E_PERMISSION,
               "state directory %s is accessible by group or others (mode %04o); "
               "fix: chmod 700 %s (systemd: StateDirectoryMode=0700)",
               dir, (unsigned)(st.st_mode & 07777), dir);
    return TSS_OK_RESULT;
}

long tss_daemon_check_expiry(const tss_tls_cert_info *info, const char *whose) {
    long days = tss_tls_cert_days_left(info, time(NULL));
    if (days < 0)
        tss_log(LOG_ERR, "tls: %s certificate sha256=%s has EXPIRED (notAfter=%s)", whose,
                info->fingerprint, info->not_after_iso);
    else if (days <= TSS_EXPIRY_WARN_DAYS)
        tss_log(LOG_WARNING, "tls: %s certificate sha256=%s expires in %ld days (notAfter=%s)",
                whose, info->fingerprint, days, info->not_after_iso);
    return days;
}
