#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

static int max_level = LOG_INFO;
static tss_log_format format; /* 0: not decided yet */

void tss_log_set_level(int max_priority) { max_level = max_priority; }

/* JOURNAL_STREAM is "<device>:<inode>" of the journal stream systemd gave
 * us; it only applies while stderr is still that stream. */
static bool stderr_is_journal(void) {
    const char *js = getenv("JOURNAL_STREAM");
    if (!js) return false;
    unsigned long long dev, ino;
    if (sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st;
    if (fstat(2, &st) != 0) return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

tss_log_format tss_log_current_format(void) {
    if (!format) {
        const char *f = getenv("TSS_LOG_FORMAT");
        if (f && strcmp(f, "syslog") == 0) format = TSS_LOG_SYSLOG;
        else if (f && strcmp(f, "plain") == 0) format = TSS_LOG_TEXT;
        else format = stderr_is_journal() ? TSS_LOG_JOURNAL : TSS_LOG_TEXT;
    }
    return format;
}

static const char *level_name(int priority) {
    switch (priority) {
    case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: return "critical";
    case LOG_ERR: return "error";
    case LOG_WARNING: return "warning";
    case LOG_NOTICE: return "notice";
    case LOG_INFO: return "info";
    default: return "debug";
    }
}

/* The value of " name=" (or at the start) in line, up to a space or comma,
 * into out; false if absent. */
static bool context_value(const char *line, const char *name, char *out, size_t cap) {
    size_t n = strlen(name);
    for (const char *p = line; (p = strstr(p, name)) != NULL; p += n) {
        if (p != line && p[-1] != ' ' && p[-1] != '(' && p[-1] != ',') continue;
        if (p[n] != '=') continue;
        const char *v = p + n + 1;
        size_t len = strcspn(v, " ,;)");
        if (len == 0 || len >= cap) return false;
        memcpy(out, v, len);
        out[len] = '\0';
        return true;
    }
    return false;
}

static void journal_send(int priority, const char *line) {
    static const struct { const char *token, *field; } ctx[] = {
        {"session", "TSSD_SESSION_ID"}, {"key", "TSSD_KEY_ID"}, {"party", "TSSD_PARTY"},
        {"peer", "TSSD_PEER"},          {"culprit", "TSSD_CULPRIT"},
    };
    char fields[5][192];
    struct iovec iov[8];
    char msg[1100], prio[16];
    size_t n = 0;
    snprintf(msg, sizeof msg, "MESSAGE=%s", line);
    snprintf(prio, sizeof prio, "PRIORITY=%d", priority);
    iov[n++] = (struct iovec){msg, strlen(msg)};
    iov[n++] = (struct iovec){prio, strlen(prio)};
    for (size_t i = 0; i < sizeof ctx / sizeof ctx[0]; i++) {
        char v[160];
        if (!context_value(line, ctx[i].token, v, sizeof v)) continue;
        snprintf(fields[i], sizeof fields[i], "%s=%s", ctx[i].field, v);
        iov[n++] = (struct iovec){fields[i], strlen(fields[i])};
    }
    if (sd_journal_sendv(iov, (int)n) < 0) /* journald gone: keep the line */
        fprintf(stderr, "<%d>%s\n", priority, line);
}

void tss_log(int priority, const char *fmt, ...) {
    if (priority > max_level) return;
    int saved = errno;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One write per line so concurrent writers do not interleave. */
    switch (tss_log_current_format()) {
    case TSS_LOG_JOURNAL: journal_send(priority, line); break;
    case TSS_LOG_SYSLOG: fprintf(stderr, "<%d>%s\n", priority, line); break;
    default: fprintf(stderr, "%s: %s\n", level_name(priority), line); break;
    }
    errno = saved;
}

void tss_log_result(int priority, tss_result r, const char *context) {
    tss_log(priority, "%s: %s: %s (%s)", context, tss_err_message(r.err), tss_error_detail(),
            tss_err_name(r.err));
}
