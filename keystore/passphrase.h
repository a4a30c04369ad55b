/* Passphrase sources, in the order a service prefers them: a systemd
 * credential ($CREDENTIALS_DIRECTORY/<name>), a file, an inherited fd, and an
 * interactive prompt with echo off (CLI only, when stdin is a terminal).
 * Never argv or the environment. One trailing newline is stripped; empty,
 * over-long or NUL-containing passphrases are refused. */
#ifndef TSS_KEYSTORE_PASSPHRASE_H
#define TSS_KEYSTORE_PASSPHRASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

#define TSS_PASSPHRASE_MAX 1024

typedef enum {
    TSS_PASS_NONE,
    TSS_PASS_FILE,
    TSS_PASS_FD,
    TSS_PASS_CREDENTIAL,
    TSS_PASS_PROMPT,
} tss_passphrase_kind;

typedef struct {
    tss_passphrase_kind kind;
    const char *path; /* FILE */
    int fd;           /* FD */
    const char *name; /* CREDENTIAL */
} tss_passphrase_source;

typedef struct {
    uint8_t *bytes; /* secret memory */
    size_t len;
} tss_passphrase;

/* confirm: ask twice when prompting (creating or changing a passphrase). */
TSS_MUST_CHECK tss_result tss_passphrase_read(const tss_passphrase_source *src,
                                              const char *prompt, bool confirm,
                                              tss_passphrase *out);
void tss_passphrase_free(tss_passphrase *p);
/* Human-readable description of a source for messages (no secret). */
const char *tss_passphrase_source_name(const tss_passphrase_source *src);

#endif
