/* util/json: RFC 8259 acceptance, every rejection class with its line and
 * column, the caps (size, depth, string, key, number, items, values, memory),
 * duplicate keys, the DOM accessors and their key-path messages, and a
 * cross-check against the test-only reader on the shared vector file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/harness.h"
#include "tests/unit/json_lite.h"
#include "util/json.h"

static bool detail_has(const char *s) {
    if (strstr(tss_error_detail(), s)) return true;
    fprintf(stderr, "    detail \"%s\" lacks \"%s\"\n", tss_error_detail(), s);
    return false;
}

static tss_json_doc *parse_n(const char *text, size_t len) {
    tss_json_doc *d = NULL;
    CHECK_OK(tss_json_parse(&d, text, len, NULL));
    return d;
}

static tss_json_doc *parse(const char *text) { return parse_n(text, strlen(text)); }

/* A growable text buffer for big generated documents. */
typedef struct {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}
static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_rep(sbuf *b, const char *s, size_t times) {
    for (size_t i = 0; i < times; i++) sb_str(b, s);
}

/* ---- acceptance ---------------------------------------------------------- */

static void scalars_and_whitespace(void) {
    static const struct {
        const char *text;
        tss_json_type type;
    } ok[] = {
        {"null", TSS_JSON_NULL},     {"true", TSS_JSON_BOOL},       {"false", TSS_JSON_BOOL},
        {"0", TSS_JSON_NUMBER},      {"-0", TSS_JSON_NUMBER},       {"\"\"", TSS_JSON_STRING},
        {" \t\r\n[] \n", TSS_JSON_ARRAY}, {"{}", TSS_JSON_OBJECT},  {"[[]]", TSS_JSON_ARRAY},
        {"{\"a\":{}}", TSS_JSON_OBJECT},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        tss_json_doc *d = parse(ok[i].text);
        CHECK(d && tss_json_root(d)->type == ok[i].type);
        CHECK(d && tss_json_root(d)->parent == NULL);
        tss_json_free(d);
    }
    tss_json_doc *d = parse("true");
    CHECK(d && tss_json_root(d)->u.boolean);
    tss_json_free(d);
    tss_json_free(NULL);
}

static void numbers_are_kept_as_text(void) {
    static const char *const ok[] = {
        "0", "-0", "7", "-7", "10", "1.5", "-0.0", "0e0", "0E+1", "1e-7", "12.5E10",
        "123456789012345678901234567890123456789012345678901234567890123456789012345678",
        "115792089237316195423570985008687907853269984665640564039457584007913129639936",
        "1.0000000000000000000000000000000000001", "-1e-999999",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        tss_json_doc *d = parse(ok[i]);
        const tss_json_value *v = tss_json_root(d);
        CHECK(v && v->type == TSS_JSON_NUMBER && strcmp(v->u.str.text, ok[i]) == 0 &&
              v->u.str.len == strlen(ok[i]));
        tss_json_free(d);
    }
    /* In arrays, the delimiter ends the number. */
    tss_json_doc *d = parse("[1,-2.5e3,0]");
    const tss_json_value *a = tss_json_root(d);
    CHECK(a && a->u.arr.count == 3);
    CHECK(a && strcmp(tss_json_at(a, 1)->u.str.text, "-2.5e3") == 0);
    CHECK(a && strcmp(tss_json_at(a, 2)->u.str.text, "0") == 0);
    tss_json_free(d);
}

static void strings_unescape_and_utf8(void) {
    static const struct {
        const char *json, *want;
        size_t want_len;
    } ok[] = {
        {"\"abc\"", "abc", 3},
        {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
        {"\"\\u0041\\u00e9\\u20AC\"", "A\xC3\xA9\xE2\x82\xAC", 6},
        {"\"\\uD83D\\uDE00\"", "\xF0\x9F\x98\x80", 4},      /* surrogate pair */
        {"\"\\udbff\\udfff\"", "\xF4\x8F\xBF\xBF", 4},      /* U+10FFFF */
        {"\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9},
        {"\"\xEF\xBF\xBF\xF4\x8F\xBF\xBF\xED\x9F\xBF\"", "\xEF\xBF\xBF\xF4\x8F\xBF\xBF\xED\x9F\xBF",
         10},                                              /* edges of the valid ranges */
        {"\"\x7F\"", "\x7F", 1},                           /* DEL needs no escape */
        {"\"a\\u0000b\"", "a\0b", 3},                      /* valid JSON, kept with its length */
        {"\"\\uFEFF\"", "\xEF\xBB\xBF", 3},                /* a BOM inside a string is data */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        tss_json_doc *d = parse(ok[i].json);
        const tss_json_value *v = tss_json_root(d);
        CHECK(v && v->type == TSS_JSON_STRING && v->u.str.len == ok[i].want_len &&
              memcmp(v->u.str.text, ok[i].want, ok[i].want_len) == 0 &&
              v->u.str.text[ok[i].want_len] == '\0');
        tss_json_free(d);
    }
    /* The C-string accessor refuses an embedded NUL (it would truncate). */
    tss_json_doc *d = parse("{\"k\": \"0x12\\u000034\"}");
    const char *s = NULL;
    CHECK_ERR(tss_json_get_string(tss_json_root(d), "k", &s, NULL), TSS_E_INVALID);
    CHECK(detail_has("k (line 1, column 7): string contains a NUL character"));
    CHECK(s == NULL);
    tss_json_free(d);
}

/* ---- rejections -------------------------------------------------------------- */

typedef struct {
    const char *text;
    size_t len;
    tss_err err;
    const char *where; /* "line L, column C" */
    const char *what;
} bad_case;
#define BAD(s, e, w, m) {s, sizeof(s) - 1, e, w, m}

static const bad_case bad_cases[] = {
    /* Structure. */
    BAD("", TSS_E_TRUNCATED, "line 1, column 1", "expected a value, found end of input"),
    BAD("  \n ", TSS_E_TRUNCATED, "line 2, column 2", "expected a value"),
    BAD("[1,]", TSS_E_INVALID, "line 1, column 4", "trailing comma before ']'"),
    BAD("{\"a\":1,}", TSS_E_INVALID, "line 1, column 8", "trailing comma before '}'"),
    BAD("[,1]", TSS_E_INVALID, "line 1, column 2", "expected a value, found ','"),
    BAD("[1 2]", TSS_E_INVALID, "line 1, column 4", "expected ',' or ']' after an array element"),
    BAD("{\"a\":1 \"b\":2}", TSS_E_INVALID, "line 1, column 8", "expected ',' or '}'"),
    BAD("{\"a\" 1}", TSS_E_INVALID, "line 1, column 6", "expected ':' after the key"),
    BAD("{1:2}", TSS_E_INVALID, "line 1, column 2", "expected a string key in double quotes"),
    BAD("{'a':2}", TSS_E_INVALID, "line 1, column 2", "expected a string key"),
    BAD("{a:2}", TSS_E_INVALID, "line 1, column 2", "expected a string key"),
    BAD("[1", TSS_E_TRUNCATED, "line 1, column 1", "unterminated array"),
    BAD("\n  {\"a\":[1,2]", TSS_E_TRUNCATED, "line 2, column 3", "unterminated object"),
    BAD("{\"a\"", TSS_E_TRUNCATED, "line 1, column 1", "unterminated object"),
    BAD("{\"a\":", TSS_E_TRUNCATED, "line 1, column 6", "expected a value, found end of input"),
    BAD("]", TSS_E_INVALID, "line 1, column 1", "expected a value, found ']'"),
    BAD("[1]]", TSS_E_TRAILING, "line 1, column 4", "unexpected ']' after the document"),
    BAD("{} {}", TSS_E_TRAILING, "line 1, column 4", "after the document"),
    BAD("1 2", TSS_E_TRAILING, "line 1, column 3", "after the document"),
    BAD("[1]\0", TSS_E_TRAILING, "line 1, column 4", "unexpected byte 0x00 after the document"),
    BAD("[1\0]", TSS_E_INVALID, "line 1, column 3", "found byte 0x00"),
    BAD("// c\n1", TSS_E_INVALID, "line 1, column 1", "expected a value, found '/'"),
    BAD("[1]/*c*/", TSS_E_TRAILING, "line 1, column 4", "after the document"),
    BAD("\xEF\xBB\xBF{}", TSS_E_INVALID, "line 1, column 1", "byte order mark"),
    BAD("[\xC3\xA9]", TSS_E_INVALID, "line 1, column 2", "found byte 0xC3"),
    BAD("\x0B[]", TSS_E_INVALID, "line 1, column 1", "found byte 0x0B"),   /* VT is not space */
    BAD("[\xC2\xA0]", TSS_E_INVALID, "line 1, column 2", "found byte 0xC2"), /* NBSP either */
    /* Literals. */
    BAD("tru", TSS_E_INVALID, "line 1, column 1", "invalid literal (expected 'true')"),
    BAD("nul", TSS_E_INVALID, "line 1, column 1", "expected 'null'"),
    BAD("True", TSS_E_INVALID, "line 1, column 1", "expected a value, found 'T'"),
    BAD("truex", TSS_E_TRAILING, "line 1, column 5", "unexpected 'x' after the document"),
    BAD("NaN", TSS_E_INVALID, "line 1, column 1", "NaN is not a JSON value"),
    BAD("[Infinity]", TSS_E_INVALID, "line 1, column 2", "Infinity is not a JSON value"),
    BAD("-Infinity", TSS_E_INVALID, "line 1, column 2", "Infinity is not a JSON number"),
    BAD("undefined", TSS_E_INVALID, "line 1, column 1", "found 'u'"),
    /* Numbers. */
    BAD("01", TSS_E_INVALID, "line 1, column 2", "leading zeros are not allowed"),
    BAD("-012", TSS_E_INVALID, "line 1, column 3", "leading zeros"),
    BAD("[00]", TSS_E_INVALID, "line 1, column 3", "leading zeros"),
    BAD("+1", TSS_E_INVALID, "line 1, column 1", "cannot start with '+'"),
    BAD(".5", TSS_E_INVALID, "line 1, column 1", "digit before '.'"),
    BAD("1.", TSS_E_INVALID, "line 1, column 3", "expected a digit after the decimal point"),
    BAD("1.e5", TSS_E_INVALID, "line 1, column 3", "after the decimal point"),
    BAD("1e", TSS_E_INVALID, "line 1, column 3", "expected a digit in the exponent"),
    BAD("1e+", TSS_E_INVALID, "line 1, column 4", "in the exponent"),
    BAD("-", TSS_E_INVALID, "line 1, column 2", "expected a digit after '-', found end of input"),
    BAD("- 1", TSS_E_INVALID, "line 1, column 2", "expected a digit after '-'"),
    BAD("0x10", TSS_E_TRAILING, "line 1, column 2", "unexpected 'x'"),
    BAD("1_000", TSS_E_TRAILING, "line 1, column 2", "unexpected '_'"),
    /* Strings. */
    BAD("'a'", TSS_E_INVALID, "line 1, column 1", "strings must use double quotes"),
    BAD("\"abc", TSS_E_TRUNCATED, "line 1, column 1", "unterminated string"),
    BAD("[\"a\\\"]", TSS_E_TRUNCATED, "line 1, column 2", "unterminated string"),
    BAD("\"a\nb\"", TSS_E_INVALID, "line 1, column 3", "unescaped control character U+000A"),
    BAD("\"\t\"", TSS_E_INVALID, "line 1, column 2", "unescaped control character U+0009"),
    BAD("\"\x1F\"", TSS_E_INVALID, "line 1, column 2", "U+001F"),
    BAD("\"\0\"", TSS_E_INVALID, "line 1, column 2", "U+0000"),
    BAD("\"\\x41\"", TSS_E_INVALID, "line 1, column 2", "invalid escape sequence '\\' followed by 'x'"),
    BAD("\"\\'\"", TSS_E_INVALID, "line 1, column 2", "invalid escape sequence"),
    BAD("\"\\U0041\"", TSS_E_INVALID, "line 1, column 2", "invalid escape sequence"),
    BAD("\"\\", TSS_E_TRUNCATED, "line 1, column 2", "unterminated escape sequence"),
    BAD("\"\\u12\"", TSS_E_INVALID, "line 1, column 6", "expected 4 hex digits after \\u"),
    BAD("\"\\u12", TSS_E_TRUNCATED, "line 1, column 6", "expected 4 hex digits"),
    BAD("\"\\uD800\"", TSS_E_INVALID, "line 1, column 2",
        "UTF-16 high surrogate \\uD800 not followed by a low surrogate"),
    BAD("\"\\uDBFFx\"", TSS_E_INVALID, "line 1, column 2", "not followed by a low surrogate"),
    BAD("\"\\uD800\\n\"", TSS_E_INVALID, "line 1, column 2", "not followed by a low surrogate"),
    BAD("\"\\uD800\\u0041\"", TSS_E_INVALID, "line 1, column 2",
        "followed by \\u0041, not a low surrogate"),
    BAD("\"\\uD800\\uD800\"", TSS_E_INVALID, "line 1, column 2", "not a low surrogate"),
    BAD("\"\\uDC00\"", TSS_E_INVALID, "line 1, column 2", "unpaired UTF-16 low surrogate \\uDC00"),
    BAD("\"x\\uDFFF\\uD800\"", TSS_E_INVALID, "line 1, column 3", "low surrogate \\uDFFF"),
    /* UTF-8. */
    BAD("\"\x80\"", TSS_E_INVALID, "line 1, column 2", "invalid UTF-8 (byte 0x80)"),
    BAD("\"\xBF\"", TSS_E_INVALID, "line 1, column 2", "invalid UTF-8 (byte 0xBF)"),
    BAD("\"\xC0\xAF\"", TSS_E_INVALID, "line 1, column 2", "invalid UTF-8 (byte 0xC0)"),
    BAD("\"\xC1\xBF\"", TSS_E_INVALID, "line 1, column 2", "invalid UTF-8 (byte 0xC1)"),
    BAD("\"\xE0\x80\xAF\"", TSS_E_INVALID, "line 1, column 2", "byte 0x80 after 0xE0"),
    BAD("\"\xE0\x9F\xBF\"", TSS_E_INVALID, "line 1, column 2", "byte 0x9F after 0xE0"),
    BAD("\"\xED\xA0\x80\"", TSS_E_INVALID, "line 1, column 2", "byte 0xA0 after 0xED"),
    BAD("\"\xED\xBF\xBF\"", TSS_E_INVALID, "line 1, column 2", "byte 0xBF after 0xED"),
    BAD("\"\xF0\x8F\xBF\xBF\"", TSS_E_INVALID, "line 1, column 2", "byte 0x8F after 0xF0"),
    BAD("\"\xF4\x90\x80\x80\"", TSS_E_INVALID, "line 1, column 2", "byte 0x90 after 0xF4"),
    BAD("\"\xF5\x80\x80\x80\"", TSS_E_INVALID, "line 1, column 2", "invalid UTF-8 (byte 0xF5)"),
    BAD("\"\xFF\"", TSS_E_INVALID, "line 1, column 2", "invalid UTF-8 (byte 0xFF)"),
    BAD("\"\xC3\"", TSS_E_INVALID, "line 1, column 2", "byte 0x22 after 0xC3"),
    BAD("\"\xE2\x82\"", TSS_E_INVALID, "line 1, column 2", "byte 0x22 after 0xE2"),
    BAD("\"\xE2\x82", TSS_E_TRUNCATED, "line 1, column 2", "truncated UTF-8 sequence"),
    BAD("\"a\xF0\x9F\x98\"", TSS_E_INVALID, "line 1, column 3", "after 0xF0"),
    /* Positions count lines from 1 and characters (not bytes) from 1. */
    BAD("{\n  \"a\": 1,\n  \"b\": 01\n}", TSS_E_INVALID, "line 3, column 9", "leading zeros"),
    BAD("[\"\xC3\xA9\xE2\x82\xAC\", x]", TSS_E_INVALID, "line 1, column 8", "found 'x'"),
    BAD("\r\n\r\n  [1,,", TSS_E_INVALID, "line 3, column 6", "expected a value, found ','"),
    /* Duplicate keys, compared after unescaping. */
    BAD("{\"a\":1,\"b\":2,\"a\":3}", TSS_E_INVALID, "line 1, column 14", "duplicate key \"a\""),
    BAD("{\"a\":1,\"\\u0061\":2}", TSS_E_INVALID, "line 1, column 8", "duplicate key \"a\""),
    BAD("{\"x\":{\"k\":1,\n\"k\":[]}}", TSS_E_INVALID, "line 2, column 1", "duplicate key \"k\""),
    BAD("[{}, {\"\":1, \"\":2}]", TSS_E_INVALID, "line 1, column 13", "duplicate key \"\""),
    BAD("{\"b\":1,\"a\":1,\"b\":1,\"a\":1}", TSS_E_INVALID, "line 1, column 14",
        "duplicate key \"b\""), /* the first repeat in document order */
    BAD("{\"\\u0000\\n\":1,\"\\u0000\\n\":2}", TSS_E_INVALID, "line 1, column 15",
        "duplicate key \"\\x00\\x0A\""),
};

static void rejections_name_line_and_column(void) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        tss_json_doc *d = (tss_json_doc *)1;
        tss_result r = tss_json_parse(&d, c->text, c->len, NULL);
        char want[64];
        snprintf(want, sizeof want, "json: %s: ", c->where);
        bool ok = r.err == c->err && d == NULL && strstr(tss_error_detail(), want) &&
                  strstr(tss_error_detail(), c->what);
        if (!ok)
            fprintf(stderr, "    case %zu: got %s \"%s\", want %s \"%s%s\"\n", i,
                    tss_err_name(r.err), tss_error_detail(), tss_err_name(c->err), want,
                    c->what);
        CHECK(ok);
        tss_json_free(d == (tss_json_doc *)1 ? NULL : d);
    }
}

static void near_duplicates_are_distinct(void) {
    tss_json_doc *d = parse("{\"a\":1,\"A\":2,\"a\\u0000\":3,\"a \":4,\"\":5,\"b\":{\"a\":6}}");
    const tss_json_value *o = tss_json_root(d);
    CHECK(o && o->u.obj.count == 6);
    CHECK(strcmp(tss_json_get(o, "a")->u.str.text, "1") == 0);
    CHECK(strcmp(tss_json_get(o, "A")->u.str.text, "2") == 0);
    CHECK(strcmp(tss_json_get(o, "a ")->u.str.text, "4") == 0);
    CHECK(strcmp(tss_json_get(o, "")->u.str.text, "5") == 0);
    CHECK(strcmp(tss_json_get(tss_json_get(o, "b"), "a")->u.str.text, "6") == 0);
    tss_json_free(d);
}

/* ---- caps -------------------------------------------------------------------- */

static void depth_cap(void) {
    sbuf b = {0};
    sb_rep(&b, "[", TSS_JSON_MAX_DEPTH);
    sb_rep(&b, "]", TSS_JSON_MAX_DEPTH);
    tss_json_free(parse(b.p));
    b.len = 0;
    sb_rep(&b, "[", TSS_JSON_MAX_DEPTH + 1);
    sb_rep(&b, "]", TSS_JSON_MAX_DEPTH + 1);
    tss_json_doc *d;
    CHECK_ERR(tss_json_parse(&d, b.p, b.len, NULL), TSS_E_TOO_LARGE);
    CHECK(detail_has("line 1, column 33: nesting deeper than 32 levels"));
    /* Objects count the same; the parser stops at the cap, never recursing further. */
    b.len = 0;
    sb_rep(&b, "{\"a\":", 100000);
    CHECK_ERR(tss_json_parse(&d, b.p, b.len, NULL), TSS_E_TOO_LARGE);
    CHECK(detail_has("column 161: nesting deeper"));
    b.len = 0;
    sb_rep(&b, "[{\"a\":", 16);
    sb_str(&b, "1");
    sb_rep(&b, "}]", 16);
    tss_json_free(parse(b.p));
    /* A lower limit. */
    tss_json_limits lim = tss_json_default_limits;
    lim.max_depth = 2;
    CHECK_OK(tss_json_parse(&d, "[[1]]", 5, &lim));
    tss_json_free(d);
    CHECK_ERR(tss_json_parse(&d, "[[[1]]]", 7, &lim), TSS_E_TOO_LARGE);
    CHECK(detail_has("line 1, column 3: nesting deeper than 2 levels"));
    /* Limits can only be lowered. */
    lim.max_depth = 1000;
    b.len = 0;
    sb_rep(&b, "[", 40);
    sb_rep(&b, "]", 40);
    CHECK_ERR(tss_json_parse(&d, b.p, b.len, &lim), TSS_E_TOO_LARGE);
    free(b.p);
}

static void size_cap(void) {
    /* Exactly the cap: an array of strings, padded with whitespace. */
    sbuf b = {0};
    sb_str(&b, "[");
    char item[1002];
    memset(item, 'x', sizeof item);
    item[0] = '"';
    item[999] = '"';
    item[1000] = ',';
    item[1001] = '\n';
    while (b.len + 2 * sizeof item < TSS_JSON_MAX_SIZE) sb_add(&b, item, sizeof item);
    sb_str(&b, "1]");
    while (b.len < TSS_JSON_MAX_SIZE) sb_str(&b, " ");
    CHECK(b.len == TSS_JSON_MAX_SIZE);
    clock_t t0 = clock();
    tss_json_doc *d = parse_n(b.p, b.len);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    fprintf(stderr, "    1 MiB document parsed in %.1f ms, %zu bytes of arena\n", secs * 1e3,
            tss_json_doc_memory(d));
    CHECK(secs < 2.0);
    CHECK(d && tss_json_root(d)->u.arr.count > 1000);
    CHECK(tss_json_doc_memory(d) <= TSS_JSON_ARENA_MAX);
    tss_json_free(d);
    /* One byte more. */
    sb_str(&b, " ");
    CHECK_ERR(tss_json_parse(&d, b.p, b.len, NULL), TSS_E_TOO_LARGE);
    CHECK(detail_has("document of 1048577 bytes exceeds the limit of 1048576 bytes"));
    CHECK(d == NULL);
    tss_json_limits lim = {.max_size = 4};
    CHECK_ERR(tss_json_parse(&d, "[1] ", 4, &lim), TSS_OK);
    tss_json_free(d);
    CHECK_ERR(tss_json_parse(&d, "[12] ", 5, &lim), TSS_E_TOO_LARGE);
    free(b.p);
}

static void string_key_and_number_caps(void) {
    tss_json_doc *d;
    /* Default string cap: 512 KiB after unescaping. */
    sbuf b = {0};
    sb_str(&b, "\"");
    sb_rep(&b, "a", TSS_JSON_MAX_STRING);
    sb_str(&b, "\"");
    d = parse_n(b.p, b.len);
    CHECK(d && tss_json_root(d)->u.str.len == TSS_JSON_MAX_STRING);
    tss_json_free(d);
    b.len = 0;
    sb_str(&b, "\n \"");
    sb_rep(&b, "a", TSS_JSON_MAX_STRING + 1);
    sb_str(&b, "\"");
    CHECK_ERR(tss_json_parse(&d, b.p, b.len, NULL), TSS_E_TOO_LARGE);
    CHECK(detail_has("line 2, column 2: string longer than 524288 bytes"));

    /* Lowered: counted in bytes after unescaping (\u00e9 is 2 bytes). */
    tss_json_limits lim = {.max_string = 16, .max_key = 4, .max_number = 5};
    CHECK_OK(tss_json_parse(&d, "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"", 50,
                            &lim));
    CHECK(d && tss_json_root(d)->u.str.len == 16);
    tss_json_free(d);
    const char *s17 = "[\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9a\"]";
    CHECK_ERR(tss_json_parse(&d, s17, strlen(s17), &lim), TSS_E_TOO_LARGE);
    CHECK(detail_has("line 1, column 2: string longer than 16 bytes"));
    CHECK_OK(tss_json_parse(&d, "{\"abcd\":1}", 10, &lim));
    tss_json_free(d);
    CHECK_ERR(tss_json_parse(&d, "{\"abcde\":1}", 11, &lim), TSS_E_TOO_LARGE);
    CHECK(detail_has("line 1, column 2: key longer than 4 bytes"));
    CHECK_OK(tss_json_parse(&d, "-1e10", 5, &lim));
    tss_json_free(d);
    CHECK_ERR(tss_json_parse(&d, "[-1e100]", 8, &lim), TSS_E_TOO_LARGE);
    CHECK(detail_has("line 1, column 2: number longer than 5 characters"));

    /* Default key cap 256 and number cap 128. */
    b.len = 0;
    sb_str(&b, "{\"");
    sb_rep(&b, "k", TSS_JSON_MAX_KEY);
    sb_str(&b, "\":0}");
    tss_json_free(parse(b.p));
    b.len = 0;
    sb_str(&b, "{\"");
    sb_rep(&b, "k", TSS_JSON_MAX_KEY + 1);
    sb_str(&b, "\":0}");
    CHECK_ERR(tss_json_parse(&d, b.p, b.len, NULL), TSS_E_TOO_LARGE);
    CHECK(detail_has("key longer than 256 bytes"));
    b.len = 0;
    sb_rep(&b, "9", TSS_JSON_MAX_NUMBER);
    tss_json_free(parse(b.p));
    sb_str(&b, "9");
    CHECK_ERR(tss_json_parse(&d, b.p, b.len, NULL), TSS_E_TOO_LARGE);
    CHECK(detail_has("line 1, column 1: number longer than 128 characters"));
    free(b.p);
}

static void item_and_value_caps(void) {
    tss_json_doc *d;
    sbuf b = {0};
    /* Elements of one array. */
    sb_str(&b, "[0");
    sb_rep(&b, ",0", TSS_JSON_MAX_ITEMS - 1);
    sb_str(&b, "]");
    d = parse(b.p);
    CHECK(d && tss_json_root(d)->u.arr.count == TSS_JSON_MAX_ITEMS);
    CHECK(d && tss_json_at(tss_json_root(d), TSS_JSON_MAX_ITEMS - 1)->index ==
                   TSS_JSON_MAX_ITEMS - 1);
    tss_json_free(d);
    b.len = 0;
    sb_str(&b, " [0");
    sb_rep(&b, ",0", TSS_JSON_MAX_ITEMS);
    sb_str(&b, "]");
    CHECK_ERR(tss_json_parse(&d, b.p, b.len, NULL), TSS_E_TOO_LARGE);
    CHECK(detail_has("line 1, column 2: an array with more than 16384 elements"));

    /* Members of one object (distinct keys), with lookups. */
    b.len = 0;
    sb_str(&b, "{");
    char m[32];
    for (int i = 0; i < TSS_JSON_MAX_ITEMS; i++) {
        snprintf(m, sizeof m, "%s\"k%d\":%d", i ? "," : "", i, i);
        sb_str(&b, m);
    }
    sb_str(&b, "}");
    d = parse(b.p);
    const tss_json_value *o = tss_json_root(d);
    CHECK(o && o->u.obj.count == TSS_JSON_MAX_ITEMS);
    bool all = o != NULL;
    for (int i = 0; all && i < TSS_JSON_MAX_ITEMS; i++) {
        snprintf(m, sizeof m, "k%d", i);
        const tss_json_value *v = tss_json_get(o, m);
        char want[16];
        snprintf(want, sizeof want, "%d", i);
        all = v && strcmp(v->u.str.text, want) == 0 && v->index == (uint32_t)i;
    }
    CHECK(all);
    CHECK(tss_json_get(o, "k16384") == NULL && tss_json_get(o, "k") == NULL);
    tss_json_free(d);
    b.len--; /* drop '}' */
    sb_str(&b, ",\"extra\":0}");
    CHECK_ERR(tss_json_parse(&d, b.p, b.len, NULL), TSS_E_TOO_LARGE);
    CHECK(detail_has("line 1, column 1: an object with more than 16384 members"));

    /* Values in the document: 1 + 5 + 5 * 13106 = 65536 exactly. */
    b.len = 0;
    sb_str(&b, "[");
    for (int a = 0; a < 5; a++) {
        sb_str(&b, a ? ",[0" : "[0");
        sb_rep(&b, ",0", 13106 - 1);
        sb_str(&b, "]");
    }
    sb_str(&b, "]");
    d = parse(b.p);
    tss_json_free(d);
    b.len -= 2;
    sb_str(&b, ",0]]");
    CHECK_ERR(tss_json_parse(&d, b.p, b.len, NULL), TSS_E_TOO_LARGE);
    CHECK(detail_has("more than 65536 values in the document"));
    tss_json_limits lim = {.max_values = 10};
    CHECK_OK(tss_json_parse(&d, "[1,2,3,4,5,6,7,8,9]", 19, &lim));
    tss_json_free(d);
    CHECK_ERR(tss_json_parse(&d, "[1,2,3,4,5,6,7,8,9,10]", 22, &lim), TSS_E_TOO_LARGE);
    CHECK(detail_has("line 1, column 20: more than 10 values"));
    free(b.p);
}

/* The heaviest documents the caps allow stay within the stated memory bound. */
static void memory_is_bounded(void) {
    sbuf b = {0};
    /* Most values: 65530 empty objects in 5 arrays. */
    sb_str(&b, "[");
    for (int a = 0; a < 5; a++) {
        sb_str(&b, a ? ",[{}" : "[{}");
        sb_rep(&b, ",{}", 13106 - 1);
        sb_str(&b, "]");
    }
    sb_str(&b, "]");
    tss_json_doc *d = parse(b.p);
    fprintf(stderr, "    65536 values: %zu bytes (arena cap %zu, bound with stack %zu)\n",
            tss_json_doc_memory(d), (size_t)TSS_JSON_ARENA_MAX, (size_t)TSS_JSON_MEMORY_BOUND);
    CHECK(d && tss_json_doc_memory(d) <= TSS_JSON_ARENA_MAX);
    tss_json_free(d);
    /* Members with keys: 4 objects of 16382 members. */
    b.len = 0;
    sb_str(&b, "[");
    char m[32];
    for (int a = 0; a < 4; a++) {
        sb_str(&b, a ? ",{" : "{");
        for (int i = 0; i < 16382; i++) {
            snprintf(m, sizeof m, "%s\"%d\":{}", i ? "," : "", i);
            sb_str(&b, m);
        }
        sb_str(&b, "}");
    }
    sb_str(&b, "]");
    d = parse(b.p);
    fprintf(stderr, "    65533 members: %zu bytes\n", tss_json_doc_memory(d));
    CHECK(d && tss_json_doc_memory(d) <= TSS_JSON_ARENA_MAX);
    tss_json_free(d);
    /* Escape-heavy strings: a 1 MiB document of "\n"s still fits. */
    b.len = 0;
    sb_str(&b, "[\"");
    for (int i = 0; b.len + 8 < TSS_JSON_MAX_SIZE; i++) sb_str(&b, i % 4000 == 3999 ? "\",\"" : "\\n");
    sb_str(&b, "\"]");
    d = parse(b.p);
    CHECK(d && tss_json_doc_memory(d) <= TSS_JSON_ARENA_MAX);
    tss_json_free(d);
    free(b.p);
}

/* ---- DOM, paths, typed access -------------------------------------------------------- */

static const char doc_text[] =
    "{\n"
    "  \"name\": \"tssd\",\n"
    "  \"count\": 18446744073709551615,\n"
    "  \"big\": 18446744073709551616,\n"
    "  \"neg\": -1, \"frac\": 1.0, \"exp\": 1e3,\n"
    "  \"ok\": true,\n"
    "  \"list\": [1, {\"odd key\": [null, \"x\"], \"a\\\"b\": 0}],\n"
    "  \"nested\": {\"deep\": {\"deeper\": \"v\"}}\n"
    "}\n";

static void dom_navigation_and_paths(void) {
    tss_json_doc *d = parse(doc_text);
    const tss_json_value *root = tss_json_root(d);
    CHECK(root && root->type == TSS_JSON_OBJECT && root->u.obj.count == 9);
    /* Members keep document order; lookups go through the sorted index. */
    CHECK(root && strcmp(root->u.obj.members[0].key, "name") == 0 &&
          strcmp(root->u.obj.members[8].key, "nested") == 0);
    const tss_json_value *name = tss_json_get(root, "name");
    CHECK(name && name->line == 2 && name->column == 11);
    CHECK(tss_json_member_of(name) == &root->u.obj.members[0]);
    CHECK(tss_json_member_of(name)->key_line == 2 && tss_json_member_of(name)->key_column == 3);
    CHECK(tss_json_get(root, "missing") == NULL);
    CHECK(tss_json_get(name, "name") == NULL);     /* not an object */
    CHECK(tss_json_get(NULL, "name") == NULL);
    CHECK(tss_json_at(root, 0) == NULL);           /* not an array */
    const tss_json_value *list = tss_json_get(root, "list");
    CHECK(tss_json_at(list, 2) == NULL);
    const tss_json_value *x = tss_json_at(tss_json_get(tss_json_at(list, 1), "odd key"), 1);
    CHECK(x && x->type == TSS_JSON_STRING && x->parent->parent == tss_json_at(list, 1));
    char path[160];
    tss_json_path(x, path, sizeof path);
    CHECK(strcmp(path, "list[1][\"odd key\"][1]") == 0);
    tss_json_path(tss_json_get(tss_json_at(list, 1), "a\"b"), path, sizeof path);
    CHECK(strcmp(path, "list[1][\"a\\x22b\"]") == 0);
    tss_json_path(tss_json_get(tss_json_get(tss_json_get(root, "nested"), "deep"), "deeper"), path,
                  sizeof path);
    CHECK(strcmp(path, "nested.deep.deeper") == 0);
    tss_json_path(root, path, sizeof path);
    CHECK(strcmp(path, "") == 0);
    /* Truncated to the buffer, always terminated. */
    CHECK(tss_json_path(x, path, 8) == 7 && strcmp(path, "list[1]") == 0);
    CHECK(tss_json_path(x, path, 6) == 5 && strcmp(path, "list[") == 0);
    tss_json_free(d);
}

static void typed_access_names_the_key_path(void) {
    tss_json_doc *d = parse(doc_text);
    const tss_json_value *root = tss_json_root(d), *v;
    const char *s;
    size_t len;
    uint64_t u;
    bool b;
    CHECK_OK(tss_json_get_string(root, "name", &s, &len));
    CHECK(strcmp(s, "tssd") == 0 && len == 4);
    CHECK_OK(tss_json_get_u64(root, "count", &u));
    CHECK(u == UINT64_MAX);
    CHECK_OK(tss_json_get_bool(root, "ok", &b));
    CHECK(b);
    CHECK_ERR(tss_json_get_u64(root, "big", &u), TSS_E_TOO_LARGE);
    CHECK(detail_has("big (line 4, column 10): integer exceeds 2^64-1"));
    CHECK_ERR(tss_json_get_u64(root, "neg", &u), TSS_E_INVALID);
    CHECK(detail_has("neg (line 5, column 10): expected a non-negative integer"));
    CHECK_ERR(tss_json_get_u64(root, "frac", &u), TSS_E_INVALID);
    CHECK(detail_has("found 1.0"));
    CHECK_ERR(tss_json_get_u64(root, "exp", &u), TSS_E_INVALID);
    CHECK_ERR(tss_json_get_string(root, "count", &s, NULL), TSS_E_INVALID);
    CHECK(detail_has("count (line 3, column 12): expected a string, found a number"));
    CHECK_ERR(tss_json_get_bool(root, "name", &b), TSS_E_INVALID);
    CHECK(detail_has("name (line 2, column 11): expected a boolean, found a string"));
    CHECK_ERR(tss_json_get_string(root, "nme", &s, NULL), TSS_E_INVALID);
    CHECK(detail_has("nme: required key is missing (in the object at line 1, column 1)"));
    const tss_json_value *deep = tss_json_get(tss_json_get(root, "nested"), "deep");
    CHECK_ERR(tss_json_get_u64(deep, "deepest", &u), TSS_E_INVALID);
    CHECK(detail_has("nested.deep.deepest: required key is missing (in the object at line 8, "
                     "column 22)"));
    CHECK_ERR(tss_json_get_required(deep, "deeper", TSS_JSON_ARRAY, &v), TSS_E_INVALID);
    CHECK(detail_has("nested.deep.deeper (line 8, column 33): expected an array, found a string"));
    CHECK_ERR(tss_json_get_string(tss_json_get(root, "list"), "x", &s, NULL), TSS_E_INVALID);
    CHECK(detail_has("list (line 7, column 11): expected an object, found an array"));
    CHECK_ERR(tss_json_expect(root, TSS_JSON_NULL), TSS_E_INVALID);
    CHECK(detail_has("top level (line 1, column 1): expected null, found an object"));
    CHECK_ERR(tss_json_as_u64(tss_json_at(tss_json_get(root, "list"), 0), &u), TSS_OK);
    CHECK(u == 1);

    static const char *const allowed[] = {"name", "count", "big", "neg", "frac",
                                          "exp",  "ok",    "list", "nested"};
    CHECK_OK(tss_json_check_keys(tss_json_get(root, "nested"), (const char *const[]){"deep"}, 1));
    CHECK_ERR(tss_json_check_keys(root, allowed, 8), TSS_E_INVALID);
    CHECK(detail_has("nested (line 8, column 3): unknown key (allowed: name, count,"));
    CHECK_OK(tss_json_check_keys(root, allowed, 9));
    CHECK_ERR(tss_json_check_keys(tss_json_at(tss_json_get(root, "list"), 1), allowed, 1),
              TSS_E_INVALID);
    CHECK(detail_has("list[1][\"odd key\"] (line 7, column 16): unknown key"));
    CHECK_ERR(tss_json_fail_key(TSS_E_CONFIG, root, "ok", "custom %d", 7), TSS_E_CONFIG);
    CHECK(detail_has("ok (line 6, column 3): custom 7"));
    CHECK_ERR(tss_json_fail(TSS_E_INVALID, deep, "bad"), TSS_E_INVALID);
    CHECK(detail_has("nested.deep (line 8, column 22): bad"));
    tss_json_free(d);

    /* A key with a NUL never matches a C-string lookup, and is named escaped. */
    d = parse("{\"to\\u0000x\": 1}");
    CHECK(tss_json_get(tss_json_root(d), "to") == NULL);
    CHECK_ERR(tss_json_check_keys(tss_json_root(d), (const char *const[]){"to"}, 1),
              TSS_E_INVALID);
    CHECK(detail_has("[\"to\\x00x\"] (line 1, column 2): unknown key"));
    tss_json_free(d);
    CHECK(strcmp(tss_json_type_name(TSS_JSON_OBJECT), "an object") == 0);
}

/* ---- cross-check with the shared vector file ----------------------------------------- */

static bool same_tree(const tss_json_value *a, const json_value *b) {
    switch (a->type) {
    case TSS_JSON_NULL: return b->type == JSON_NULL;
    case TSS_JSON_BOOL: return b->type == JSON_BOOL && (bool)b->boolean == a->u.boolean;
    case TSS_JSON_NUMBER: return b->type == JSON_NUMBER && strcmp(b->string, a->u.str.text) == 0;
    case TSS_JSON_STRING: return b->type == JSON_STRING && strcmp(b->string, a->u.str.text) == 0;
    case TSS_JSON_ARRAY:
        if (b->type != JSON_ARRAY || b->count != a->u.arr.count) return false;
        for (size_t i = 0; i < b->count; i++)
            if (!same_tree(&a->u.arr.items[i], b->items[i])) return false;
        return true;
    case TSS_JSON_OBJECT:
        if (b->type != JSON_OBJECT || b->count != a->u.obj.count) return false;
        for (size_t i = 0; i < b->count; i++)
            if (strcmp(a->u.obj.members[i].key, b->keys[i]) != 0 ||
                !same_tree(&a->u.obj.members[i].value, b->items[i]))
                return false;
        return true;
    }
    return false;
}

static void vector_files_parse_identically(void) {
    static const char *const files[] = {"eth-vectors.json", "bip39-vectors.json"};
    for (size_t i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", harness_vectors_dir(), files[i]);
        size_t len;
        char *text = harness_read_file(path, &len);
        tss_json_doc *d = parse_n(text, len);
        json_value *lite = json_parse(text);
        CHECK(d && lite && same_tree(tss_json_root(d), lite));
        json_free(lite);
        tss_json_free(d);
        /* Every proper prefix is refused (never a crash or a partial tree). */
        bool all = true;
        for (size_t cut = 0; cut < len && all; cut += 1 + cut / 64) {
            tss_json_doc *p = (tss_json_doc *)1;
            tss_result r = tss_json_parse(&p, text, cut, NULL);
            /* Only whitespace may follow the top-level value. */
            bool tail_ws = true;
            for (size_t k = cut; k < len; k++)
                tail_ws &= text[k] == ' ' || text[k] == '\n' || text[k] == '\r' || text[k] == '\t';
            all = tail_ws ? tss_is_ok(r) : (!tss_is_ok(r) && p == NULL);
            if (tss_is_ok(r)) tss_json_free(p);
        }
        CHECK(all);
        free(text);
    }
}

int main(void) {
    RUN(scalars_and_whitespace);
    RUN(numbers_are_kept_as_text);
    RUN(strings_unescape_and_utf8);
    RUN(rejections_name_line_and_column);
    RUN(near_duplicates_are_distinct);
    RUN(depth_cap);
    RUN(size_cap);
    RUN(string_key_and_number_caps);
    RUN(item_and_value_caps);
    RUN(memory_is_bounded);
    RUN(dom_navigation_and_paths);
    RUN(typed_access_names_the_key_path);
    RUN(vector_files_parse_identically);
    return harness_finish("json");
}
