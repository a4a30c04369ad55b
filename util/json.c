#include "util/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "util/secmem.h"

const tss_json_limits tss_json_default_limits = {
    .max_size = TSS_JSON_MAX_SIZE,
    .max_depth = TSS_JSON_MAX_DEPTH,
    .max_string = TSS_JSON_MAX_STRING,
    .max_key = TSS_JSON_MAX_KEY,
    .max_number = TSS_JSON_MAX_NUMBER,
    .max_items = TSS_JSON_MAX_ITEMS,
    .max_values = TSS_JSON_MAX_VALUES,
};

/* ---- arena ---------------------------------------------------------------- */

typedef struct block {
    struct block *next;
    size_t cap, used;
    max_align_t data[];
} block;

struct tss_json_doc {
    block *blocks; /* head: the block being filled */
    size_t total;  /* bytes malloc'd for blocks */
    tss_json_value *root;
};

#define ALIGN 8u
#define LARGE_ALLOC (TSS_JSON_BLOCK_SIZE / 4)

static block *new_block(tss_json_doc *d, size_t cap) {
    size_t bytes = sizeof(block) + cap;
    if (bytes > TSS_JSON_ARENA_MAX - d->total) return NULL;
    block *b = malloc(bytes);
    if (!b) return NULL;
    b->cap = cap;
    b->used = 0;
    d->total += bytes;
    return b;
}

/* NULL when out of memory or over TSS_JSON_ARENA_MAX (the caller says which). */
static void *arena_alloc(tss_json_doc *d, size_t n) {
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (n == 0) n = ALIGN;
    block *h = d->blocks;
    if (h && n <= h->cap - h->used) {
        void *p = (char *)h->data + h->used;
        h->used += n;
        return p;
    }
    if (n > LARGE_ALLOC) {
        /* Its own block, behind the head so the head's free space stays usable. */
        block *b = new_block(d, n);
        if (!b) return NULL;
        b->used = n;
        if (h) {
            b->next = h->next;
            h->next = b;
        } else {
            b->next = NULL;
            d->blocks = b;
        }
        return b->data;
    }
    block *b = new_block(d, TSS_JSON_BLOCK_SIZE);
    if (!b) return NULL;
    b->next = h;
    d->blocks = b;
    b->used = n;
    return b->data;
}

void tss_json_free(tss_json_doc *doc) {
    if (!doc) return;
    for (block *b = doc->blocks, *next; b; b = next) {
        next = b->next;
        tss_wipe(b, sizeof(block) + b->cap);
        free(b);
    }
    free(doc);
}

const tss_json_value *tss_json_root(const tss_json_doc *doc) { return doc ? doc->root : NULL; }
size_t tss_json_doc_memory(const tss_json_doc *doc) { return doc ? doc->total : 0; }

/* ---- parser state ------------------------------------------------------------ */

typedef struct {
    tss_reader r;
    tss_json_limits lim;
    tss_json_doc *doc;
    uint32_t line, col; /* of the next unread byte */
    size_t values;
    /* Children of the containers being parsed, innermost last. */
    tss_json_member *stack;
    size_t stack_len, stack_cap;
    /* First error. */
    tss_err err;
    uint32_t err_line, err_col;
    char msg[200];
} parser;

#define END (-1)

static int peek(parser *p) {
    if (tss_reader_remaining(&p->r) == 0) return END;
    return *tss_read_view(&p->r, 0);
}

static int next(parser *p) {
    if (tss_reader_remaining(&p->r) == 0) return END;
    uint8_t c = tss_read_u8(&p->r);
    if (c == '\n') {
        p->line++;
        p->col = 1;
    } else if ((c & 0xC0) != 0x80) { /* continuation bytes share their character's column */
        p->col++;
    }
    return c;
}

__attribute__((format(printf, 5, 6))) static bool fail_at(parser *p, tss_err err, uint32_t line,
                                                         uint32_t col, const char *fmt, ...) {
    if (p->err) return false;
    p->err = err;
    p->err_line = line;
    p->err_col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
    return false;
}
#define FAIL_HERE(p, err, ...) fail_at((p), (err), (p)->line, (p)->col, __VA_ARGS__)

/* A byte for messages: 'x', "end of input", byte 0xC3. */
static const char *describe(int c, char buf[24]) {
    if (c == END) return "end of input";
    if (c >= 0x21 && c <= 0x7E)
        snprintf(buf, 24, "'%c'", c);
    else if (c == ' ')
        snprintf(buf, 24, "a space");
    else
        snprintf(buf, 24, "byte 0x%02X", (unsigned)c);
    return buf;
}

/* Key text for messages: printable ASCII kept, the rest as \xNN, cut at 40. */
static void render_key(char *out, size_t cap, const char *key, size_t len) {
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < cap; i++) {
        if (i == 40) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)key[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02X", c);
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static void skip_ws(parser *p) {
    for (;;) {
        int c = peek(p);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
        (void)next(p);
    }
}

static void *alloc_or_fail(parser *p, size_t n) {
    void *q = arena_alloc(p->doc, n);
    if (!q)
        (void)FAIL_HERE(p, TSS_E_NOMEM, "out of memory (document needs more than %zu bytes)",
                        (size_t)TSS_JSON_ARENA_MAX);
    return q;
}

static bool push(parser *p, const tss_json_member *m) {
    if (p->stack_len == p->stack_cap) {
        /* stack_len < values <= max_values, so this stays bounded. */
        size_t cap = p->stack_cap ? p->stack_cap * 2 : 64;
        if (cap > p->lim.max_values) cap = p->lim.max_values;
        tss_json_member *s = realloc(p->stack, cap * sizeof *s);
        if (!s) return FAIL_HERE(p, TSS_E_NOMEM, "out of memory");
        p->stack = s;
        p->stack_cap = cap;
    }
    p->stack[p->stack_len++] = *m;
    return true;
}

/* ---- values ----------------------------------------------------------------- */

static bool parse_value(parser *p, tss_json_value *v, size_t depth);

static bool expect_literal(parser *p, const char *word) {
    uint32_t line = p->line, col = p->col;
    for (const char *w = word; *w; w++) {
        if (peek(p) != (unsigned char)*w)
            return fail_at(p, TSS_E_INVALID, line, col, "invalid literal (expected '%s')", word);
        (void)next(p);
    }
    return true;
}

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* RFC 8259: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?, kept as text. */
static bool parse_number(parser *p, tss_json_value *v) {
    char buf[TSS_JSON_MAX_NUMBER + 1];
    size_t n = 0;
    int c;
#define TAKE()                                                                             \
    do {                                                                                   \
        if (n == p->lim.max_number)                                                        \
            return fail_at(p, TSS_E_TOO_LARGE, v->line, v->column,                         \
                           "number longer than %zu characters", p->lim.max_number);        \
        buf[n++] = (char)next(p);                                                          \
    } while (0)
    if (peek(p) == '-') TAKE();
    c = peek(p);
    if (!is_digit(c)) {
        char d[24];
        if (c == 'I') return FAIL_HERE(p, TSS_E_INVALID, "Infinity is not a JSON number");
        return FAIL_HERE(p, TSS_E_INVALID, "expected a digit after '-', found %s",
                         describe(c, d));
    }
    if (c == '0') {
        TAKE();
        if (is_digit(peek(p)))
            return FAIL_HERE(p, TSS_E_INVALID, "leading zeros are not allowed in numbers");
    } else {
        while (is_digit(peek(p))) TAKE();
    }
    if (peek(p) == '.') {
        TAKE();
        if (!is_digit(peek(p)))
            return FAIL_HERE(p, TSS_E_INVALID, "expected a digit after the decimal point");
        while (is_digit(peek(p))) TAKE();
    }
    c = peek(p);
    if (c == 'e' || c == 'E') {
        TAKE();
        c = peek(p);
        if (c == '+' || c == '-') TAKE();
        if (!is_digit(peek(p)))
            return FAIL_HERE(p, TSS_E_INVALID, "expected a digit in the exponent");
        while (is_digit(peek(p))) TAKE();
    }
#undef TAKE
    char *text = alloc_or_fail(p, n + 1);
    if (!text) return false;
    memcpy(text, buf, n);
    text[n] = '\0';
    v->type = TSS_JSON_NUMBER;
    v->u.str.text = text;
    v->u.str.len = n;
    return true;
}

static int hex_digit(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The 4 hex digits after "\u". */
static bool read_u4(parser *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(peek(p));
        if (d < 0) {
            char b[24];
            return FAIL_HERE(p, peek(p) == END ? TSS_E_TRUNCATED : TSS_E_INVALID,
                             "expected 4 hex digits after \\u, found %s", describe(peek(p), b));
        }
        (void)next(p);
        v = (v << 4) | (uint32_t)d;
    }
    *out = v;
    return true;
}

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* One escape after the backslash (already consumed at line:col). Writes up
 * to 4 bytes to o. */
static bool parse_escape(parser *p, uint32_t line, uint32_t col, char *o, size_t *olen) {
    int e = next(p);
    char b[24];
    switch (e) {
    case '"': *o = '"'; break;
    case '\\': *o = '\\'; break;
    case '/': *o = '/'; break;
    case 'b': *o = '\b'; break;
    case 'f': *o = '\f'; break;
    case 'n': *o = '\n'; break;
    case 'r': *o = '\r'; break;
    case 't': *o = '\t'; break;
    case 'u': {
        uint32_t cp;
        if (!read_u4(p, &cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return fail_at(p, TSS_E_INVALID, line, col,
                           "unpaired UTF-16 low surrogate \\u%04X", (unsigned)cp);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (peek(p) != '\\')
                return fail_at(p, TSS_E_INVALID, line, col,
                               "UTF-16 high surrogate \\u%04X not followed by a low surrogate",
                               (unsigned)cp);
            (void)next(p);
            if (peek(p) != 'u')
                return fail_at(p, TSS_E_INVALID, line, col,
                               "UTF-16 high surrogate \\u%04X not followed by a low surrogate",
                               (unsigned)cp);
            (void)next(p);
            if (!read_u4(p, &lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return fail_at(p, TSS_E_INVALID, line, col,
                               "UTF-16 high surrogate \\u%04X followed by \\u%04X, not a low "
                               "surrogate",
                               (unsigned)cp, (unsigned)lo);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        *olen = put_utf8(o, cp);
        return true;
    }
    case END:
        return fail_at(p, TSS_E_TRUNCATED, line, col, "unterminated escape sequence");
    default:
        return fail_at(p, TSS_E_INVALID, line, col, "invalid escape sequence '\\' followed by %s",
                       describe(e, b));
    }
    *olen = 1;
    return true;
}

/* One multi-byte UTF-8 sequence whose lead byte c was just consumed at
 * line:col (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF). */
static bool parse_utf8_tail(parser *p, int c, uint32_t line, uint32_t col, char *o,
                            size_t *olen) {
    int need;
    int lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0; /* overlong */
        if (c == 0xED) hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90; /* overlong */
        if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else {
        return fail_at(p, TSS_E_INVALID, line, col, "invalid UTF-8 (byte 0x%02X)", (unsigned)c);
    }
    o[0] = (char)c;
    for (int i = 1; i <= need; i++) {
        int t = peek(p);
        if (t == END) return fail_at(p, TSS_E_TRUNCATED, line, col, "truncated UTF-8 sequence");
        if (t < lo || t > hi)
            return fail_at(p, TSS_E_INVALID, line, col,
                           "invalid UTF-8 (byte 0x%02X after 0x%02X)", (unsigned)t, (unsigned)c);
        (void)next(p);
        o[i] = (char)t;
        lo = 0x80;
        hi = 0xBF;
    }
    *olen = (size_t)need + 1;
    return true;
}

/* A string at the opening quote. max: byte cap after unescaping. */
static bool parse_string(parser *p, const char **text, size_t *len, size_t max,
                         const char *what) {
    uint32_t line = p->line, col = p->col;
    (void)next(p); /* '"' */
    /* Find the closing quote on a copy of the reader to size the copy: the
     * unescaped text is never longer than the raw text. */
    tss_reader look = p->r;
    size_t raw = 0;
    while (tss_reader_remaining(&look)) {
        uint8_t c = tss_read_u8(&look);
        if (c == '"') break;
        raw++;
        if (c == '\\' && tss_reader_remaining(&look)) {
            (void)tss_read_u8(&look); /* the escaped byte, which may be '"' */
            raw++;
        }
    }
    size_t cap = raw < max ? raw : max; /* the loop below stops at either */
    char *out = alloc_or_fail(p, cap + 1);
    if (!out) return false;
    size_t n = 0;
    for (;;) {
        uint32_t cl = p->line, cc = p->col;
        int c = next(p);
        char tmp[4];
        size_t tl = 1;
        if (c == '"') break;
        if (c == END)
            return fail_at(p, TSS_E_TRUNCATED, line, col,
                           "unterminated %s (end of input before the closing quote)", what);
        if (c == '\\') {
            if (!parse_escape(p, cl, cc, tmp, &tl)) return false;
        } else if (c < 0x20) {
            return fail_at(p, TSS_E_INVALID, cl, cc,
                           "unescaped control character U+%04X in a %s", (unsigned)c, what);
        } else if (c < 0x80) {
            tmp[0] = (char)c;
        } else if (!parse_utf8_tail(p, c, cl, cc, tmp, &tl)) {
            return false;
        }
        if (tl > cap - n) /* past max: raw - n >= tl always holds */
            return fail_at(p, TSS_E_TOO_LARGE, line, col, "%s longer than %zu bytes", what, max);
        memcpy(out + n, tmp, tl);
        n += tl;
    }
    out[n] = '\0';
    *text = out;
    *len = n;
    return true;
}

static int cmp_keys(const void *a, const void *b, void *ctx) {
    const tss_json_member *m = ctx;
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    size_t la = m[i].key_len, lb = m[j].key_len;
    int c = memcmp(m[i].key, m[j].key, la < lb ? la : lb);
    if (c) return c;
    if (la != lb) return la < lb ? -1 : 1;
    return (i > j) - (i < j); /* equal keys in document order */
}

static bool close_array(parser *p, tss_json_value *v, size_t base) {
    size_t n = p->stack_len - base;
    tss_json_value *items = NULL;
    if (n) {
        items = alloc_or_fail(p, n * sizeof *items);
        if (!items) return false;
        for (size_t i = 0; i < n; i++) {
            items[i] = p->stack[base + i].value;
            items[i].index = (uint32_t)i;
        }
    }
    p->stack_len = base;
    v->type = TSS_JSON_ARRAY;
    v->u.arr.items = items;
    v->u.arr.count = n;
    return true;
}

static bool close_object(parser *p, tss_json_value *v, size_t base) {
    size_t n = p->stack_len - base;
    tss_json_member *members = NULL;
    uint32_t *sorted = NULL;
    if (n) {
        members = alloc_or_fail(p, n * sizeof *members);
        sorted = members ? alloc_or_fail(p, n * sizeof *sorted) : NULL;
        if (!sorted) return false;
        memcpy(members, p->stack + base, n * sizeof *members);
        for (size_t i = 0; i < n; i++) {
            members[i].value.index = (uint32_t)i;
            sorted[i] = (uint32_t)i;
        }
        qsort_r(sorted, n, sizeof *sorted, cmp_keys, members);
        /* Report the first repeated key in document order. */
        size_t dup = n;
        for (size_t i = 1; i < n; i++) {
            const tss_json_member *a = &members[sorted[i - 1]], *b = &members[sorted[i]];
            if (a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0 &&
                sorted[i] < dup)
                dup = sorted[i];
        }
        if (dup < n) {
            char k[200];
            render_key(k, sizeof k, members[dup].key, members[dup].key_len);
            return fail_at(p, TSS_E_INVALID, members[dup].key_line, members[dup].key_column,
                           "duplicate key \"%s\"", k);
        }
    }
    p->stack_len = base;
    v->type = TSS_JSON_OBJECT;
    v->u.obj.members = members;
    v->u.obj.sorted = sorted;
    v->u.obj.count = n;
    return true;
}

/* After an element: ',' (not before the closer) or the closer. Returns 1 to
 * continue, 0 at the closer, -1 on error. */
static int after_item(parser *p, char closer, const char *kind, uint32_t line, uint32_t col) {
    skip_ws(p);
    int c = peek(p);
    char d[24];
    if (c == closer) {
        (void)next(p);
        return 0;
    }
    if (c == ',') {
        (void)next(p);
        skip_ws(p);
        if (peek(p) != closer) return 1;
        (void)FAIL_HERE(p, TSS_E_INVALID, "trailing comma before '%c'", closer);
    } else if (c == END) {
        (void)fail_at(p, TSS_E_TRUNCATED, line, col, "unterminated %s (end of input before '%c')",
                      kind, closer);
    } else {
        (void)FAIL_HERE(p, TSS_E_INVALID, "expected ',' or '%c' after %s, found %s", closer,
                        closer == ']' ? "an array element" : "an object member", describe(c, d));
    }
    return -1;
}

static bool check_items(parser *p, size_t base, const char *kind, const char *noun,
                        uint32_t line, uint32_t col) {
    if (p->stack_len - base < p->lim.max_items) return true;
    return fail_at(p, TSS_E_TOO_LARGE, line, col, "%s with more than %zu %s", kind,
                   p->lim.max_items, noun);
}

static bool parse_array(parser *p, tss_json_value *v, size_t depth) {
    uint32_t line = v->line, col = v->column;
    size_t base = p->stack_len;
    (void)next(p); /* '[' */
    skip_ws(p);
    if (peek(p) == ']') {
        (void)next(p);
        return close_array(p, v, base);
    }
    for (;;) {
        if (!check_items(p, base, "an array", "elements", line, col)) return false;
        tss_json_member m = {0};
        if (!parse_value(p, &m.value, depth)) return false;
        if (!push(p, &m)) return false;
        int r = after_item(p, ']', "array", line, col);
        if (r < 0) return false;
        if (r == 0) return close_array(p, v, base);
    }
}

static bool parse_object(parser *p, tss_json_value *v, size_t depth) {
    uint32_t line = v->line, col = v->column;
    size_t base = p->stack_len;
    (void)next(p); /* '{' */
    skip_ws(p);
    if (peek(p) == '}') {
        (void)next(p);
        return close_object(p, v, base);
    }
    for (;;) {
        if (!check_items(p, base, "an object", "members", line, col)) return false;
        tss_json_member m = {0};
        char d[24];
        int c = peek(p);
        if (c != '"') {
            if (c == END)
                return fail_at(p, TSS_E_TRUNCATED, line, col,
                               "unterminated object (end of input before '}')");
            return FAIL_HERE(p, TSS_E_INVALID, "expected a string key in double quotes, found %s",
                             describe(c, d));
        }
        m.key_line = p->line;
        m.key_column = p->col;
        if (!parse_string(p, &m.key, &m.key_len, p->lim.max_key, "key")) return false;
        skip_ws(p);
        c = peek(p);
        if (c != ':') {
            if (c == END)
                return fail_at(p, TSS_E_TRUNCATED, line, col,
                               "unterminated object (end of input before '}')");
            return FAIL_HERE(p, TSS_E_INVALID, "expected ':' after the key, found %s",
                             describe(c, d));
        }
        (void)next(p);
        if (!parse_value(p, &m.value, depth)) return false;
        if (!push(p, &m)) return false;
        int r = after_item(p, '}', "object", line, col);
        if (r < 0) return false;
        if (r == 0) return close_object(p, v, base);
    }
}

static bool parse_value(parser *p, tss_json_value *v, size_t depth) {
    skip_ws(p);
    memset(v, 0, sizeof *v);
    v->line = p->line;
    v->column = p->col;
    int c = peek(p);
    char d[24];
    if (c == END) return FAIL_HERE(p, TSS_E_TRUNCATED, "expected a value, found end of input");
    if (p->values == p->lim.max_values)
        return FAIL_HERE(p, TSS_E_TOO_LARGE, "more than %zu values in the document",
                         p->lim.max_values);
    p->values++;
    switch (c) {
    case '{':
    case '[':
        if (depth == p->lim.max_depth)
            return FAIL_HERE(p, TSS_E_TOO_LARGE, "nesting deeper than %zu levels",
                             p->lim.max_depth);
        return c == '{' ? parse_object(p, v, depth + 1) : parse_array(p, v, depth + 1);
    case '"':
        v->type = TSS_JSON_STRING;
        return parse_string(p, &v->u.str.text, &v->u.str.len, p->lim.max_string, "string");
    case 't':
        v->type = TSS_JSON_BOOL;
        v->u.boolean = true;
        return expect_literal(p, "true");
    case 'f':
        v->type = TSS_JSON_BOOL;
        return expect_literal(p, "false");
    case 'n':
        v->type = TSS_JSON_NULL;
        return expect_literal(p, "null");
    case 'N':
        return FAIL_HERE(p, TSS_E_INVALID, "NaN is not a JSON value");
    case 'I':
        return FAIL_HERE(p, TSS_E_INVALID, "Infinity is not a JSON value");
    case '+':
        return FAIL_HERE(p, TSS_E_INVALID, "a number cannot start with '+'");
    case '.':
        return FAIL_HERE(p, TSS_E_INVALID, "a number must have a digit before '.'");
    case '\'':
        return FAIL_HERE(p, TSS_E_INVALID, "strings must use double quotes");
    default:
        if (c == '-' || is_digit(c)) return parse_number(p, v);
        return FAIL_HERE(p, TSS_E_INVALID, "expected a value, found %s", describe(c, d));
    }
}

/* Parent links, once every container has its final place. Depth is capped. */
static void link_parents(tss_json_value *v) {
    if (v->type == TSS_JSON_ARRAY) {
        tss_json_value *items = (tss_json_value *)v->u.arr.items;
        for (size_t i = 0; i < v->u.arr.count; i++) {
            items[i].parent = v;
            link_parents(&items[i]);
        }
    } else if (v->type == TSS_JSON_OBJECT) {
        tss_json_member *m = (tss_json_member *)v->u.obj.members;
        for (size_t i = 0; i < v->u.obj.count; i++) {
            m[i].value.parent = v;
            link_parents(&m[i].value);
        }
    }
}

static size_t clamp(size_t want, size_t hard) { return want == 0 || want > hard ? hard : want; }

tss_result tss_json_parse(tss_json_doc **out, const char *text, size_t len,
                          const tss_json_limits *limits) {
    *out = NULL;
    const tss_json_limits *l = limits ? limits : &tss_json_default_limits;
    parser p = {0};
    p.lim.max_size = clamp(l->max_size, TSS_JSON_MAX_SIZE);
    p.lim.max_depth = clamp(l->max_depth, TSS_JSON_MAX_DEPTH);
    p.lim.max_string = clamp(l->max_string, TSS_JSON_MAX_STRING);
    p.lim.max_key = clamp(l->max_key, TSS_JSON_MAX_KEY);
    p.lim.max_number = clamp(l->max_number, TSS_JSON_MAX_NUMBER);
    p.lim.max_items = clamp(l->max_items, TSS_JSON_MAX_ITEMS);
    p.lim.max_values = clamp(l->max_values, TSS_JSON_MAX_VALUES);
    TSS_ENSURE(text || len == 0, TSS_E_USAGE, "json: no input");
    TSS_ENSURE(len <= p.lim.max_size, TSS_E_TOO_LARGE,
               "json: document of %zu bytes exceeds the limit of %zu bytes", len,
               p.lim.max_size);
    p.doc = calloc(1, sizeof *p.doc);
    TSS_ENSURE(p.doc, TSS_E_NOMEM, "json: out of memory");
    tss_reader_init(&p.r, (const uint8_t *)text, len);
    p.line = p.col = 1;

    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        (void)FAIL_HERE(&p, TSS_E_INVALID, "byte order mark (U+FEFF) not allowed");
    } else {
        p.doc->root = alloc_or_fail(&p, sizeof *p.doc->root);
        if (p.doc->root && parse_value(&p, p.doc->root, 0)) {
            skip_ws(&p);
            char d[24];
            if (peek(&p) != END)
                (void)FAIL_HERE(&p, TSS_E_TRAILING, "unexpected %s after the document",
                                describe(peek(&p), d));
        }
    }
    free(p.stack);
    if (!p.err) {
        tss_result r = tss_reader_finish(&p.r, "json");
        if (!tss_is_ok(r)) {
            tss_json_free(p.doc);
            return r;
        }
        link_parents(p.doc->root);
        *out = p.doc;
        return TSS_OK_RESULT;
    }
    tss_json_free(p.doc);
    return tss_fail(p.err, "json: line %u, column %u: %s", (unsigned)p.err_line,
                    (unsigned)p.err_col, p.msg);
}

/* ---- navigation ------------------------------------------------------------------- */

const char *tss_json_type_name(tss_json_type t) {
    switch (t) {
    case TSS_JSON_NULL: return "null";
    case TSS_JSON_BOOL: return "a boolean";
    case TSS_JSON_NUMBER: return "a number";
    case TSS_JSON_STRING: return "a string";
    case TSS_JSON_ARRAY: return "an array";
    case TSS_JSON_OBJECT: return "an object";
    }
    return "an unknown type";
}

const tss_json_value *tss_json_get(const tss_json_value *obj, const char *key) {
    if (!obj || obj->type != TSS_JSON_OBJECT || !key) return NULL;
    size_t klen = strlen(key), lo = 0, hi = obj->u.obj.count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const tss_json_member *m = &obj->u.obj.members[obj->u.obj.sorted[mid]];
        int c = memcmp(m->key, key, m->key_len < klen ? m->key_len : klen);
        if (c == 0) c = (m->key_len > klen) - (m->key_len < klen);
        if (c == 0) return &m->value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const tss_json_value *tss_json_at(const tss_json_value *arr, size_t i) {
    if (!arr || arr->type != TSS_JSON_ARRAY || i >= arr->u.arr.count) return NULL;
    return &arr->u.arr.items[i];
}

const tss_json_member *tss_json_member_of(const tss_json_value *v) {
    if (!v || !v->parent || v->parent->type != TSS_JSON_OBJECT) return NULL;
    return &v->parent->u.obj.members[v->index];
}

static bool is_ident(const char *k, size_t n) {
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

/* Append one path step (key or index) to buf at *o. */
static void path_step(char *buf, size_t cap, size_t *o, const char *key, size_t klen,
                      bool is_key, size_t index) {
    if (*o >= cap) return;
    int w;
    if (!is_key) {
        w = snprintf(buf + *o, cap - *o, "[%zu]", index);
    } else if (is_ident(key, klen)) {
        w = snprintf(buf + *o, cap - *o, "%s%.*s", *o ? "." : "", (int)klen, key);
    } else {
        char k[200];
        render_key(k, sizeof k, key, klen);
        w = snprintf(buf + *o, cap - *o, "[\"%s\"]", k);
    }
    if (w > 0) *o += (size_t)w;
    if (*o >= cap) *o = cap - 1;
}

size_t tss_json_path(const tss_json_value *v, char *buf, size_t cap) {
    if (!cap) return 0;
    buf[0] = '\0';
    const tss_json_value *chain[TSS_JSON_MAX_DEPTH + 2];
    size_t n = 0;
    for (const tss_json_value *x = v; x && x->parent && n < TSS_JSON_MAX_DEPTH + 2; x = x->parent)
        chain[n++] = x;
    size_t o = 0;
    while (n--) {
        const tss_json_value *x = chain[n];
        const tss_json_member *m = tss_json_member_of(x);
        if (m)
            path_step(buf, cap, &o, m->key, m->key_len, true, 0);
        else
            path_step(buf, cap, &o, NULL, 0, false, x->index);
    }
    return o;
}

static tss_result vfail_at(tss_err err, const char *path, uint32_t line, uint32_t col,
                           bool missing, const char *fmt, va_list ap) {
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (missing)
        return tss_fail(err, "%s: %s (in the object at line %u, column %u)", path, msg,
                        (unsigned)line, (unsigned)col);
    return tss_fail(err, "%s (line %u, column %u): %s", path[0] ? path : "top level",
                    (unsigned)line, (unsigned)col, msg);
}

tss_result tss_json_fail(tss_err err, const tss_json_value *v, const char *fmt, ...) {
    char path[160];
    tss_json_path(v, path, sizeof path);
    va_list ap;
    va_start(ap, fmt);
    tss_result r = vfail_at(err, path, v ? v->line : 0, v ? v->column : 0, false, fmt, ap);
    va_end(ap);
    return r;
}

tss_result tss_json_fail_key(tss_err err, const tss_json_value *obj, const char *key,
                             const char *fmt, ...) {
    const tss_json_value *v = tss_json_get(obj, key);
    char path[160];
    uint32_t line = obj ? obj->line : 0, col = obj ? obj->column : 0;
    if (v) {
        const tss_json_member *m = tss_json_member_of(v);
        tss_json_path(v, path, sizeof path);
        line = m->key_line;
        col = m->key_column;
    } else {
        size_t o = tss_json_path(obj, path, sizeof path);
        path_step(path, sizeof path, &o, key, strlen(key), true, 0);
    }
    va_list ap;
    va_start(ap, fmt);
    tss_result r = vfail_at(err, path, line, col, v == NULL, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- typed access ---------------------------------------------------------------- */

tss_result tss_json_expect(const tss_json_value *v, tss_json_type t) {
    TSS_ENSURE(v, TSS_E_USAGE, "json: no value");
    if (v->type != t)
        return tss_json_fail(TSS_E_INVALID, v, "expected %s, found %s", tss_json_type_name(t),
                             tss_json_type_name(v->type));
    return TSS_OK_RESULT;
}

tss_result tss_json_as_string(const tss_json_value *v, const char **out, size_t *len) {
    TSS_GUARD(tss_json_expect(v, TSS_JSON_STRING));
    if (strlen(v->u.str.text) != v->u.str.len)
        return tss_json_fail(TSS_E_INVALID, v, "string contains a NUL character (\\u0000)");
    *out = v->u.str.text;
    if (len) *len = v->u.str.len;
    return TSS_OK_RESULT;
}

tss_result tss_json_as_u64(const tss_json_value *v, uint64_t *out) {
    TSS_GUARD(tss_json_expect(v, TSS_JSON_NUMBER));
    const char *t = v->u.str.text;
    uint64_t x = 0;
    for (size_t i = 0; i < v->u.str.len; i++) {
        if (!is_digit(t[i]))
            return tss_json_fail(TSS_E_INVALID, v,
                                 "expected a non-negative integer (no sign, fraction or "
                                 "exponent), found %s",
                                 t);
        unsigned d = (unsigned)(t[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return tss_json_fail(TSS_E_TOO_LARGE, v, "integer exceeds 2^64-1");
        x = x * 10 + d;
    }
    *out = x;
    return TSS_OK_RESULT;
}

tss_result tss_json_as_bool(const tss_json_value *v, bool *out) {
    TSS_GUARD(tss_json_expect(v, TSS_JSON_BOOL));
    *out = v->u.boolean;
    return TSS_OK_RESULT;
}

tss_result tss_json_get_required(const tss_json_value *obj, const char *key, tss_json_type t,
                                 const tss_json_value **out) {
    TSS_GUARD(tss_json_expect(obj, TSS_JSON_OBJECT));
    const tss_json_value *v = tss_json_get(obj, key);
    if (!v) return tss_json_fail_key(TSS_E_INVALID, obj, key, "required key is missing");
    TSS_GUARD(tss_json_expect(v, t));
    *out = v;
    return TSS_OK_RESULT;
}

tss_result tss_json_get_string(const tss_json_value *obj, const char *key, const char **out,
                               size_t *len) {
    const tss_json_value *v;
    TSS_GUARD(tss_json_get_required(obj, key, TSS_JSON_STRING, &v));
    return tss_json_as_string(v, out, len);
}

tss_result tss_json_get_u64(const tss_json_value *obj, const char *key, uint64_t *out) {
    const tss_json_value *v;
    TSS_GUARD(tss_json_get_required(obj, key, TSS_JSON_NUMBER, &v));
    return tss_json_as_u64(v, out);
}

tss_result tss_json_get_bool(const tss_json_value *obj, const char *key, bool *out) {
    const tss_json_value *v;
    TSS_GUARD(tss_json_get_required(obj, key, TSS_JSON_BOOL, &v));
    return tss_json_as_bool(v, out);
}

tss_result tss_json_check_keys(const tss_json_value *obj, const char *const *allowed, size_t n) {
    TSS_GUARD(tss_json_expect(obj, TSS_JSON_OBJECT));
    for (size_t i = 0; i < obj->u.obj.count; i++) {
        const tss_json_member *m = &obj->u.obj.members[i];
        bool known = false;
        for (size_t j = 0; j < n && !known; j++)
            known = strlen(allowed[j]) == m->key_len && memcmp(allowed[j], m->key, m->key_len) == 0;
        if (known) continue;
        char list[200];
        size_t o = 0;
        list[0] = '\0';
        for (size_t j = 0; j < n && o < sizeof list; j++) {
            int w = snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", allowed[j]);
            if (w > 0) o += (size_t)w;
        }
        char path[160];
        tss_json_path(&m->value, path, sizeof path);
        return tss_fail(TSS_E_INVALID, "%s (line %u, column %u): unknown key (allowed: %s)",
                        path, (unsigned)m->key_line, (unsigned)m->key_column, list);
    }
    return TSS_OK_RESULT;
}
