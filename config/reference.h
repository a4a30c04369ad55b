/* The configuration reference (docs/CONFIG.md), generated from the schema
 * tables themselves so that names, types, defaults, ranges and required keys
 * cannot drift from what the loader accepts. Descriptions live in one table
 * (config/reference.c) keyed by "<file>:<key path>"; `tssctl
 * config-reference --check` fails when a schema key has no description or a
 * description names a key that no longer exists. */
#ifndef TSS_CONFIG_REFERENCE_H
#define TSS_CONFIG_REFERENCE_H

#include <stdio.h>

#include "config/schema.h"

typedef struct {
    const char *file; /* "coordinator", "party", "operator", ... */
    const char *title;
    const tss_config_item *root;
} tss_config_reference_file;

/* Every configuration file the programs read, in document order; ends with {NULL}. */
extern const tss_config_reference_file tss_config_reference_files[];

/* Writes the whole Markdown reference. */
void tss_config_reference_write(FILE *out);
/* Lists keys without a description and descriptions without a key on err;
 * returns the number of problems. */
size_t tss_config_reference_check(FILE *err);

#endif
