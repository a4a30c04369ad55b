/* eth/eip712: the EIP's Mail example (domain separator, struct hash, digest
 * published in the EIP), nested arrays, integers at their range limits, the
 * audit summary, and one case per rejection rule (each error names the type
 * and field or the JSON path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/eip712.h"
#include "tests/unit/harness.h"
#include "util/hex.h"

static bool detail_has(const char *s) {
    bool ok = strstr(tss_error_detail(), s) != NULL;
    if (!ok) fprintf(stderr, "  detail \"%s\" lacks \"%s\"\n", tss_error_detail(), s);
    return ok;
}

static bool hex_is(const uint8_t b[32], const char *hex) {
    char h[65];
    tss_hex_encode(h, b, 32);
    bool ok = strcmp(h, hex + 2) == 0;
    if (!ok) fprintf(stderr, "  got 0x%s want %s\n", h, hex);
    return ok;
}

static tss_result hash(const char *json, tss_eip712_result *r) {
    return tss_eip712_hash_json(json, strlen(json), r);
}

#define MAIL_TYPES                                                                                \
    "\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"version\","  \
    "\"type\":\"string\"},{\"name\":\"chainId\",\"type\":\"uint256\"},{\"name\":"                   \
    "\"verifyingContract\",\"type\":\"address\"}],\"Person\":[{\"name\":\"name\",\"type\":"         \
    "\"string\"},{\"name\":\"wallet\",\"type\":\"address\"}],\"Mail\":[{\"name\":\"from\","          \
    "\"type\":\"Person\"},{\"name\":\"to\",\"type\":\"Person\"},{\"name\":\"contents\",\"type\":"   \
    "\"string\"}]}"
#define MAIL_DOMAIN                                                                               \
    "\"domain\":{\"name\":\"Ether Mail\",\"version\":\"1\",\"chainId\":1,\"verifyingContract\":"    \
    "\"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC\"}"
#define MAIL_MESSAGE                                                                              \
    "\"message\":{\"from\":{\"name\":\"Cow\",\"wallet\":"                                         \
    "\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"},\"to\":{\"name\":\"Bob\",\"wallet\":"          \
    "\"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB\"},\"contents\":\"Hello, Bob!\"}"

static const char mail[] =
    "{" MAIL_TYPES ",\"primaryType\":\"Mail\"," MAIL_DOMAIN "," MAIL_MESSAGE "}";

static void test_mail_vector(void) {
    tss_eip712_result r;
    CHECK_OK(hash(mail, &r));
    /* Values printed in EIP-712's reference Example.js. */
    CHECK(hex_is(r.domain_separator,
                 "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f"));
    CHECK(hex_is(r.struct_hash,
                 "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e"));
    CHECK(hex_is(r.digest, "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"));
    CHECK(strcmp(r.primary_type, "Mail") == 0);
    CHECK(r.has_name && strcmp(r.name, "Ether Mail") == 0 && !r.name_truncated);
    CHECK(r.has_chain_id && r.chain_id[31] == 1 && r.has_verifying_contract && !r.has_salt);
    char line[256];
    tss_eip712_summary(&r, line, sizeof line);
    CHECK(strcmp(line, "primaryType=Mail name=\"Ether Mail\" version=\"1\" chainId=1 "
                       "verifyingContract=0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC") == 0);
    char small[20];
    tss_eip712_summary(&r, small, sizeof small);
    CHECK(strlen(small) == 19);

    /* Without types.EIP712Domain the domain type is inferred from its keys:
     * same separator. chainId as a hex string is the same number. */
    static const char inferred[] =
        "{\"types\":{\"Person\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"wallet\","
        "\"type\":\"address\"}],\"Mail\":[{\"name\":\"from\",\"type\":\"Person\"},{\"name\":"
        "\"to\",\"type\":\"Person\"},{\"name\":\"contents\",\"type\":\"string\"}]},"
        "\"primaryType\":\"Mail\",\"domain\":{\"verifyingContract\":"
        "\"0xcccccccccccccccccccccccccccccccccccccccc\",\"chainId\":\"0x1\",\"version\":\"1\","
        "\"name\":\"Ether Mail\"}," MAIL_MESSAGE "}";
    tss_eip712_result r2;
    CHECK_OK(hash(inferred, &r2));
    CHECK(memcmp(r2.digest, r.digest, 32) == 0);
}

/* The digest differs when any value differs (no field silently ignored). */
static void test_mail_sensitivity(void) {
    tss_eip712_result a, b;
    CHECK_OK(hash(mail, &a));
    char *m = strdup(mail);
    char *p = strstr(m, "Hello, Bob!");
    p[0] = 'J';
    CHECK_OK(hash(m, &b));
    CHECK(memcmp(a.digest, b.digest, 32) != 0);
    CHECK(memcmp(a.domain_separator, b.domain_separator, 32) == 0);
    free(m);
}

/* Arrays of arrays, fixed and dynamic, of structs and of atoms; the digest is
 * the one ethers v6.17 TypedDataEncoder.hash gives for the same input. */
static void test_nested_arrays(void) {
    static const char doc[] =
        "{\"types\":{\"EIP712Domain\":[{\"name\":\"chainId\",\"type\":\"uint256\"}],"
        "\"Leaf\":[{\"name\":\"v\",\"type\":\"int8\"},{\"name\":\"b\",\"type\":\"bytes\"}],"
        "\"Root\":[{\"name\":\"grid\",\"type\":\"uint16[2][]\"},{\"name\":\"leaves\",\"type\":"
        "\"Leaf[][1]\"},{\"name\":\"flags\",\"type\":\"bool[]\"},{\"name\":\"tag\",\"type\":"
        "\"bytes3\"}]},\"primaryType\":\"Root\",\"domain\":{\"chainId\":5},\"message\":{\"grid\":"
        "[[1,2],[65535,\"0x10\"]],\"leaves\":[[{\"v\":-128,\"b\":\"0x\"},{\"v\":\"127\",\"b\":"
        "\"0x00ff\"}]],\"flags\":[true,false],\"tag\":\"0xabcdef\"}}";
    tss_eip712_result r;
    CHECK_OK(hash(doc, &r));
    CHECK(hex_is(r.digest, "0x94e09481cf57d6345d30d077ec30b38cbd993f7df9b4dbc5746327e36f6756eb"));
}

/* A doc with one field of type `type` holding JSON `value`. */
static tss_result one(const char *type, const char *value) {
    char doc[4096];
    snprintf(doc, sizeof doc,
             "{\"types\":{\"T\":[{\"name\":\"x\",\"type\":\"%s\"}]},\"primaryType\":\"T\","
             "\"domain\":{},\"message\":{\"x\":%s}}",
             type, value);
    tss_eip712_result r;
    return hash(doc, &r);
}

static void test_integer_ranges(void) {
    CHECK_OK(one("uint8", "255"));
    CHECK_ERR(one("uint8", "256"), TSS_E_INVALID);
    CHECK(detail_has("out of range for uint8") && detail_has("type T, field uint8 x"));
    CHECK_ERR(one("uint8", "-1"), TSS_E_INVALID);
    CHECK(detail_has("negative value for uint8"));
    CHECK_OK(one("int8", "-128"));
    CHECK_OK(one("int8", "\"-0x80\""));
    CHECK_ERR(one("int8", "-129"), TSS_E_INVALID);
    CHECK_ERR(one("int8", "128"), TSS_E_INVALID);
    CHECK_OK(one("uint256",
                 "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\""));
    CHECK_ERR(one("uint256",
                  "\"115792089237316195423570985008687907853269984665640564039457584007913129639936\""),
              TSS_E_INVALID);
    CHECK_OK(one("int256", "\"-0x8000000000000000000000000000000000000000000000000000000000000000\""));
    CHECK_ERR(one("int256", "\"0x8000000000000000000000000000000000000000000000000000000000000000\""),
              TSS_E_INVALID);
    CHECK_ERR(one("uint64", "1.5"), TSS_E_INVALID);
    CHECK(detail_has("fractional"));
    CHECK_ERR(one("uint64", "\"12a\""), TSS_E_INVALID);
    CHECK_ERR(one("uint64", "\"\""), TSS_E_INVALID);
    CHECK_ERR(one("uint64", "true"), TSS_E_INVALID);

    /* -1 as int16 is 2^256-1: the same word as uint256 max. */
    tss_eip712_result a, b;
    CHECK_OK(hash("{\"types\":{\"T\":[{\"name\":\"x\",\"type\":\"int16\"}]},\"primaryType\":\"T\","
                  "\"domain\":{},\"message\":{\"x\":-1}}",
                  &a));
    CHECK_OK(hash("{\"types\":{\"T\":[{\"name\":\"x\",\"type\":\"int16\"}]},\"primaryType\":\"T\","
                  "\"domain\":{},\"message\":{\"x\":\"-0x1\"}}",
                  &b));
    CHECK(memcmp(a.digest, b.digest, 32) == 0);
}

static void test_value_rejections(void) {
    CHECK_ERR(one("bytes4", "\"0x010203\""), TSS_E_INVALID);
    CHECK(detail_has("expected 4 bytes"));
    CHECK_ERR(one("bytes", "\"0x123\""), TSS_E_INVALID);
    CHECK(detail_has("odd number"));
    CHECK_ERR(one("bytes", "\"1234\""), TSS_E_INVALID);
    CHECK_ERR(one("bytes", "\"0xzz\""), TSS_E_INVALID);
    CHECK_ERR(one("bool", "1"), TSS_E_INVALID);
    CHECK_ERR(one("string", "7"), TSS_E_INVALID);
    CHECK_ERR(one("address", "\"0x12\""), TSS_E_INVALID);
    /* A wrong EIP-55 checksum is refused (mixed case must match). */
    CHECK_ERR(one("address", "\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD827\""), TSS_E_INVALID);
    CHECK_ERR(one("uint8[2]", "[1]"), TSS_E_INVALID);
    CHECK(detail_has("expected 2 elements") && detail_has("message.x"));
    CHECK_ERR(one("uint8[]", "[1,\"x\"]"), TSS_E_INVALID);
    CHECK(detail_has("message.x[1]"));
    CHECK_ERR(one("uint8[]", "{}"), TSS_E_INVALID);
    CHECK_ERR(one("uint8[][]", "[1]"), TSS_E_INVALID);
    CHECK(detail_has("expected an array"));

    /* Missing and extra message keys. */
    CHECK_ERR(hash("{\"types\":{\"T\":[{\"name\":\"x\",\"type\":\"bool\"}]},\"primaryType\":\"T\","
                   "\"domain\":{},\"message\":{}}",
                   &(tss_eip712_result){0}),
              TSS_E_INVALID);
    CHECK(detail_has("type T, field x (bool): missing"));
    CHECK_ERR(hash("{\"types\":{\"T\":[{\"name\":\"x\",\"type\":\"bool\"}]},\"primaryType\":\"T\","
                   "\"domain\":{},\"message\":{\"x\":true,\"y\":1}}",
                   &(tss_eip712_result){0}),
              TSS_E_INVALID);
    CHECK(detail_has("type T has no field \"y\""));
    /* Nested: the innermost type and field are named with the path. */
    CHECK_ERR(hash("{\"types\":{\"A\":[{\"name\":\"b\",\"type\":\"B[]\"}],\"B\":[{\"name\":\"n\","
                   "\"type\":\"uint8\"}]},\"primaryType\":\"A\",\"domain\":{},\"message\":{\"b\":"
                   "[{\"n\":1},{\"n\":300}]}}",
                   &(tss_eip712_result){0}),
              TSS_E_INVALID);
    CHECK(detail_has("message.b[1].n") && detail_has("[type B, field uint8 n]"));
}

static void test_type_rejections(void) {
    tss_eip712_result r;
    /* Unknown type. */
    CHECK_ERR(hash("{\"types\":{\"T\":[{\"name\":\"x\",\"type\":\"Foo\"}]},\"primaryType\":\"T\","
                   "\"domain\":{},\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("type T, field x: unknown type \"Foo\""));
    /* Bad elementary types. */
    CHECK_ERR(one("uint7", "1"), TSS_E_INVALID);
    CHECK(detail_has("invalid elementary type \"uint7\""));
    CHECK_ERR(one("uint", "1"), TSS_E_INVALID);
    CHECK_ERR(one("bytes33", "\"0x\""), TSS_E_INVALID);
    CHECK_ERR(one("bytes0", "\"0x\""), TSS_E_INVALID);
    CHECK_ERR(one("int264", "1"), TSS_E_INVALID);
    CHECK_ERR(one("uint008", "1"), TSS_E_INVALID);
    /* Bad array suffixes. */
    CHECK_ERR(one("uint8[0]", "[]"), TSS_E_INVALID);
    CHECK(detail_has("invalid array suffix"));
    CHECK_ERR(one("uint8[01]", "[1]"), TSS_E_INVALID);
    CHECK_ERR(one("uint8[", "[]"), TSS_E_INVALID);
    CHECK_ERR(one("uint8]", "[]"), TSS_E_INVALID);
    CHECK_ERR(one("uint8[][][][][][][][][]", "[]"), TSS_E_TOO_LARGE);
    /* Cycles: direct and indirect, also through arrays. */
    CHECK_ERR(hash("{\"types\":{\"T\":[{\"name\":\"x\",\"type\":\"T[]\"}]},\"primaryType\":\"T\","
                   "\"domain\":{},\"message\":{\"x\":[]}}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("type T, field x: cyclic type reference to T"));
    CHECK_ERR(hash("{\"types\":{\"A\":[{\"name\":\"b\",\"type\":\"B\"}],\"B\":[{\"name\":\"a\","
                   "\"type\":\"A[2]\"}]},\"primaryType\":\"A\",\"domain\":{},\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("cyclic type reference"));
    /* Duplicate field, bad names, bad field objects. */
    CHECK_ERR(hash("{\"types\":{\"T\":[{\"name\":\"x\",\"type\":\"bool\"},{\"name\":\"x\","
                   "\"type\":\"bool\"}]},\"primaryType\":\"T\",\"domain\":{},\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("type T, field x: duplicate field name"));
    CHECK_ERR(hash("{\"types\":{\"T x\":[]},\"primaryType\":\"T x\",\"domain\":{},\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("invalid type name"));
    CHECK_ERR(hash("{\"types\":{\"uint8\":[]},\"primaryType\":\"uint8\",\"domain\":{},"
                   "\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("reserved"));
    CHECK_ERR(hash("{\"types\":{\"T\":[{\"name\":\"1x\",\"type\":\"bool\"}]},\"primaryType\":"
                   "\"T\",\"domain\":{},\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("invalid field name"));
    CHECK_ERR(hash("{\"types\":{\"T\":[{\"name\":\"x\",\"type\":\"bool\",\"extra\":1}]},"
                   "\"primaryType\":\"T\",\"domain\":{},\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    CHECK_ERR(hash("{\"types\":{\"T\":{}},\"primaryType\":\"T\",\"domain\":{},\"message\":{}}", &r),
              TSS_E_INVALID);
    /* EIP712Domain used as a field type. */
    CHECK_ERR(hash("{\"types\":{\"EIP712Domain\":[],\"T\":[{\"name\":\"d\",\"type\":"
                   "\"EIP712Domain\"}]},\"primaryType\":\"T\",\"domain\":{},\"message\":{}}",
                   &r),
              TSS_E_INVALID);
}

static void test_document_rejections(void) {
    tss_eip712_result r;
    CHECK_ERR(hash("{\"types\":{\"T\":[]},\"domain\":{},\"message\":{}}", &r), TSS_E_INVALID);
    CHECK(detail_has("\"primaryType\" is missing"));
    CHECK_ERR(hash("{\"types\":{\"T\":[]},\"primaryType\":\"U\",\"domain\":{},\"message\":{}}", &r),
              TSS_E_INVALID);
    CHECK(detail_has("primaryType \"U\" is not defined"));
    CHECK_ERR(hash("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"message\":{}}", &r),
              TSS_E_INVALID);
    CHECK(detail_has("\"domain\" is missing"));
    CHECK_ERR(hash("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{}}", &r),
              TSS_E_INVALID);
    CHECK(detail_has("\"message\" is missing"));
    CHECK_ERR(hash("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{},\"message\":{},"
                   "\"extra\":1}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("unknown key \"extra\""));
    /* Duplicate keys (jansson JSON_REJECT_DUPLICATES). */
    CHECK_ERR(hash("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"primaryType\":\"T\","
                   "\"domain\":{},\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("duplicate"));
    CHECK_ERR(hash("{\"types\":", &r), TSS_E_INVALID);
    CHECK(detail_has("JSON line 1"));
    CHECK_ERR(hash("[]", &r), TSS_E_INVALID);
    /* Domain: unknown field, wrong type, wrong order, value mismatch. */
    CHECK_ERR(hash("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"foo\":1},"
                   "\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("domain.foo: not a domain field"));
    CHECK_ERR(hash("{\"types\":{\"EIP712Domain\":[{\"name\":\"chainId\",\"type\":\"uint64\"}],"
                   "\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"chainId\":1},\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("field chainId: type must be uint256"));
    CHECK_ERR(hash("{\"types\":{\"EIP712Domain\":[{\"name\":\"version\",\"type\":\"string\"},"
                   "{\"name\":\"name\",\"type\":\"string\"}],\"T\":[]},\"primaryType\":\"T\","
                   "\"domain\":{\"name\":\"a\",\"version\":\"1\"},\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("out of order"));
    CHECK_ERR(hash("{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"}],"
                   "\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"name\":\"a\",\"chainId\":1},"
                   "\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    CHECK(detail_has("type EIP712Domain has no field \"chainId\""));
    CHECK_ERR(hash("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"chainId\":-1},"
                   "\"message\":{}}",
                   &r),
              TSS_E_INVALID);
    /* primaryType EIP712Domain: no message part. */
    CHECK_OK(hash("{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"}]},"
                  "\"primaryType\":\"EIP712Domain\",\"domain\":{\"name\":\"a\"}}",
                  &r));
    /* keccak256(0x1901 || hashDomain({name: "a"})), both computed by ethers v6.17. */
    CHECK(hex_is(r.domain_separator,
                 "0x21aeadc8f256843b97a334ec0d9c01a30b9d54c9f5cf709c455967933d658ae9"));
    CHECK(hex_is(r.digest, "0x99cd7595f7ff8101de3a1f40a7a6f53ddc0480ca42667176d695df2521696c25"));
    CHECK_ERR(hash("{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"}]},"
                   "\"primaryType\":\"EIP712Domain\",\"domain\":{\"name\":\"a\"},\"message\":"
                   "{\"name\":\"b\"}}",
                   &r),
              TSS_E_INVALID);
}

static void test_caps(void) {
    tss_eip712_result r;
    /* JSON nesting beyond the cap, before jansson sees it. */
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 99);
    deep[199] = '\0';
    CHECK_ERR(hash(deep, &r), TSS_E_TOO_LARGE);
    CHECK(detail_has("nested deeper"));
    /* Brackets inside strings do not count. */
    char s[300];
    snprintf(s, sizeof s, "{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"name\":"
                          "\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[\"},\"message\":{}}");
    CHECK_OK(hash(s, &r));
    CHECK(r.has_name && r.name[0] == '[');
    /* Oversized input. */
    CHECK_ERR(tss_eip712_hash_json("{}", TSS_EIP712_MAX_JSON + 1, &r), TSS_E_TOO_LARGE);
    /* Too many types. */
    size_t cap = 64 * (TSS_EIP712_MAX_TYPES + 2) + 200, pos = 0;
    char *big = malloc(cap);
    pos += (size_t)snprintf(big + pos, cap - pos, "{\"types\":{");
    for (int i = 0; i <= TSS_EIP712_MAX_TYPES; i++)
        pos += (size_t)snprintf(big + pos, cap - pos, "%s\"T%d\":[]", i ? "," : "", i);
    snprintf(big + pos, cap - pos, "},\"primaryType\":\"T0\",\"domain\":{},\"message\":{}}");
    CHECK_ERR(hash(big, &r), TSS_E_TOO_LARGE);
    free(big);
    /* A long name is truncated in the summary on a UTF-8 boundary. */
    char doc[1024];
    char name[300] = "";
    for (int i = 0; i < 60; i++) strcat(name, "\xc3\xa9"); /* é: 2 bytes */
    snprintf(doc, sizeof doc,
             "{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"name\":\"%s\"},"
             "\"message\":{}}",
             name);
    CHECK_OK(hash(doc, &r));
    CHECK(r.name_truncated && strlen(r.name) == TSS_EIP712_SUMMARY_STR);
    char line[600];
    tss_eip712_summary(&r, line, sizeof line);
    CHECK(strstr(line, "name=\"\\xc3\\xa9") != NULL && strstr(line, "...\"") != NULL);
}

int main(void) {
    RUN(test_mail_vector);
    RUN(test_mail_sensitivity);
    RUN(test_nested_arrays);
    RUN(test_integer_ranges);
    RUN(test_value_rejections);
    RUN(test_type_rejections);
    RUN(test_document_rejections);
    RUN(test_caps);
    return harness_finish("eth_eip712");
}
