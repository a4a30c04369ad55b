/* util/: result table, bounded reader/writer, hex/base64. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mpc/msg.h"
#include "tests/unit/harness.h"
#include "util/bytes.h"
#include "util/hex.h"
#include "util/secmem.h"

static void error_table_has_sysexits(void) {
    CHECK(tss_err_exit_code(TSS_OK) == 0);
    CHECK(tss_err_exit_code(TSS_E_USAGE) == 64);
    CHECK(tss_err_exit_code(TSS_E_CORRUPT) == 65);
    CHECK(tss_err_exit_code(TSS_E_NOT_FOUND) == 66);
    CHECK(tss_err_exit_code(TSS_E_EXISTS) == 73);
    CHECK(tss_err_exit_code(TSS_E_IO) == 74);
    CHECK(tss_err_exit_code(TSS_E_BAD_PASSPHRASE) == 77);
    CHECK(tss_err_exit_code(TSS_E_PERMISSION) == 77);
    CHECK(tss_err_exit_code(TSS_E_CONFIG) == 78);
    CHECK(strcmp(tss_err_name(TSS_E_IO), "TSS_E_IO") == 0);
    CHECK(tss_err_exit_code((tss_err)999) == 70);
}

static void fail_records_detail(void) {
    tss_result r = tss_fail(TSS_E_INVALID, "field %s is %d", "x", 7);
    CHECK(r.err == TSS_E_INVALID);
    CHECK(strcmp(tss_error_detail(), "field x is 7") == 0);
    CHECK(tss_fail(TSS_OK, "misuse").err == TSS_E_INTERNAL);
}

static void reader_reads_big_endian_and_rejects_trailing(void) {
    const uint8_t buf[] = {1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 9};
    tss_reader r;
    tss_reader_init(&r, buf, sizeof buf);
    CHECK(tss_read_u8(&r) == 1);
    CHECK(tss_read_u16(&r) == 2);
    CHECK(tss_read_u32(&r) == 3);
    CHECK(tss_read_u64(&r) == 4);
    CHECK_ERR(tss_reader_finish(&r, "t"), TSS_E_TRAILING);
    CHECK(tss_read_u8(&r) == 9);
    CHECK_OK(tss_reader_finish(&r, "t"));
}

static void reader_error_is_sticky(void) {
    const uint8_t buf[] = {0, 0, 0, 5, 'a', 'b'};
    tss_reader r;
    tss_reader_init(&r, buf, sizeof buf);
    size_t n = 99;
    CHECK(tss_read_var(&r, 100, &n) == NULL);
    CHECK(n == 0);
    CHECK(r.err == TSS_E_TRUNCATED);
    CHECK(tss_read_u8(&r) == 0); /* no-op after error */
    CHECK(tss_reader_remaining(&r) == 0);
    CHECK_ERR(tss_reader_finish(&r, "t"), TSS_E_TRUNCATED);

    tss_reader_init(&r, buf, sizeof buf);
    CHECK(tss_read_var(&r, 4, &n) == NULL);
    CHECK_ERR(tss_reader_status(&r, "t"), TSS_E_TOO_LARGE);

    uint8_t out[8] = {7, 7, 7, 7, 7, 7, 7, 7};
    tss_reader_init(&r, buf, 2);
    tss_read_bytes(&r, out, 8);
    CHECK(out[0] == 0 && out[7] == 0);
    tss_reader_init(&r, NULL, 5);
    CHECK(tss_reader_remaining(&r) == 0);
}

static void writer_round_trips_and_caps(void) {
    tss_writer w;
    tss_writer_init(&w, 1000);
    tss_write_u8(&w, 1);
    tss_write_u16(&w, 0x0203);
    tss_write_u32(&w, 0x04050607);
    tss_write_u64(&w, 0x08090a0b0c0d0e0fULL);
    tss_write_var(&w, "hello", 5);
    for (int i = 0; i < 200; i++) tss_write_u8(&w, (uint8_t)i); /* forces growth */
    CHECK_OK(tss_writer_status(&w, "t"));
    tss_reader r;
    tss_reader_init(&r, w.data, w.len);
    CHECK(tss_read_u8(&r) == 1);
    CHECK(tss_read_u16(&r) == 0x0203);
    CHECK(tss_read_u32(&r) == 0x04050607);
    CHECK(tss_read_u64(&r) == 0x08090a0b0c0d0e0fULL);
    size_t n;
    const uint8_t *p = tss_read_var(&r, 16, &n);
    CHECK(p && n == 5 && memcmp(p, "hello", 5) == 0);
    for (int i = 0; i < 200; i++) CHECK(tss_read_u8(&r) == (uint8_t)i);
    CHECK_OK(tss_reader_finish(&r, "t"));
    tss_writer_free(&w);

    tss_writer_init(&w, 4);
    tss_write_u32(&w, 1);
    CHECK_OK(tss_writer_status(&w, "t"));
    tss_write_u8(&w, 1);
    CHECK_ERR(tss_writer_status(&w, "t"), TSS_E_TOO_LARGE);
    CHECK(w.len == 4);
    tss_writer_free(&w);
}

static void hex_and_base64_are_strict(void) {
    uint8_t b[3];
    CHECK_OK(tss_hex_decode(b, 3, "0aFf10", "x"));
    CHECK(b[0] == 0x0a && b[1] == 0xff && b[2] == 0x10);
    CHECK_OK(tss_hex_decode(b, 3, "0x0aff10", "x"));
    CHECK_ERR(tss_hex_decode(b, 3, "0aff1", "x"), TSS_E_INVALID);
    CHECK_ERR(tss_hex_decode(b, 3, "0aff1g", "x"), TSS_E_INVALID);
    CHECK_ERR(tss_hex_decode(b, 3, "0aff1000", "x"), TSS_E_INVALID);
    char hex[7];
    tss_hex_encode(hex, (const uint8_t *)"\x0a\xff\x10", 3);
    CHECK(strcmp(hex, "0aff10") == 0);

    char b64[16];
    tss_base64_encode(b64, sizeof b64, (const uint8_t *)"abcd", 4);
    CHECK(strcmp(b64, "YWJjZA==") == 0);
    uint8_t d[4];
    CHECK_OK(tss_base64_decode(d, 4, "YWJjZA==", "x"));
    CHECK(memcmp(d, "abcd", 4) == 0);
    CHECK_ERR(tss_base64_decode(d, 4, "YWJj", "x"), TSS_E_INVALID);
    CHECK_ERR(tss_base64_decode(d, 4, "YWJjZA==x", "x"), TSS_E_INVALID);
}

static void secret_memory_and_ct_compare(void) {
    uint8_t *s = tss_secret_alloc(32);
    CHECK(s != NULL);
    if (!s) return;
    memset(s, 0xab, 32);
    uint8_t copy[32];
    memset(copy, 0xab, 32);
    CHECK(tss_ct_equal(s, copy, 32));
    copy[31] ^= 1;
    CHECK(!tss_ct_equal(s, copy, 32));
    tss_wipe(s, 32);
    CHECK(s[0] == 0 && s[31] == 0);
    tss_secret_free(s);
}

/* Whether [p, p+n) is a sodium_malloc region: it ends exactly at a page
 * boundary followed by an inaccessible guard page (per /proc/self/maps). A
 * malloc'd buffer is followed by more heap. */
static bool is_guarded(const void *p, size_t n) {
    uintptr_t end = (uintptr_t)p + n;
    if (end % (uintptr_t)sysconf(_SC_PAGESIZE) != 0) return false;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return false;
    char line[512];
    bool guard = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && end >= lo && end < hi)
            guard = strcmp(perms, "---p") == 0;
    }
    fclose(f);
    return guard;
}

static bool all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

/* A secret writer keeps every buffer, before and after growth, in guarded
 * secret memory, stays secret after free, and cannot be handed to the outbox
 * (whose payloads are released with free()). A plain writer is not guarded. */
static void secret_writer_uses_guarded_memory(void) {
    tss_writer w;
    tss_writer_init_secret(&w, 1 << 16);
    uint8_t secret[48];
    memset(secret, 0x5a, sizeof secret);
    tss_write_bytes(&w, secret, sizeof secret);
    CHECK_OK(tss_writer_status(&w, "t"));
    CHECK(w.data != NULL && is_guarded(w.data, w.cap));
    for (int i = 0; i < 100; i++) tss_write_bytes(&w, secret, sizeof secret); /* grows */
    CHECK_OK(tss_writer_status(&w, "t"));
    CHECK(w.cap >= 101 * sizeof secret && is_guarded(w.data, w.cap));
    CHECK(w.data[0] == 0x5a && w.data[w.len - 1] == 0x5a);
    tss_writer_free(&w);
    CHECK(w.data == NULL && w.len == 0 && w.secret);
    tss_write_u32(&w, 7);
    CHECK(w.data != NULL && is_guarded(w.data, w.cap));
    tss_mpc_outbox box;
    tss_mpc_outbox_init(&box);
    CHECK_ERR(tss_mpc_outbox_push(&box, TSS_MSG_DKG_R2_P2P, 1, 2, &w), TSS_E_INTERNAL);
    CHECK(box.count == 0);
    tss_writer_free(&w);

    tss_writer_init(&w, 1 << 16);
    tss_write_bytes(&w, secret, sizeof secret);
    CHECK(w.data != NULL && !w.secret);
    tss_writer_free(&w);
}

/* The secret pool hands out zeroed, guarded blocks and wipes them on return:
 * a returned block comes back (same address) all zero. */
static void secret_pool_wipes_and_reuses(void) {
    const size_t n = 4096 + 100;
    uint8_t *a = tss_secret_pool_get(n);
    CHECK(a != NULL && all_zero(a, n) && is_guarded(a, n));
    if (!a) return;
    memset(a, 0xc3, n);
    tss_secret_pool_put(a, n);
    uint8_t *b = tss_secret_pool_get(n);
    CHECK(b == a);
    CHECK(b != NULL && all_zero(b, n));
    tss_secret_pool_put(b, n);
    tss_secret_pool_put(NULL, n);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    RUN(error_table_has_sysexits);
    RUN(fail_records_detail);
    RUN(reader_reads_big_endian_and_rejects_trailing);
    RUN(reader_error_is_sticky);
    RUN(writer_round_trips_and_caps);
    RUN(hex_and_base64_are_strict);
    RUN(secret_memory_and_ct_compare);
    RUN(secret_writer_uses_guarded_memory);
    RUN(secret_pool_wipes_and_reuses);
    return harness_finish("util");
}
