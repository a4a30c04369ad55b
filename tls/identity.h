/* tssd identities: the SAN URI of a certificate names exactly one of
 *   urn:tssd:coordinator
 *   urn:tssd:party:<id>        id 1..32, decimal, no leading zeros
 *   urn:tssd:operator:<name>   name [a-z0-9._-]{1,64}
 *   urn:tssd:client:<name>     an application of tss-gateway, same name rules
 * and a policy (allow-list) says which of them a daemon talks to. */
#ifndef TSS_TLS_IDENTITY_H
#define TSS_TLS_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

#define TSS_TLS_MAX_PARTY_ID 32
#define TSS_TLS_OPERATOR_NAME_MAX 64
#define TSS_TLS_MAX_OPERATORS 64
/* Longest canonical URN plus NUL: "urn:tssd:operator:" + 64 + 1. */
#define TSS_TLS_URN_MAX 84

typedef enum {
    TSS_TLS_ROLE_NONE = 0,
    TSS_TLS_ROLE_COORDINATOR,
    TSS_TLS_ROLE_PARTY,
    TSS_TLS_ROLE_OPERATOR,
    TSS_TLS_ROLE_CLIENT,
} tss_tls_role;

typedef struct {
    tss_tls_role role;
    unsigned party_id;                                 /* role PARTY only */
    char operator_name[TSS_TLS_OPERATOR_NAME_MAX + 1]; /* role OPERATOR or CLIENT: the name */
} tss_tls_identity;

/* Who a daemon accepts as peer. Plain data, copied by value into a context. */
typedef struct {
    bool coordinator;
    uint64_t parties; /* bit i set: party i (1..32) accepted */
    size_t n_operators;
    char operators[TSS_TLS_MAX_OPERATORS][TSS_TLS_OPERATOR_NAME_MAX + 1];
    /* Any well-formed client identity (tss-gateway): which names exist is
     * the gateway's own table, applied through tss_tls_config.check. */
    bool clients;
} tss_tls_policy;

/* Parse a URN of exactly len bytes (no NUL needed; an embedded NUL is an error). */
TSS_MUST_CHECK tss_result tss_tls_identity_parse(const char *urn, size_t len,
                                                 tss_tls_identity *out);
/* Canonical URN text; cap >= TSS_TLS_URN_MAX always suffices. */
void tss_tls_identity_format(const tss_tls_identity *id, char *out, size_t cap);
bool tss_tls_identity_equal(const tss_tls_identity *a, const tss_tls_identity *b);
const char *tss_tls_role_name(tss_tls_role role);
/* True if text starts with "urn:tssd:" (case-insensitive, as URN NIDs are):
 * such a URI claims to be a tssd identity and must then parse. */
bool tss_tls_urn_is_tssd(const char *urn, size_t len);

/* The identity carried by a DER certificate: exactly one tssd URN among the
 * SAN URIs, well formed. Other URIs and other SAN types are ignored. */
TSS_MUST_CHECK tss_result tss_tls_identity_from_der(const uint8_t *der, size_t len,
                                                    tss_tls_identity *out);

void tss_tls_policy_init(tss_tls_policy *p);
TSS_MUST_CHECK tss_result tss_tls_policy_allow_party(tss_tls_policy *p, unsigned id);
TSS_MUST_CHECK tss_result tss_tls_policy_allow_operator(tss_tls_policy *p, const char *name);
/* Accept or refuse a peer; the failure detail is the reason to log, e.g.
 * "peer presented urn:tssd:party:7 which is not configured". */
TSS_MUST_CHECK tss_result tss_tls_policy_check(const tss_tls_policy *p,
                                               const tss_tls_identity *peer);

#endif
