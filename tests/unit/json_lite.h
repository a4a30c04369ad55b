/* Test-only JSON reader for the shared vector files (trusted input, not a
 * production parser). Parses a whole document into a tree. */
#ifndef TSS_TEST_JSON_LITE_H
#define TSS_TEST_JSON_LITE_H

#include <stddef.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value {
    json_type type;
    char *string;              /* JSON_STRING (unescaped), JSON_NUMBER (raw text) */
    int boolean;
    size_t count;              /* JSON_ARRAY / JSON_OBJECT */
    char **keys;               /* JSON_OBJECT */
    struct json_value **items; /* JSON_ARRAY / JSON_OBJECT values */
} json_value;

/* NULL on syntax error. */
json_value *json_parse(const char *text);
void json_free(json_value *v);
/* Object member or NULL. */
const json_value *json_get(const json_value *obj, const char *key);
/* String member or NULL. */
const char *json_str(const json_value *obj, const char *key);
/* Load and parse <vectors dir>/<name>; aborts on failure. */
json_value *json_load_vectors(const char *name);

#endif
