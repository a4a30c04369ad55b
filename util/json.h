/* A strict, bounded JSON (RFC 8259) parser for untrusted input.
 *
 * The document is read through tss_reader and built into a small read-only
 * tree allocated in one arena, released at once with tss_json_free(). Every
 * quantity an attacker controls is capped (tss_json_limits; callers may only
 * lower the caps), so memory is bounded by TSS_JSON_MEMORY_BOUND whatever the
 * input.
 *
 * Strict means: exactly one value with optional whitespace around it; no byte
 * order mark, comments, trailing commas, single quotes, NaN/Infinity, leading
 * zeros, '+' signs, unescaped control characters, invalid UTF-8 (overlong
 * forms, UTF-16 surrogates, code points above U+10FFFF), unpaired \uD800-\uDFFF
 * escapes, or duplicate keys in an object (compared after unescaping).
 *
 * Numbers are not converted: a number keeps its literal text, so callers parse
 * integers exactly (no floating point anywhere). Strings are unescaped UTF-8,
 * NUL-terminated, with an explicit length since "\u0000" is valid JSON; the
 * C-string accessors refuse strings that contain a NUL.
 *
 * Syntax errors name where and what: "json: line 3, column 14: duplicate key
 * \"to\"". Lines count '\n' from 1; columns count characters (UTF-8 code
 * points) from 1. Accessor errors name the key path and the value's position:
 * "accessList[0].address (line 5, column 18): expected a string, found a
 * number". */
#ifndef TSS_UTIL_JSON_H
#define TSS_UTIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

/* Hard caps; tss_json_limits may lower them, never raise them. */
#define TSS_JSON_MAX_SIZE (1024 * 1024) /* input bytes */
#define TSS_JSON_MAX_DEPTH 32           /* nested arrays and objects */
#define TSS_JSON_MAX_STRING (512 * 1024) /* bytes of one string after unescaping */
#define TSS_JSON_MAX_KEY 256            /* bytes of one object key after unescaping */
#define TSS_JSON_MAX_NUMBER 128         /* characters of one number literal */
#define TSS_JSON_MAX_ITEMS 16384        /* members or elements of one container */
#define TSS_JSON_MAX_VALUES 65536       /* values in the whole document */

typedef struct {
    size_t max_size, max_depth, max_string, max_key, max_number, max_items, max_values;
} tss_json_limits;

/* The hard caps above. */
extern const tss_json_limits tss_json_default_limits;

typedef enum {
    TSS_JSON_NULL,
    TSS_JSON_BOOL,
    TSS_JSON_NUMBER,
    TSS_JSON_STRING,
    TSS_JSON_ARRAY,
    TSS_JSON_OBJECT,
} tss_json_type;

typedef struct tss_json_value tss_json_value;
typedef struct tss_json_member tss_json_member;

/* Read-only; everything points into the document's arena. */
struct tss_json_value {
    tss_json_type type;
    uint32_t line, column;          /* where the value starts */
    uint32_t index;                 /* position in the parent array or object */
    const tss_json_value *parent;   /* NULL for the root */
    union {
        bool boolean;               /* TSS_JSON_BOOL */
        struct {                    /* TSS_JSON_STRING: unescaped UTF-8; */
            const char *text;       /* TSS_JSON_NUMBER: the literal text */
            size_t len;             /* (both NUL-terminated) */
        } str;
        struct {                    /* TSS_JSON_ARRAY */
            const tss_json_value *items;
            size_t count;
        } arr;
        struct {                    /* TSS_JSON_OBJECT, members in document order */
            const tss_json_member *members;
            const uint32_t *sorted; /* member indices ordered by key, for lookup */
            size_t count;
        } obj;
    } u;
};

struct tss_json_member {
    const char *key; /* unescaped, NUL-terminated; may contain NUL (see key_len) */
    size_t key_len;
    uint32_t key_line, key_column;
    tss_json_value value;
};

typedef struct tss_json_doc tss_json_doc;

/* Memory bounds, reached only with every hard cap hit. The arena holds the
 * tree and copies of the texts (at most the input size plus a NUL each); it is
 * filled in 64 KiB blocks at least three-quarters full. The parser's temporary
 * stack holds at most one member per value. A document needing more than
 * TSS_JSON_ARENA_MAX is refused (which the caps make impossible). */
#define TSS_JSON_BLOCK_SIZE (64 * 1024)
#define TSS_JSON_ARENA_MAX                                                                \
    (((size_t)TSS_JSON_MAX_SIZE +                                                         \
      ((size_t)TSS_JSON_MAX_VALUES + 1) * (sizeof(tss_json_member) + 32)) / 3 * 4 +       \
     2 * (size_t)TSS_JSON_BLOCK_SIZE)
#define TSS_JSON_MEMORY_BOUND                                                             \
    (TSS_JSON_ARENA_MAX + (size_t)TSS_JSON_MAX_VALUES * sizeof(tss_json_member))

/* Parse len bytes of text. limits NULL means tss_json_default_limits; larger
 * values in limits are clamped to the hard caps. On success *out owns the
 * document; on failure *out is NULL. */
TSS_MUST_CHECK tss_result tss_json_parse(tss_json_doc **out, const char *text, size_t len,
                                         const tss_json_limits *limits);
const tss_json_value *tss_json_root(const tss_json_doc *doc);
/* Bytes of memory the document holds (arena blocks). */
size_t tss_json_doc_memory(const tss_json_doc *doc);
/* NULL is fine. */
void tss_json_free(tss_json_doc *doc);

const char *tss_json_type_name(tss_json_type t); /* "a string", "an object", ... */

/* ---- navigation (NULL-tolerant, never fail) ---- */

/* The member named key (NUL-terminated; keys containing NUL never match), or
 * NULL if obj is not an object or has no such key. O(log n). */
const tss_json_value *tss_json_get(const tss_json_value *obj, const char *key);
/* Element i of an array, or NULL. */
const tss_json_value *tss_json_at(const tss_json_value *arr, size_t i);
/* The key under which v sits in its parent object, or NULL. */
const tss_json_member *tss_json_member_of(const tss_json_value *v);
/* The key path of v for messages: "" for the root, then `name`, `[3]`,
 * `["odd key"]` (escaped, cut with "..." if long); always NUL-terminated,
 * truncated to cap. Returns the length written. */
size_t tss_json_path(const tss_json_value *v, char *buf, size_t cap);

/* ---- failing with the path ---- */

/* Fail with "<path> (line L, column C): <message>"; "(top level)" names the root. */
TSS_MUST_CHECK tss_result tss_json_fail(tss_err err, const tss_json_value *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fail about key of obj (the key's position if present, else the object's). */
TSS_MUST_CHECK tss_result tss_json_fail_key(tss_err err, const tss_json_value *obj,
                                            const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- typed access; each failure names the key path ---- */

/* v has type t. */
TSS_MUST_CHECK tss_result tss_json_expect(const tss_json_value *v, tss_json_type t);
/* A string without NUL characters. */
TSS_MUST_CHECK tss_result tss_json_as_string(const tss_json_value *v, const char **out,
                                             size_t *len);
/* A JSON number that is a non-negative integer without fraction or exponent,
 * at most 2^64-1. */
TSS_MUST_CHECK tss_result tss_json_as_u64(const tss_json_value *v, uint64_t *out);
TSS_MUST_CHECK tss_result tss_json_as_bool(const tss_json_value *v, bool *out);

/* The required member key of obj, of type t. Missing ("<path>.key: required
 * key is missing"), of another type, or obj not an object: TSS_E_INVALID (exit
 * code 65, as for any bad input). */
TSS_MUST_CHECK tss_result tss_json_get_required(const tss_json_value *obj, const char *key,
                                                tss_json_type t, const tss_json_value **out);
TSS_MUST_CHECK tss_result tss_json_get_string(const tss_json_value *obj, const char *key,
                                              const char **out, size_t *len);
TSS_MUST_CHECK tss_result tss_json_get_u64(const tss_json_value *obj, const char *key,
                                           uint64_t *out);
TSS_MUST_CHECK tss_result tss_json_get_bool(const tss_json_value *obj, const char *key,
                                            bool *out);
/* Every key of obj is one of allowed[0..n-1]; else TSS_E_INVALID naming the
 * first unknown key ("unknown key"). A schema check in the style of knot-dns. */
TSS_MUST_CHECK tss_result tss_json_check_keys(const tss_json_value *obj,
                                              const char *const *allowed, size_t n);

#endif
