/* Logging to stderr, one line per event, with a syslog priority prefix
 * ("<3>...") that journald turns into the entry's priority. Callers pass
 * key=value context (session=, key=, party=, peer=). Never log a secret. */
#ifndef TSS_UTIL_LOG_H
#define TSS_UTIL_LOG_H

#include <syslog.h>

#include "util/result.h"

void tss_log_set_level(int max_priority);
/* When stderr is not the journal and not a tty, the prefix is still emitted:
 * systemd's SyslogLevelPrefix= default parses it. */
void tss_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Log a failed result with its code name and detail. */
void tss_log_result(int priority, tss_result r, const char *context);

#endif
