#include "eth/eip712.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/address.h"
#include "eth/keccak.h"
#include "eth/u256.h"
#include "util/bytes.h"

/* ---- type registry ---- */

typedef struct {
    const char *name; /* field name */
    const char *type; /* full type text, e.g. "Person[][2]" */
} field;

typedef struct {
    const char *name;
    field *fields;
    size_t nfields;
    int color; /* cycle search: 0 unseen, 1 on the path, 2 done */
    bool hashed;
    uint8_t type_hash[32];
} stype;

typedef struct {
    stype types[TSS_EIP712_MAX_TYPES + 1]; /* + a synthesised EIP712Domain */
    size_t ntypes;
    size_t total_fields;
    size_t values; /* values hashed so far, capped */
    field domain_fields[5];
    /* Where we are in the value being hashed, for error messages. */
    char path[512];
    size_t path_len;
    bool named; /* the error detail already names its type and field */
} ctx;

/* The standard EIP712Domain fields, in the order the EIP lists them. */
static const field domain_std[5] = {
    {"name", "string"},
    {"version", "string"},
    {"chainId", "uint256"},
    {"verifyingContract", "address"},
    {"salt", "bytes32"},
};

static tss_result fail_at(const ctx *c, tss_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static tss_result fail_at(const ctx *c, tss_err err, const char *fmt, ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tss_fail(err, "eip712: %s: %s", c->path, msg);
}

/* Path segments: push returns the old length to restore with pop. */
static size_t path_push(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(ctx *c, const char *fmt, ...) {
    size_t old = c->path_len;
    if (c->path_len < sizeof c->path - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(c->path + c->path_len, sizeof c->path - c->path_len, fmt, ap);
        va_end(ap);
        if (n > 0) c->path_len += (size_t)n;
        if (c->path_len > sizeof c->path - 1) c->path_len = sizeof c->path - 1;
    }
    return old;
}

static void path_pop(ctx *c, size_t old) {
    c->path_len = old;
    c->path[old] = '\0';
}

static void path_set(ctx *c, const char *root) {
    snprintf(c->path, sizeof c->path, "%s", root);
    c->path_len = strlen(c->path);
}

static const char *jtype(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a fractional number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static bool is_ident(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > TSS_EIP712_MAX_NAME) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' || ch == '$';
        if (!alpha && !(i > 0 && ch >= '0' && ch <= '9')) return false;
    }
    return true;
}

/* A decimal size without leading zeros in [lo, hi], the whole string. */
static bool parse_size(const char *s, unsigned lo, unsigned hi, unsigned *out) {
    if (!*s || (s[0] == '0') || strlen(s) > 6) return false;
    unsigned v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        v = v * 10 + (unsigned)(*s - '0');
    }
    if (v < lo || v > hi) return false;
    *out = v;
    return true;
}

typedef enum { K_STRUCT, K_STRING, K_BYTES, K_BYTESN, K_BOOL, K_ADDRESS, K_UINT, K_INT } kind;

/* Classify an atomic or dynamic base type (no [] suffix). K_STRUCT: not one. */
static kind base_kind(const char *t, unsigned *size) {
    if (!strcmp(t, "string")) return K_STRING;
    if (!strcmp(t, "bytes")) return K_BYTES;
    if (!strcmp(t, "bool")) return K_BOOL;
    if (!strcmp(t, "address")) return K_ADDRESS;
    if (!strncmp(t, "bytes", 5) && parse_size(t + 5, 1, 32, size)) return K_BYTESN;
    if (!strncmp(t, "uint", 4) && parse_size(t + 4, 8, 256, size) && *size % 8 == 0) return K_UINT;
    if (!strncmp(t, "int", 3) && parse_size(t + 3, 8, 256, size) && *size % 8 == 0) return K_INT;
    return K_STRUCT;
}

/* Names that read as Solidity elementary types but are not valid here
 * (uint, int7, bytes0, bytes33, byte, fixed...): refused as struct names
 * so that a typo never silently becomes an (unknown) struct. */
static bool looks_elementary(const char *t) {
    static const char *const prefixes[] = {"uint", "int", "bytes", "ufixed", "fixed"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(t, prefixes[i], n)) continue;
        const char *p = t + n;
        while ((*p >= '0' && *p <= '9') || *p == 'x') p++;
        if (!*p) return true;
    }
    return !strcmp(t, "byte") || !strcmp(t, "function");
}

static stype *find_type(ctx *c, const char *name, size_t len) {
    for (size_t i = 0; i < c->ntypes; i++)
        if (strlen(c->types[i].name) == len && !memcmp(c->types[i].name, name, len))
            return &c->types[i];
    return NULL;
}

/* Length of the base name of a field type (up to the first '['). */
static size_t base_len(const char *t) {
    const char *b = strchr(t, '[');
    return b ? (size_t)(b - t) : strlen(t);
}

/* Checks a field type's syntax and that its base exists. */
static tss_result check_field_type(ctx *c, const stype *owner, const field *f) {
    size_t bl = base_len(f->type);
    char base[TSS_EIP712_MAX_NAME + 1];
    if (bl == 0 || bl > TSS_EIP712_MAX_NAME)
        return tss_fail(TSS_E_INVALID, "eip712: type %s, field %s: invalid type \"%s\"",
                        owner->name, f->name, f->type);
    memcpy(base, f->type, bl);
    base[bl] = '\0';
    /* Array suffixes: "[]" or "[k]", k >= 1 without leading zeros. */
    const char *p = f->type + bl;
    unsigned dims = 0;
    while (*p) {
        const char *close = strchr(p, ']');
        unsigned k;
        char num[16];
        size_t nl = close ? (size_t)(close - p - 1) : 0;
        bool ok = *p == '[' && close && nl < sizeof num;
        if (ok && nl > 0) {
            memcpy(num, p + 1, nl);
            num[nl] = '\0';
            ok = parse_size(num, 1, TSS_EIP712_MAX_VALUES, &k);
        }
        if (!ok)
            return tss_fail(TSS_E_INVALID,
                            "eip712: type %s, field %s: invalid array suffix in \"%s\" (use "
                            "[] or [k] with k >= 1)",
                            owner->name, f->name, f->type);
        if (++dims > TSS_EIP712_MAX_ARRAY_DIMS)
            return tss_fail(TSS_E_TOO_LARGE,
                            "eip712: type %s, field %s: more than %d array dimensions",
                            owner->name, f->name, TSS_EIP712_MAX_ARRAY_DIMS);
        p = close + 1;
    }
    unsigned size;
    if (base_kind(base, &size) != K_STRUCT) return TSS_OK_RESULT;
    if (looks_elementary(base))
        return tss_fail(TSS_E_INVALID,
                        "eip712: type %s, field %s: invalid elementary type \"%s\" (uintN/intN "
                        "need N in 8..256 in steps of 8, bytesN needs N in 1..32)",
                        owner->name, f->name, base);
    if (!strcmp(base, "EIP712Domain"))
        return tss_fail(TSS_E_INVALID,
                        "eip712: type %s, field %s: EIP712Domain cannot be used as a field type",
                        owner->name, f->name);
    if (!find_type(c, base, bl))
        return tss_fail(TSS_E_INVALID, "eip712: type %s, field %s: unknown type \"%s\"",
                        owner->name, f->name, base);
    return TSS_OK_RESULT;
}

/* Reject every cycle (as ethers does): a value of a cyclic type is either
 * infinite or relies on empty arrays, and encodeType is ill-defined for it. */
static tss_result check_cycles(ctx *c, stype *t) {
    t->color = 1;
    for (size_t i = 0; i < t->nfields; i++) {
        unsigned size;
        const field *f = &t->fields[i];
        size_t bl = base_len(f->type);
        char base[TSS_EIP712_MAX_NAME + 1];
        memcpy(base, f->type, bl);
        base[bl] = '\0';
        if (base_kind(base, &size) != K_STRUCT) continue;
        stype *r = find_type(c, base, bl);
        if (r->color == 1)
            return tss_fail(TSS_E_INVALID,
                            "eip712: type %s, field %s: cyclic type reference to %s "
                            "(recursive types are refused)",
                            t->name, f->name, r->name);
        if (r->color == 0) TSS_GUARD(check_cycles(c, r));
    }
    t->color = 2;
    return TSS_OK_RESULT;
}

static tss_result load_fields(ctx *c, stype *t, const json_t *arr, bool is_domain) {
    if (!json_is_array(arr))
        return tss_fail(TSS_E_INVALID, "eip712: types.%s: expected an array of fields, found %s",
                        t->name, jtype(arr));
    size_t n = json_array_size(arr);
    if (n > TSS_EIP712_MAX_FIELDS - c->total_fields)
        return tss_fail(TSS_E_TOO_LARGE, "eip712: more than %d fields over all types",
                        TSS_EIP712_MAX_FIELDS);
    c->total_fields += n;
    t->fields = n ? calloc(n, sizeof *t->fields) : NULL;
    if (n && !t->fields) return tss_fail(TSS_E_NOMEM, "eip712: out of memory");
    t->nfields = n;
    size_t next_std = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *fo = json_array_get(arr, i);
        if (!json_is_object(fo))
            return tss_fail(TSS_E_INVALID,
                            "eip712: types.%s[%zu]: expected {\"name\", \"type\"}, found %s",
                            t->name, i, jtype(fo));
        const json_t *nm = json_object_get(fo, "name"), *ty = json_object_get(fo, "type");
        if (!json_is_string(nm) || !json_is_string(ty) || json_object_size(fo) != 2)
            return tss_fail(TSS_E_INVALID,
                            "eip712: types.%s[%zu]: a field is exactly {\"name\": string, "
                            "\"type\": string}",
                            t->name, i);
        field *f = &t->fields[i];
        f->name = json_string_value(nm);
        f->type = json_string_value(ty);
        if (strlen(f->name) != json_string_length(nm) || !is_ident(f->name))
            return tss_fail(TSS_E_INVALID,
                            "eip712: type %s, field %zu: invalid field name \"%.*s\" (an "
                            "identifier of at most %d characters)",
                            t->name, i, 64, f->name, TSS_EIP712_MAX_NAME);
        if (strlen(f->type) != json_string_length(ty) ||
            strlen(f->type) > TSS_EIP712_MAX_NAME + 16 * TSS_EIP712_MAX_ARRAY_DIMS)
            return tss_fail(TSS_E_INVALID, "eip712: type %s, field %s: invalid type", t->name,
                            f->name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t->fields[j].name, f->name))
                return tss_fail(TSS_E_INVALID, "eip712: type %s, field %s: duplicate field name",
                                t->name, f->name);
        if (is_domain) {
            /* Only the standard fields, with their types, in the EIP's order:
             * anything else would hash differently in other wallets. */
            size_t k = 0;
            while (k < 5 && strcmp(domain_std[k].name, f->name)) k++;
            if (k == 5)
                return tss_fail(TSS_E_INVALID,
                                "eip712: type EIP712Domain, field %s: not a domain field (name, "
                                "version, chainId, verifyingContract, salt)",
                                f->name);
            if (strcmp(domain_std[k].type, f->type))
                return tss_fail(TSS_E_INVALID,
                                "eip712: type EIP712Domain, field %s: type must be %s, found %s",
                                f->name, domain_std[k].type, f->type);
            if (k < next_std)
                return tss_fail(TSS_E_INVALID,
                                "eip712: type EIP712Domain, field %s: out of order (name, "
                                "version, chainId, verifyingContract, salt)",
                                f->name);
            next_std = k + 1;
        }
    }
    return TSS_OK_RESULT;
}

static tss_result load_types(ctx *c, const json_t *types, const json_t *domain) {
    if (!json_is_object(types))
        return tss_fail(TSS_E_INVALID, "eip712: \"types\" must be an object, found %s",
                        jtype(types));
    if (json_object_size(types) > TSS_EIP712_MAX_TYPES)
        return tss_fail(TSS_E_TOO_LARGE, "eip712: more than %d types", TSS_EIP712_MAX_TYPES);
    const char *key;
    const json_t *val;
    /* Names first, so fields can refer to types listed after them. */
    json_object_foreach((json_t *)types, key, val) {
        if (!is_ident(key))
            return tss_fail(TSS_E_INVALID,
                            "eip712: invalid type name \"%.*s\" (an identifier of at most %d "
                            "characters)",
                            64, key, TSS_EIP712_MAX_NAME);
        unsigned size;
        if (base_kind(key, &size) != K_STRUCT || looks_elementary(key) ||
            !strcmp(key, "string") || !strcmp(key, "bool"))
            return tss_fail(TSS_E_INVALID,
                            "eip712: type name \"%s\" is reserved for an elementary type", key);
        c->types[c->ntypes++].name = key;
    }
    for (size_t i = 0; i < c->ntypes; i++) {
        stype *t = &c->types[i];
        TSS_GUARD(load_fields(c, t, json_object_get(types, t->name),
                              !strcmp(t->name, "EIP712Domain")));
    }
    if (!find_type(c, "EIP712Domain", 12)) {
        /* Infer the domain type from the domain's keys, in the EIP's order. */
        if (!json_is_object(domain))
            return tss_fail(TSS_E_INVALID, "eip712: \"domain\" must be an object, found %s",
                            jtype(domain));
        size_t n = 0;
        for (size_t k = 0; k < 5; k++)
            if (json_object_get(domain, domain_std[k].name)) c->domain_fields[n++] = domain_std[k];
        if (n != json_object_size(domain)) {
            json_object_foreach((json_t *)domain, key, val) {
                size_t k = 0;
                while (k < 5 && strcmp(domain_std[k].name, key)) k++;
                if (k == 5)
                    return tss_fail(TSS_E_INVALID,
                                    "eip712: domain.%.64s: not a domain field (name, version, "
                                    "chainId, verifyingContract, salt)",
                                    key);
            }
        }
        stype *d = &c->types[c->ntypes++];
        d->name = "EIP712Domain";
        d->fields = NULL; /* points at ctx storage, not owned */
        d->nfields = n;
    }
    for (size_t i = 0; i < c->ntypes; i++) {
        stype *t = &c->types[i];
        const field *fs = t->fields ? t->fields : c->domain_fields;
        for (size_t j = 0; j < t->nfields; j++) TSS_GUARD(check_field_type(c, t, &fs[j]));
    }
    for (size_t i = 0; i < c->ntypes; i++)
        if (c->types[i].color == 0 && c->types[i].fields) TSS_GUARD(check_cycles(c, &c->types[i]));
    return TSS_OK_RESULT;
}

static const field *fields_of(const ctx *c, const stype *t) {
    return t->fields ? t->fields : c->domain_fields;
}

/* ---- encodeType and typeHash ---- */

static void collect_refs(ctx *c, const stype *t, const stype **set, size_t *n) {
    const field *fs = fields_of(c, t);
    for (size_t i = 0; i < t->nfields; i++) {
        unsigned size;
        size_t bl = base_len(fs[i].type);
        char base[TSS_EIP712_MAX_NAME + 1];
        memcpy(base, fs[i].type, bl);
        base[bl] = '\0';
        if (base_kind(base, &size) != K_STRUCT) continue;
        const stype *r = find_type(c, base, bl);
        bool seen = false;
        for (size_t j = 0; j < *n && !seen; j++) seen = set[j] == r;
        if (seen) continue;
        set[(*n)++] = r;
        collect_refs(c, r, set, n);
    }
}

static int cmp_types(const void *a, const void *b) {
    return strcmp((*(const stype *const *)a)->name, (*(const stype *const *)b)->name);
}

static void put_type(tss_writer *w, const ctx *c, const stype *t) {
    const field *fs = fields_of(c, t);
    tss_write_bytes(w, t->name, strlen(t->name));
    tss_write_u8(w, '(');
    for (size_t i = 0; i < t->nfields; i++) {
        if (i) tss_write_u8(w, ',');
        tss_write_bytes(w, fs[i].type, strlen(fs[i].type));
        tss_write_u8(w, ' ');
        tss_write_bytes(w, fs[i].name, strlen(fs[i].name));
    }
    tss_write_u8(w, ')');
}

/* encodeType: the type itself, then every type it references (transitively),
 * sorted by name. */
static tss_result type_hash(ctx *c, stype *t, uint8_t out[32]) {
    if (!t->hashed) {
        const stype *set[TSS_EIP712_MAX_TYPES + 1];
        size_t n = 0;
        collect_refs(c, t, set, &n);
        qsort(set, n, sizeof set[0], cmp_types);
        tss_writer w;
        tss_writer_init(&w, 4u << 20);
        put_type(&w, c, t);
        for (size_t i = 0; i < n; i++)
            if (set[i] != t) put_type(&w, c, set[i]);
        tss_result r = tss_writer_status(&w, "eip712 encodeType");
        if (tss_is_ok(r)) r = tss_keccak256(t->type_hash, w.data, w.len);
        tss_writer_free(&w);
        TSS_GUARD(r);
        t->hashed = true;
    }
    memcpy(out, t->type_hash, 32);
    return TSS_OK_RESULT;
}

/* ---- values ---- */

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* "0x" + an even number of hex digits; *n bytes decoded into a fresh buffer
 * (NULL when empty). */
static tss_result hex_bytes(ctx *c, const json_t *v, uint8_t **out, size_t *n) {
    if (!json_is_string(v))
        return fail_at(c, TSS_E_INVALID, "expected a 0x-hex string, found %s", jtype(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return fail_at(c, TSS_E_INVALID, "hex must start with \"0x\"");
    if ((len - 2) % 2) return fail_at(c, TSS_E_INVALID, "odd number of hex digits");
    *n = (len - 2) / 2;
    *out = NULL;
    if (*n == 0) return TSS_OK_RESULT;
    uint8_t *b = malloc(*n);
    if (!b) return tss_fail(TSS_E_NOMEM, "eip712: out of memory");
    for (size_t i = 0; i < *n; i++) {
        int hi = hexval(s[2 + 2 * i]), lo = hexval(s[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            free(b);
            return fail_at(c, TSS_E_INVALID, "invalid hex digit at position %zu",
                           2 + 2 * i + (hi >= 0));
        }
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = b;
    return TSS_OK_RESULT;
}

/* An integer value: a JSON integer, or a string with an optional '-' then a
 * decimal or 0x-hex magnitude. Range-checked for bits/signedness; the result
 * is the 256-bit two's complement word. */
static tss_result integer(ctx *c, const json_t *v, unsigned bits, bool is_signed,
                          uint8_t out[32]) {
    uint8_t mag[32];
    bool neg = false;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        neg = i < 0;
        uint64_t m = neg ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
        tss_eth_u256_from_u64(mag, m);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v) || json_string_length(v) > 80)
            return fail_at(c, TSS_E_INVALID, "not a number");
        if (s[0] == '-') {
            neg = true;
            s++;
        }
        tss_result r = tss_eth_u256_parse(mag, s, "number");
        if (r.err == TSS_E_TOO_LARGE)
            return fail_at(c, TSS_E_INVALID, "value out of range for %sint%u",
                           is_signed ? "" : "u", bits);
        if (!tss_is_ok(r)) return fail_at(c, r.err, "%s", tss_error_detail());
    } else {
        return fail_at(c, TSS_E_INVALID,
                       "expected an integer or a decimal/0x-hex string, found %s", jtype(v));
    }
    bool zero = true;
    for (size_t i = 0; i < 32; i++) zero &= mag[i] == 0;
    if (zero) neg = false;
    if (neg && !is_signed)
        return fail_at(c, TSS_E_INVALID, "negative value for uint%u", bits);
    /* Limit: |v| < 2^bits (uint), v < 2^(bits-1), -v <= 2^(bits-1) (int). */
    unsigned lim_bits = is_signed ? bits - 1 : bits;
    uint8_t lim[32] = {0};
    if (lim_bits < 256) lim[31 - lim_bits / 8] = (uint8_t)(1u << (lim_bits % 8));
    int cmp = lim_bits < 256 ? tss_eth_u256_cmp(mag, lim) : -1;
    if (cmp > 0 || (cmp == 0 && !neg))
        return fail_at(c, TSS_E_INVALID, "value out of range for %sint%u", is_signed ? "" : "u",
                       bits);
    if (!neg) {
        memcpy(out, mag, 32);
    } else {
        unsigned carry = 1;
        for (size_t i = 32; i-- > 0;) {
            unsigned x = (uint8_t)~mag[i] + carry;
            out[i] = (uint8_t)x;
            carry = x >> 8;
        }
    }
    return TSS_OK_RESULT;
}

static tss_result hash_struct(ctx *c, stype *t, const json_t *v, int depth, uint8_t out[32]);

/* encodeData of one value of type `type` (len bytes of it: arrays recurse on
 * their element type, a prefix of the text). */
static tss_result encode_value(ctx *c, const char *type, size_t tlen, const json_t *v, int depth,
                               uint8_t out[32]) {
    if (depth > TSS_EIP712_MAX_DEPTH)
        return fail_at(c, TSS_E_TOO_LARGE, "nested deeper than %d", TSS_EIP712_MAX_DEPTH);
    if (++c->values > TSS_EIP712_MAX_VALUES)
        return fail_at(c, TSS_E_TOO_LARGE, "more than %d values", TSS_EIP712_MAX_VALUES);
    memset(out, 0, 32);
    if (type[tlen - 1] == ']') {
        /* The last suffix is the outermost array. */
        size_t open = tlen - 1;
        while (type[open] != '[') open--;
        unsigned fixed = 0;
        if (open + 2 < tlen) {
            char num[16];
            memcpy(num, type + open + 1, tlen - open - 2);
            num[tlen - open - 2] = '\0';
            if (!parse_size(num, 1, TSS_EIP712_MAX_VALUES, &fixed))
                return fail_at(c, TSS_E_INTERNAL, "bad array size");
        }
        if (!json_is_array(v))
            return fail_at(c, TSS_E_INVALID, "expected an array (%.*s), found %s", (int)tlen,
                           type, jtype(v));
        size_t n = json_array_size(v);
        if (fixed && n != fixed)
            return fail_at(c, TSS_E_INVALID, "expected %u elements (%.*s), found %zu", fixed,
                           (int)tlen, type, n);
        if (n > TSS_EIP712_MAX_VALUES)
            return fail_at(c, TSS_E_TOO_LARGE, "more than %d elements", TSS_EIP712_MAX_VALUES);
        uint8_t *buf = n ? malloc(32 * n) : NULL;
        if (n && !buf) return tss_fail(TSS_E_NOMEM, "eip712: out of memory");
        tss_result r = TSS_OK_RESULT;
        for (size_t i = 0; i < n && tss_is_ok(r); i++) {
            size_t old = path_push(c, "[%zu]", i);
            r = encode_value(c, type, open, json_array_get(v, i), depth + 1, buf + 32 * i);
            if (tss_is_ok(r)) path_pop(c, old);
        }
        if (tss_is_ok(r)) r = tss_keccak256(out, buf, 32 * n);
        free(buf);
        return r;
    }
    char base[TSS_EIP712_MAX_NAME + 1];
    memcpy(base, type, tlen);
    base[tlen] = '\0';
    unsigned size = 0;
    switch (base_kind(base, &size)) {
    case K_STRUCT:
        return hash_struct(c, find_type(c, base, tlen), v, depth + 1, out);
    case K_STRING:
        if (!json_is_string(v))
            return fail_at(c, TSS_E_INVALID, "expected a string, found %s", jtype(v));
        return tss_keccak256(out, json_string_value(v), json_string_length(v));
    case K_BYTES: {
        uint8_t *b;
        size_t n;
        TSS_GUARD(hex_bytes(c, v, &b, &n));
        tss_result r = tss_keccak256(out, b, n);
        free(b);
        return r;
    }
    case K_BYTESN: {
        uint8_t *b;
        size_t n;
        TSS_GUARD(hex_bytes(c, v, &b, &n));
        if (n != size) {
            free(b);
            return fail_at(c, TSS_E_INVALID, "expected %u bytes (bytes%u), found %zu", size, size,
                           n);
        }
        memcpy(out, b, n); /* right-padded with zeros */
        free(b);
        return TSS_OK_RESULT;
    }
    case K_BOOL:
        if (!json_is_boolean(v))
            return fail_at(c, TSS_E_INVALID, "expected true or false, found %s", jtype(v));
        out[31] = json_is_true(v);
        return TSS_OK_RESULT;
    case K_ADDRESS: {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            return fail_at(c, TSS_E_INVALID, "expected an address string, found %s", jtype(v));
        tss_result r = tss_eth_address_parse(out + 12, json_string_value(v), NULL);
        if (!tss_is_ok(r)) return fail_at(c, r.err, "%s", tss_error_detail());
        return r;
    }
    case K_UINT: return integer(c, v, size, false, out);
    case K_INT: return integer(c, v, size, true, out);
    }
    return fail_at(c, TSS_E_INTERNAL, "unreachable");
}

static tss_result hash_struct(ctx *c, stype *t, const json_t *v, int depth, uint8_t out[32]) {
    if (!json_is_object(v))
        return fail_at(c, TSS_E_INVALID, "expected an object of type %s, found %s", t->name,
                       jtype(v));
    const field *fs = fields_of(c, t);
    /* Every key must be a field: an extra key would be signed without being
     * shown by any wallet that renders the types. */
    if (json_object_size(v) != t->nfields) {
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)v, key, val) {
            size_t i = 0;
            while (i < t->nfields && strcmp(fs[i].name, key)) i++;
            if (i == t->nfields)
                return fail_at(c, TSS_E_INVALID, "type %s has no field \"%.64s\"", t->name, key);
        }
    }
    uint8_t *buf = malloc(32 * (t->nfields + 1));
    if (!buf) return tss_fail(TSS_E_NOMEM, "eip712: out of memory");
    tss_result r = type_hash(c, t, buf);
    for (size_t i = 0; i < t->nfields && tss_is_ok(r); i++) {
        size_t old = path_push(c, ".%s", fs[i].name);
        const json_t *fv = json_object_get(v, fs[i].name);
        if (!fv) {
            r = fail_at(c, TSS_E_INVALID, "type %s, field %s (%s): missing", t->name,
                        fs[i].name, fs[i].type);
            c->named = true;
            break;
        }
        r = encode_value(c, fs[i].type, strlen(fs[i].type), fv, depth, buf + 32 * (i + 1));
        if (!tss_is_ok(r)) {
            /* Name the innermost type and field, keeping the value's complaint. */
            if (!c->named) {
                char detail[512];
                snprintf(detail, sizeof detail, "%s", tss_error_detail());
                /* Room for the names even when the detail is long. */
                r = tss_fail(r.err, "%.280s [type %.64s, field %.64s %.64s]", detail, t->name,
                             fs[i].type, fs[i].name);
                c->named = true;
            }
            break;
        }
        path_pop(c, old);
    }
    if (tss_is_ok(r)) r = tss_keccak256(out, buf, 32 * (t->nfields + 1));
    free(buf);
    return r;
}

/* ---- entry points ---- */

/* Copy at most TSS_EIP712_SUMMARY_STR bytes, cut on a UTF-8 boundary. */
static void summary_str(char *dst, bool *truncated, const json_t *v) {
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    *truncated = n > TSS_EIP712_SUMMARY_STR;
    if (*truncated) {
        n = TSS_EIP712_SUMMARY_STR;
        while (n > 0 && ((uint8_t)s[n] & 0xc0) == 0x80) n--;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static tss_result hash_typed_data(const json_t *root, tss_eip712_result *res) {
    if (!json_is_object(root))
        return tss_fail(TSS_E_INVALID, "eip712: typed data must be an object, found %s",
                        jtype(root));
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)root, key, val) {
        if (strcmp(key, "types") && strcmp(key, "primaryType") && strcmp(key, "domain") &&
            strcmp(key, "message"))
            return tss_fail(TSS_E_INVALID,
                            "eip712: unknown key \"%.64s\" (expected types, primaryType, domain, "
                            "message)",
                            key);
    }
    const json_t *types = json_object_get(root, "types");
    const json_t *primary = json_object_get(root, "primaryType");
    const json_t *domain = json_object_get(root, "domain");
    const json_t *message = json_object_get(root, "message");
    if (!types) return tss_fail(TSS_E_INVALID, "eip712: \"types\" is missing");
    if (!primary) return tss_fail(TSS_E_INVALID, "eip712: \"primaryType\" is missing");
    if (!domain) return tss_fail(TSS_E_INVALID, "eip712: \"domain\" is missing");
    if (!json_is_string(primary))
        return tss_fail(TSS_E_INVALID, "eip712: \"primaryType\" must be a string, found %s",
                        jtype(primary));

    ctx *c = calloc(1, sizeof *c);
    if (!c) return tss_fail(TSS_E_NOMEM, "eip712: out of memory");
    tss_result r = load_types(c, types, domain);
    stype *dom = NULL, *pt = NULL;
    const char *pname = json_string_value(primary);
    if (tss_is_ok(r)) {
        dom = find_type(c, "EIP712Domain", 12);
        pt = find_type(c, pname, strlen(pname));
        if (!pt || strlen(pname) != json_string_length(primary))
            r = tss_fail(TSS_E_INVALID, "eip712: primaryType \"%.64s\" is not defined in types",
                         pname);
    }
    if (tss_is_ok(r)) {
        path_set(c, "domain");
        r = hash_struct(c, dom, domain, 0, res->domain_separator);
    }
    if (tss_is_ok(r) && pt == dom) {
        /* Signing the domain itself: no message part (as eth-sig-util). */
        if (message && !(json_is_object(message) && json_object_size(message) == 0))
            r = tss_fail(TSS_E_INVALID,
                         "eip712: primaryType EIP712Domain takes no message (omit it or use {})");
        memset(res->struct_hash, 0, 32);
    } else if (tss_is_ok(r)) {
        if (!message) {
            r = tss_fail(TSS_E_INVALID, "eip712: \"message\" is missing");
        } else {
            path_set(c, "message");
            r = hash_struct(c, pt, message, 0, res->struct_hash);
        }
    }
    if (tss_is_ok(r)) {
        uint8_t prefix[2] = {0x19, 0x01};
        tss_keccak_chunk ch[3] = {
            {prefix, 2}, {res->domain_separator, 32}, {res->struct_hash, 32}};
        r = tss_keccak256_chunks(res->digest, ch, pt == dom ? 2 : 3);
    }
    if (tss_is_ok(r)) {
        snprintf(res->primary_type, sizeof res->primary_type, "%s", pname);
        const json_t *d;
        if ((d = json_object_get(domain, "name")) != NULL) {
            res->has_name = true;
            summary_str(res->name, &res->name_truncated, d);
        }
        if ((d = json_object_get(domain, "version")) != NULL) {
            res->has_version = true;
            summary_str(res->version, &res->version_truncated, d);
        }
        if ((d = json_object_get(domain, "chainId")) != NULL) {
            res->has_chain_id = true;
            r = integer(c, d, 256, false, res->chain_id);
        }
        if (tss_is_ok(r) && (d = json_object_get(domain, "verifyingContract")) != NULL) {
            res->has_verifying_contract = true;
            r = tss_eth_address_parse(res->verifying_contract, json_string_value(d), NULL);
        }
        if (tss_is_ok(r) && (d = json_object_get(domain, "salt")) != NULL) {
            uint8_t *b;
            size_t n;
            res->has_salt = true;
            r = hex_bytes(c, d, &b, &n);
            if (tss_is_ok(r)) {
                memcpy(res->salt, b, n == 32 ? 32 : 0);
                free(b);
            }
        }
    }
    for (size_t i = 0; i < c->ntypes; i++) free(c->types[i].fields);
    free(c);
    return r;
}

tss_result tss_eip712_hash_value(const struct json_t *typed_data, tss_eip712_result *out) {
    if (!typed_data) return tss_fail(TSS_E_USAGE, "eip712: no typed data");
    tss_eip712_result *res = calloc(1, sizeof *res);
    if (!res) return tss_fail(TSS_E_NOMEM, "eip712: out of memory");
    tss_result r = hash_typed_data(typed_data, res);
    if (tss_is_ok(r)) *out = *res;
    free(res);
    return r;
}

/* Nesting depth of JSON text, counted outside strings, so jansson's own
 * recursion (2048 levels) is never reached with hostile input. */
static tss_result check_depth(const char *text, size_t len) {
    size_t depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (in_str) {
            if (ch == '\\') i++;
            else if (ch == '"') in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > TSS_EIP712_MAX_DEPTH)
                return tss_fail(TSS_E_TOO_LARGE,
                                "eip712: JSON nested deeper than %d levels (at byte %zu)",
                                TSS_EIP712_MAX_DEPTH, i);
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return TSS_OK_RESULT;
}

tss_result tss_eip712_hash_json(const char *text, size_t len, tss_eip712_result *out) {
    TSS_ENSURE(text || len == 0, TSS_E_USAGE, "eip712: text is NULL");
    TSS_ENSURE(len <= TSS_EIP712_MAX_JSON, TSS_E_TOO_LARGE,
               "eip712: typed data of %zu bytes exceeds %d", len, TSS_EIP712_MAX_JSON);
    TSS_GUARD(check_depth(text, len));
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return tss_fail(TSS_E_INVALID, "eip712: JSON line %d, column %d: %s", err.line,
                        err.column, err.text);
    tss_result r = tss_eip712_hash_value(root, out);
    json_decref(root);
    return r;
}

/* ---- summary ---- */

static void put(char *buf, size_t n, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t n, size_t *pos, const char *fmt, ...) {
    if (*pos + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *pos, n - *pos, fmt, ap);
    va_end(ap);
    if (k > 0) *pos = *pos + (size_t)k >= n ? n - 1 : *pos + (size_t)k;
}

static void put_quoted(char *buf, size_t n, size_t *pos, const char *s, bool truncated) {
    put(buf, n, pos, "\"");
    for (; *s; s++) {
        uint8_t ch = (uint8_t)*s;
        if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
            put(buf, n, pos, "\\x%02x", ch);
        else
            put(buf, n, pos, "%c", ch);
    }
    put(buf, n, pos, truncated ? "...\"" : "\"");
}

void tss_eip712_summary(const tss_eip712_result *res, char *buf, size_t n) {
    if (!buf || n == 0) return;
    size_t pos = 0;
    buf[0] = '\0';
    put(buf, n, &pos, "primaryType=%s", res->primary_type);
    if (res->has_name) {
        put(buf, n, &pos, " name=");
        put_quoted(buf, n, &pos, res->name, res->name_truncated);
    }
    if (res->has_version) {
        put(buf, n, &pos, " version=");
        put_quoted(buf, n, &pos, res->version, res->version_truncated);
    }
    if (res->has_chain_id) {
        char dec[TSS_ETH_U256_DEC_SIZE];
        tss_eth_u256_to_dec(dec, res->chain_id);
        put(buf, n, &pos, " chainId=%s", dec);
    }
    if (res->has_verifying_contract) {
        char a[TSS_ETH_ADDRESS_STR_SIZE];
        if (tss_is_ok(tss_eth_address_to_string(a, res->verifying_contract)))
            put(buf, n, &pos, " verifyingContract=%s", a);
    }
    if (res->has_salt) {
        put(buf, n, &pos, " salt=0x");
        for (size_t i = 0; i < 32; i++) put(buf, n, &pos, "%02x", res->salt[i]);
    }
}
