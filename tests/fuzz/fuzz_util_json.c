/* Fuzz the strict JSON parser: any input either fails cleanly or yields a tree
 * whose invariants hold (parent links, indices, unique keys found by lookup,
 * valid UTF-8, lengths), that re-serialises to a document parsing to the same
 * tree, and that stricter limits never accept what the defaults refuse. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

static void die(const char *why) {
    fprintf(stderr, "fuzz_util_json: %s\n", why);
    abort();
}

static bool valid_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n) return false;
            unsigned t = s[i + j];
            if (t < lo || t > hi) return false;
            lo = 0x80;
            hi = 0xBF;
        }
        i += k + 1;
    }
    return true;
}

typedef struct {
    char *p;
    size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) die("oom");
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_string(sbuf *b, const char *s, size_t n) {
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[8];
        if (c == '"' || c == '\\') {
            e[0] = '\\';
            e[1] = (char)c;
            put(b, e, 2);
        } else if (c < 0x20) {
            /* Never longer than the input's own escape. */
            const char *shortx = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r"
                               : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (shortx) {
                put(b, shortx, 2);
            } else {
                snprintf(e, sizeof e, "\\u%04x", c);
                put(b, e, 6);
            }
        } else {
            put(b, (const char *)&s[i], 1);
        }
    }
    put(b, "\"", 1);
}

static void serialise(sbuf *b, const tss_json_value *v) {
    switch (v->type) {
    case TSS_JSON_NULL: put(b, "null", 4); break;
    case TSS_JSON_BOOL: v->u.boolean ? put(b, "true", 4) : put(b, "false", 5); break;
    case TSS_JSON_NUMBER: put(b, v->u.str.text, v->u.str.len); break;
    case TSS_JSON_STRING: put_string(b, v->u.str.text, v->u.str.len); break;
    case TSS_JSON_ARRAY:
        put(b, "[", 1);
        for (size_t i = 0; i < v->u.arr.count; i++) {
            if (i) put(b, ",", 1);
            serialise(b, &v->u.arr.items[i]);
        }
        put(b, "]", 1);
        break;
    case TSS_JSON_OBJECT:
        put(b, "{", 1);
        for (size_t i = 0; i < v->u.obj.count; i++) {
            if (i) put(b, ",", 1);
            put_string(b, v->u.obj.members[i].key, v->u.obj.members[i].key_len);
            put(b, ":", 1);
            serialise(b, &v->u.obj.members[i].value);
        }
        put(b, "}", 1);
        break;
    }
}

static bool same(const tss_json_value *a, const tss_json_value *b) {
    if (a->type != b->type) return false;
    switch (a->type) {
    case TSS_JSON_NULL: return true;
    case TSS_JSON_BOOL: return a->u.boolean == b->u.boolean;
    case TSS_JSON_NUMBER:
    case TSS_JSON_STRING:
        return a->u.str.len == b->u.str.len && !memcmp(a->u.str.text, b->u.str.text, a->u.str.len);
    case TSS_JSON_ARRAY:
        if (a->u.arr.count != b->u.arr.count) return false;
        for (size_t i = 0; i < a->u.arr.count; i++)
            if (!same(&a->u.arr.items[i], &b->u.arr.items[i])) return false;
        return true;
    case TSS_JSON_OBJECT:
        if (a->u.obj.count != b->u.obj.count) return false;
        for (size_t i = 0; i < a->u.obj.count; i++) {
            const tss_json_member *x = &a->u.obj.members[i], *y = &b->u.obj.members[i];
            if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) ||
                !same(&x->value, &y->value))
                return false;
        }
        return true;
    }
    return false;
}

static void check(const tss_json_value *v, size_t depth, size_t *values) {
    (*values)++;
    if (depth > TSS_JSON_MAX_DEPTH + 1) die("too deep");
    char path[160];
    if (tss_json_path(v, path, sizeof path) >= sizeof path) die("path overflow");
    if (v->line == 0 || v->column == 0) die("no position");
    switch (v->type) {
    case TSS_JSON_NUMBER: {
        if (v->u.str.len == 0 || v->u.str.len > TSS_JSON_MAX_NUMBER) die("number length");
        if (strlen(v->u.str.text) != v->u.str.len) die("number text");
        uint64_t u;
        (void)tss_json_as_u64(v, &u).err;
        break;
    }
    case TSS_JSON_STRING: {
        if (v->u.str.text[v->u.str.len] != '\0') die("string not terminated");
        if (v->u.str.len > TSS_JSON_MAX_STRING) die("string length");
        if (!valid_utf8((const unsigned char *)v->u.str.text, v->u.str.len)) die("bad utf-8");
        const char *s;
        size_t n;
        tss_result r = tss_json_as_string(v, &s, &n);
        if (tss_is_ok(r) != (strlen(v->u.str.text) == v->u.str.len)) die("NUL check");
        break;
    }
    case TSS_JSON_ARRAY:
        if (v->u.arr.count > TSS_JSON_MAX_ITEMS) die("items");
        for (size_t i = 0; i < v->u.arr.count; i++) {
            const tss_json_value *c = tss_json_at(v, i);
            if (!c || c->parent != v || c->index != i) die("array links");
            check(c, depth + 1, values);
        }
        break;
    case TSS_JSON_OBJECT:
        if (v->u.obj.count > TSS_JSON_MAX_ITEMS) die("members");
        for (size_t i = 0; i < v->u.obj.count; i++) {
            const tss_json_member *m = &v->u.obj.members[i];
            if (m->value.parent != v || m->value.index != i) die("object links");
            if (tss_json_member_of(&m->value) != m) die("member_of");
            if (m->key_len > TSS_JSON_MAX_KEY || m->key[m->key_len] != '\0') die("key");
            if (!valid_utf8((const unsigned char *)m->key, m->key_len)) die("key utf-8");
            /* Keys are unique: a NUL-free key finds exactly its member. */
            if (strlen(m->key) == m->key_len && tss_json_get(v, m->key) != &m->value)
                die("lookup");
            for (size_t j = 0; j < i; j++)
                if (v->u.obj.members[j].key_len == m->key_len &&
                    !memcmp(v->u.obj.members[j].key, m->key, m->key_len))
                    die("duplicate key accepted");
            check(&m->value, depth + 1, values);
        }
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tss_json_doc *doc = NULL;
    tss_result r = tss_json_parse(&doc, (const char *)data, size, NULL);
    /* Stricter limits never accept more. */
    tss_json_limits small = {.max_depth = 3, .max_string = 8, .max_key = 4, .max_number = 6,
                             .max_items = 5, .max_values = 20};
    tss_json_doc *sdoc = NULL;
    tss_result rs = tss_json_parse(&sdoc, (const char *)data, size, &small);
    if (tss_is_ok(rs) && !tss_is_ok(r)) die("stricter limits accepted more");
    if (tss_is_ok(rs) && !same(tss_json_root(doc), tss_json_root(sdoc))) die("limits change tree");
    tss_json_free(sdoc);
    if (!tss_is_ok(r)) {
        if (doc) die("doc on failure");
        if (strncmp(tss_error_detail(), "json: ", 6) != 0) die("message");
        return 0;
    }
    const tss_json_value *root = tss_json_root(doc);
    if (root->parent) die("root parent");
    size_t values = 0;
    check(root, 0, &values);
    if (values > TSS_JSON_MAX_VALUES) die("values");
    if (tss_json_doc_memory(doc) > TSS_JSON_ARENA_MAX) die("memory");

    /* Canonical re-serialisation parses to the same tree. */
    sbuf b = {0};
    serialise(&b, root);
    tss_json_doc *again = NULL;
    if (!tss_is_ok(tss_json_parse(&again, b.p, b.len, NULL))) die("re-serialisation refused");
    if (!same(root, tss_json_root(again))) die("round trip differs");
    tss_json_free(again);
    free(b.p);
    tss_json_free(doc);
    return 0;
}
