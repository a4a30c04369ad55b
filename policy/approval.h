/* Operator approvals: Ed25519-signed statements that an approver agrees to
 * one request, checked by every party on its own (docs/PROTOCOL.md
 * "Approvals").
 *
 * Statement (the exact bytes signed; big-endian integers):
 *   tag "tssd/v1/approval" (16 bytes) | version u8 = 1 |
 *   key_id_len u8 (1..64) | key_id | request_hash[32] | expires u64 (unix s) |
 *   nonce[16] | approver_len u8 (1..64) | approver name
 * Approval = statement | Ed25519 signature[64] (by the approver's key).
 * List on the wire = count u8 (0..16) | count x (len u16 | approval).
 *
 * The tag keeps a signature made for anything else from counting; key id
 * and request hash stop replay to another key or request; expiry and the
 * nonce (recorded durably, policy/approval_nonce.h) stop replay in time; the
 * signed approver name must be the name the key is pinned under, so one
 * approver's key cannot stand in for another. */
#ifndef TSS_POLICY_APPROVAL_H
#define TSS_POLICY_APPROVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/approval_nonce.h"
#include "util/bytes.h"
#include "util/result.h"

#define TSS_APPROVAL_TAG "tssd/v1/approval"
#define TSS_APPROVAL_TAG_LEN 16
#define TSS_APPROVAL_VERSION 1
#define TSS_APPROVAL_NONCE_LEN 16
#define TSS_APPROVAL_HASH_LEN 32
#define TSS_APPROVAL_SIG_LEN 64
#define TSS_APPROVAL_KEY_ID_MAX 64
#define TSS_APPROVER_NAME_MAX 64
#define TSS_APPROVAL_MAX 16 /* approvals carried with one request */
#define TSS_APPROVAL_STATEMENT_MAX                                                          \
    (TSS_APPROVAL_TAG_LEN + 1 + 1 + TSS_APPROVAL_KEY_ID_MAX + TSS_APPROVAL_HASH_LEN + 8 +   \
     TSS_APPROVAL_NONCE_LEN + 1 + TSS_APPROVER_NAME_MAX)
#define TSS_APPROVAL_BLOB_MAX (TSS_APPROVAL_STATEMENT_MAX + TSS_APPROVAL_SIG_LEN)
#define TSS_APPROVAL_LIST_MAX (1 + TSS_APPROVAL_MAX * (2 + TSS_APPROVAL_BLOB_MAX))
/* Defaults of the party config's approvals.clock_skew / approvals.max_lifetime. */
#define TSS_APPROVAL_DEFAULT_SKEW 300u
#define TSS_APPROVAL_DEFAULT_LIFETIME 86400u
#define TSS_APPROVAL_MAX_LIFETIME_CAP (30u * 86400u)

typedef struct {
    char key_id[TSS_APPROVAL_KEY_ID_MAX + 1];
    uint8_t request_hash[TSS_APPROVAL_HASH_LEN];
    uint64_t expires; /* unix seconds */
    uint8_t nonce[TSS_APPROVAL_NONCE_LEN];
    char approver[TSS_APPROVER_NAME_MAX + 1];
    uint8_t sig[TSS_APPROVAL_SIG_LEN];
} tss_approval;

typedef struct {
    tss_approval v[TSS_APPROVAL_MAX];
    size_t n;
} tss_approval_set;

typedef struct {
    char name[TSS_APPROVER_NAME_MAX + 1];
    uint8_t public_key[32];
} tss_approver_pin;

typedef struct {
    const tss_approver_pin *v;
    size_t n;
} tss_approver_pins;

/* 1..64 characters of [A-Za-z0-9._-] (approver names and key ids). */
bool tss_approval_name_valid(const char *s, size_t len);

/* The statement bytes of a (the signature is not part of it). */
TSS_MUST_CHECK tss_result tss_approval_statement(const tss_approval *a, tss_writer *w);
/* Fill a->sig by signing its statement with an Ed25519 secret key (libsodium
 * 64-byte form: seed | public key). */
TSS_MUST_CHECK tss_result tss_approval_sign(tss_approval *a, const uint8_t sk[64]);
/* One approval (statement | signature), and its parser: every field checked,
 * no trailing byte. Pure; fuzzed. */
TSS_MUST_CHECK tss_result tss_approval_encode(const tss_approval *a, tss_writer *w);
TSS_MUST_CHECK tss_result tss_approval_decode(const uint8_t *p, size_t len, tss_approval *out);
/* The wire list. */
TSS_MUST_CHECK tss_result tss_approval_list_encode(const tss_approval_set *s, tss_writer *w);
TSS_MUST_CHECK tss_result tss_approval_list_decode(const uint8_t *p, size_t len,
                                                   tss_approval_set *out);

typedef struct {
    uint32_t m;                     /* distinct approvers required (>= 1) */
    const char *const *allowed;     /* the rule's approver names; NULL: any pinned */
    size_t n_allowed;
    uint64_t now;                   /* wall clock, unix seconds */
    uint32_t skew;                  /* clock skew tolerated, seconds */
    uint32_t max_lifetime;          /* expires may be at most now + this (+ skew) */
} tss_approval_policy;

/* What a successful verification counted: the nonce entries to record. */
typedef struct {
    tss_approval_nonce_entry e[TSS_APPROVAL_MAX];
    const tss_approver_pin *who[TSS_APPROVAL_MAX];
    size_t n;
    uint64_t now;  /* pol->now */
    uint32_t skew; /* pol->skew */
} tss_approval_tally;

/* Count the distinct pinned approvers (allowed by the rule) whose approval
 * is for exactly key_id and request_hash, carries a valid signature by the
 * pinned key under the pinned name, has not expired, and whose nonce the
 * store has not seen. An approval failing any of these is not counted (and
 * named in report); an approver counted once is not counted again. Unknown
 * approvers are ignored, not fatal (a relay can always add junk; what counts
 * is the number of good ones). Time is max(now, the store's high-water
 * mark), so a clock stepped back revives nothing.
 *
 * Fewer than m: TSS_E_PROTOCOL "approvals: 1 of 2 required (...)". Else ok,
 * with the counted nonces in *tally; nothing is recorded yet. report (may be
 * NULL) gets a one-line summary either way. */
TSS_MUST_CHECK tss_result tss_approval_verify_set(
    const tss_approval_set *set, const char *key_id,
    const uint8_t request_hash[TSS_APPROVAL_HASH_LEN], const tss_approver_pins *pins,
    const tss_approval_policy *pol, const tss_approval_nonce_store *store,
    tss_approval_tally *tally, char *report, size_t report_cap);
/* The same on the wire list (tss_approval_list_decode first; a list that
 * does not decode is TSS_E_PROTOCOL naming what is wrong). */
TSS_MUST_CHECK tss_result tss_approval_verify(const uint8_t *list, size_t len,
                                              const char *key_id,
                                              const uint8_t request_hash[TSS_APPROVAL_HASH_LEN],
                                              const tss_approver_pins *pins,
                                              const tss_approval_policy *pol,
                                              const tss_approval_nonce_store *store,
                                              tss_approval_tally *tally, char *report,
                                              size_t report_cap);
/* Record the tally's nonces durably (written and fsynced) before the party
 * contributes. A nonce recorded meanwhile (a concurrent request with the
 * same approval) is TSS_E_PROTOCOL; a failed write TSS_E_IO (the nonces
 * stay refused in memory). Either way the party must not contribute. */
TSS_MUST_CHECK tss_result tss_approval_commit(tss_approval_nonce_store *store,
                                              const tss_approval_tally *tally);
/* verify_set then commit. */
TSS_MUST_CHECK tss_result tss_approval_check(const tss_approval_set *set, const char *key_id,
                                             const uint8_t request_hash[TSS_APPROVAL_HASH_LEN],
                                             const tss_approver_pins *pins,
                                             const tss_approval_policy *pol,
                                             tss_approval_nonce_store *store, char *report,
                                             size_t report_cap);

/* The nonce store id of an approval: BLAKE2b-256(key = "tssd/v1/approval-nonce",
 * approver public key | nonce). */
void tss_approval_nonce_id(uint8_t out[TSS_APPROVAL_NONCE_ID_LEN], const uint8_t pk[32],
                           const uint8_t nonce[TSS_APPROVAL_NONCE_LEN]);

#endif
