/* Request content: what a party is asked to sign, in full (issue 16).
 *
 * A party never signs a digest the coordinator hands it beside the content:
 * it decodes the content through the bounded reader and computes the digest
 * itself with eth/ (docs/PROTOCOL.md "Request content"). The parsed view
 * below is what the policy engine (policy/policy.h) evaluates.
 *
 * Encoding: u8 version (1) | u8 type | var body (u32 length, then bytes).
 *   0 raw digest: exactly 32 bytes
 *   1 EIP-191 personal message: 1..65536 bytes of message
 *   2 transaction: the canonical unsigned serialisation (eth/tx.h)
 *   3 EIP-712 typed data: the JSON text (1..TSS_REQ_MAX_BODY bytes) */
#ifndef TSS_POLICY_REQUEST_H
#define TSS_POLICY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpc/bip32.h"
#include "util/bytes.h"
#include "util/result.h"

#define TSS_REQ_VERSION 1
#define TSS_REQ_MAX_BODY (256u * 1024)
#define TSS_REQ_MAX_EIP191 (64u * 1024)
#define TSS_REQ_MAX_ENCODED (TSS_REQ_MAX_BODY + 6)

typedef enum {
    TSS_REQ_RAW = 0,
    TSS_REQ_EIP191 = 1,
    TSS_REQ_TX = 2,
    TSS_REQ_EIP712 = 3,
} tss_req_type;
#define TSS_REQ_TYPE_COUNT 4

/* Borrowed view of encoded content. */
typedef struct {
    uint8_t type; /* tss_req_type */
    const uint8_t *body;
    size_t body_len;
} tss_request;

/* "raw", "eip191", "tx", "eip712" or NULL. */
const char *tss_req_type_name(unsigned type);
/* Parse a type name (as above); false if unknown. */
bool tss_req_type_parse(const char *name, unsigned *out);

/* What the policy sees, computed by the party from the content alone. */
typedef struct {
    uint8_t type;
    uint8_t digest[32];     /* what gets signed */
    bool has_chain_id;      /* tx always; eip712 when the domain has chainId */
    uint8_t chain_id[32];   /* uint256 big-endian */
    /* tx */
    uint8_t tx_type;        /* 0..4 */
    bool has_to;            /* false: contract creation */
    uint8_t to[20];
    uint8_t value[32];      /* uint256 big-endian, wei */
    bool has_selector;      /* data is at least 4 bytes */
    uint8_t selector[4];
    size_t data_len;
    /* eip712 domain */
    bool has_name;
    char name[97];          /* raw UTF-8 (truncated at 96 bytes: then has_name is false) */
    bool has_verifying_contract;
    uint8_t verifying_contract[20];
} tss_req_view;

/* Append the encoding of req (checked as by tss_request_decode). */
TSS_MUST_CHECK tss_result tss_request_encode(tss_writer *w, const tss_request *req);
/* Read one encoded request from rd (borrowing from its buffer); the caller
 * finishes the reader. Checks the version, the type and the body length. */
TSS_MUST_CHECK tss_result tss_request_read(tss_reader *rd, tss_request *out);
/* Exactly one encoded request in p[0..n). */
TSS_MUST_CHECK tss_result tss_request_decode(tss_request *out, const uint8_t *p, size_t n);

/* Parse the body and compute the digest (strict: a body that does not parse
 * is refused, with the reason). */
TSS_MUST_CHECK tss_result tss_request_evaluate(const tss_request *req, tss_req_view *out);

/* BLAKE2b-256(key = ASCII "tssd/v1/sign-request", u8 len | key id | u8 depth |
 * depth x u32 index | encoding of req): what approvals sign and what the
 * session context binds. */
void tss_request_hash(const char *key_id, const tss_bip32_path *path, const tss_request *req,
                      uint8_t out[32]);

#endif
