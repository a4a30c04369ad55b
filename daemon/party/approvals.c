/* The party's approvals (issue 16; docs/OPERATIONS.md "Approvals"): the
 * pinned approvers (party config `approvals:`), the durable nonce record,
 * and the verifier the policy engine calls for rules that need approvals
 * (policy/approval.h). The nonces counted are recorded only when the
 * request is allowed, before anything of the session is used or sent. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/party/party.h"
#include "policy/approval.h"
#include "policy/approval_nonce.h"
#include "policy/policy.h"
#include "util/log.h"
#include "util/secmem.h"

_Static_assert(sizeof(tss_config_approver) == sizeof(tss_approver_pin) &&
                   offsetof(tss_config_approver, public_key) ==
                       offsetof(tss_approver_pin, public_key),
               "config approver pins and policy pins share one layout");

static tss_approver_pins pins_of(const tss_party_approvals_config *a) {
    return (tss_approver_pins){(const tss_approver_pin *)a->approvers, a->approver_count};
}

static bool pinned(const tss_party_approvals_config *a, const char *name) {
    for (size_t i = 0; i < a->approver_count; i++)
        if (strcmp(a->approvers[i].name, name) == 0) return true;
    return false;
}

tss_result party_approvals_check_policy(const struct tss_policy *p,
                                        const tss_party_approvals_config *a) {
    if (!p) return TSS_OK_RESULT;
    for (size_t i = 0; i < p->rule_count; i++) {
        const tss_policy_rule *r = &p->rules[i];
        if (!r->approvals.m) continue;
        /* A typo in a name would make the rule silently unsatisfiable. */
        for (size_t j = 0; j < r->approvals.approver_count; j++)
            TSS_ENSURE(pinned(a, r->approvals.approvers[j]), TSS_E_CONFIG,
                       "policy rule %s: approver '%s' is not pinned in this party's "
                       "approvals.approvers",
                       r->name, r->approvals.approvers[j]);
        size_t k = r->approvals.approver_count ? r->approvals.approver_count
                                               : a->approver_count;
        TSS_ENSURE((size_t)r->approvals.m <= k, TSS_E_CONFIG,
                   "policy rule %s needs %lld approvals but only %zu approvers can give them "
                   "(approvals.approvers)",
                   r->name, (long long)r->approvals.m, k);
    }
    return TSS_OK_RESULT;
}

tss_result party_approvals_open(party *pt) {
    uint8_t mk[32];
    tss_approval_nonce_mac_key(mk, pt->keys->storage_key);
    tss_result r = tss_approval_nonce_open(&pt->approval_nonces, pt->cfg.state_dir,
                                           TSS_APPROVAL_NONCE_FILE, mk);
    tss_wipe(mk, sizeof mk);
    TSS_GUARD(r);
    tss_log(LOG_INFO, "approvals: %zu approver(s) pinned, %zu nonce(s) in %s",
            pt->cfg.approvals.approver_count, tss_approval_nonce_count(pt->approval_nonces),
            tss_approval_nonce_path(pt->approval_nonces));
    return TSS_OK_RESULT;
}

void party_approvals_close(party *pt) {
    tss_approval_nonce_close(pt->approval_nonces);
    pt->approval_nonces = NULL;
}

tss_result party_approvals_reload(party *pt, tss_party_approvals_config *fresh) {
    TSS_GUARD(party_approvals_check_policy(pt->policy, fresh));
    tss_party_approvals_config old = pt->cfg.approvals;
    pt->cfg.approvals = *fresh;
    *fresh = old; /* the caller frees the old pins with the rest of its copy */
    tss_log(LOG_NOTICE, "reload: %zu approver(s) pinned now", pt->cfg.approvals.approver_count);
    return TSS_OK_RESULT;
}

/* tss_policy_approver.check: verify the request's approvals; keep the tally
 * of the last successful check (the approvals condition is a rule's last, so
 * that is the deciding rule's). */
static bool verify(void *vctx, const uint8_t request_hash[32], const char *const *names,
                   size_t n_names, uint32_t m, char *why, size_t why_cap) {
    party_approval_ctx *c = vctx;
    party *pt = c->pt;
    if (!pt->approval_nonces) {
        snprintf(why, why_cap, "approval nonce record not open");
        return false;
    }
    tss_approval_policy pol = {
        .m = m,
        .allowed = n_names ? names : NULL,
        .n_allowed = n_names,
        .now = (uint64_t)time(NULL),
        .skew = (uint32_t)(pt->cfg.approvals.clock_skew / 1000),
        .max_lifetime = (uint32_t)(pt->cfg.approvals.max_lifetime / 1000),
    };
    tss_approver_pins pins = pins_of(&pt->cfg.approvals);
    tss_approval_tally tally;
    char report[400];
    tss_result r;
    if (c->st->approvals_len == 0) {
        tss_approval_set none = {.n = 0};
        r = tss_approval_verify_set(&none, c->st->key_id, request_hash, &pins, &pol,
                                    pt->approval_nonces, &tally, report, sizeof report);
    } else {
        r = tss_approval_verify(c->st->approvals, c->st->approvals_len, c->st->key_id,
                                request_hash, &pins, &pol, pt->approval_nonces, &tally, report,
                                sizeof report);
    }
    if (!tss_is_ok(r)) {
        /* "approvals: 1 of 2 required (...)": the policy adds its own prefix. */
        const char *d = tss_error_detail();
        snprintf(why, why_cap, "%s", strncmp(d, "approvals: ", 11) == 0 ? d + 11 : d);
        return false;
    }
    c->tally = tally;
    c->counted = true;
    snprintf(c->report, sizeof c->report, "%s", report);
    return true;
}

tss_policy_approver party_approvals_verifier(party_approval_ctx *c) {
    return (tss_policy_approver){c, verify};
}

tss_result party_approvals_commit(party_approval_ctx *c) {
    if (!c->counted) return TSS_OK_RESULT;
    tss_result r = tss_approval_commit(c->pt->approval_nonces, &c->tally);
    if (!tss_is_ok(r)) return r;
    tss_log(LOG_INFO, "key=%s approvals: %s; nonces recorded", c->st->key_id, c->report);
    return TSS_OK_RESULT;
}
