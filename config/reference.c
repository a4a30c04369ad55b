#include "config/reference.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "config/coordinator.h"
#include "config/gateway.h"
#include "config/operator.h"
#include "config/party.h"
#include "policy/policy.h"

const tss_config_reference_file tss_config_reference_files[] = {
    {"coordinator", "Coordinator (`tss-coordinator --config`, /etc/tssd/coordinator.yaml)",
     &tss_config_coordinator_schema},
    {"party", "Party (`tss-party --config`, /etc/tssd/party-N.yaml)", &tss_config_party_schema},
    {"operator", "Operator client (`tssctl --config`)", &tss_config_operator_schema},
    {"gateway", "Application gateway (`tss-gateway --config`, /etc/tssd/gateway.yaml)",
     &tss_config_gateway_schema},
    {"policy", "Signing policy (the party's `policy_file`, e.g. /etc/tssd/policy.yaml)",
     &tss_policy_schema},
    {NULL, NULL, NULL},
};

typedef struct {
    const char *key; /* "<file>:<path>" */
    const char *text;
} description;

#include "config/reference_text.h"

static const char *describe(const char *file, const char *path) {
    size_t n = strlen(file);
    for (size_t i = 0; descriptions[i].key; i++) {
        const char *k = descriptions[i].key;
        if (strncmp(k, file, n) == 0 && k[n] == ':' && strcmp(k + n + 1, path) == 0)
            return descriptions[i].text;
    }
    return NULL;
}

static void human_ms(char *out, size_t cap, int64_t ms) {
    if (ms != 0 && ms % 86400000 == 0) snprintf(out, cap, "%" PRId64 "d", ms / 86400000);
    else if (ms != 0 && ms % 3600000 == 0) snprintf(out, cap, "%" PRId64 "h", ms / 3600000);
    else if (ms != 0 && ms % 60000 == 0) snprintf(out, cap, "%" PRId64 "m", ms / 60000);
    else if (ms != 0 && ms % 1000 == 0) snprintf(out, cap, "%" PRId64 "s", ms / 1000);
    else snprintf(out, cap, "%" PRId64 "ms", ms);
}

static void human_size(char *out, size_t cap, int64_t b) {
    if (b != 0 && b % (1ll << 30) == 0) snprintf(out, cap, "%" PRId64 "GiB", b >> 30);
    else if (b != 0 && b % (1ll << 20) == 0) snprintf(out, cap, "%" PRId64 "MiB", b >> 20);
    else if (b != 0 && b % (1ll << 10) == 0) snprintf(out, cap, "%" PRId64 "KiB", b >> 10);
    else snprintf(out, cap, "%" PRId64, b);
}

/* The accepted values of one item, in words. */
static void type_text(const tss_config_item *it, char *out, size_t cap) {
    char a[32], b[32];
    size_t n = 0;
    out[0] = '\0';
    switch (it->type) {
    case TSS_CONFIG_STR:
        snprintf(out, cap, "string, %" PRId64 "–%" PRId64 " bytes", it->min,
                 it->max ? it->max : (int64_t)TSS_CONFIG_MAX_STRING);
        break;
    case TSS_CONFIG_PATH: snprintf(out, cap, "absolute path"); break;
    case TSS_CONFIG_INT: snprintf(out, cap, "integer %" PRId64 "–%" PRId64, it->min, it->max); break;
    case TSS_CONFIG_BOOL: snprintf(out, cap, "`true` or `false`"); break;
    case TSS_CONFIG_DURATION:
        human_ms(a, sizeof a, it->min);
        human_ms(b, sizeof b, it->max);
        snprintf(out, cap, "duration %s–%s", a, b);
        break;
    case TSS_CONFIG_SIZE:
        human_size(a, sizeof a, it->min);
        human_size(b, sizeof b, it->max);
        snprintf(out, cap, "size %s–%s", a, b);
        break;
    case TSS_CONFIG_ENUM:
        n = (size_t)snprintf(out, cap, "one of");
        for (size_t i = 0; it->enums && it->enums[i].name && n < cap; i++)
            n += (size_t)snprintf(out + n, cap - n, "%s `%s`", i ? "," : "", it->enums[i].name);
        break;
    case TSS_CONFIG_ADDR: snprintf(out, cap, "`host:port`, `1.2.3.4:port` or `[v6]:port`"); break;
    case TSS_CONFIG_CUSTOM: snprintf(out, cap, "see description"); break;
    case TSS_CONFIG_SECTION:
        snprintf(out, cap, "%s", (it->flags & TSS_CONFIG_ONE_OF) ? "mapping: exactly one of its keys"
                                                                 : "mapping");
        break;
    }
    if (it->flags & TSS_CONFIG_LIST) {
        char inner[256];
        snprintf(inner, sizeof inner, "%.255s", out); /* bounded: -O1 builds warn */
        if (it->max_count)
            snprintf(out, cap, "list (%zu–%zu) of: %s", it->min_count, it->max_count, inner);
        else
            snprintf(out, cap, "list of: %s", inner);
    }
}

static void md_cell(FILE *out, const char *s) {
    for (; s && *s; s++) {
        if (*s == '|') fputs("\\|", out);
        else if (*s == '<') fputs("&lt;", out);
        else if (*s == '>') fputs("&gt;", out);
        else if (*s == '\n') fputc(' ', out);
        else fputc(*s, out);
    }
}

static void walk(FILE *out, FILE *err, size_t *problems, const char *file,
                 const tss_config_item *items, const char *prefix) {
    for (const tss_config_item *it = items; it && it->name; it++) {
        char path[256], type[512];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", it->name);
        const char *text = describe(file, path);
        if (err && !text) {
            fprintf(err, "config reference: %s:%s has no description (config/reference_text.h)\n",
                    file, path);
            (*problems)++;
        }
        if (out) {
            type_text(it, type, sizeof type);
            fprintf(out, "| `%s` | ", path);
            md_cell(out, type);
            fprintf(out, " | %s | ", (it->flags & TSS_CONFIG_REQUIRED) ? "yes" : "");
            if (it->def) fprintf(out, "`%s`", it->def);
            fputs(" | ", out);
            md_cell(out, text ? text : "");
            fputs(" |\n", out);
        }
        if (it->type == TSS_CONFIG_SECTION) {
            char sub[260];
            snprintf(sub, sizeof sub, "%s%s", path, (it->flags & TSS_CONFIG_LIST) ? "[]" : "");
            walk(out, err, problems, file, it->sub, sub);
        }
    }
}

void tss_config_reference_write(FILE *out) {
    fputs("# tssd configuration reference\n\n"
          "Generated by `tssctl config-reference` from the schema tables the daemons load\n"
          "their configuration with (config/*.c), so names, types, defaults and ranges are\n"
          "exactly what the loader accepts; `make check` fails if this file is stale.\n"
          "Every file is plain YAML (no anchors, aliases or tags); unknown and duplicate\n"
          "keys, wrong types and out-of-range values are errors reported as\n"
          "`file:line:column: key.path: message` (exit 78). Durations take a unit\n"
          "(`250ms`, `30s`, `5m`, `2h`, `1d`); sizes are bytes or `KiB`/`MiB`/`GiB`;\n"
          "`a[].b` is key `b` of every entry of list `a`. Annotated examples:\n"
          "packaging/examples/.\n",
          out);
    for (const tss_config_reference_file *f = tss_config_reference_files; f->file; f++) {
        fprintf(out, "\n## %s\n\n| key | accepted values | required | default | meaning |\n"
                     "|-----|-----------------|----------|---------|---------|\n",
                f->title);
        walk(out, NULL, NULL, f->file, f->root->sub, "");
    }
}

/* Whether a description's key names an item of the schemas. */
static bool key_exists(const tss_config_item *items, const char *path) {
    for (const tss_config_item *it = items; it && it->name; it++) {
        size_t n = strlen(it->name);
        if (strncmp(path, it->name, n) != 0) continue;
        const char *rest = path + n;
        if (*rest == '\0') return true;
        if (it->type != TSS_CONFIG_SECTION) continue;
        if ((it->flags & TSS_CONFIG_LIST) && strncmp(rest, "[]", 2) == 0) rest += 2;
        if (*rest == '.' && key_exists(it->sub, rest + 1)) return true;
    }
    return false;
}

size_t tss_config_reference_check(FILE *err) {
    size_t problems = 0;
    for (const tss_config_reference_file *f = tss_config_reference_files; f->file; f++)
        walk(NULL, err, &problems, f->file, f->root->sub, "");
    for (size_t i = 0; descriptions[i].key; i++) {
        const char *colon = strchr(descriptions[i].key, ':');
        bool found = false;
        for (const tss_config_reference_file *f = tss_config_reference_files; colon && f->file; f++)
            if (strlen(f->file) == (size_t)(colon - descriptions[i].key) &&
                strncmp(f->file, descriptions[i].key, strlen(f->file)) == 0)
                found = key_exists(f->root->sub, colon + 1);
        if (!found) {
            fprintf(err, "config reference: description for %s names no configuration key\n",
                    descriptions[i].key);
            problems++;
        }
    }
    return problems;
}
