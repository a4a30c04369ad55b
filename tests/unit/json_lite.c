#include "tests/unit/json_lite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/harness.h"

typedef struct {
    const char *p;
} cursor;

static void skip_ws(cursor *c) {
    while (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t') c->p++;
}

static json_value *new_value(json_type t) {
    json_value *v = calloc(1, sizeof *v);
    if (v) v->type = t;
    return v;
}

static void put_utf8(char **o, unsigned cp) {
    if (cp < 0x80) {
        *(*o)++ = (char)cp;
    } else if (cp < 0x800) {
        *(*o)++ = (char)(0xc0 | (cp >> 6));
        *(*o)++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *(*o)++ = (char)(0xe0 | (cp >> 12));
        *(*o)++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *(*o)++ = (char)(0x80 | (cp & 0x3f));
    }
}

static char *parse_string(cursor *c) {
    if (*c->p != '"') return NULL;
    c->p++;
    char *out = malloc(strlen(c->p) + 1), *o = out;
    if (!out) return NULL;
    while (*c->p && *c->p != '"') {
        if (*c->p != '\\') {
            *o++ = *c->p++;
            continue;
        }
        c->p++;
        char e = *c->p++;
        switch (e) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                char h = *c->p++;
                cp = cp * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
            }
            put_utf8(&o, cp);
            break;
        }
        default: *o++ = e;
        }
    }
    if (*c->p != '"') {
        free(out);
        return NULL;
    }
    c->p++;
    *o = '\0';
    return out;
}

static json_value *parse_value(cursor *c, int depth);

static json_value *parse_container(cursor *c, int depth, int is_object) {
    json_value *v = new_value(is_object ? JSON_OBJECT : JSON_ARRAY);
    c->p++;
    skip_ws(c);
    char close = is_object ? '}' : ']';
    if (*c->p == close) {
        c->p++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(c);
        if (is_object) {
            key = parse_string(c);
            skip_ws(c);
            if (!key || *c->p != ':') goto fail_key;
            c->p++;
        }
        json_value *item = parse_value(c, depth + 1);
        if (!item) goto fail_key;
        v->items = realloc(v->items, (v->count + 1) * sizeof *v->items);
        v->keys = realloc(v->keys, (v->count + 1) * sizeof *v->keys);
        v->items[v->count] = item;
        v->keys[v->count] = key;
        v->count++;
        skip_ws(c);
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == close) {
            c->p++;
            return v;
        }
        json_free(v);
        return NULL;
    fail_key:
        free(key);
        json_free(v);
        return NULL;
    }
}

static json_value *parse_value(cursor *c, int depth) {
    if (depth > 64) return NULL;
    skip_ws(c);
    if (*c->p == '{') return parse_container(c, depth, 1);
    if (*c->p == '[') return parse_container(c, depth, 0);
    if (*c->p == '"') {
        char *s = parse_string(c);
        if (!s) return NULL;
        json_value *v = new_value(JSON_STRING);
        v->string = s;
        return v;
    }
    if (!strncmp(c->p, "true", 4) || !strncmp(c->p, "false", 5)) {
        json_value *v = new_value(JSON_BOOL);
        v->boolean = *c->p == 't';
        c->p += v->boolean ? 4 : 5;
        return v;
    }
    if (!strncmp(c->p, "null", 4)) {
        c->p += 4;
        return new_value(JSON_NULL);
    }
    const char *start = c->p;
    while (*c->p && strchr("+-0123456789.eE", *c->p)) c->p++;
    if (c->p == start) return NULL;
    json_value *v = new_value(JSON_NUMBER);
    v->string = strndup(start, (size_t)(c->p - start));
    return v;
}

json_value *json_parse(const char *text) {
    cursor c = {text};
    json_value *v = parse_value(&c, 0);
    skip_ws(&c);
    if (v && *c.p) {
        json_free(v);
        return NULL;
    }
    return v;
}

void json_free(json_value *v) {
    if (!v) return;
    for (size_t i = 0; i < v->count; i++) {
        json_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}

const json_value *json_get(const json_value *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (!strcmp(obj->keys[i], key)) return obj->items[i];
    return NULL;
}

const char *json_str(const json_value *obj, const char *key) {
    const json_value *v = json_get(obj, key);
    return v && v->type == JSON_STRING ? v->string : NULL;
}

json_value *json_load_vectors(const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", harness_vectors_dir(), name);
    char *text = harness_read_file(path, NULL);
    json_value *v = json_parse(text);
    free(text);
    if (!v) {
        fprintf(stderr, "json_load_vectors: cannot parse %s\n", path);
        exit(2);
    }
    return v;
}
