/* Message payloads carried in transport frames (docs/PROTOCOL.md).
 *
 * Each message has an encoder that appends its payload to a writer (wrap it
 * with tss_wire_frame_begin/end) and a decoder over exactly one frame payload,
 * which reads through the bounded reader and rejects trailing bytes. Decoders
 * write *out only on success; borrowed byte views point into the payload.
 *
 * Strings are a u32 length then that many bytes of printable ASCII
 * (0x20..0x7e): they end up in logs and terminals, so control characters and
 * escape sequences are refused outright rather than escaped later, and ASCII
 * avoids validating (and normalising) UTF-8 for fields that never need it. */
#ifndef TSS_WIRE_MSG_H
#define TSS_WIRE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/bytes.h"
#include "mpc/bip32.h"
#include "util/result.h"

#define TSS_WIRE_MAX_PARTIES 32       /* party ids are 1..32 (DESIGN.md §3) */
#define TSS_WIRE_IDENTITY_KEY_LEN 32  /* Ed25519 public key */
#define TSS_WIRE_SESSION_ID_LEN 16
#define TSS_WIRE_MAX_SOFTWARE_LEN 64
#define TSS_WIRE_MAX_ERROR_TEXT 256
#define TSS_WIRE_MAX_HEARTBEAT_MS 3600000u /* advertised heartbeat interval cap */
#define TSS_WIRE_BROADCAST 0               /* PROTOCOL_MSG receiver for "everyone" */
/* PROTOCOL_MSG envelope before the payload bytes: sid, round, sender, receiver, u32 length. */
#define TSS_WIRE_PROTOCOL_ENVELOPE_LEN (TSS_WIRE_SESSION_ID_LEN + 1 + 2 + 2 + 4)

/* A party's pin of a peer's Ed25519 identity (what it will verify that
 * peer's messages with), reported for diagnostics only. */
#define TSS_WIRE_MAX_PINS (TSS_WIRE_MAX_PARTIES - 1)
typedef struct {
    uint16_t party_id; /* 1..32, not the reporting party */
    uint8_t identity_key[TSS_WIRE_IDENTITY_KEY_LEN];
} tss_wire_pin;

/* HELLO, party -> coordinator, first frame on a connection. */
typedef struct {
    uint16_t party_id;         /* 1..32; must match the TLS identity */
    uint16_t protocol_version; /* >= 1; the coordinator decides what it accepts */
    uint8_t identity_key[TSS_WIRE_IDENTITY_KEY_LEN];
    char software[TSS_WIRE_MAX_SOFTWARE_LEN + 1]; /* 1..64 chars, e.g. "tssd/0.1.0" */
    /* Optional trailing field: how many sessions the party runs at once
     * (its limits.max_sessions), so the coordinator never starts more.
     * 0 = not announced (a HELLO without the field, as older parties send). */
    uint16_t max_sessions;
    /* Optional, after max_sessions: the peers' identities this party pinned
     * (u8 count, then per pin u16 id and 32 bytes), so `tssctl status` can
     * show a pin that differs from the peer's own identity. Diagnostics only:
     * nothing trusts the coordinator's copy. */
    uint8_t pin_count;
    tss_wire_pin pins[TSS_WIRE_MAX_PINS];
} tss_wire_hello;
#define TSS_WIRE_MAX_PARTY_SESSIONS 4096 /* announced capacity cap */

/* HELLO_ACK, coordinator -> party. */
typedef struct {
    uint16_t party_id;              /* echo of the authenticated party id */
    uint16_t protocol_version;      /* the version both sides now speak, >= 1 */
    uint32_t heartbeat_interval_ms; /* 1..TSS_WIRE_MAX_HEARTBEAT_MS */
    char software[TSS_WIRE_MAX_SOFTWARE_LEN + 1];
} tss_wire_hello_ack;

/* HEARTBEAT and HEARTBEAT_ACK: the ack echoes both fields, so the sender
 * measures round-trip time on its own clock and matches by sequence. */
typedef struct {
    uint64_t sequence;
    uint64_t timestamp_ms; /* sender's monotonic clock, opaque to the receiver */
} tss_wire_heartbeat;

/* ERROR codes. Unknown nonzero codes are accepted (a newer peer may send
 * them) and shown by number. */
#define TSS_WIRE_ERROR_CODE_TABLE(X)                                              \
    X(PROTOCOL, 1)                                                                \
    X(VERSION, 2)                                                                 \
    X(UNAUTHORIZED, 3)                                                            \
    X(LIMIT, 4)                                                                   \
    X(INTERNAL, 5)                                                                \
    X(SHUTDOWN, 6)                                                                \
    X(UNKNOWN_SESSION, 7)                                                         \
    X(PENDING, 8) /* took effect, not yet complete everywhere (the text says what) */

typedef enum {
#define TSS_WIRE_X_ERR(name, value) TSS_WIRE_ERR_##name = value,
    TSS_WIRE_ERROR_CODE_TABLE(TSS_WIRE_X_ERR)
#undef TSS_WIRE_X_ERR
} tss_wire_error_code;

/* "PROTOCOL", ... or NULL if unknown. */
const char *tss_wire_error_code_name(unsigned code);

typedef struct {
    uint16_t code; /* nonzero */
    char text[TSS_WIRE_MAX_ERROR_TEXT + 1];
} tss_wire_error;

/* PROTOCOL_MSG: a party-to-party message relayed by the coordinator. The
 * payload is opaque here (encrypted or signed by the sender, see the protocol
 * sections); this envelope is what the coordinator routes on. */
typedef struct {
    uint8_t session_id[TSS_WIRE_SESSION_ID_LEN];
    uint8_t round;     /* >= 1 */
    uint16_t sender;   /* 1..32 */
    uint16_t receiver; /* 1..32 and != sender, or TSS_WIRE_BROADCAST */
    const uint8_t *payload; /* borrowed; 1..max_payload bytes */
    size_t payload_len;
} tss_wire_protocol_msg;

TSS_MUST_CHECK tss_result tss_wire_hello_encode(tss_writer *w, const tss_wire_hello *m);
TSS_MUST_CHECK tss_result tss_wire_hello_decode(tss_wire_hello *out, const uint8_t *p, size_t n);

TSS_MUST_CHECK tss_result tss_wire_hello_ack_encode(tss_writer *w, const tss_wire_hello_ack *m);
TSS_MUST_CHECK tss_result tss_wire_hello_ack_decode(tss_wire_hello_ack *out, const uint8_t *p,
                                                    size_t n);

/* Same layout for HEARTBEAT and HEARTBEAT_ACK. */
TSS_MUST_CHECK tss_result tss_wire_heartbeat_encode(tss_writer *w, const tss_wire_heartbeat *m);
TSS_MUST_CHECK tss_result tss_wire_heartbeat_decode(tss_wire_heartbeat *out, const uint8_t *p,
                                                    size_t n);

TSS_MUST_CHECK tss_result tss_wire_error_encode(tss_writer *w, const tss_wire_error *m);
TSS_MUST_CHECK tss_result tss_wire_error_decode(tss_wire_error *out, const uint8_t *p, size_t n);

/* max_payload caps payload_len (at most TSS_WIRE_MAX_FRAME minus header and
 * envelope); the frame cap bounds it again when the frame is written or read. */
TSS_MUST_CHECK tss_result tss_wire_protocol_msg_encode(tss_writer *w,
                                                       const tss_wire_protocol_msg *m,
                                                       size_t max_payload);
TSS_MUST_CHECK tss_result tss_wire_protocol_msg_decode(tss_wire_protocol_msg *out,
                                                       const uint8_t *p, size_t n,
                                                       size_t max_payload);

/* STATUS_REQUEST, operator -> coordinator: an empty payload in version 1
 * (any byte is refused; later versions may add filters). */
TSS_MUST_CHECK tss_result tss_wire_status_request_encode(tss_writer *w);
TSS_MUST_CHECK tss_result tss_wire_status_request_decode(const uint8_t *p, size_t n);

/* STATUS_RESPONSE, coordinator -> operator: the coordinator's view of every
 * configured party. Times are Unix milliseconds on the coordinator's clock
 * (0 = never); certificate notAfter is Unix seconds. */
#define TSS_WIRE_FINGERPRINT_LEN 32 /* SHA-256 of a certificate's DER */
#define TSS_WIRE_MAX_ADDRESS_LEN 64 /* "[v6]:port" */
#define TSS_WIRE_STATUS_CONNECTED 0x01u /* the party is connected and said HELLO */
#define TSS_WIRE_STATUS_KNOWN 0x02u     /* identity fields hold the last HELLO seen */
#define TSS_WIRE_STATUS_FLAGS (TSS_WIRE_STATUS_CONNECTED | TSS_WIRE_STATUS_KNOWN)

typedef struct {
    uint16_t party_id; /* 1..32, strictly increasing within a response */
    uint8_t flags;     /* TSS_WIRE_STATUS_*; CONNECTED implies KNOWN */
    uint8_t identity_key[TSS_WIRE_IDENTITY_KEY_LEN]; /* from HELLO (zero if unknown) */
    uint16_t protocol_version;                       /* from HELLO (0 if unknown) */
    char software[TSS_WIRE_MAX_SOFTWARE_LEN + 1];    /* from HELLO ("" if unknown) */
    uint8_t cert_fingerprint[TSS_WIRE_FINGERPRINT_LEN];
    uint64_t cert_not_after;  /* Unix seconds (0 if unknown) */
    uint64_t since_ms;        /* connected since, or disconnected since (0: never seen) */
    uint64_t last_heartbeat_ms;
    char address[TSS_WIRE_MAX_ADDRESS_LEN + 1]; /* peer address ("" if unknown) */
    /* The pins this party reported in its last HELLO (optional trailing
     * section of the response: per party u8 count and the pins). */
    uint8_t pin_count;
    tss_wire_pin pins[TSS_WIRE_MAX_PINS];
} tss_wire_status_party;

typedef struct {
    char software[TSS_WIRE_MAX_SOFTWARE_LEN + 1]; /* the coordinator's, 1..64 chars */
    uint64_t now_ms;                              /* coordinator clock at answer time */
    uint64_t started_ms;
    uint8_t cert_fingerprint[TSS_WIRE_FINGERPRINT_LEN]; /* certificate now in service */
    uint64_t cert_not_after;
    uint32_t tls_generation; /* 1 at start, +1 per successful reload */
    uint16_t connections;    /* TLS connections open, this one included */
    uint16_t party_count;    /* 0..TSS_WIRE_MAX_PARTIES */
    tss_wire_status_party parties[TSS_WIRE_MAX_PARTIES];
} tss_wire_status;

TSS_MUST_CHECK tss_result tss_wire_status_encode(tss_writer *w, const tss_wire_status *m);
TSS_MUST_CHECK tss_result tss_wire_status_decode(tss_wire_status *out, const uint8_t *p,
                                                 size_t n);

/* ---- sessions (coordinator <-> party) ------------------------------------------------ */

#define TSS_WIRE_MAX_KEY_ID 64      /* mpc/keyshare.h TSS_KEY_ID_MAX */
#define TSS_WIRE_DIGEST_LEN 32
#define TSS_WIRE_PRESIGN_ID_LEN 32
#define TSS_WIRE_POINT_LEN 33       /* compressed secp256k1 point */
#define TSS_WIRE_CHAIN_CODE_LEN 32   /* BIP-32 chain code of a key */
#define TSS_WIRE_MAX_RESULT_DATA 96
#define TSS_WIRE_MAX_KEYS 4096      /* key records in one OP_RESPONSE */
#define TSS_WIRE_MAX_PRESIGN_COUNT 1000

/* Session kinds. */
#define TSS_WIRE_KIND_KEYGEN 1
#define TSS_WIRE_KIND_SIGN 2        /* full three-round signing of a digest */
#define TSS_WIRE_KIND_PRESIGN 3     /* one presignature, kept by every signer */
#define TSS_WIRE_KIND_SIGN_PRESIG 4 /* online signing with a stored presignature */

/* "keygen", ... or NULL. */
const char *tss_wire_kind_name(unsigned kind);

/* SESSION_START, coordinator -> each party of the session. */
typedef struct {
    uint8_t session_id[TSS_WIRE_SESSION_ID_LEN]; /* fresh random, never reused */
    uint8_t kind;                                /* TSS_WIRE_KIND_* */
    char key_id[TSS_WIRE_MAX_KEY_ID + 1];        /* 1..64 printable */
    uint16_t threshold;                          /* 2..32; the key's t */
    uint16_t count;                              /* parties of the session, 2..32 */
    uint16_t parties[TSS_WIRE_MAX_PARTIES];      /* strictly ascending; keygen: all N,
                                                    signing: the t signers */
    uint32_t round_timeout_ms;                   /* 1..3600000 */
    uint8_t digest[TSS_WIRE_DIGEST_LEN];         /* SIGN, SIGN_PRESIG; else zero */
    uint8_t presign_id[TSS_WIRE_PRESIGN_ID_LEN]; /* SIGN_PRESIG; else zero */
    tss_bip32_path path;                         /* SIGN, PRESIGN, SIGN_PRESIG: BIP-32
                                                    non-hardened path (depth 0: the key
                                                    itself); KEYGEN: depth 0 */
    /* SIGN, SIGN_PRESIG, optional (issue 16): the request content
     * (policy/request.h encoding, opaque here) the parties compute the digest
     * from, and the approvals (opaque, policy/approval.h). Borrowed from the
     * decoded payload: a holder copies them. Both empty: the fields are
     * absent on the wire. */
    const uint8_t *request;
    size_t request_len; /* 0..TSS_WIRE_MAX_REQUEST */
    const uint8_t *approvals;
    size_t approvals_len; /* 0..TSS_WIRE_MAX_APPROVALS; nonzero only with a request */
    uint32_t epoch; /* the key epoch the session is for (issue 17): a party whose
                       committed share has another epoch refuses. Optional
                       u32 after the request section, present exactly when
                       nonzero (that section is never 4 bytes); KEYGEN: 0 */
} tss_wire_session_start;
#define TSS_WIRE_MAX_REQUEST (256u * 1024 + 6) /* policy/request.h TSS_REQ_MAX_ENCODED */
#define TSS_WIRE_MAX_APPROVALS 16384

/* SESSION_RESULT, party -> coordinator: the party finished its part.
 * data: KEYGEN the group public key X (33 bytes) followed by the key's BIP-32
 * chain code (32 bytes), PRESIGN the presignature id
 * (32 bytes), SIGN and SIGN_PRESIG nothing (the final 0x61 broadcast is the
 * result). */
typedef struct {
    uint8_t session_id[TSS_WIRE_SESSION_ID_LEN];
    uint8_t kind;
    uint8_t data[TSS_WIRE_MAX_RESULT_DATA];
    size_t data_len;
} tss_wire_session_result;

/* SESSION_ABORT, either direction: the session is over for the sender. */
#define TSS_WIRE_ABORT_MISBEHAVIOUR 1 /* culprit failed a check */
#define TSS_WIRE_ABORT_TIMEOUT 2      /* culprit sent nothing within the round timeout */
#define TSS_WIRE_ABORT_REFUSED 3      /* the sender will not run this session */
#define TSS_WIRE_ABORT_CANCELLED 4    /* coordinator: the session was abandoned */
#define TSS_WIRE_ABORT_INTERNAL 5     /* a local failure (storage, memory) */
#define TSS_WIRE_ABORT_DISCONNECTED 6 /* culprit's connection went away */
/* The evidence cannot tell the coordinator (relay) from the culprit party: a
 * message that does not verify or decrypt under this session's context, a
 * reused session id, an echo mismatch. Never grounds for a ban; the text says
 * "the coordinator or party N". */
#define TSS_WIRE_ABORT_RELAY_OR_PARTY 7
#define TSS_WIRE_ABORT_BUSY 8         /* the sender is at capacity: try again later;
                                         never a fault, culprit must be 0 */
#define TSS_WIRE_ABORT_POLICY 9       /* the sender's signing policy refuses the request
                                         (issue 16); the text names the rule; never a
                                         fault, culprit must be 0 */
typedef struct {
    uint8_t session_id[TSS_WIRE_SESSION_ID_LEN];
    uint8_t reason;   /* TSS_WIRE_ABORT_* */
    uint16_t culprit; /* 0 (none known) or 1..32 */
    char text[TSS_WIRE_MAX_ERROR_TEXT + 1];
} tss_wire_session_abort;

const char *tss_wire_abort_reason_name(unsigned reason);

TSS_MUST_CHECK tss_result tss_wire_session_start_encode(tss_writer *w,
                                                        const tss_wire_session_start *m);
TSS_MUST_CHECK tss_result tss_wire_session_start_decode(tss_wire_session_start *out,
                                                        const uint8_t *p, size_t n);
TSS_MUST_CHECK tss_result tss_wire_session_result_encode(tss_writer *w,
                                                         const tss_wire_session_result *m);
TSS_MUST_CHECK tss_result tss_wire_session_result_decode(tss_wire_session_result *out,
                                                         const uint8_t *p, size_t n);
TSS_MUST_CHECK tss_result tss_wire_session_abort_encode(tss_writer *w,
                                                        const tss_wire_session_abort *m);
TSS_MUST_CHECK tss_result tss_wire_session_abort_decode(tss_wire_session_abort *out,
                                                        const uint8_t *p, size_t n);

/* PRESIG_INVENTORY, party -> coordinator, right after HELLO_ACK: presignature
 * ids of one key the party holds (a key with more is sent in several
 * frames). PRESIG_DELETE, coordinator -> party, same layout: the subset of
 * them the coordinator will never hand out (orphans of interrupted presign
 * sessions, or marked used); the party consumes them durably (spent log,
 * unlink). See docs/PROTOCOL.md "Presignature reconciliation". */
#define TSS_WIRE_MAX_INVENTORY_IDS 1024 /* ids in one frame */
typedef struct {
    char key_id[TSS_WIRE_MAX_KEY_ID + 1]; /* 1..64 printable */
    uint16_t count;                       /* 1..TSS_WIRE_MAX_INVENTORY_IDS */
    const uint8_t *ids;                   /* count * 32 bytes; borrowed */
} tss_wire_presig_ids;

/* Same layout for PRESIG_INVENTORY and PRESIG_DELETE. Ids within a frame
 * must be distinct (strictly ascending, so the check is linear). */
TSS_MUST_CHECK tss_result tss_wire_presig_ids_encode(tss_writer *w, const tss_wire_presig_ids *m);
TSS_MUST_CHECK tss_result tss_wire_presig_ids_decode(tss_wire_presig_ids *out, const uint8_t *p,
                                                     size_t n);

/* PRESIG_RELIST, coordinator -> party: list the presignatures of key_id
 * again (PRESIG_INVENTORY), replacing the snapshot PRESIG_DELETE is checked
 * against. Sent after the coordinator retired presignatures (issue 14: the
 * pool's max_age), so they are deleted without waiting for a reconnection.
 * Payload: var(key_id), 1..64 printable characters, nothing after it. */
TSS_MUST_CHECK tss_result tss_wire_presig_relist_encode(tss_writer *w, const char *key_id);
/* out: TSS_WIRE_MAX_KEY_ID + 1 bytes. */
TSS_MUST_CHECK tss_result tss_wire_presig_relist_decode(char *out, const uint8_t *p, size_t n);

/* KEY_RETIRE, coordinator -> party: erase every share and presignature of
 * key_id (result 0, text ""). KEY_RETIRED, party -> coordinator: the answer.
 * See docs/PROTOCOL.md "Key retirement". */
#define TSS_WIRE_RETIRE_ERASED 1  /* erased now (durably) */
#define TSS_WIRE_RETIRE_ABSENT 2  /* held nothing of the key (already erased) */
#define TSS_WIRE_RETIRE_REFUSED 3 /* this party's config does not allow it */
#define TSS_WIRE_RETIRE_FAILED 4  /* a local failure (text); the share may remain */
typedef struct {
    char key_id[TSS_WIRE_MAX_KEY_ID + 1]; /* 1..64 of [A-Za-z0-9._-] */
    uint8_t result;                       /* KEY_RETIRED: TSS_WIRE_RETIRE_*; KEY_RETIRE: 0 */
    char text[TSS_WIRE_MAX_ERROR_TEXT + 1];
} tss_wire_key_retire;

/* reply: false for KEY_RETIRE (key id only), true for KEY_RETIRED. */
TSS_MUST_CHECK tss_result tss_wire_key_retire_encode(tss_writer *w, const tss_wire_key_retire *m,
                                                     bool reply);
TSS_MUST_CHECK tss_result tss_wire_key_retire_decode(tss_wire_key_retire *out, const uint8_t *p,
                                                     size_t n, bool reply);
const char *tss_wire_retire_result_name(unsigned result);

/* ---- operator requests (tssctl -> coordinator) -------------------------------------- */

#define TSS_WIRE_OP_KEYGEN 1
#define TSS_WIRE_OP_SIGN 2
#define TSS_WIRE_OP_PRESIGN 3
#define TSS_WIRE_OP_KEYS 4
#define TSS_WIRE_OP_RETIRE 5 /* key_id; every other field zero */

const char *tss_wire_op_name(unsigned command);

/* OP_REQUEST. Fields a command does not use must be zero/empty. */
typedef struct {
    uint32_t request_id; /* echoed in the response */
    uint8_t command;     /* TSS_WIRE_OP_* */
    char key_id[TSS_WIRE_MAX_KEY_ID + 1]; /* KEYS: "" for all, else one key */
    uint16_t threshold;                   /* KEYGEN: 2..32 */
    uint16_t count;                       /* KEYGEN: parties, SIGN/PRESIGN: signers;
                                             0 = the coordinator chooses */
    uint16_t parties[TSS_WIRE_MAX_PARTIES]; /* strictly ascending */
    uint8_t digest[TSS_WIRE_DIGEST_LEN];    /* SIGN */
    uint16_t presign_count;                 /* PRESIGN: 1..TSS_WIRE_MAX_PRESIGN_COUNT */
    uint8_t flags;                          /* SIGN: TSS_WIRE_OP_FLAG_*; else 0 */
    tss_bip32_path path;                    /* SIGN, PRESIGN: derivation path; else depth 0 */
    /* SIGN, optional: request content and approvals, as in SESSION_START
     * (borrowed from the payload). */
    const uint8_t *request;
    size_t request_len;
    const uint8_t *approvals;
    size_t approvals_len;
} tss_wire_op_request;

/* OP_REQUEST flags (SIGN only). */
#define TSS_WIRE_OP_FLAG_NO_PRESIGN 0x01u /* full signing even if a presignature exists */
#define TSS_WIRE_OP_FLAGS TSS_WIRE_OP_FLAG_NO_PRESIGN

/* A key in the coordinator's public registry. */
typedef struct {
    char key_id[TSS_WIRE_MAX_KEY_ID + 1];
    uint16_t threshold;
    uint16_t count;
    uint16_t parties[TSS_WIRE_MAX_PARTIES];
    uint8_t public_key[TSS_WIRE_POINT_LEN]; /* compressed X */
    uint8_t has_chain_code;                 /* 0 for a key registered before tssd kept it */
    uint8_t chain_code[TSS_WIRE_CHAIN_CODE_LEN]; /* BIP-32 root chain code (public) */
    uint32_t presignatures;                 /* stock ready for online signing */
    uint64_t created_ms;                    /* Unix milliseconds */
    /* Lifecycle (issue 17; OP_RESPONSE's optional trailing section). */
    uint32_t epoch;      /* 0 from the DKG, +1 per committed refresh/reshare */
    uint8_t retired;     /* 1: retired, its shares erased; it never signs again */
    uint64_t retired_ms; /* when (Unix ms; 0 unless retired) */
} tss_wire_key_info;

/* OP_RESPONSE. status 0 is success, else a TSS_WIRE_ERR_* code with text
 * naming the failure (and culprit the party at fault, 0 if none). */
typedef struct {
    uint32_t request_id;
    uint8_t command;
    uint16_t status;
    uint16_t culprit;
    char text[TSS_WIRE_MAX_ERROR_TEXT + 1];
    uint8_t session_id[TSS_WIRE_SESSION_ID_LEN]; /* the last session run (zero if none) */
    size_t key_count;                            /* KEYGEN: 1, KEYS: 0..MAX_KEYS, SIGN: 1 */
    tss_wire_key_info *keys;                     /* decoder allocates: tss_wire_op_response_free */
    uint8_t has_signature;                       /* SIGN */
    uint8_t r[32], s[32];
    uint8_t recid;                               /* 0 or 1 */
    uint8_t digest[TSS_WIRE_DIGEST_LEN];
    uint16_t signer_count;
    uint16_t signers[TSS_WIRE_MAX_PARTIES];
    uint16_t presigned; /* PRESIGN: presignatures made; SIGN: 1 if signed with a
                           presignature (one online round), 0 for full signing */
} tss_wire_op_response;

TSS_MUST_CHECK tss_result tss_wire_op_request_encode(tss_writer *w, const tss_wire_op_request *m);
TSS_MUST_CHECK tss_result tss_wire_op_request_decode(tss_wire_op_request *out, const uint8_t *p,
                                                     size_t n);
TSS_MUST_CHECK tss_result tss_wire_op_response_encode(tss_writer *w,
                                                      const tss_wire_op_response *m);
/* On success out->keys is allocated (NULL when key_count is 0). */
TSS_MUST_CHECK tss_result tss_wire_op_response_decode(tss_wire_op_response *out,
                                                      const uint8_t *p, size_t n);
void tss_wire_op_response_free(tss_wire_op_response *m);

#endif
