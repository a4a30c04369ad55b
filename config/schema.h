/* YAML configuration walked against a declarative schema (as knot-dns conf/schema.c).
 *
 * A schema is a table of items, each naming a key, its type and bounds, where
 * its value goes in a plain C struct (offsetof), whether it is required, its
 * default (as text, parsed exactly like input) and an optional check. The
 * walker pulls libyaml events and fills the struct in one pass. Anything the
 * schema does not describe is an error: unknown or duplicate keys, wrong
 * types, values out of range, missing required keys. Every error is reported
 * once, as TSS_E_CONFIG with the detail
 *     <file>:<line>:<column>: <key path>: <message>
 * pointing at the offending value (or key, for unknown/duplicate keys; or the
 * enclosing mapping, for missing keys). Key paths look like
 * "limits.max_frame_size" and "peers[1].identity" (list indexes from 0).
 *
 * The YAML accepted is deliberately plain: one document, a mapping at the top,
 * no anchors, aliases, tags or directives. Aliases let a short file expand
 * into a huge tree ("billion laughs"), and anchors, tags and merge keys make
 * what an operator reads differ from what the daemon sees; a signing
 * service's config should mean exactly what it says. Scalars may not contain
 * control characters (a NUL would silently truncate a path). The input is
 * capped at TSS_CONFIG_MAX_FILE bytes and TSS_CONFIG_MAX_DEPTH levels. */
#ifndef TSS_CONFIG_SCHEMA_H
#define TSS_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

#define TSS_CONFIG_MAX_FILE (1024 * 1024)
#define TSS_CONFIG_MAX_DEPTH 8
#define TSS_CONFIG_MAX_STRING 4095 /* bytes, also the path limit */
#define TSS_CONFIG_MAX_ITEMS 64    /* keys per section */
#define TSS_CONFIG_MAX_LIST 1024   /* entries per list, whatever the schema says */

typedef enum {
    TSS_CONFIG_STR,      /* char *; length min..max bytes (max 0: TSS_CONFIG_MAX_STRING) */
    TSS_CONFIG_PATH,     /* char *; absolute (daemons run with cwd "/") */
    TSS_CONFIG_INT,      /* int64_t; plain decimal; min..max */
    TSS_CONFIG_BOOL,     /* bool; "true" or "false" only */
    TSS_CONFIG_DURATION, /* uint64_t ms; "250ms", "30s", "5m", "2h", "1d"; min..max in ms */
    TSS_CONFIG_SIZE,     /* uint64_t bytes; "4096", "64KiB", "1MiB", "1GiB"; min..max */
    TSS_CONFIG_ENUM,     /* int; the value paired with the matching name in enums */
    TSS_CONFIG_ADDR,     /* tss_config_addr; "host:port", "1.2.3.4:port", "[v6]:port" */
    TSS_CONFIG_CUSTOM,   /* parse() fills a field of `size` bytes */
    TSS_CONFIG_SECTION,  /* a mapping; its items in sub, stored in a struct of `size` */
} tss_config_type;

enum {
    TSS_CONFIG_REQUIRED = 1u << 0,
    TSS_CONFIG_LIST = 1u << 1,   /* a YAML sequence of the item's type */
    TSS_CONFIG_ONE_OF = 1u << 2, /* SECTION: exactly one child key must be given */
};

#define TSS_CONFIG_HOST_MAX 253
typedef struct {
    char host[TSS_CONFIG_HOST_MAX + 1]; /* DNS name or IP literal, without brackets */
    uint16_t port;                      /* 1..65535 */
} tss_config_addr;

typedef struct {
    const char *name;
    int value;
} tss_config_enum;

/* What a check found wrong: msg, and optionally where below the checked value
 * (key: a child key of a section; index: an element of a list, else -1). */
typedef struct {
    char msg[256];
    const char *key;
    long index;
} tss_config_issue;

/* Check a stored value: `value` points to `count` consecutive elements (1 for
 * a scalar or a section, the whole array for check_list). */
typedef bool (*tss_config_check_fn)(const void *value, size_t count, tss_config_issue *issue);
/* Parse a CUSTOM scalar into field; on failure write a message to err. */
typedef bool (*tss_config_parse_fn)(const char *text, void *field, char *err, size_t err_cap);

typedef struct tss_config_item {
    const char *name;
    tss_config_type type;
    unsigned flags;
    size_t offset;                      /* of the value in the enclosing struct */
    int64_t min, max;                   /* value range, or string length range */
    const char *def;                    /* default, as YAML text; NULL: zero/NULL */
    const tss_config_enum *enums;       /* ENUM: ended by {NULL, 0} */
    const struct tss_config_item *sub;  /* SECTION: ended by an item with name NULL */
    size_t size;                        /* SECTION and CUSTOM: size of one value */
    tss_config_parse_fn parse;          /* CUSTOM */
    tss_config_check_fn check;          /* each value, after parsing; NULL: none */
    size_t count_offset;                /* LIST: size_t count in the enclosing struct */
    size_t min_count, max_count;        /* LIST: entries allowed */
    tss_config_check_fn check_list;     /* LIST: the whole list */
    size_t choice_offset;               /* ONE_OF: int in the section's struct, 1-based
                                           index of the child given */
} tss_config_item;

/* Load a configuration into *out (root->size bytes, a SECTION item). `name`
 * is the file name used in messages. On failure *out is freed and zeroed. */
TSS_MUST_CHECK tss_result tss_config_load_buffer(const tss_config_item *root, void *out,
                                                 const char *name, const char *buf, size_t len);
/* Read a regular file of at most TSS_CONFIG_MAX_FILE bytes, then as above. */
TSS_MUST_CHECK tss_result tss_config_load_file(const tss_config_item *root, void *out,
                                               const char *path);
/* Free everything a load allocated and zero *out. Safe on a zeroed struct. */
void tss_config_free(const tss_config_item *root, void *out);

#endif
