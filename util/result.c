#include "util/result.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char error_detail[512];

static const struct {
    const char *name;
    int exit_code;
    const char *message;
} error_table[] = {
#define TSS_X_ROW(name, code, msg) {#name, code, msg},
    TSS_ERROR_TABLE(TSS_X_ROW)
#undef TSS_X_ROW
};

_Static_assert(sizeof error_table / sizeof error_table[0] == TSS_ERR_COUNT,
               "error table out of sync");

tss_result tss_fail(tss_err err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_detail, sizeof error_detail, fmt, ap);
    va_end(ap);
    return (tss_result){err == TSS_OK ? TSS_E_INTERNAL : err};
}

tss_result tss_fail_code(tss_err err) {
    return (tss_result){err == TSS_OK ? TSS_E_INTERNAL : err};
}

static unsigned table_index(tss_err err) {
    return (unsigned)err < TSS_ERR_COUNT ? (unsigned)err : (unsigned)TSS_E_INTERNAL;
}

const char *tss_err_name(tss_err err) { return error_table[table_index(err)].name; }
const char *tss_err_message(tss_err err) { return error_table[table_index(err)].message; }
int tss_err_exit_code(tss_err err) { return error_table[table_index(err)].exit_code; }
const char *tss_error_detail(void) { return error_detail; }
void tss_error_clear(void) { error_detail[0] = '\0'; }
