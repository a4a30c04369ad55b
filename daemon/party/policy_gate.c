/* The party's signing-policy decision point (issue 16; docs/OPERATIONS.md
 * "Signing policy"). Runs for every SIGN and SIGN_PRESIG SESSION_START before
 * the session id is claimed, a presignature taken or any message sent, so a
 * refused request consumes nothing. The event loop is single-threaded and
 * evaluate + charge run without yielding, so concurrent requests racing a
 * window limit are charged one after the other. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon/audit.h"
#include "daemon/party/party.h"
#include "policy/policy.h"
#include "policy/request.h"
#include "policy/velocity.h"
#include "util/hex.h"
#include "util/log.h"

#define LOG_DIR "policy-log"

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#ifdef TSS_POLICY_TEST_CLOCK
/* Test builds only (tests/integration/policy.sh compiles its own tss-party
 * with -DTSS_POLICY_TEST_CLOCK; no production binary has this): the wall
 * clock is shifted by the signed milliseconds in the file named by
 * $TSS_TEST_WALL_OFFSET_FILE, re-read at every use, to step it back and
 * forward under a running party. */
static int64_t test_wall_offset(void) {
    const char *f = getenv("TSS_TEST_WALL_OFFSET_FILE");
    FILE *fp = f ? fopen(f, "r") : NULL;
    long long off = 0;
    if (fp) {
        if (fscanf(fp, "%lld", &off) != 1) off = 0;
        fclose(fp);
    }
    return (int64_t)off;
}
#else
static int64_t test_wall_offset(void) { return 0; }
#endif

static uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + test_wall_offset());
}

static tss_result load(const char *path, tss_policy **out) {
    tss_policy *p = calloc(1, sizeof *p);
    TSS_ENSURE(p, TSS_E_NOMEM, "no memory for the policy");
    tss_result r = tss_policy_load_file(p, path);
    if (!tss_is_ok(r)) {
        free(p);
        return r;
    }
    *out = p;
    return TSS_OK_RESULT;
}

static void drop(tss_policy *p) {
    if (!p) return;
    tss_policy_free(p);
    free(p);
}

tss_result party_policy_check(const party *pt) {
    if (!pt->cfg.policy_file) return TSS_OK_RESULT;
    tss_policy *p = NULL;
    TSS_GUARD(load(pt->cfg.policy_file, &p));
    tss_result r = party_approvals_check_policy(p, &pt->cfg.approvals);
    drop(p);
    return r;
}

tss_result party_policy_open(party *pt) {
    if (!pt->cfg.policy_file) {
        tss_log(LOG_NOTICE, "policy: none configured (policy_file): every request for a key this "
                "party holds is signed");
        return TSS_OK_RESULT;
    }
    TSS_GUARD(load(pt->cfg.policy_file, &pt->policy));
    TSS_GUARD(party_approvals_check_policy(pt->policy, &pt->cfg.approvals));
    TSS_GUARD(party_approvals_open(pt));
    TSS_GUARD(tss_velocity_open(&pt->velocity, pt->cfg.state_dir, wall_ms(), mono_ms()));
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", pt->cfg.state_dir, LOG_DIR);
    TSS_ENSURE(mkdir(dir, 0700) == 0 || errno == EEXIST, TSS_E_IO, "%s: %s", dir, strerror(errno));
    tss_audit_options opt = {.rotate_size = 64u * 1024 * 1024, .rotate_age_ms = 0};
    TSS_GUARD(tss_audit_open(&pt->policy_log, dir, &opt, (int64_t)wall_ms()));
    tss_log(LOG_NOTICE, "policy: %s in force (%zu rules), decisions logged in %s",
            pt->cfg.policy_file, pt->policy->rule_count, dir);
    return TSS_OK_RESULT;
}

void party_policy_reload(party *pt) {
    if (!pt->cfg.policy_file) return;
    tss_policy *p = NULL;
    tss_result r = load(pt->cfg.policy_file, &p);
    if (!tss_is_ok(r)) {
        tss_log(LOG_ERR, "reload: policy %s NOT reloaded, the previous policy stays in force: %s",
                pt->cfg.policy_file, tss_error_detail());
        return;
    }
    /* The approver pins (approvals: in the party config) are re-read too,
     * validated with the new policy, and swapped together with it. */
    tss_party_config fresh;
    memset(&fresh, 0, sizeof fresh);
    r = tss_config_party_load_file(&fresh, pt->config_path);
    if (tss_is_ok(r)) r = party_approvals_check_policy(p, &fresh.approvals);
    if (tss_is_ok(r)) r = party_approvals_reload(pt, &fresh.approvals);
    tss_config_party_free(&fresh);
    if (!tss_is_ok(r)) {
        tss_log(LOG_ERR, "reload: policy %s and approvers NOT reloaded, the previous ones stay in "
                "force: %s", pt->cfg.policy_file, tss_error_detail());
        drop(p);
        return;
    }
    drop(pt->policy);
    pt->policy = p;
    tss_log(LOG_NOTICE, "reload: policy %s now in force (%zu rules)", pt->cfg.policy_file,
            p->rule_count);
}

void party_policy_close(party *pt) {
    drop(pt->policy);
    pt->policy = NULL;
    tss_velocity_close(pt->velocity);
    pt->velocity = NULL;
    tss_audit_close(pt->policy_log);
    pt->policy_log = NULL;
    party_approvals_close(pt);
}

static void json_safe(char *out, size_t cap, const char *in) {
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < cap; i++)
        out[j++] = (in[i] == '"' || in[i] == '\\' || (unsigned char)in[i] < 0x20) ? '\'' : in[i];
    out[j] = '\0';
}

/* One durable record per decision, written before the session goes on. */
static tss_result log_decision(party *pt, const tss_wire_session_start *st, const char *sid_hex,
                               const tss_req_view *v, const tss_policy_decision *d) {
    char digest[65], path[TSS_BIP32_PATH_TEXT_MAX], reason[TSS_POLICY_REASON_MAX], body[2048];
    tss_hex_encode(digest, v->digest, 32);
    tss_bip32_path_format(path, sizeof path, &st->path);
    json_safe(reason, sizeof reason, d->reason);
    int n = snprintf(body, sizeof body,
                     "{\"time_ms\":%llu,\"session\":\"%s\",\"key\":\"%s\",\"path\":\"%s\","
                     "\"type\":\"%s\",\"digest\":\"%s\",\"decision\":\"%s\",\"rule\":\"%s\","
                     "\"reason\":\"%.900s\"}",
                     (unsigned long long)wall_ms(), sid_hex, st->key_id, path,
                     tss_req_type_name(v->type), digest, d->allow ? "allow" : "refuse",
                     d->rule_name, reason);
    if (n < 0 || (size_t)n >= sizeof body) n = (int)strlen(body);
    TSS_GUARD(tss_audit_append(pt->policy_log, body, (size_t)n, true));
    return tss_audit_flush(pt->policy_log, true, (int64_t)wall_ms());
}

tss_result party_policy_gate(party *pt, const tss_wire_session_start *st, const char *sid_hex) {
    if (st->kind != TSS_WIRE_KIND_SIGN && st->kind != TSS_WIRE_KIND_SIGN_PRESIG)
        return TSS_OK_RESULT;
    tss_request req;
    if (st->request_len) {
        TSS_GUARD(tss_request_decode(&req, st->request, st->request_len));
    } else {
        req = (tss_request){TSS_REQ_RAW, st->digest, TSS_WIRE_DIGEST_LEN};
    }
    tss_req_view v;
    TSS_GUARD(tss_request_evaluate(&req, &v));
    /* The digest signed is the one computed here; the coordinator's copy
     * (which the session context also binds) must agree. */
    TSS_ENSURE(memcmp(v.digest, st->digest, TSS_WIRE_DIGEST_LEN) == 0, TSS_E_INVALID,
               "the digest in SESSION_START is not the digest of the request content (the "
               "coordinator altered one of them)");
    if (!pt->policy) return TSS_OK_RESULT;
    uint8_t rh[32];
    tss_request_hash(st->key_id, &st->path, &req, rh);
    uint64_t now = tss_velocity_now(pt->velocity, mono_ms());
    tss_policy_windows windows = {pt->velocity, tss_velocity_sum};
    /* Approvals (policy/approval.h) are verified by the rule that needs them
     * and their nonces recorded only once the request is allowed. */
    party_approval_ctx actx = {.pt = pt, .st = st};
    tss_policy_approver approver = party_approvals_verifier(&actx);
    tss_policy_input in = {st->key_id, &v, rh, now, &windows, &approver};
    tss_policy_decision d;
    tss_policy_evaluate(pt->policy, &in, &d);
    if (d.allow && actx.counted) {
        tss_result ar = party_approvals_commit(&actx);
        if (ar.err == TSS_E_PROTOCOL) {
            /* Recorded meanwhile: a replay racing this request. */
            d.allow = false;
            d.charge = false;
            snprintf(d.reason, sizeof d.reason, "rule %s: approvals: %s", d.rule_name,
                     tss_error_detail());
        } else {
            TSS_GUARD(ar);
        }
    }
    if (d.allow && d.charge)
        TSS_GUARD(tss_velocity_charge(pt->velocity, d.rule_name, st->key_id, now, d.value));
    tss_result lr = log_decision(pt, st, sid_hex, &v, &d);
    tss_log(d.allow ? LOG_INFO : LOG_WARNING, "session=%s key=%s policy: %s %s: %s", sid_hex,
            st->key_id, tss_req_type_name(v.type), d.allow ? "allowed" : "REFUSED", d.reason);
    /* An allowed request is signed only once its decision is on disk. */
    if (d.allow) return lr;
    if (!tss_is_ok(lr))
        tss_log(LOG_ERR, "policy decision log: %s (the refusal stands)", tss_error_detail());
    return tss_fail(TSS_E_PERMISSION, "policy: %s", d.reason);
}
