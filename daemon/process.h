/* What both daemons do around their event loop: command line, hardening,
 * the state-directory lock, systemd notifications, exit codes. */
#ifndef TSS_DAEMON_PROCESS_H
#define TSS_DAEMON_PROCESS_H

#include <stdbool.h>

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

/* Log a fatal error and return its sysexits code. */
int tss_daemon_exit(tss_result r, const char *what);

#endif
