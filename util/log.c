#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

static int max_level = LOG_INFO;

void tss_log_set_level(int max_priority) { max_level = max_priority; }

void tss_log(int priority, const char *fmt, ...) {
    if (priority > max_level) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One write per line so concurrent writers do not interleave. */
    fprintf(stderr, "<%d>%s\n", priority, line);
}

void tss_log_result(int priority, tss_result r, const char *context) {
    tss_log(priority, "%s: %s: %s (%s)", context, tss_err_message(r.err), tss_error_detail(),
            tss_err_name(r.err));
}
