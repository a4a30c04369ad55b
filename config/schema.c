/* The schema walker: libyaml events in, a filled struct or one located error out.
 *
 * The event API (not the document loader) is used on purpose: it shows
 * anchors, aliases and tags, which the loader would resolve silently, and it
 * lets us stop at the first unexpected event, so hostile nesting never gets
 * deeper than the schema itself. libyaml's own errors are converted here. */
#include "config/schema.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config/value.h"

typedef struct {
    yaml_parser_t parser;
    yaml_event_t ev;
    bool have_ev;
    const char *name; /* file name for messages */
    const char *buf;
    size_t len;
    char path[384]; /* key path of the value being walked */
    size_t path_len;
    unsigned depth;
} walker;

/* ---- messages ------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static tss_result fail_at(walker *w, yaml_mark_t m,
                                                                const char *fmt, ...) {
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w->path_len)
        return tss_fail(TSS_E_CONFIG, "%s:%zu:%zu: %s: %s", w->name, m.line + 1, m.column + 1,
                        w->path, msg);
    return tss_fail(TSS_E_CONFIG, "%s:%zu:%zu: %s", w->name, m.line + 1, m.column + 1, msg);
}

/* Append to the key path; it is truncated, never overrun. Returns the old length. */
static size_t path_append(walker *w, int n) {
    size_t saved = w->path_len, room = sizeof w->path - saved;
    if (n > 0) w->path_len = (size_t)n < room ? saved + (size_t)n : sizeof w->path - 1;
    return saved;
}

static size_t path_push_key(walker *w, const char *key, size_t len) {
    return path_append(w, snprintf(w->path + w->path_len, sizeof w->path - w->path_len, "%s%.*s",
                                   w->path_len ? "." : "", (int)(len > 64 ? 64 : len), key));
}

static size_t path_push_index(walker *w, size_t index) {
    return path_append(
        w, snprintf(w->path + w->path_len, sizeof w->path - w->path_len, "[%zu]", index));
}

static void path_pop(walker *w, size_t saved) {
    w->path_len = saved;
    w->path[saved] = '\0';
}

static const char *event_desc(const yaml_event_t *e) {
    switch (e->type) {
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_SEQUENCE_START_EVENT:
        return "a list";
    case YAML_SCALAR_EVENT:
        return e->data.scalar.length ? "a scalar" : "an empty value";
    default:
        return "nothing";
    }
}

static const char *type_desc(const tss_config_item *it) {
    switch (it->type) {
    case TSS_CONFIG_STR:
    case TSS_CONFIG_CUSTOM:
        return "a string";
    case TSS_CONFIG_PATH:
        return "an absolute path";
    case TSS_CONFIG_INT:
        return "an integer";
    case TSS_CONFIG_BOOL:
        return "true or false";
    case TSS_CONFIG_DURATION:
        return "a duration";
    case TSS_CONFIG_SIZE:
        return "a size";
    case TSS_CONFIG_ENUM:
        return "a name";
    case TSS_CONFIG_ADDR:
        return "a host:port address";
    case TSS_CONFIG_SECTION:
        return "a mapping";
    }
    return "a value";
}

/* libyaml reports reader errors (bad UTF-8, control characters) as an offset. */
static yaml_mark_t mark_of_offset(const walker *w, size_t offset) {
    yaml_mark_t m = {offset, 0, 0};
    for (size_t i = 0; i < offset && i < w->len; i++) {
        unsigned char c = (unsigned char)w->buf[i];
        if (c == '\n') {
            m.line++;
            m.column = 0;
        } else if ((c & 0xc0) != 0x80) {
            m.column++;
        }
    }
    return m;
}

static tss_result syntax_error(walker *w) {
    const yaml_parser_t *p = &w->parser;
    if (p->error == YAML_MEMORY_ERROR)
        return tss_fail(TSS_E_NOMEM, "%s: out of memory while parsing YAML", w->name);
    const char *problem = p->problem ? p->problem : "malformed input";
    if (p->error == YAML_READER_ERROR)
        return fail_at(w, mark_of_offset(w, p->problem_offset), "invalid input: %s", problem);
    if (p->context)
        return fail_at(w, p->problem_mark, "YAML syntax error: %s (%s at line %zu column %zu)",
                       problem, p->context, p->context_mark.line + 1,
                       p->context_mark.column + 1);
    return fail_at(w, p->problem_mark, "YAML syntax error: %s", problem);
}

/* ---- events -------------------------------------------------------------------- */

static bool has_control_chars(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) return true;
        /* C1 controls U+0080..U+009F (e.g. CSI) are terminal escapes too. */
        if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f) return true;
    }
    return false;
}

#define PLAIN_ONLY "configuration must be plain YAML"

static tss_result next_event(walker *w) {
    if (w->have_ev) {
        yaml_event_delete(&w->ev);
        w->have_ev = false;
    }
    if (!yaml_parser_parse(&w->parser, &w->ev)) return syntax_error(w);
    w->have_ev = true;
    const yaml_event_t *e = &w->ev;
    const yaml_char_t *anchor = NULL, *tag = NULL;
    switch (e->type) {
    case YAML_ALIAS_EVENT:
        return fail_at(w, e->start_mark, "aliases are not allowed (" PLAIN_ONLY ")");
    case YAML_DOCUMENT_START_EVENT:
        if (e->data.document_start.version_directive ||
            e->data.document_start.tag_directives.start != e->data.document_start.tag_directives.end)
            return fail_at(w, e->start_mark, "directives are not allowed (" PLAIN_ONLY ")");
        break;
    case YAML_SCALAR_EVENT:
        anchor = e->data.scalar.anchor;
        tag = e->data.scalar.tag;
        if (has_control_chars(e->data.scalar.value, e->data.scalar.length))
            return fail_at(w, e->start_mark, "control characters are not allowed in values");
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = e->data.sequence_start.anchor;
        tag = e->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = e->data.mapping_start.anchor;
        tag = e->data.mapping_start.tag;
        break;
    default:
        break;
    }
    if (anchor) return fail_at(w, e->start_mark, "anchors are not allowed (" PLAIN_ONLY ")");
    if (tag) return fail_at(w, e->start_mark, "tags are not allowed (" PLAIN_ONLY ")");
    return TSS_OK_RESULT;
}

static tss_result enter(walker *w, yaml_mark_t m) {
    if (++w->depth > TSS_CONFIG_MAX_DEPTH)
        return fail_at(w, m, "nested deeper than %d levels", TSS_CONFIG_MAX_DEPTH);
    return TSS_OK_RESULT;
}

/* ---- scalars ------------------------------------------------------------------- */

static char *dup_text(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void list_names(char *out, size_t cap, const tss_config_enum *e,
                       const tss_config_item *items) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0;; i++) {
        const char *name = e ? e[i].name : items[i].name;
        if (!name) break;
        int n = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", name);
        if (n < 0 || (size_t)n >= cap - used) break;
        used += (size_t)n;
    }
}

/* Parse text (no control characters, so strlen(text) == len) into field. */
static bool parse_scalar(const tss_config_item *it, const char *text, size_t len, void *field,
                         char *err, size_t cap) {
    if (len == 0 && !(it->type == TSS_CONFIG_STR && it->min == 0)) {
        snprintf(err, cap, "value is empty (expected %s)", type_desc(it));
        return false;
    }
    switch (it->type) {
    case TSS_CONFIG_STR: {
        int64_t max = it->max ? it->max : TSS_CONFIG_MAX_STRING;
        if ((int64_t)len < it->min || (int64_t)len > max) {
            snprintf(err, cap, "length %zu out of range %" PRId64 "..%" PRId64, len, it->min, max);
            return false;
        }
        break;
    }
    case TSS_CONFIG_PATH:
        if (len > TSS_CONFIG_MAX_STRING) {
            snprintf(err, cap, "path longer than %d bytes", TSS_CONFIG_MAX_STRING);
            return false;
        }
        if (text[0] != '/') {
            snprintf(err, cap, "path '%.64s' is not absolute", text);
            return false;
        }
        break;
    case TSS_CONFIG_INT: {
        int64_t v;
        if (!tss_config_parse_int(text, &v)) {
            snprintf(err, cap, "'%.64s' is not an integer", text);
            return false;
        }
        if (v < it->min || v > it->max) {
            snprintf(err, cap, "value %" PRId64 " out of range %" PRId64 "..%" PRId64, v, it->min,
                     it->max);
            return false;
        }
        *(int64_t *)field = v;
        return true;
    }
    case TSS_CONFIG_BOOL:
        if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
            snprintf(err, cap, "expected true or false, got '%.64s'", text);
            return false;
        }
        *(bool *)field = text[0] == 't';
        return true;
    case TSS_CONFIG_DURATION: {
        uint64_t v;
        if (!tss_config_parse_duration(text, &v)) {
            snprintf(err, cap, "'%.64s' is not a duration (write e.g. 250ms, 30s, 5m, 1h, 1d)",
                     text);
            return false;
        }
        if (v < (uint64_t)it->min || v > (uint64_t)it->max) {
            char lo[32], hi[32];
            tss_config_format_duration(lo, sizeof lo, (uint64_t)it->min);
            tss_config_format_duration(hi, sizeof hi, (uint64_t)it->max);
            snprintf(err, cap, "value %.64s out of range %s..%s", text, lo, hi);
            return false;
        }
        *(uint64_t *)field = v;
        return true;
    }
    case TSS_CONFIG_SIZE: {
        uint64_t v;
        if (!tss_config_parse_size(text, &v)) {
            snprintf(err, cap, "'%.64s' is not a size (write e.g. 4096, 64KiB, 1MiB, 1GiB)", text);
            return false;
        }
        if (v < (uint64_t)it->min || v > (uint64_t)it->max) {
            snprintf(err, cap, "value %.64s out of range %" PRId64 "..%" PRId64, text, it->min,
                     it->max);
            return false;
        }
        *(uint64_t *)field = v;
        return true;
    }
    case TSS_CONFIG_ENUM:
        for (const tss_config_enum *e = it->enums; e->name; e++) {
            if (strcmp(e->name, text) == 0) {
                *(int *)field = e->value;
                return true;
            }
        }
        {
            char names[120];
            list_names(names, sizeof names, it->enums, NULL);
            snprintf(err, cap, "unknown value '%.64s' (expected one of: %s)", text, names);
        }
        return false;
    case TSS_CONFIG_ADDR: {
        char why[128];
        if (!tss_config_parse_addr(text, field, why, sizeof why)) {
            snprintf(err, cap, "invalid address '%.64s': %s", text, why);
            return false;
        }
        return true;
    }
    case TSS_CONFIG_CUSTOM:
        return it->parse(text, field, err, cap);
    case TSS_CONFIG_SECTION:
        snprintf(err, cap, "expected a mapping");
        return false;
    }
    /* STR and PATH own a copy. */
    char *copy = dup_text(text, len);
    if (!copy) {
        snprintf(err, cap, "out of memory");
        return false;
    }
    *(char **)field = copy;
    return true;
}

/* ---- structure ------------------------------------------------------------------ */

typedef struct {
    uint64_t seen;
    yaml_mark_t key_marks[TSS_CONFIG_MAX_ITEMS];
    yaml_mark_t value_marks[TSS_CONFIG_MAX_ITEMS];
} section_state;

static tss_result walk_value(walker *w, const tss_config_item *it, uint8_t *base);
static tss_result apply_default(walker *w, const tss_config_item *it, uint8_t *base,
                                yaml_mark_t where);

static size_t elem_size(const tss_config_item *it) {
    switch (it->type) {
    case TSS_CONFIG_STR:
    case TSS_CONFIG_PATH:
        return sizeof(char *);
    case TSS_CONFIG_INT:
        return sizeof(int64_t);
    case TSS_CONFIG_BOOL:
        return sizeof(bool);
    case TSS_CONFIG_DURATION:
    case TSS_CONFIG_SIZE:
        return sizeof(uint64_t);
    case TSS_CONFIG_ENUM:
        return sizeof(int);
    case TSS_CONFIG_ADDR:
        return sizeof(tss_config_addr);
    case TSS_CONFIG_CUSTOM:
    case TSS_CONFIG_SECTION:
        return it->size;
    }
    return 0;
}

static size_t item_count(const tss_config_item *items) {
    size_t n = 0;
    while (items[n].name) n++;
    return n;
}

static int find_item(const tss_config_item *items, const char *key, size_t len) {
    for (int i = 0; items[i].name; i++)
        if (strlen(items[i].name) == len && memcmp(items[i].name, key, len) == 0) return i;
    return -1;
}

/* Run a check and turn its issue into a located error. For a section, issue.key
 * may name a child (we point at its value); for a list, issue.index an entry. */
static tss_result run_check(walker *w, tss_config_check_fn check, const void *value, size_t count,
                            yaml_mark_t where, const tss_config_item *sub,
                            const section_state *st, const yaml_mark_t *entry_marks) {
    tss_config_issue issue;
    memset(&issue, 0, sizeof issue);
    issue.index = -1;
    if (check(value, count, &issue)) return TSS_OK_RESULT;
    size_t saved = w->path_len;
    if (entry_marks && issue.index >= 0 && (size_t)issue.index < count) {
        path_push_index(w, (size_t)issue.index);
        where = entry_marks[issue.index];
    }
    if (issue.key) {
        path_push_key(w, issue.key, strlen(issue.key));
        int i = sub ? find_item(sub, issue.key, strlen(issue.key)) : -1;
        if (i >= 0 && st && (st->seen >> i & 1)) where = st->value_marks[i];
    }
    tss_result r = fail_at(w, where, "%s", issue.msg[0] ? issue.msg : "invalid value");
    path_pop(w, saved);
    return r;
}

/* Everything after the keys of a section: required keys, defaults, one-of, check. */
static tss_result finish_section(walker *w, const tss_config_item *sec, uint8_t *base,
                                 const section_state *st, yaml_mark_t where) {
    const tss_config_item *sub = sec->sub;
    size_t n = item_count(sub);
    for (size_t i = 0; i < n; i++) {
        if (st->seen >> i & 1 || sec->flags & TSS_CONFIG_ONE_OF) continue;
        if (sub[i].flags & TSS_CONFIG_REQUIRED) {
            path_push_key(w, sub[i].name, strlen(sub[i].name));
            return fail_at(w, where, "required key is missing");
        }
        TSS_GUARD(apply_default(w, &sub[i], base, where));
    }
    if (sec->flags & TSS_CONFIG_ONE_OF) {
        int given = __builtin_popcountll(st->seen);
        if (given != 1) {
            char names[160];
            list_names(names, sizeof names, NULL, sub);
            return fail_at(w, where, "%s one of %s", given ? "give only" : "give exactly", names);
        }
        *(int *)(base + sec->choice_offset) = __builtin_ctzll(st->seen) + 1;
    }
    if (sec->check) return run_check(w, sec->check, base, 1, where, sub, st, NULL);
    return TSS_OK_RESULT;
}

/* Current event: MAPPING_START of this section. */
static tss_result walk_section(walker *w, const tss_config_item *sec, uint8_t *base) {
    yaml_mark_t start = w->ev.start_mark;
    if (item_count(sec->sub) > TSS_CONFIG_MAX_ITEMS)
        return tss_fail(TSS_E_INTERNAL, "config schema: section %s has too many keys",
                        sec->name ? sec->name : "(root)");
    TSS_GUARD(enter(w, start));
    section_state st;
    memset(&st, 0, sizeof st);
    for (;;) {
        TSS_GUARD(next_event(w));
        if (w->ev.type == YAML_MAPPING_END_EVENT) break;
        if (w->ev.type != YAML_SCALAR_EVENT)
            return fail_at(w, w->ev.start_mark, "a key must be a plain name, got %s",
                           event_desc(&w->ev));
        const char *key = (const char *)w->ev.data.scalar.value;
        size_t klen = w->ev.data.scalar.length;
        yaml_mark_t key_mark = w->ev.start_mark;
        int i = find_item(sec->sub, key, klen);
        size_t saved = path_push_key(w, key, klen);
        if (i < 0) {
            char names[200];
            list_names(names, sizeof names, NULL, sec->sub);
            return fail_at(w, key_mark, "unknown key (expected one of: %s)", names);
        }
        if (st.seen >> i & 1)
            return fail_at(w, key_mark, "duplicate key (first given at line %zu column %zu)",
                           st.key_marks[i].line + 1, st.key_marks[i].column + 1);
        st.seen |= 1ull << i;
        st.key_marks[i] = key_mark;
        TSS_GUARD(next_event(w));
        st.value_marks[i] = w->ev.start_mark;
        TSS_GUARD(walk_value(w, &sec->sub[i], base));
        path_pop(w, saved);
    }
    w->depth--;
    return finish_section(w, sec, base, &st, start);
}

/* One value (a list entry, or a non-list item); the current event is its start. */
static tss_result walk_element(walker *w, const tss_config_item *it, void *field) {
    const yaml_event_t *e = &w->ev;
    yaml_mark_t at = e->start_mark;
    if (it->type == TSS_CONFIG_SECTION) {
        if (e->type != YAML_MAPPING_START_EVENT)
            return fail_at(w, at, "expected a mapping, got %s", event_desc(e));
        return walk_section(w, it, field);
    }
    if (e->type != YAML_SCALAR_EVENT)
        return fail_at(w, at, "expected %s, got %s", type_desc(it), event_desc(e));
    char err[256];
    if (!parse_scalar(it, (const char *)e->data.scalar.value, e->data.scalar.length, field, err,
                      sizeof err))
        return fail_at(w, at, "%s", err);
    if (it->check) return run_check(w, it->check, field, 1, at, NULL, NULL, NULL);
    return TSS_OK_RESULT;
}

static tss_result walk_list(walker *w, const tss_config_item *it, uint8_t *base) {
    yaml_mark_t start = w->ev.start_mark;
    if (w->ev.type != YAML_SEQUENCE_START_EVENT)
        return fail_at(w, start, "expected a list of %s, got %s",
                       it->type == TSS_CONFIG_SECTION ? "mappings" : "values",
                       event_desc(&w->ev));
    TSS_GUARD(enter(w, start));
    uint8_t **arr = (uint8_t **)(base + it->offset);
    size_t *count = (size_t *)(base + it->count_offset);
    size_t esz = elem_size(it);
    size_t max = it->max_count && it->max_count < TSS_CONFIG_MAX_LIST ? it->max_count
                                                                      : TSS_CONFIG_MAX_LIST;
    yaml_mark_t *marks = NULL;
    size_t cap = 0;
    tss_result r = TSS_OK_RESULT;
    for (;;) {
        r = next_event(w);
        if (!tss_is_ok(r)) goto out;
        if (w->ev.type == YAML_SEQUENCE_END_EVENT) break;
        if (*count >= max) {
            path_push_index(w, *count);
            r = fail_at(w, w->ev.start_mark, "too many entries (at most %zu)", max);
            goto out;
        }
        if (*count == cap) {
            size_t ncap = cap ? (cap * 2 < max ? cap * 2 : max) : (max < 4 ? max : 4);
            uint8_t *na = realloc(*arr, ncap * esz);
            if (na) *arr = na;
            yaml_mark_t *nm = na ? realloc(marks, ncap * sizeof *marks) : NULL;
            if (nm) marks = nm;
            if (!na || !nm) {
                r = tss_fail(TSS_E_NOMEM, "%s: out of memory", w->name);
                goto out;
            }
            memset(*arr + cap * esz, 0, (ncap - cap) * esz);
            cap = ncap;
        }
        marks[*count] = w->ev.start_mark;
        size_t saved = path_push_index(w, *count);
        /* Count the zeroed entry first, so a failure below still frees its parts. */
        uint8_t *elem = *arr + (*count)++ * esz;
        r = walk_element(w, it, elem);
        if (!tss_is_ok(r)) goto out;
        path_pop(w, saved);
    }
    w->depth--;
    if (*count < it->min_count) {
        r = fail_at(w, start, "at least %zu %s required", it->min_count,
                    it->min_count == 1 ? "entry is" : "entries are");
        goto out;
    }
    if (it->check_list)
        r = run_check(w, it->check_list, *arr, *count, start, NULL, NULL, marks);
out:
    free(marks);
    return r;
}

static tss_result walk_value(walker *w, const tss_config_item *it, uint8_t *base) {
    if (it->flags & TSS_CONFIG_LIST) return walk_list(w, it, base);
    return walk_element(w, it, base + it->offset);
}

static tss_result apply_default(walker *w, const tss_config_item *it, uint8_t *base,
                                yaml_mark_t where) {
    if (it->flags & TSS_CONFIG_LIST) return TSS_OK_RESULT; /* an empty list */
    if (it->type == TSS_CONFIG_SECTION) {
        /* An absent section is an empty one: its own defaults and checks apply.
         * Only a (recursive) schema could nest this deep; input cannot. */
        if (w->depth >= TSS_CONFIG_MAX_DEPTH)
            return tss_fail(TSS_E_INTERNAL, "config schema: sections nest deeper than %d",
                            TSS_CONFIG_MAX_DEPTH);
        section_state none;
        memset(&none, 0, sizeof none);
        size_t saved = path_push_key(w, it->name, strlen(it->name));
        w->depth++;
        TSS_GUARD(finish_section(w, it, base + it->offset, &none, where));
        w->depth--;
        path_pop(w, saved);
        return TSS_OK_RESULT;
    }
    if (!it->def) return TSS_OK_RESULT;
    char err[256];
    if (!parse_scalar(it, it->def, strlen(it->def), base + it->offset, err, sizeof err))
        return tss_fail(TSS_E_INTERNAL, "config schema: bad default for %s: %s", it->name, err);
    if (it->check) {
        size_t saved = path_push_key(w, it->name, strlen(it->name));
        TSS_GUARD(run_check(w, it->check, base + it->offset, 1, where, NULL, NULL, NULL));
        path_pop(w, saved);
    }
    return TSS_OK_RESULT;
}

static tss_result walk_document(walker *w, const tss_config_item *root, void *out) {
    TSS_GUARD(next_event(w)); /* STREAM_START */
    TSS_GUARD(next_event(w));
    if (w->ev.type == YAML_STREAM_END_EVENT)
        return fail_at(w, w->ev.start_mark, "configuration is empty");
    TSS_GUARD(next_event(w)); /* after DOCUMENT_START */
    if (w->ev.type != YAML_MAPPING_START_EVENT)
        return fail_at(w, w->ev.start_mark, "the top level must be a mapping of keys, got %s",
                       event_desc(&w->ev));
    TSS_GUARD(walk_section(w, root, out));
    TSS_GUARD(next_event(w)); /* DOCUMENT_END */
    TSS_GUARD(next_event(w));
    if (w->ev.type != YAML_STREAM_END_EVENT)
        return fail_at(w, w->ev.start_mark, "only one YAML document is allowed");
    return TSS_OK_RESULT;
}

/* ---- public ---------------------------------------------------------------------- */

tss_result tss_config_load_buffer(const tss_config_item *root, void *out, const char *name,
                                  const char *buf, size_t len) {
    memset(out, 0, root->size);
    TSS_ENSURE(len <= TSS_CONFIG_MAX_FILE, TSS_E_CONFIG, "%s: larger than %d bytes", name,
               TSS_CONFIG_MAX_FILE);
    walker w;
    memset(&w, 0, sizeof w);
    w.name = name;
    w.buf = buf ? buf : "";
    w.len = buf ? len : 0;
    if (!yaml_parser_initialize(&w.parser))
        return tss_fail(TSS_E_NOMEM, "%s: cannot initialise the YAML parser", name);
    yaml_parser_set_input_string(&w.parser, (const unsigned char *)w.buf, w.len);
    /* UTF-8 only: no guessing from a byte-order mark. */
    yaml_parser_set_encoding(&w.parser, YAML_UTF8_ENCODING);
    tss_result r = walk_document(&w, root, out);
    if (w.have_ev) yaml_event_delete(&w.ev);
    yaml_parser_delete(&w.parser);
    if (!tss_is_ok(r)) tss_config_free(root, out);
    return r;
}

tss_result tss_config_load_file(const tss_config_item *root, void *out, const char *path) {
    memset(out, 0, root->size);
    /* O_NONBLOCK: opening a FIFO must not hang; a regular file ignores it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return tss_fail(TSS_E_CONFIG, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tss_fail(TSS_E_CONFIG, "%s: not a regular file", path);
    }
    if (st.st_size > TSS_CONFIG_MAX_FILE) {
        close(fd);
        return tss_fail(TSS_E_CONFIG, "%s: larger than %d bytes", path, TSS_CONFIG_MAX_FILE);
    }
    /* Read one byte past the cap in case the file grows under us. */
    char *buf = malloc(TSS_CONFIG_MAX_FILE + 1);
    if (!buf) {
        close(fd);
        return tss_fail(TSS_E_NOMEM, "%s: out of memory", path);
    }
    size_t n = 0;
    while (n < TSS_CONFIG_MAX_FILE + 1) {
        ssize_t got = read(fd, buf + n, TSS_CONFIG_MAX_FILE + 1 - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return tss_fail(TSS_E_CONFIG, "%s: cannot read: %s", path, strerror(e));
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    close(fd);
    tss_result r = tss_config_load_buffer(root, out, path, buf, n);
    free(buf);
    return r;
}

/* depth mirrors the walker's cap, so even a self-nesting schema cannot recurse forever. */
static void free_items(const tss_config_item *items, uint8_t *base, unsigned depth);

static void free_value(const tss_config_item *it, uint8_t *field, unsigned depth) {
    if (it->type == TSS_CONFIG_STR || it->type == TSS_CONFIG_PATH) {
        free(*(char **)field);
        *(char **)field = NULL;
    } else if (it->type == TSS_CONFIG_SECTION) {
        free_items(it->sub, field, depth + 1);
    }
}

static void free_items(const tss_config_item *items, uint8_t *base, unsigned depth) {
    if (depth > TSS_CONFIG_MAX_DEPTH) return;
    for (const tss_config_item *it = items; it->name; it++) {
        if (!(it->flags & TSS_CONFIG_LIST)) {
            free_value(it, base + it->offset, depth);
            continue;
        }
        uint8_t **arr = (uint8_t **)(base + it->offset);
        size_t *count = (size_t *)(base + it->count_offset);
        if (*arr)
            for (size_t i = 0; i < *count; i++)
                free_value(it, *arr + i * elem_size(it), depth + 1);
        free(*arr);
        *arr = NULL;
        *count = 0;
    }
}

void tss_config_free(const tss_config_item *root, void *out) {
    free_items(root->sub, out, 1);
    memset(out, 0, root->size);
}
