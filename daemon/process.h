/* What both daemons do around their event loop: command line, hardening,
 * the state-directory lock, systemd notifications, exit codes. */
#ifndef TSS_DAEMON_PROCESS_H
#define TSS_DAEMON_PROCESS_H

#include <stdbool.h>

#include "tls/certinfo.h"
#include "util/result.h"

#define TSS_SOFTWARE "tssd/0.1.0"
#define TSS_PROTOCOL_VERSION 1
#define TSS_LOCK_FILE "daemon.lock"

typedef struct {
    const char *config;
    bool check; /* --check: validate the configuration and exit */
} tss_daemon_args;

/* Parse "--config F [--check]" (and --help/--version, which exit). Returns
 * false after printing a usage error (exit 64). */
bool tss_daemon_parse_args(int argc, char **argv, const char *prog, const char *summary,
                           tss_daemon_args *out);

/* Create state_dir (0700) if missing and take an exclusive flock on
 * state_dir/daemon.lock, held until exit. A second instance fails with
 * TSS_E_EXISTS ("already running"). */
TSS_MUST_CHECK tss_result tss_daemon_lock_state_dir(const char *state_dir, int *fd);

/* sd_notify(3) when running under systemd (no-op otherwise). */
void tss_daemon_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A configuration that does not load: logged at LOG_ERR ("<3>", so
 * `journalctl -p err` shows why the unit exited 78) with the detail. */
void tss_daemon_config_error(const char *prog);

/* The state directory must not be accessible by group or others: a
 * TSS_E_PERMISSION (exit 77) naming the chmod that fixes it otherwise. */
TSS_MUST_CHECK tss_result tss_daemon_check_private_dir(const char *dir);

/* Certificate expiry: a warning from TSS_EXPIRY_WARN_DAYS before notAfter
 * (whose: "own", "coordinator", ...). Daemons call it at start, on reload,
 * at handshakes and every TSS_EXPIRY_CHECK_MS. Returns the days left. */
#define TSS_EXPIRY_WARN_DAYS 30
#define TSS_EXPIRY_CHECK_MS (24LL * 3600 * 1000)
long tss_daemon_check_expiry(const tss_tls_cert_info *info, const char *whose);

/* Log a fatal error and return its sysexits code. */
int tss_daemon_exit(tss_result r, const char *what);

#endif
