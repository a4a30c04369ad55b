/* The one transcript hash, with domain separation.
 *
 * H = SHA-256( field(TSS_TR_VERSION) || field(purpose) || field(x1) || field(x2) ... )
 * where field(x) = u32 big-endian length of x || x. Every hash in mpc/ starts
 * with the protocol version and a purpose tag, so outputs of different
 * purposes or versions never collide, and the length prefixes make the field
 * sequence unambiguous. Integers are hashed as 4-byte big-endian fields,
 * points as their 33-byte compressed encoding, scalars as 32 bytes. */
#ifndef TSS_MPC_TRANSCRIPT_H
#define TSS_MPC_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "mpc/point.h"
#include "mpc/scalar.h"
#include "util/result.h"

#define TSS_TR_VERSION "tssd/dkls23/v1"
#define TSS_SID_BYTES 32
#define TSS_HASH_BYTES 32
#define TSS_SALT_BYTES 32
#define TSS_COMMIT_BYTES 32
/* Party id used where a hash binds no receiver (broadcasts). */
#define TSS_TR_NO_PARTY 0u

typedef struct {
    crypto_hash_sha256_state st;
} tss_transcript;

/* Starts with field(version) || field(purpose). */
void tss_tr_init(tss_transcript *t, const char *purpose);
/* One length-prefixed field. len must be < 2^32 (callers cap far below). */
void tss_tr_append(tss_transcript *t, const void *data, size_t len);
void tss_tr_append_u32(tss_transcript *t, uint32_t v);
void tss_tr_append_str(tss_transcript *t, const char *s);
void tss_tr_append_point(tss_transcript *t, const tss_point *p);
void tss_tr_append_scalar(tss_transcript *t, const tss_scalar *s);
/* field(sid) || field(sender) || field(receiver). */
void tss_tr_bind(tss_transcript *t, const uint8_t sid[TSS_SID_BYTES], uint32_t sender,
                 uint32_t receiver);

/* Finish into 32 bytes; the state is wiped (it may have absorbed secrets). */
void tss_tr_final(tss_transcript *t, uint8_t out[TSS_HASH_BYTES]);
/* Finish into a scalar by wide reduction of two domain-separated outputs
 * H(... || field(0x00)) || H(... || field(0x01)): bias < 2^-256. */
void tss_tr_final_scalar(tss_transcript *t, tss_scalar *out);
/* Finish into a point with unknown discrete log: try-and-increment, the first
 * counter c (u32 field) for which 0x02 || H(... || field(c)) parses. Variable
 * time, so the transcript must hold public data only. Fails only after 256
 * misses (probability 2^-256). */
TSS_MUST_CHECK tss_result tss_tr_final_point_var(tss_transcript *t, tss_point *out);

/* Salted hash commitment to msg by `sender` in session sid:
 * commit = H(version, "commitment", tag, sid, sender, salt, msg).
 * The 32-byte random salt hides msg (hiding even for low-entropy msg). */
void tss_tr_commit(uint8_t commit[TSS_COMMIT_BYTES], const char *tag,
                   const uint8_t sid[TSS_SID_BYTES], uint32_t sender,
                   const uint8_t salt[TSS_SALT_BYTES], const void *msg, size_t len);
/* Samples a fresh salt and commits. */
void tss_tr_commit_new(uint8_t commit[TSS_COMMIT_BYTES], uint8_t salt[TSS_SALT_BYTES],
                       const char *tag, const uint8_t sid[TSS_SID_BYTES], uint32_t sender,
                       const void *msg, size_t len);
/* Recomputes and compares in constant time; TSS_E_PROTOCOL on mismatch. */
TSS_MUST_CHECK tss_result tss_tr_commit_open(const uint8_t commit[TSS_COMMIT_BYTES],
                                             const char *tag, const uint8_t sid[TSS_SID_BYTES],
                                             uint32_t sender, const uint8_t salt[TSS_SALT_BYTES],
                                             const void *msg, size_t len);

#endif
