/* DKLS23 threshold signing and presigning, sans-I/O (DESIGN.md §3).
 *
 * Signers S (|S| = t). Party i uses sk_i = lambda_i*x_i + zeta_i (Lagrange
 * coefficient over S plus a zero share from the pairwise seeds), so that
 * sum pk_i = X. Rounds:
 *  1. broadcast: sid contribution, commitment to R_i = r_i*G;
 *     to each peer j: the OT-extension message of the multiplication in
 *     which j sends and i receives (i learns chi_ij = b).
 *  2. to each peer j: the RVOLE reply with inputs (r_i, sk_i), the opening of
 *     R_i, pk_i, Gamma^u = c^u*G, Gamma^v = c^v*G, psi = phi_i - chi_ij, and a
 *     digest of the round-1 broadcasts.
 *  After round 2 every check is done and (R, u_i, v_i, phi_i) is a
 *  presignature. Online: w_i = e*phi_i + x(R)*v_i; broadcast (R, u_i, w_i).
 *  Anyone assembles s = sum w / sum u and verifies against X.
 *
 * HD derivation (BIP-32, non-hardened; mpc/bip32.h): with a path, every
 * signer derives the same public tweak t (child key X' = X + t*G) from X and
 * the chain code in its own share; the lowest signer id adds t to its additive
 * share (sk_i += t), so sum pk_j = X' is what each signer checks, and the
 * signature verifies under X'. A presignature is bound to the path it was made
 * for: finishing it under another path (a tweak chosen after the nonce is
 * fixed, the case Groth-Shoup, Eurocrypt 2022, analyse) is refused.
 *
 * Sign sid: sid = H(keygen sid, coordinator session id, S). A party must
 * never run two sessions with one sid (OT-extension pads would repeat); the
 * caller supplies a registry that refuses a used sid and records a new one
 * durably before round 1 is sent. A second sid, H(sid, all contributions),
 * binds commitments, zero shares and presignature ids to every signer's
 * randomness. */
#ifndef TSS_MPC_SIGN_H
#define TSS_MPC_SIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "mpc/bip32.h"
#include "mpc/keyshare.h"
#include "mpc/msg.h"
#include "mpc/rvole.h"
#include "util/result.h"

#define TSS_DIGEST_BYTES 32

/* Durable record of sign sids this party has used for a key. */
typedef struct {
    /* Returns TSS_E_PROTOCOL if sid was used before, else records it durably. */
    tss_result (*claim)(void *ctx, const uint8_t sid[TSS_SID_BYTES]);
    void *ctx;
} tss_sid_registry;

/* Called with the presignature id after w_i is computed and before it is
 * released: persist the consumption (fsync) here. A failure withholds w_i. */
typedef struct {
    tss_result (*consume)(void *ctx, const uint8_t presign_id[TSS_SID_BYTES]);
    void *ctx;
} tss_consume_hook;

/* The key's live ban state, shared by every session of the key (the daemon
 * keeps one per key). A failed OT-extension or RVOLE check in one session must
 * stop every other session with that peer before it evaluates a check:
 * pass/fail of each check leaks a bit of Delta to a cheating receiver
 * (mpc/ote.h). is_banned is consulted right before each check and on every
 * message; NULL means only share->banned counts. */
typedef struct {
    bool (*is_banned)(void *ctx, uint16_t peer);
    void *ctx;
} tss_ban_view;

/* Checks a session evaluated (for tests and logs): OT-extension consistency
 * checks (as sender) and RVOLE checks (as receiver). */
typedef struct {
    uint32_t ote_checks;
    uint32_t rvole_checks;
} tss_sign_check_counts;

/* A presignature: single use. Lives in secret memory. */
typedef struct {
    char key_id[TSS_KEY_ID_MAX + 1];
    uint8_t keygen_sid[TSS_SID_BYTES];
    uint8_t presign_id[TSS_SID_BYTES];
    uint16_t self;
    uint16_t count;
    uint16_t signers[TSS_MPC_MAX_PARTIES];
    tss_bip32_path path; /* the derivation it was made for (depth 0: the key itself) */
    tss_point R;
    tss_scalar phi; /* secret */
    tss_scalar u;
    tss_scalar v; /* secret */
    bool used;
} tss_presig;

typedef struct {
    const tss_keyshare *share;
    uint16_t count;
    uint16_t signers[TSS_MPC_MAX_PARTIES]; /* ascending, includes share->self */
    uint8_t session_id[TSS_SID_BYTES];    /* from the coordinator */
    tss_bip32_path path;                  /* sign/presign under this path; depth 0: X itself */
    tss_sid_registry registry;
    /* Full signing: the digest and the consumption hook. Presigning: has_digest false. */
    bool has_digest;
    uint8_t digest[TSS_DIGEST_BYTES];
    tss_consume_hook consume;
    tss_ban_view bans;
} tss_sign_config;

typedef struct tss_sign tss_sign;

/* The sign sid of a session (for the caller's registry and logs). */
void tss_sign_sid(uint8_t sid[TSS_SID_BYTES], const tss_keyshare *share,
                  const uint8_t session_id[TSS_SID_BYTES], const uint16_t *signers,
                  uint16_t count);

/* The signing key under a path: child = X + tweak*G from the share's X and
 * chain code (tweak may be NULL). Fails for an invalid child (BIP-32: use the
 * next index). */
TSS_MUST_CHECK tss_result tss_sign_child_key(tss_point *child, tss_scalar *tweak,
                                             const tss_keyshare *share,
                                             const tss_bip32_path *path);

/* Refuses a signer set of the wrong size, with unknown or banned parties, and
 * a path with an invalid child. */
TSS_MUST_CHECK tss_result tss_sign_new(tss_sign **out, const tss_sign_config *cfg);
/* Claims the sid in the registry, then emits round 1. */
TSS_MUST_CHECK tss_result tss_sign_start(tss_sign *s, tss_mpc_outbox *out);
/* On failure the caller must discard out unsent: a step that aborts part way
 * (e.g. a peer found banned before its check) may have queued messages for
 * other peers. */
TSS_MUST_CHECK tss_result tss_sign_handle(tss_sign *s, const tss_mpc_msg *msg,
                                          tss_mpc_outbox *out);
/* Done: full signing has emitted its final broadcast; presigning has a presig. */
bool tss_sign_finished(const tss_sign *s);
uint16_t tss_sign_culprit(const tss_sign *s);
/* Non-zero when the abort was a failed OT-extension or RVOLE check by that
 * peer: the caller must at once set the ban in the key's shared ban state
 * (tss_ban_view), abort every other session of the key with that peer, and
 * persist it in the key share's ban list. An abort because the peer was
 * already banned (no check evaluated) names it as culprit, with ban 0. */
uint16_t tss_sign_ban(const tss_sign *s);
tss_sign_check_counts tss_sign_checks(const tss_sign *s);
size_t tss_sign_waiting_for(const tss_sign *s, uint16_t ids[TSS_MPC_MAX_PARTIES]);
/* Presigning: moves the presignature out (secret memory; free with tss_presig_free). */
TSS_MUST_CHECK tss_result tss_sign_take_presig(tss_sign *s, tss_presig **out);
void tss_sign_free(tss_sign *s);

/* Online signing from a presignature: checks it belongs to this key share and
 * signer set, computes w_i, runs the consumption hook, then writes the final
 * broadcast into out. The presignature is wiped and marked used whatever the
 * outcome; a used one is refused. */
TSS_MUST_CHECK tss_result tss_presig_finish(tss_presig *p, const tss_keyshare *share,
                                            const uint16_t *signers, uint16_t count,
                                            const uint8_t digest[TSS_DIGEST_BYTES],
                                            const tss_consume_hook *consume, tss_mpc_outbox *out);
/* The same under a derivation path. The path must be the one the presignature
 * was made for (p->path); any other is refused without consuming it: the
 * tweak must be fixed before the nonce R is (docs/PROTOCOL.md "HD derivation").
 * tss_presig_finish is this with the empty path. */
TSS_MUST_CHECK tss_result tss_presig_finish_at(tss_presig *p, const tss_keyshare *share,
                                               const uint16_t *signers, uint16_t count,
                                               const tss_bip32_path *path,
                                               const uint8_t digest[TSS_DIGEST_BYTES],
                                               const tss_consume_hook *consume,
                                               tss_mpc_outbox *out);
void tss_presig_free(tss_presig *p);
/* Versioned encoding for the presignature store (secret: seal it). */
TSS_MUST_CHECK tss_result tss_presig_encode(const tss_presig *p, tss_writer *w);
TSS_MUST_CHECK tss_result tss_presig_decode(tss_presig **out, const uint8_t *in, size_t len);

/* A final broadcast as seen by the assembler. */
typedef struct {
    uint16_t party;
    tss_point R;
    tss_scalar u;
    tss_scalar w;
} tss_sign_partial;

TSS_MUST_CHECK tss_result tss_sign_partial_decode(tss_sign_partial *p, uint16_t from,
                                                  const uint8_t *in, size_t len);

typedef struct {
    uint8_t r[32];
    uint8_t s[32]; /* low-s */
    uint8_t recid; /* 0 or 1: parity of R's y after normalisation */
} tss_signature;

/* s = sum w / sum u, low-s, recovery id; verified against X (the child key
 * when signing under a path) and recovery checked before it is returned. All partials must agree on R. Fails if
 * x(R) >= n (Ethereum cannot encode it: sign again). */
TSS_MUST_CHECK tss_result tss_sign_assemble(const tss_sign_partial *partials, size_t count,
                                            const tss_point *X,
                                            const uint8_t digest[TSS_DIGEST_BYTES],
                                            tss_signature *sig);

/* Payload sizes. */
#define TSS_SIGN_R1_BCAST_BYTES (TSS_SID_BYTES + TSS_COMMIT_BYTES)
#define TSS_SIGN_R1_P2P_BYTES TSS_OTE_WIRE_BYTES
#define TSS_SIGN_R2_P2P_BYTES                                                      \
    (TSS_RVOLE_WIRE_BYTES + TSS_PT_BYTES + TSS_SALT_BYTES + 3 * TSS_PT_BYTES + TSS_SC_BYTES + \
     TSS_HASH_BYTES)
#define TSS_SIGN_FINAL_BYTES (TSS_PT_BYTES + 2 * TSS_SC_BYTES)

#endif
