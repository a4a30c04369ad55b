/* The coordinator's key file, <state>/keys/<key-id>.json: the public record
 * of a key, written atomically once, when every keygen party reported
 * success (docs/OPERATIONS.md "Coordinator state directory").
 *
 * Format 2 is JSON in one canonical layout, ending with
 *   "checksum": "<BLAKE2b-256 hex>"
 * over every byte before that line (key = "tssd/v2/coordinator-key-file").
 * Integrity on load, in this order:
 *   1. the checksum (any flipped byte, cut, or edit that did not also
 *      recompute it);
 *   2. the fields: keyId equals the file name, threshold within the parties,
 *      party ids ascending in 1..32, every identity and the public key well
 *      formed (publicKey a point on the curve);
 *   3. redundancy: the file must be byte-for-byte what this code writes for
 *      the parsed fields, so publicKeyUncompressed and the EIP-55 address
 *      must be those of publicKey, totalParties the count, created the
 *      ISO form of createdMs; nothing added, nothing removed.
 * The checksum is not a MAC (the coordinator holds no secret to key one):
 * an edit of publicKey with every derived field and the checksum recomputed
 * passes here; it is caught when signing (the parties' shares disagree) and
 * for identities by comparing with what each party reports at connect.
 *
 * "chainCode" (the key's BIP-32 chain code, after "address") is optional:
 * files written before tssd kept it have none, and stay valid.
 *
 * Format 3 (issue 17) adds, after "session", the key epoch
 *   "epoch": <u32>,
 * and for a retired key (its shares erased on the parties; the public record
 * stays so the id is never reused and old signatures can still be checked)
 *   "retired": "<ISO time>",
 *   "retiredMs": <Unix ms>,
 *
 * Formats 1 (no "format" and "checksum" lines) and 2 are accepted only if
 * step 2 and 3 pass for them (so neither may carry an epoch); the caller
 * then rewrites them in the current format (migration). */
#ifndef TSS_DAEMON_KEYFILE_H
#define TSS_DAEMON_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/result.h"
#include "wire/msg.h"

#define TSS_KEYFILE_VERSION 3
#define TSS_KEYFILE_MAX (64 * 1024)

typedef struct {
    tss_wire_key_info info; /* key_id, threshold, count, parties, public_key, created_ms,
                               chain code (optional, format 2) */
    uint8_t identities[TSS_WIRE_MAX_PARTIES + 1][32]; /* by party id */
    uint8_t session[16];                              /* keygen session id */
} tss_keyfile;

/* Render k in format 3 (or 1 and 2, for comparison with old files) into buf
 * (NUL-terminated); *len excludes the NUL. */
TSS_MUST_CHECK tss_result tss_keyfile_render(const tss_keyfile *k, unsigned version, char *buf,
                                             size_t cap, size_t *len);

/* Parse and verify the file's bytes (pure; fuzzed). name_key_id is the key
 * id its file name gives. *version is 1, 2 or 3. Errors are TSS_E_CORRUPT (exit
 * 65; TSS_E_UNSUPPORTED for a newer format) and say what is wrong, with the
 * line where one is known; they do not name the file (the caller does). */
TSS_MUST_CHECK tss_result tss_keyfile_parse(const char *data, size_t len, const char *name_key_id,
                                            tss_keyfile *out, unsigned *version);

#endif
