/* The party's signing policy (issue 16; docs/OPERATIONS.md "Signing policy").
 *
 * A policy file (YAML through config/schema.h, errors as file:line:col) holds
 * key groups and an ordered list of rules. A rule matches a request when
 * every condition it states holds: key (id or group), request type, chain id,
 * `to` allow/deny lists, method selectors, value per transaction, value and
 * count over a rolling window, EIP-712 domain, time of day, approvals. The
 * first matching rule decides (action allow or deny); no match refuses, and
 * the refusal names each rule with the first condition it failed. A rule
 * that does not list `types` does not match a raw digest: a key under a
 * policy signs raw digests only where a rule says `types: [raw]`.
 *
 * Evaluation is pure (no clock, no files): the caller passes the time, the
 * window sums (policy/velocity.h) and an approvals verifier. */
#ifndef TSS_POLICY_POLICY_H
#define TSS_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpc/bip32.h"
#include "policy/request.h"
#include "util/result.h"

#define TSS_POLICY_NAME_MAX 64      /* rule, group and approver names */
#define TSS_POLICY_MAX_RULES 256
#define TSS_POLICY_REASON_MAX 1024

typedef struct { uint8_t b[20]; } tss_policy_addr;
typedef struct {
    bool set;
    uint8_t b[20];
} tss_policy_opt_addr;
typedef struct {
    bool set;
    uint8_t b[32]; /* uint256 big-endian (wei) */
} tss_policy_u256;
typedef struct {
    bool none; /* "none": a transaction without call data */
    uint8_t b[4];
} tss_policy_selector;
typedef struct {
    bool set;
    uint16_t start_min, end_min; /* minutes after 00:00 UTC; start > end wraps midnight */
} tss_policy_hours;

typedef struct {
    char *name;                  /* NULL: any */
    int64_t chain_id;            /* 0: any */
    tss_policy_opt_addr verifying_contract; /* unset: any */
} tss_policy_domain;

typedef struct {
    int64_t m;        /* approvals needed, 1..16; 0: none (the section is absent) */
    char **approvers; /* names (pinned in the party config); empty: any pinned approver */
    size_t approver_count;
} tss_policy_approvals;

typedef struct {
    char *name;
    int action; /* TSS_POLICY_ALLOW / TSS_POLICY_DENY */
    char **keys; /* key ids, group names, or "*" */
    size_t key_count;
    uint8_t *types; /* tss_req_type values; empty: eip191, tx, eip712 (never raw) */
    size_t type_count;
    int64_t *chain_ids;
    size_t chain_id_count;
    tss_policy_addr *to_allow;
    size_t to_allow_count;
    tss_policy_addr *to_deny;
    size_t to_deny_count;
    tss_policy_selector *selectors;
    size_t selector_count;
    tss_policy_u256 max_value; /* per transaction, wei */
    uint64_t window_ms;        /* 0: no window limits */
    tss_policy_u256 window_max_value;
    int64_t window_max_count; /* 0: no count limit */
    tss_policy_domain *domains;
    size_t domain_count;
    tss_policy_hours hours;
    tss_policy_approvals approvals;
} tss_policy_rule;

typedef struct {
    char *name;
    char **ids;
    size_t id_count;
} tss_policy_group;

enum { TSS_POLICY_ALLOW = 1, TSS_POLICY_DENY = 2 };

typedef struct tss_policy {
    int64_t version; /* 1 */
    tss_policy_group *groups;
    size_t group_count;
    tss_policy_rule *rules;
    size_t rule_count;
} tss_policy;

struct tss_config_item;
extern const struct tss_config_item tss_policy_schema; /* for the config reference */

/* Load and validate (names unique, groups referenced exist, window limits
 * with a window, ...). On failure *out is zeroed and the detail is
 * "file:line:col: key.path: message". */
TSS_MUST_CHECK tss_result tss_policy_load_file(tss_policy *out, const char *path);
TSS_MUST_CHECK tss_result tss_policy_load_buffer(tss_policy *out, const char *name,
                                                 const char *buf, size_t len);
void tss_policy_free(tss_policy *p);

/* Window totals the caller keeps (policy/velocity.h). */
typedef struct {
    void *ctx;
    /* Sum of value and count charged to (rule, key) at times >= since_ms. */
    void (*sum)(void *ctx, const char *rule, const char *key_id, uint64_t since_ms,
                uint8_t value[32], uint64_t *count);
} tss_policy_windows;

/* Approvals verifier (approvals helper's module, adapted by the caller):
 * true when at least m distinct approvers among names (none given: any
 * pinned approver) approved request_hash; else false with why filled. */
typedef struct {
    void *ctx;
    bool (*check)(void *ctx, const uint8_t request_hash[32], const char *const *names,
                  size_t n_names, uint32_t m, char *why, size_t why_cap);
} tss_policy_approver;

typedef struct {
    const char *key_id;
    const tss_req_view *view;
    const uint8_t *request_hash; /* 32 bytes (tss_request_hash) */
    uint64_t now_ms;             /* Unix ms, the party's effective clock */
    const tss_policy_windows *windows; /* NULL: windows are empty */
    const tss_policy_approver *approver; /* NULL: a rule needing approvals never matches */
} tss_policy_input;

typedef struct {
    bool allow;
    int rule;                  /* index of the deciding rule, -1 if none matched */
    char rule_name[TSS_POLICY_NAME_MAX + 1]; /* "" if none */
    /* allow: what to charge to the window of (rule_name, key) */
    bool charge;
    uint8_t value[32];
    /* Refused: per rule, the first condition it failed; allowed: a summary. */
    char reason[TSS_POLICY_REASON_MAX];
} tss_policy_decision;

/* True if any rule can apply to key_id (a policy governs that key). */
bool tss_policy_covers_key(const tss_policy *p, const char *key_id);

void tss_policy_evaluate(const tss_policy *p, const tss_policy_input *in,
                         tss_policy_decision *out);

#endif
