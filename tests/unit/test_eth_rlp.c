/* eth/rlp: known encodings, canonical-form rules, truncation, nesting cap. */
#include <stdlib.h>
#include <string.h>

#include "eth/rlp.h"
#include "tests/unit/harness.h"
#include "util/hex.h"

/* Decode variable-length hex test data (trusted); caller frees. */
static uint8_t *unhex(const char *hex, size_t *len) {
    size_t n = strlen(hex) / 2;
    uint8_t *b = malloc(n ? n : 1);
    if (!b || !tss_is_ok(tss_hex_decode(b, n, hex, "test hex"))) abort();
    *len = n;
    return b;
}

static bool writer_is(const tss_writer *w, const char *hex) {
    size_t n;
    uint8_t *want = unhex(hex, &n);
    bool ok = w->err == TSS_OK && w->len == n && (n == 0 || memcmp(w->data, want, n) == 0);
    free(want);
    return ok;
}

static bool detail_has(const char *s) { return strstr(tss_error_detail(), s) != NULL; }

static tss_result validate_hex(const char *hex) {
    size_t n;
    uint8_t *b = unhex(hex, &n);
    tss_result r = tss_rlp_validate(b, n);
    free(b);
    return r;
}

static const char lorem[] = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";

static void encodes_known_answers(void) {
    tss_writer w;
#define ENC(stmt, hex)                                                                            \
    do {                                                                                          \
        tss_writer_init(&w, 1024);                                                                \
        stmt;                                                                                     \
        CHECK(writer_is(&w, hex));                                                                \
        CHECK_OK(validate_hex(hex));                                                              \
        tss_writer_free(&w);                                                                      \
    } while (0)
    ENC(tss_rlp_put_bytes(&w, "dog", 3), "83646f67");
    ENC(tss_rlp_put_bytes(&w, "", 0), "80");
    ENC(tss_rlp_put_bytes(&w, "\x00", 1), "00");
    ENC(tss_rlp_put_bytes(&w, "\x7f", 1), "7f");
    ENC(tss_rlp_put_bytes(&w, "\x80", 1), "8180");
    ENC(tss_rlp_put_u64(&w, 0), "80");
    ENC(tss_rlp_put_u64(&w, 15), "0f");
    ENC(tss_rlp_put_u64(&w, 127), "7f");
    ENC(tss_rlp_put_u64(&w, 128), "8180");
    ENC(tss_rlp_put_u64(&w, 1024), "820400");
    ENC(tss_rlp_put_u64(&w, UINT64_MAX), "88ffffffffffffffff");
    ENC(tss_rlp_put_list_header(&w, 0), "c0");
    ENC(tss_rlp_put_bytes(&w, lorem, 56),
        "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164"
        "697069736963696e6720656c6974");
    uint8_t max[32], small[32] = {0};
    memset(max, 0xff, 32);
    small[31] = 1;
    ENC(tss_rlp_put_u256(&w, max), "a0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    ENC(tss_rlp_put_u256(&w, small), "01");
    memset(small, 0, 32);
    ENC(tss_rlp_put_u256(&w, small), "80");

    /* ["cat", "dog"] and the set-theoretic three: [ [], [[]], [ [], [[]] ] ]. */
    tss_writer p;
    tss_writer_init(&p, 64);
    tss_rlp_put_bytes(&p, "cat", 3);
    tss_rlp_put_bytes(&p, "dog", 3);
    ENC(tss_rlp_put_list(&w, &p), "c88363617483646f67");
    tss_writer_free(&p);
    ENC((tss_rlp_put_list_header(&w, 7), tss_write_bytes(&w, "\xc0\xc1\xc0\xc3\xc0\xc1\xc0", 7)),
        "c7c0c1c0c3c0c1c0");
    /* A list whose payload is exactly 55 bytes keeps the short form; 56 goes long. */
    uint8_t payload[56];
    memset(payload, 0x01, sizeof payload);
    ENC((tss_rlp_put_list_header(&w, 55), tss_write_bytes(&w, payload, 55)),
        "f7010101010101010101010101010101010101010101010101010101010101010101010101010101010101"
        "01010101010101010101010101");
    tss_writer_init(&w, 1024);
    tss_rlp_put_list_header(&w, 56);
    CHECK(w.len == 2 && w.data[0] == 0xf8 && w.data[1] == 0x38);
    tss_writer_free(&w);
    /* A payload writer's error carries into the list. */
    tss_writer_init(&p, 2);
    tss_rlp_put_bytes(&p, "dog", 3);
    tss_writer_init(&w, 64);
    tss_rlp_put_list(&w, &p);
    CHECK_ERR(tss_writer_status(&w, "t"), TSS_E_TOO_LARGE);
    tss_writer_free(&w);
    tss_writer_free(&p);
#undef ENC
}

static void decodes_typed_fields(void) {
    /* [ "cat", 1024, [], 20 bytes, "" ] */
    tss_writer p, w;
    tss_writer_init(&p, 256);
    tss_rlp_put_bytes(&p, "cat", 3);
    tss_rlp_put_u64(&p, 1024);
    tss_rlp_put_list_header(&p, 0);
    uint8_t addr[20];
    for (int i = 0; i < 20; i++) addr[i] = (uint8_t)i;
    tss_rlp_put_bytes(&p, addr, 20);
    tss_rlp_put_bytes(&p, "", 0);
    tss_writer_init(&w, 256);
    tss_rlp_put_list(&w, &p);
    CHECK_OK(tss_writer_status(&w, "t"));

    tss_reader r, l, e;
    tss_reader_init(&r, w.data, w.len);
    CHECK_OK(tss_rlp_read_list(&r, &l, "outer"));
    const uint8_t *s;
    size_t sl;
    CHECK_OK(tss_rlp_read_string(&l, 3, &s, &sl, "name"));
    CHECK(sl == 3 && memcmp(s, "cat", 3) == 0);
    uint64_t v;
    CHECK_OK(tss_rlp_read_u64(&l, &v, "num"));
    CHECK(v == 1024);
    CHECK_OK(tss_rlp_read_list(&l, &e, "empty"));
    CHECK(tss_reader_remaining(&e) == 0);
    CHECK_OK(tss_rlp_end_list(&l, &e, "empty"));
    uint8_t got[20];
    CHECK_OK(tss_rlp_read_fixed(&l, got, 20, "addr"));
    CHECK(memcmp(got, addr, 20) == 0);
    uint8_t u[32];
    CHECK_OK(tss_rlp_read_u256(&l, u, "zero"));
    for (int i = 0; i < 32; i++) CHECK(u[i] == 0);
    CHECK_OK(tss_rlp_end_list(&r, &l, "outer"));
    CHECK_OK(tss_reader_finish(&r, "outer"));
    CHECK_OK(tss_rlp_validate(w.data, w.len));

    /* Type mismatches. */
    tss_reader_init(&r, w.data, w.len);
    CHECK_ERR(tss_rlp_read_string(&r, 1000, &s, &sl, "x"), TSS_E_INVALID);
    CHECK(detail_has("expected a string"));
    CHECK(r.err == TSS_E_INVALID); /* the reader is marked */
    CHECK_ERR(tss_rlp_read_u64(&r, &v, "x"), TSS_E_INVALID); /* and stays failed */
    tss_reader_init(&r, (const uint8_t *)"\x83" "cat", 4);
    CHECK_ERR(tss_rlp_read_list(&r, &l, "x"), TSS_E_INVALID);
    CHECK(detail_has("expected a list"));
    tss_reader_init(&r, (const uint8_t *)"\x83" "cat", 4);
    CHECK_ERR(tss_rlp_read_fixed(&r, got, 4, "x"), TSS_E_INVALID);
    tss_reader_init(&r, (const uint8_t *)"\x83" "cat", 4);
    CHECK_ERR(tss_rlp_read_string(&r, 2, &s, &sl, "x"), TSS_E_TOO_LARGE);
    tss_writer_free(&p);
    tss_writer_free(&w);
}

static void integers_are_canonical_and_bounded(void) {
    tss_reader r;
    uint64_t v = 77;
    uint8_t u[32];
    static const struct {
        const char *hex;
        tss_err err;
        const char *detail;
    } cases[] = {
        {"00", TSS_E_INVALID, "leading zero"},       /* zero must be the empty string */
        {"820001", TSS_E_INVALID, "leading zero"},   /* 1 with a leading zero byte */
        {"8100", TSS_E_INVALID, "encoded as itself"}, /* caught already by the string rule */
        {"89010000000000000000", TSS_E_TOO_LARGE, "exceeds"}, /* 2^64 */
        {"c0", TSS_E_INVALID, "expected a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        uint8_t *b = unhex(cases[i].hex, &n);
        tss_reader_init(&r, b, n);
        CHECK_ERR(tss_rlp_read_u64(&r, &v, "int"), cases[i].err);
        CHECK(detail_has(cases[i].detail));
        free(b);
    }
    CHECK(v == 77); /* untouched on failure */
    tss_reader_init(&r, (const uint8_t *)"\x88\xff\xff\xff\xff\xff\xff\xff\xff", 9);
    CHECK_OK(tss_rlp_read_u64(&r, &v, "int"));
    CHECK(v == UINT64_MAX);
    uint8_t big[34] = {0xa1, 0x01};
    tss_reader_init(&r, big, sizeof big);
    CHECK_ERR(tss_rlp_read_u256(&r, u, "int"), TSS_E_TOO_LARGE); /* 33 bytes */
}

static void rejects_non_canonical_headers(void) {
    /* Each rule, alone. */
    CHECK_ERR(validate_hex("8105"), TSS_E_INVALID);
    CHECK(detail_has("below 0x80 must be encoded as itself"));
    CHECK_OK(validate_hex("8180"));
    CHECK_ERR(validate_hex("b80568656c6c6f"), TSS_E_INVALID); /* "hello" in long form */
    CHECK(detail_has("long form used for length 5"));
    CHECK_ERR(validate_hex("b837" "0000000000000000000000000000000000000000000000000000000000000000"
                           "0000000000000000000000000000000000000000000000"),
              TSS_E_INVALID); /* 55 must be short */
    CHECK(detail_has("long form"));
    CHECK_ERR(validate_hex("f803c0c0c0"), TSS_E_INVALID); /* short list in long form */
    CHECK(detail_has("long form"));

    uint8_t b[3 + 56];
    memset(b, 'a', sizeof b);
    b[0] = 0xb9; /* two length bytes 0x00 0x38: leading zero */
    b[1] = 0x00;
    b[2] = 0x38;
    CHECK_ERR(tss_rlp_validate(b, sizeof b), TSS_E_INVALID);
    CHECK(detail_has("leading zero"));
    b[1] = 0xb8; /* the canonical form of the same string */
    CHECK_OK(tss_rlp_validate(b + 1, sizeof b - 1));
    memset(b, 0xc0, sizeof b);
    b[0] = 0xf9;
    b[1] = 0x00;
    b[2] = 0x38;
    CHECK_ERR(tss_rlp_validate(b, sizeof b), TSS_E_INVALID);
    CHECK(detail_has("leading zero"));
    b[1] = 0xf8;
    CHECK_OK(tss_rlp_validate(b + 1, sizeof b - 1));

    /* Non-canonical items nested inside lists are found too. */
    CHECK_ERR(validate_hex("c3c28105"), TSS_E_INVALID);
    CHECK(detail_has("encoded as itself"));
}

static void rejects_truncated_and_trailing(void) {
    CHECK_ERR(tss_rlp_validate(NULL, 0), TSS_E_TRUNCATED);
    CHECK_ERR(validate_hex("83646f"), TSS_E_TRUNCATED);
    CHECK_ERR(validate_hex("b8"), TSS_E_TRUNCATED);
    CHECK_ERR(validate_hex("b838616263"), TSS_E_TRUNCATED);
    CHECK_ERR(validate_hex("c88363617483"), TSS_E_TRUNCATED);
    /* The length-of-length can claim 2^64-1 bytes: no overflow, just truncation. */
    CHECK_ERR(validate_hex("bfffffffffffffffff00"), TSS_E_TRUNCATED);
    CHECK_ERR(validate_hex("ffffffffffffffffff00"), TSS_E_TRUNCATED);
    /* Every proper prefix of a valid nested encoding is truncated. */
    tss_writer p, w;
    tss_writer_init(&p, 256);
    tss_write_bytes(&p, "\xc7\xc0\xc1\xc0\xc3\xc0\xc1\xc0", 8);
    tss_rlp_put_bytes(&p, lorem, 56);
    tss_rlp_put_bytes(&p, "x", 1);
    tss_writer_init(&w, 256);
    tss_rlp_put_list(&w, &p);
    size_t n = w.len;
    const uint8_t *full = w.data;
    CHECK(n == 2 + 8 + 58 + 1 && full[0] == 0xf8);
    CHECK_OK(tss_rlp_validate(full, n));
    for (size_t i = 0; i < n; i++) {
        uint8_t *cut = malloc(i ? i : 1);
        memcpy(cut, full, i);
        CHECK_ERR(tss_rlp_validate(cut, i), TSS_E_TRUNCATED);
        free(cut);
    }
    tss_writer_free(&p);
    tss_writer_free(&w);
    CHECK_ERR(validate_hex("8080"), TSS_E_TRAILING);
    CHECK_ERR(validate_hex("c0c0"), TSS_E_TRAILING);

    /* A list with more items than its reader consumed. */
    tss_reader r, l;
    uint64_t v;
    tss_reader_init(&r, (const uint8_t *)"\xc2\x01\x02", 3);
    CHECK_OK(tss_rlp_read_list(&r, &l, "pair"));
    CHECK_OK(tss_rlp_read_u64(&l, &v, "first"));
    CHECK_ERR(tss_rlp_end_list(&r, &l, "pair"), TSS_E_TRAILING);
    CHECK(detail_has("extra items"));
    CHECK_ERR(tss_reader_finish(&r, "pair"), TSS_E_TRAILING);
    /* A failure inside a list marks the outer reader. */
    tss_reader_init(&r, (const uint8_t *)"\xc2\x81\x02", 3);
    CHECK_OK(tss_rlp_read_list(&r, &l, "pair"));
    CHECK_ERR(tss_rlp_read_u64(&l, &v, "first"), TSS_E_INVALID);
    CHECK_ERR(tss_rlp_end_list(&r, &l, "pair"), TSS_E_INVALID);
    CHECK(r.err == TSS_E_INVALID);
}

static void nesting_depth_is_capped(void) {
    uint8_t deep[TSS_RLP_MAX_DEPTH + 1];
    /* depth d: d bytes c(d-1 payload)... each list holds the next. */
    for (size_t d = 1; d <= TSS_RLP_MAX_DEPTH + 1; d++) {
        for (size_t i = 0; i < d; i++) deep[i] = (uint8_t)(0xc0 + (d - 1 - i));
        tss_result r = tss_rlp_validate(deep, d);
        if (d <= TSS_RLP_MAX_DEPTH) {
            CHECK_OK(r);
        } else {
            CHECK_ERR(r, TSS_E_TOO_LARGE);
            CHECK(detail_has("nested deeper"));
        }
    }
}

int main(void) {
    RUN(encodes_known_answers);
    RUN(decodes_typed_fields);
    RUN(integers_are_canonical_and_bounded);
    RUN(rejects_non_canonical_headers);
    RUN(rejects_truncated_and_trailing);
    RUN(nesting_depth_is_capped);
    return harness_finish("eth_rlp");
}
