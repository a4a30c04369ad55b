/* Policy file schema and evaluation (policy/policy.h). */
#include "policy/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/schema.h"
#include "eth/address.h"
#include "eth/u256.h"
#include "util/hex.h"

#define ISSUE(issue, ...) (snprintf((issue)->msg, sizeof (issue)->msg, __VA_ARGS__), false)
#define DAY_MS 86400000ull

/* ---- scalar parsers ------------------------------------------------------------------ */

static bool parse_type(const char *text, void *field, char *err, size_t cap) {
    unsigned t;
    if (!tss_req_type_parse(text, &t)) {
        snprintf(err, cap, "unknown request type '%.32s' (raw, eip191, tx, eip712)", text);
        return false;
    }
    *(uint8_t *)field = (uint8_t)t;
    return true;
}

static bool parse_address(const char *text, uint8_t out[20], char *err, size_t cap) {
    if (!tss_is_ok(tss_eth_address_parse(out, text, NULL))) {
        snprintf(err, cap, "%s", tss_error_detail());
        return false;
    }
    return true;
}

static bool parse_addr(const char *text, void *field, char *err, size_t cap) {
    return parse_address(text, ((tss_policy_addr *)field)->b, err, cap);
}

static bool parse_opt_addr(const char *text, void *field, char *err, size_t cap) {
    tss_policy_opt_addr *a = field;
    a->set = parse_address(text, a->b, err, cap);
    return a->set;
}

static bool parse_u256(const char *text, void *field, char *err, size_t cap) {
    tss_policy_u256 *v = field;
    if (!tss_is_ok(tss_eth_u256_parse(v->b, text, "value"))) {
        snprintf(err, cap, "%s (an amount in wei: decimal or 0x hex)", tss_error_detail());
        return false;
    }
    v->set = true;
    return true;
}

static bool parse_selector(const char *text, void *field, char *err, size_t cap) {
    tss_policy_selector *s = field;
    if (strcmp(text, "none") == 0) {
        s->none = true;
        return true;
    }
    if (strncmp(text, "0x", 2) != 0 || strlen(text) != 10 ||
        !tss_is_ok(tss_hex_decode(s->b, 4, text, "selector"))) {
        snprintf(err, cap, "expected a method selector 0x + 8 hex digits, or none (no call data)");
        return false;
    }
    return true;
}

static bool parse_hhmm(const char *p, uint16_t *out) {
    if (!(p[0] >= '0' && p[0] <= '2' && p[1] >= '0' && p[1] <= '9' && p[2] == ':' &&
          p[3] >= '0' && p[3] <= '5' && p[4] >= '0' && p[4] <= '9'))
        return false;
    unsigned h = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
    unsigned m = (unsigned)(p[3] - '0') * 10 + (unsigned)(p[4] - '0');
    if (h > 24 || (h == 24 && m != 0)) return false;
    *out = (uint16_t)(h * 60 + m);
    return true;
}

static bool parse_hours(const char *text, void *field, char *err, size_t cap) {
    tss_policy_hours *h = field;
    if (strlen(text) != 11 || text[5] != '-' || !parse_hhmm(text, &h->start_min) ||
        !parse_hhmm(text + 6, &h->end_min) || h->start_min == h->end_min) {
        snprintf(err, cap, "expected HH:MM-HH:MM (UTC, start != end; 22:00-06:00 wraps midnight)");
        return false;
    }
    h->set = true;
    return true;
}

/* ---- checks ---------------------------------------------------------------------------- */

static bool valid_name(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

static bool check_name(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const char *s = *(char *const *)value;
    if (!valid_name(s)) return ISSUE(issue, "'%.64s': use letters, digits, '.', '_', '-'", s);
    return true;
}

static bool check_key_ref(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const char *s = *(char *const *)value;
    if (strcmp(s, "*") != 0 && !valid_name(s))
        return ISSUE(issue, "'%.64s' is neither a key id, a group name nor '*'", s);
    return true;
}

static bool check_rule(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const tss_policy_rule *r = value;
    if ((r->window_max_value.set || r->window_max_count) && !r->window_ms) {
        issue->key = "window";
        return ISSUE(issue, "window_max_value and window_max_count need a window (e.g. 24h)");
    }
    if (r->window_ms && !r->window_max_value.set && !r->window_max_count) {
        issue->key = "window";
        return ISSUE(issue, "a window without window_max_value or window_max_count limits nothing");
    }
    if (r->approvals.approver_count && !r->approvals.m) {
        issue->key = "approvals";
        return ISSUE(issue, "approvers listed but m is 0");
    }
    if (r->approvals.approver_count && (size_t)r->approvals.m > r->approvals.approver_count) {
        issue->key = "approvals";
        return ISSUE(issue, "m = %lld exceeds the %zu approvers listed",
                     (long long)r->approvals.m, r->approvals.approver_count);
    }
    return true;
}

static bool check_rules(const void *value, size_t count, tss_config_issue *issue) {
    const tss_policy_rule *r = value;
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(r[i].name, r[j].name) == 0) {
                issue->index = (long)i;
                return ISSUE(issue, "duplicate rule name '%s' (also rules[%zu])", r[i].name, j);
            }
    issue->index = -1;
    return true;
}

static bool check_groups(const void *value, size_t count, tss_config_issue *issue) {
    const tss_policy_group *g = value;
    for (size_t i = 0; i < count; i++) {
        issue->index = (long)i;
        for (size_t j = 0; j < i; j++)
            if (strcmp(g[i].name, g[j].name) == 0)
                return ISSUE(issue, "duplicate group name '%s' (also groups[%zu])", g[i].name, j);
    }
    issue->index = -1;
    return true;
}

/* ---- schema ------------------------------------------------------------------------------ */

static const tss_config_enum actions[] = {{"allow", TSS_POLICY_ALLOW}, {"deny", TSS_POLICY_DENY},
                                          {NULL, 0}};

static const tss_config_item domain_items[] = {
    {.name = "name", .type = TSS_CONFIG_STR, .min = 1, .max = 96,
     .offset = offsetof(tss_policy_domain, name)},
    {.name = "chain_id", .type = TSS_CONFIG_INT, .min = 1, .max = INT64_MAX,
     .offset = offsetof(tss_policy_domain, chain_id)},
    {.name = "verifying_contract", .type = TSS_CONFIG_CUSTOM,
     .offset = offsetof(tss_policy_domain, verifying_contract),
     .size = sizeof(tss_policy_opt_addr), .parse = parse_opt_addr},
    {0},
};

static const tss_config_item approvals_items[] = {
    {.name = "m", .type = TSS_CONFIG_INT, .min = 0, .max = 16, .def = "0",
     .offset = offsetof(tss_policy_approvals, m)},
    {.name = "approvers", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_LIST, .min = 1,
     .max = TSS_POLICY_NAME_MAX, .offset = offsetof(tss_policy_approvals, approvers),
     .count_offset = offsetof(tss_policy_approvals, approver_count), .max_count = 64,
     .check = check_name},
    {0},
};

#define RULE_LIST(nm, typ, field, cnt, maxc, ...)                                             \
    {.name = nm, .type = typ, .flags = TSS_CONFIG_LIST, .offset = offsetof(tss_policy_rule, field), \
     .count_offset = offsetof(tss_policy_rule, cnt), .max_count = maxc, __VA_ARGS__}

static const tss_config_item rule_items[] = {
    {.name = "name", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_REQUIRED, .min = 1,
     .max = TSS_POLICY_NAME_MAX, .offset = offsetof(tss_policy_rule, name), .check = check_name},
    {.name = "action", .type = TSS_CONFIG_ENUM, .enums = actions, .def = "allow",
     .offset = offsetof(tss_policy_rule, action)},
    {.name = "keys", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_LIST | TSS_CONFIG_REQUIRED,
     .min = 1, .max = TSS_POLICY_NAME_MAX, .offset = offsetof(tss_policy_rule, keys),
     .count_offset = offsetof(tss_policy_rule, key_count), .min_count = 1, .max_count = 256,
     .check = check_key_ref},
    RULE_LIST("types", TSS_CONFIG_CUSTOM, types, type_count, 4, .size = 1, .parse = parse_type,
              .min_count = 1),
    RULE_LIST("chain_ids", TSS_CONFIG_INT, chain_ids, chain_id_count, 64, .min = 1,
              .max = INT64_MAX, .min_count = 1),
    RULE_LIST("to_allow", TSS_CONFIG_CUSTOM, to_allow, to_allow_count, 1024,
              .size = sizeof(tss_policy_addr), .parse = parse_addr, .min_count = 1),
    RULE_LIST("to_deny", TSS_CONFIG_CUSTOM, to_deny, to_deny_count, 1024,
              .size = sizeof(tss_policy_addr), .parse = parse_addr, .min_count = 1),
    RULE_LIST("selectors", TSS_CONFIG_CUSTOM, selectors, selector_count, 256,
              .size = sizeof(tss_policy_selector), .parse = parse_selector, .min_count = 1),
    {.name = "max_value", .type = TSS_CONFIG_CUSTOM, .offset = offsetof(tss_policy_rule, max_value),
     .size = sizeof(tss_policy_u256), .parse = parse_u256},
    {.name = "window", .type = TSS_CONFIG_DURATION, .min = 60000, .max = 31 * (int64_t)DAY_MS,
     .offset = offsetof(tss_policy_rule, window_ms)},
    {.name = "window_max_value", .type = TSS_CONFIG_CUSTOM,
     .offset = offsetof(tss_policy_rule, window_max_value), .size = sizeof(tss_policy_u256),
     .parse = parse_u256},
    {.name = "window_max_count", .type = TSS_CONFIG_INT, .min = 1, .max = 100000,
     .offset = offsetof(tss_policy_rule, window_max_count)},
    RULE_LIST("eip712_domains", TSS_CONFIG_SECTION, domains, domain_count, 256,
              .sub = domain_items, .size = sizeof(tss_policy_domain), .min_count = 1),
    {.name = "hours", .type = TSS_CONFIG_CUSTOM, .offset = offsetof(tss_policy_rule, hours),
     .size = sizeof(tss_policy_hours), .parse = parse_hours},
    {.name = "approvals", .type = TSS_CONFIG_SECTION, .offset = offsetof(tss_policy_rule, approvals),
     .sub = approvals_items, .size = sizeof(tss_policy_approvals)},
    {0},
};

static const tss_config_item group_items[] = {
    {.name = "name", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_REQUIRED, .min = 1,
     .max = TSS_POLICY_NAME_MAX, .offset = offsetof(tss_policy_group, name), .check = check_name},
    {.name = "ids", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_LIST | TSS_CONFIG_REQUIRED,
     .min = 1, .max = TSS_POLICY_NAME_MAX, .offset = offsetof(tss_policy_group, ids),
     .count_offset = offsetof(tss_policy_group, id_count), .min_count = 1, .max_count = 1024,
     .check = check_name},
    {0},
};

static const tss_config_item policy_items[] = {
    {.name = "version", .type = TSS_CONFIG_INT, .flags = TSS_CONFIG_REQUIRED, .min = 1, .max = 1,
     .offset = offsetof(tss_policy, version)},
    {.name = "groups", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_LIST,
     .offset = offsetof(tss_policy, groups), .sub = group_items, .size = sizeof(tss_policy_group),
     .count_offset = offsetof(tss_policy, group_count), .max_count = 256,
     .check_list = check_groups},
    {.name = "rules", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_LIST | TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_policy, rules), .sub = rule_items, .size = sizeof(tss_policy_rule),
     .count_offset = offsetof(tss_policy, rule_count), .min_count = 1,
     .max_count = TSS_POLICY_MAX_RULES, .check = check_rule, .check_list = check_rules},
    {0},
};

const tss_config_item tss_policy_schema = {
    .name = NULL, .type = TSS_CONFIG_SECTION, .sub = policy_items, .size = sizeof(tss_policy),
};

tss_result tss_policy_load_file(tss_policy *out, const char *path) {
    return tss_config_load_file(&tss_policy_schema, out, path);
}

tss_result tss_policy_load_buffer(tss_policy *out, const char *name, const char *buf, size_t len) {
    return tss_config_load_buffer(&tss_policy_schema, out, name, buf, len);
}

void tss_policy_free(tss_policy *p) { tss_config_free(&tss_policy_schema, p); }

/* ---- evaluation -------------------------------------------------------------------------- */

static bool key_in_rule(const tss_policy *p, const tss_policy_rule *r, const char *key_id) {
    for (size_t i = 0; i < r->key_count; i++) {
        const char *k = r->keys[i];
        if (strcmp(k, "*") == 0 || strcmp(k, key_id) == 0) return true;
        for (size_t g = 0; g < p->group_count; g++) {
            if (strcmp(p->groups[g].name, k) != 0) continue;
            for (size_t j = 0; j < p->groups[g].id_count; j++)
                if (strcmp(p->groups[g].ids[j], key_id) == 0) return true;
        }
    }
    return false;
}

bool tss_policy_covers_key(const tss_policy *p, const char *key_id) {
    for (size_t i = 0; i < p->rule_count; i++)
        if (key_in_rule(p, &p->rules[i], key_id)) return true;
    return false;
}

static bool chain_is(const uint8_t chain[32], int64_t id) {
    uint8_t v[32];
    tss_eth_u256_from_u64(v, (uint64_t)id);
    return memcmp(v, chain, 32) == 0;
}

/* a + b into out; false on overflow past 2^256-1. */
static bool u256_add(uint8_t out[32], const uint8_t a[32], const uint8_t b[32]) {
    unsigned carry = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned s = (unsigned)a[i] + b[i] + carry;
        out[i] = (uint8_t)s;
        carry = s >> 8;
    }
    return carry == 0;
}

static void addr_text(char out[43], const uint8_t a[20]) {
    if (!tss_is_ok(tss_eth_address_to_string(out, a))) snprintf(out, 43, "0x?");
}

/* Writes why the rule does not match into why; true if it matches. */
static bool rule_matches(const tss_policy *p, const tss_policy_rule *r,
                         const tss_policy_input *in, uint8_t charge[32], char *why, size_t cap) {
    const tss_req_view *v = in->view;
    bool is_tx = v->type == TSS_REQ_TX;
    char a[43], b[TSS_ETH_U256_DEC_SIZE], c[TSS_ETH_U256_DEC_SIZE];
    memset(charge, 0, 32);
    if (is_tx) memcpy(charge, v->value, 32);
    if (!key_in_rule(p, r, in->key_id))
        return snprintf(why, cap, "key %s not listed", in->key_id), false;
    bool type_ok = false;
    if (r->type_count == 0)
        type_ok = v->type != TSS_REQ_RAW;
    for (size_t i = 0; i < r->type_count; i++) type_ok = type_ok || r->types[i] == v->type;
    if (!type_ok)
        return snprintf(why, cap, "request type %s not allowed%s", tss_req_type_name(v->type),
                        v->type == TSS_REQ_RAW && !r->type_count ? " (raw needs types: [raw])"
                                                                : ""),
               false;
    if (r->chain_id_count) {
        bool ok = false;
        for (size_t i = 0; v->has_chain_id && i < r->chain_id_count; i++)
            ok = ok || chain_is(v->chain_id, r->chain_ids[i]);
        if (!ok) {
            if (!v->has_chain_id) return snprintf(why, cap, "no chain id in the request"), false;
            tss_eth_u256_to_dec(b, v->chain_id);
            return snprintf(why, cap, "chain id %s not allowed", b), false;
        }
    }
    if (r->to_deny_count && is_tx && v->has_to)
        for (size_t i = 0; i < r->to_deny_count; i++)
            if (memcmp(r->to_deny[i].b, v->to, 20) == 0) {
                addr_text(a, v->to);
                return snprintf(why, cap, "to %s is on to_deny", a), false;
            }
    if (r->to_allow_count) {
        bool ok = false;
        for (size_t i = 0; is_tx && v->has_to && i < r->to_allow_count; i++)
            ok = ok || memcmp(r->to_allow[i].b, v->to, 20) == 0;
        if (!ok) {
            if (!is_tx) return snprintf(why, cap, "to_allow needs a transaction"), false;
            if (!v->has_to) return snprintf(why, cap, "contract creation (no to)"), false;
            addr_text(a, v->to);
            return snprintf(why, cap, "to %s not on to_allow", a), false;
        }
    }
    if (r->selector_count) {
        bool ok = false;
        for (size_t i = 0; is_tx && i < r->selector_count; i++) {
            const tss_policy_selector *s = &r->selectors[i];
            ok = ok || (s->none ? v->data_len == 0
                                : v->has_selector && memcmp(s->b, v->selector, 4) == 0);
        }
        if (!ok) {
            if (!is_tx) return snprintf(why, cap, "selectors need a transaction"), false;
            if (!v->has_selector)
                return snprintf(why, cap, "call data of %zu bytes not allowed", v->data_len),
                       false;
            char hx[9];
            tss_hex_encode(hx, v->selector, 4);
            return snprintf(why, cap, "method selector 0x%s not allowed", hx), false;
        }
    }
    if (r->max_value.set && tss_eth_u256_cmp(charge, r->max_value.b) > 0) {
        tss_eth_u256_to_dec(b, charge);
        tss_eth_u256_to_dec(c, r->max_value.b);
        return snprintf(why, cap, "value %s wei > max_value %s", b, c), false;
    }
    if (r->domain_count) {
        bool ok = false;
        for (size_t i = 0; v->type == TSS_REQ_EIP712 && i < r->domain_count; i++) {
            const tss_policy_domain *d = &r->domains[i];
            bool m = true;
            if (d->name) m = m && v->has_name && strcmp(d->name, v->name) == 0;
            if (d->chain_id) m = m && v->has_chain_id && chain_is(v->chain_id, d->chain_id);
            if (d->verifying_contract.set)
                m = m && v->has_verifying_contract &&
                    memcmp(d->verifying_contract.b, v->verifying_contract, 20) == 0;
            ok = ok || m;
        }
        if (!ok) return snprintf(why, cap, "EIP-712 domain not on eip712_domains"), false;
    }
    if (r->hours.set) {
        unsigned minute = (unsigned)((in->now_ms % DAY_MS) / 60000);
        unsigned s = r->hours.start_min, e = r->hours.end_min;
        bool ok = s < e ? (minute >= s && minute < e) : (minute >= s || minute < e);
        if (!ok)
            return snprintf(why, cap, "outside hours %02u:%02u-%02u:%02u UTC (now %02u:%02u)",
                            s / 60, s % 60, e / 60, e % 60, minute / 60, minute % 60),
                   false;
    }
    if (r->window_ms) {
        uint8_t spent[32] = {0}, total[32];
        uint64_t count = 0;
        uint64_t since = in->now_ms > r->window_ms ? in->now_ms - r->window_ms + 1 : 0;
        if (in->windows) in->windows->sum(in->windows->ctx, r->name, in->key_id, since, spent, &count);
        if (r->window_max_count && count + 1 > (uint64_t)r->window_max_count)
            return snprintf(why, cap, "window limit: %llu requests already in the window "
                            "(window_max_count %lld)", (unsigned long long)count,
                            (long long)r->window_max_count), false;
        if (r->window_max_value.set &&
            (!u256_add(total, spent, charge) ||
             tss_eth_u256_cmp(total, r->window_max_value.b) > 0)) {
            tss_eth_u256_to_dec(b, spent);
            tss_eth_u256_to_dec(c, r->window_max_value.b);
            return snprintf(why, cap, "window limit: %s wei already spent in the window, this "
                            "request would exceed window_max_value %s", b, c), false;
        }
    }
    if (r->approvals.m) {
        if (!in->approver || !in->request_hash)
            return snprintf(why, cap, "needs %lld approvals (none can be verified here)",
                            (long long)r->approvals.m), false;
        char reason[200] = "";
        if (!in->approver->check(in->approver->ctx, in->request_hash,
                                 (const char *const *)r->approvals.approvers,
                                 r->approvals.approver_count, (uint32_t)r->approvals.m, reason,
                                 sizeof reason))
            return snprintf(why, cap, "approvals: %s", reason), false;
    }
    return true;
}

static void append(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t cap, const char *fmt, ...) {
    size_t n = strlen(buf);
    if (n + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

void tss_policy_evaluate(const tss_policy *p, const tss_policy_input *in,
                         tss_policy_decision *out) {
    memset(out, 0, sizeof *out);
    out->rule = -1;
    char why[400];
    uint8_t charge[32];
    bool listed = false;
    for (size_t i = 0; i < p->rule_count; i++) {
        const tss_policy_rule *r = &p->rules[i];
        why[0] = '\0';
        if (!rule_matches(p, r, in, charge, why, sizeof why)) {
            /* Rules for other keys are noise in the reason. */
            if (key_in_rule(p, r, in->key_id)) {
                append(out->reason, sizeof out->reason, "%srule %s: %s", listed ? "; " : "",
                       r->name, why);
                listed = true;
            }
            continue;
        }
        out->rule = (int)i;
        snprintf(out->rule_name, sizeof out->rule_name, "%s", r->name);
        out->allow = r->action == TSS_POLICY_ALLOW;
        if (!out->allow) {
            snprintf(out->reason, sizeof out->reason, "rule %s denies it", r->name);
            return;
        }
        out->charge = r->window_ms != 0;
        memcpy(out->value, charge, 32);
        snprintf(out->reason, sizeof out->reason, "rule %s allows it", r->name);
        return;
    }
    char tmp[TSS_POLICY_REASON_MAX];
    memcpy(tmp, out->reason, sizeof tmp);
    int n = snprintf(out->reason, sizeof out->reason, "%s",
                     listed ? "no rule allows it: " : "no rule allows it (no rule lists this key)");
    if (n > 0 && (size_t)n < sizeof out->reason)
        memcpy(out->reason + n, tmp, strnlen(tmp, sizeof out->reason - (size_t)n - 1) + 1);
    out->reason[sizeof out->reason - 1] = '\0';
}
