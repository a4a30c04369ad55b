/* tssctl: the operator's client. Each command lives in its own file. */
#ifndef TSS_CLI_TSSCTL_H
#define TSS_CLI_TSSCTL_H

#include <stdbool.h>
#include <stdio.h>

#include "util/result.h"

#define PROG "tssctl"

/* Print the error (detail if any) and return its sysexits code. */
int tssctl_fail(tss_result r);
int tssctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* JSON string with escapes for quotes, backslashes and control bytes. */
void tssctl_json_str(FILE *out, const char *s);

int tssctl_status(const char *config, int argc, char **argv);
/* keygen, sign, sign-tx, presign, keys (ops.c). */
int tssctl_ops(const char *config, const char *cmd, int argc, char **argv);

struct tss_operator_config;
struct tss_tls_ctx;
TSS_MUST_CHECK tss_result tssctl_operator_ctx(const struct tss_operator_config *cfg,
                                              struct tss_tls_ctx **out);
int tssctl_pki(int argc, char **argv);

#endif
