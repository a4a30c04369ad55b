/* The one bounded reader for untrusted bytes, and its writer counterpart.
 *
 * Both carry a sticky error: after the first failure every further call is a
 * no-op that yields zeros, so decoders can read a whole structure and check
 * once at the end with tss_reader_finish(), which also rejects trailing bytes
 * (as OpenSSH sshbuf and knot-dns wire_ctx do). Integers are big-endian. */
#ifndef TSS_UTIL_BYTES_H
#define TSS_UTIL_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos;
    tss_err err;
} tss_reader;

void tss_reader_init(tss_reader *r, const uint8_t *data, size_t len);
size_t tss_reader_remaining(const tss_reader *r);
uint8_t tss_read_u8(tss_reader *r);
uint16_t tss_read_u16(tss_reader *r);
uint32_t tss_read_u32(tss_reader *r);
uint64_t tss_read_u64(tss_reader *r);
/* Copy n bytes into out (zero-filled on failure). */
void tss_read_bytes(tss_reader *r, uint8_t *out, size_t n);
/* Borrow n bytes in place; NULL on failure. */
const uint8_t *tss_read_view(tss_reader *r, size_t n);
/* A u32 length prefix (must be <= max_len) followed by that many bytes, borrowed. */
const uint8_t *tss_read_var(tss_reader *r, size_t max_len, size_t *out_len);
/* Mark the reader failed (e.g. a decoded value is out of range). */
void tss_reader_set_error(tss_reader *r, tss_err err);
/* The sticky error if any, else TSS_E_TRAILING if bytes remain, else ok. */
TSS_MUST_CHECK tss_result tss_reader_finish(const tss_reader *r, const char *what);
/* The sticky error if any (trailing bytes allowed). */
TSS_MUST_CHECK tss_result tss_reader_status(const tss_reader *r, const char *what);

/* A growable writer with a hard capacity limit. The buffer is wiped when freed
 * or grown. A secret writer (tss_writer_init_secret) keeps its buffer in
 * guarded, locked secret memory (util/secmem.h) and is for plaintext secrets
 * (a serialised key share or presignature); its data must not be handed to
 * free() (tss_mpc_outbox_push refuses it). */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;
    tss_err err;
    int secret;
} tss_writer;

void tss_writer_init(tss_writer *w, size_t max);
void tss_writer_init_secret(tss_writer *w, size_t max);
void tss_write_u8(tss_writer *w, uint8_t v);
void tss_write_u16(tss_writer *w, uint16_t v);
void tss_write_u32(tss_writer *w, uint32_t v);
void tss_write_u64(tss_writer *w, uint64_t v);
void tss_write_bytes(tss_writer *w, const void *p, size_t n);
/* u32 length prefix then the bytes. */
void tss_write_var(tss_writer *w, const void *p, size_t n);
TSS_MUST_CHECK tss_result tss_writer_status(const tss_writer *w, const char *what);
/* Wipes and releases the buffer; the writer stays usable (and secret if it was). */
void tss_writer_free(tss_writer *w);

#endif
