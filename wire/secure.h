/* Party-to-party protection of protocol messages relayed by the coordinator
 * (DESIGN.md §2 and §4; byte layouts in docs/PROTOCOL.md, "Party-to-party
 * protection"). Sans-I/O: no sockets, no files, no clocks; libsodium only.
 *
 * The coordinator relays every PROTOCOL_MSG and is not trusted with them: it
 * may drop, delay, reorder, replay or equivocate, but must not read a private
 * payload or pass off a forged or altered message as a party's.
 *
 *  - Broadcasts (and the final signing message, which the coordinator must
 *    read) are Ed25519-signed by the sender's long-term identity over a
 *    binding of version, purpose, session id, public session context, round,
 *    type, sender and receiver, and the payload. The round-1 broadcast also carries the
 *    sender's per-session ephemeral X25519 public key inside the signed part.
 *  - Point-to-point payloads are XChaCha20-Poly1305 with a random 24-byte
 *    nonce and the same binding, with the full session context, as
 *    associated data. Round 1 uses a pairwise
 *    key from the two pinned identities (converted to X25519); from round 2
 *    on (where key shares and OT/RVOLE replies travel) the key also mixes
 *    X25519 of the two parties' ephemeral keys, so it cannot be recomputed
 *    from the long-term keys once the session state is gone.
 *
 * The envelope (wire/msg.h) carries a 16-byte session id; this layer binds it
 * together with the session context (tss_secure_context below). The mpc type byte travels as the first payload byte (the
 * envelope has none) and is bound like every envelope field.
 *
 * What this layer does not do: out-of-round messages inside a session are
 * refused by mpc/ (it keeps per-sender, per-round state); a
 * relay that shows different parties different broadcasts is caught by the
 * protocol's echo digests; a dropped message is found by the round timer. */
#ifndef TSS_WIRE_SECURE_H
#define TSS_WIRE_SECURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpc/msg.h"
#include "util/bytes.h"
#include "util/result.h"
#include "wire/msg.h"

/* 2: the binding and the pairwise keys cover the session context. */
#define TSS_SECURE_VERSION 2
#define TSS_SECURE_SID_LEN TSS_WIRE_SESSION_ID_LEN /* 16 */
#define TSS_SECURE_IDENTITY_LEN 32                 /* Ed25519 public key */
#define TSS_SECURE_IDENTITY_SECRET_LEN 64          /* libsodium Ed25519 secret key */
#define TSS_SECURE_EPHEMERAL_LEN 32                /* X25519 public key */
#define TSS_SECURE_SIG_LEN 64
#define TSS_SECURE_NONCE_LEN 24
#define TSS_SECURE_TAG_LEN 16
#define TSS_SECURE_KEY_LEN 32
#define TSS_SECURE_CONTEXT_LEN 32
#define TSS_SECURE_KEYGEN_SID_LEN 32
/* Bytes added to an mpc payload: type byte and signature (broadcast; plus the
 * ephemeral key on round-1 broadcasts), or type byte, nonce and tag (p2p). */
#define TSS_SECURE_BROADCAST_OVERHEAD (1 + TSS_SECURE_SIG_LEN)
#define TSS_SECURE_P2P_OVERHEAD (1 + TSS_SECURE_NONCE_LEN + TSS_SECURE_TAG_LEN)
/* Largest sealed payload (pass it as the PROTOCOL_MSG payload cap). */
#define TSS_SECURE_MAX_SEALED \
    (TSS_MPC_MAX_PAYLOAD + TSS_SECURE_BROADCAST_OVERHEAD + TSS_SECURE_EPHEMERAL_LEN)

/* A party of the session and its pinned Ed25519 identity (from config). */
typedef struct {
    uint16_t id; /* 1..32 */
    uint8_t identity[TSS_SECURE_IDENTITY_LEN];
} tss_secure_peer;

/* The session context every message is bound to, computed by each party
 * from its own view (docs/PROTOCOL.md, "Session context"):
 *   pub  = BLAKE2b-256(key = "tssd/v2/session-context", version, kind,
 *          session id, key id, t, signer/party set, digest, presignature id):
 *          everything in SESSION_START that changes the computation, so a
 *          verifier without a share (the coordinator) can recompute it;
 *   full = BLAKE2b-256(key = "tssd/v2/session-context-share", pub,
 *          keygen sid, N): adds what only the key share holds (zero for a
 *          keygen).
 * Signatures bind pub; AEAD associated data and both pairwise keys bind
 * full. Two parties whose views differ in any field cannot open each other's
 * messages: a relay that replays from another session, mixes kinds or keys
 * or signer sets, gets an abort ("forged or altered in transit"), never a
 * message that mpc/ would judge. */
typedef struct {
    uint8_t sid[TSS_SECURE_SID_LEN];
    uint8_t pub[TSS_SECURE_CONTEXT_LEN];
    uint8_t full[TSS_SECURE_CONTEXT_LEN];
} tss_secure_context;

/* keygen_sid: the key share's keygen sid (32 bytes) and key_parties its N, or
 * NULL and 0 for a keygen session. Fields are taken as they are: the caller
 * checks SESSION_START against its own share first. */
void tss_secure_context_init(tss_secure_context *c, const tss_wire_session_start *st,
                             const uint8_t *keygen_sid, uint16_t key_parties);

/* The mpc session id (tss_dkg_config / tss_sign_config session_id) of a
 * SESSION_START: SHA-256("tssd/v1/mpc-session" || kind || session id). The
 * OT-extension sid derives from it, the keygen sid and the signer set, all
 * of which the full context binds. */
void tss_secure_mpc_sid(uint8_t out[32], const tss_wire_session_start *st);

/* One party's state for one session; lives in secret memory. */
typedef struct tss_secure_session tss_secure_session;

/* Round of an mpc message type (DKG: 1..3; signing: 0x41/0x42 -> 1,
 * 0x52 -> 2, 0x61 -> 3), or 0 if the type is unknown. */
unsigned tss_secure_type_round(uint8_t type);
/* Whether the type is signed (broadcast, addressed to 0) rather than
 * encrypted (point-to-point). Unknown types: false. */
bool tss_secure_type_is_broadcast(uint8_t type);

/* Creates the state for party `self` in session ctx->sid: converts the identity
 * to X25519, derives the static pairwise key with every party in `parties`,
 * and samples the ephemeral X25519 key pair. `parties` lists the session's
 * parties with their pinned identities (1..32 entries, distinct ids); an
 * entry for `self` is optional and, if present, must match identity_secret
 * (a config pinning the wrong key for ourselves). Fails with TSS_E_INVALID
 * (naming the party) for a pinned key that is not a valid Ed25519 point of
 * the main subgroup or whose X25519 agreement is all zero. */
TSS_MUST_CHECK tss_result tss_secure_session_new(
    tss_secure_session **out, const tss_secure_context *ctx, uint16_t self,
    const uint8_t identity_secret[TSS_SECURE_IDENTITY_SECRET_LEN], const tss_secure_peer *parties,
    size_t count);
/* Wipes every key (static, ephemeral, derived) and frees; NULL is fine. */
void tss_secure_session_free(tss_secure_session *s);

/* Our ephemeral public key (the one the round-1 broadcast carries). */
void tss_secure_ephemeral_public(const tss_secure_session *s,
                                 uint8_t out[TSS_SECURE_EPHEMERAL_LEN]);

/* Seals one outgoing mpc message (msg->from must be us; broadcast types to 0,
 * point-to-point types to a party of the session). Appends the sealed payload
 * to `payload` (a fresh writer, capacity >= TSS_SECURE_MAX_SEALED) and fills
 * `env` with the session id, round, sender and receiver; env->payload borrows
 * payload->data, valid until the writer is changed or freed. A round >= 2
 * point-to-point message needs the recipient's ephemeral key, learnt from its
 * round-1 broadcast (TSS_E_USAGE otherwise). */
TSS_MUST_CHECK tss_result tss_secure_seal(tss_secure_session *s, const tss_mpc_msg *msg,
                                          tss_wire_protocol_msg *env, tss_writer *payload);

/* Opens one incoming PROTOCOL_MSG addressed to us (or broadcast) into an mpc
 * message whose data is freshly allocated (free with tss_secure_msg_clear).
 * Refused (TSS_E_PROTOCOL, the detail names the claimed sender):
 *  - another session id; a sender that is not a peer of this session (or is
 *    ourselves); a receiver that is neither us nor 0;
 *  - an unknown type, a type whose round is not the envelope's round, a
 *    broadcast type not addressed to 0 or a point-to-point type addressed to
 *    0, a payload too short or too long for its layout;
 *  - a signature or AEAD tag that does not verify under the claimed sender's
 *    pinned key: "forged or altered in transit (by the relay or the sender)";
 *  - a round-1 broadcast whose ephemeral key is low-order (all-zero X25519)
 *    or differs from one this sender already gave in the session.
 * TSS_E_NOT_FOUND (not fatal): a round >= 2 point-to-point message arrived
 * before the sender's round-1 broadcast (the relay reordered them); hold it
 * and open it again once that broadcast has been opened.
 * TSS_E_EXISTS (not fatal): an authenticated message identical to one this
 * sender already gave for that type (a relay's resend): drop it.
 * TSS_E_PROTOCOL naming the sender alone: a second, different authenticated
 * message of one type (the sender's own equivocation).
 * On any failure *out is left empty. */
TSS_MUST_CHECK tss_result tss_secure_open(tss_secure_session *s,
                                          const tss_wire_protocol_msg *env, tss_mpc_msg *out);
/* Wipes and frees an opened message's data and zeroes the struct. */
void tss_secure_msg_clear(tss_mpc_msg *m);

/* A verified signed message, as seen without a session (the coordinator). */
typedef struct {
    uint8_t type;
    uint16_t from;
    const uint8_t *ephemeral; /* round-1 broadcasts only, else NULL; borrowed */
    const uint8_t *data;      /* the mpc payload, borrowed from the envelope */
    size_t len;
} tss_secure_signed_view;

/* Verifies a signed (broadcast-type) message against the pinned identities
 * of the session's parties, with no secret: what the coordinator uses to
 * check each final signing message (0x61) before assembling, and may use on
 * any broadcast. Same refusals as tss_secure_open for broadcasts. */
TSS_MUST_CHECK tss_result tss_secure_verify_signed(const tss_secure_context *ctx,
                                                   const tss_secure_peer *parties, size_t count,
                                                   const tss_wire_protocol_msg *env,
                                                   tss_secure_signed_view *out);

/* The static-only pairwise key of (self, peer) for a session: the key of
 * round-1 point-to-point messages, computable from the long-term keys alone.
 * Exposed for tests and docs (forward-secrecy checks); the session derives
 * it itself. */
TSS_MUST_CHECK tss_result tss_secure_static_key(
    uint8_t key[TSS_SECURE_KEY_LEN], const tss_secure_context *ctx, uint16_t self,
    const uint8_t identity_secret[TSS_SECURE_IDENTITY_SECRET_LEN], uint16_t peer,
    const uint8_t peer_identity[TSS_SECURE_IDENTITY_LEN]);

#endif
