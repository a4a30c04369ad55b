/* Logging, one line per event. Callers pass key=value context (session=,
 * key=, party=, peer=, culprit=). Never log a secret.
 *
 * Where the line goes is decided once, from stderr itself:
 *  - stderr is the journal (JOURNAL_STREAM names stderr's device and inode,
 *    as systemd sets it for StandardError=journal): the entry is sent with
 *    sd_journal_send, with PRIORITY= and the context as structured fields
 *    TSSD_SESSION_ID, TSSD_KEY_ID, TSSD_PARTY, TSSD_PEER, TSSD_CULPRIT, so
 *    `journalctl TSSD_KEY_ID=k1` finds every line about key k1;
 *  - anything else (a terminal, a file, a pipe): "<level>: message" in plain
 *    text ("error: ...", "warning: ...", "notice: ...", "info: ...",
 *    "debug: ..."), no syslog "<N>" prefix for people to read past.
 * TSS_LOG_FORMAT=syslog forces the "<N>message" form (a supervisor other than
 * systemd that parses syslog prefixes), =plain the text form. */
#ifndef TSS_UTIL_LOG_H
#define TSS_UTIL_LOG_H

#include <syslog.h>

#include "util/result.h"

void tss_log_set_level(int max_priority);
void tss_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Log a failed result with its code name and detail. */
void tss_log_result(int priority, tss_result r, const char *context);

typedef enum { TSS_LOG_TEXT = 1, TSS_LOG_SYSLOG = 2, TSS_LOG_JOURNAL = 3 } tss_log_format;
/* The format in use (decided at the first call); for tests. */
tss_log_format tss_log_current_format(void);

#endif
