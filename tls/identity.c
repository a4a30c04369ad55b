/* URN parsing, formatting and the peer allow-list. Pure code (no wolfSSL):
 * it is what the fuzzer hammers. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include "tls/identity.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tls/internal.h"

static const char URN_PREFIX[] = "urn:tssd:";
#define URN_PREFIX_LEN (sizeof URN_PREFIX - 1)

void tss_tls_sanitize(char *out, size_t cap, const char *in, size_t len) {
    if (cap < 8) {
        if (cap) out[0] = '\0';
        return;
    }
    size_t o = 0, i = 0;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        bool plain = c >= 0x20 && c < 0x7f && c != '\\' && c != '"';
        if (o + (plain ? 1 : 4) + 4 > cap) break; /* keep room for "..." and NUL */
        if (plain)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (i < len) memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
}

bool tss_tls_urn_is_tssd(const char *urn, size_t len) {
    return len >= URN_PREFIX_LEN && strncasecmp(urn, URN_PREFIX, URN_PREFIX_LEN) == 0;
}

static bool operator_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static tss_result check_operator_name(const char *name, size_t len, const char *shown) {
    TSS_ENSURE(len >= 1, TSS_E_INVALID, "malformed identity \"%s\": empty operator name", shown);
    TSS_ENSURE(len <= TSS_TLS_OPERATOR_NAME_MAX, TSS_E_INVALID,
               "malformed identity \"%s\": operator name longer than %d characters", shown,
               TSS_TLS_OPERATOR_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        TSS_ENSURE(operator_char(name[i]), TSS_E_INVALID,
                   "malformed identity \"%s\": operator name may only use [a-z0-9._-]", shown);
    return TSS_OK_RESULT;
}

static tss_result parse_party_id(const char *s, size_t len, const char *shown, unsigned *out) {
    TSS_ENSURE(len >= 1 && len <= 2, TSS_E_INVALID,
               "malformed identity \"%s\": party id must be 1..%d", shown, TSS_TLS_MAX_PARTY_ID);
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        TSS_ENSURE(s[i] >= '0' && s[i] <= '9', TSS_E_INVALID,
                   "malformed identity \"%s\": party id must be decimal digits", shown);
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    TSS_ENSURE(s[0] != '0', TSS_E_INVALID,
               "malformed identity \"%s\": party id must be 1..%d without leading zeros", shown,
               TSS_TLS_MAX_PARTY_ID);
    TSS_ENSURE(v >= 1 && v <= TSS_TLS_MAX_PARTY_ID, TSS_E_INVALID,
               "malformed identity \"%s\": party id must be 1..%d", shown, TSS_TLS_MAX_PARTY_ID);
    *out = v;
    return TSS_OK_RESULT;
}

static bool has_prefix(const char *s, size_t len, const char *p) {
    size_t n = strlen(p);
    return len >= n && memcmp(s, p, n) == 0;
}

tss_result tss_tls_identity_parse(const char *urn, size_t len, tss_tls_identity *out) {
    char shown[TSS_TLS_URN_MAX * 2];
    tss_tls_sanitize(shown, sizeof shown, urn, len);
    TSS_ENSURE(len > 0, TSS_E_INVALID, "malformed identity: empty");
    TSS_ENSURE(memchr(urn, '\0', len) == NULL, TSS_E_INVALID,
               "malformed identity \"%s\": contains a NUL byte", shown);
    TSS_ENSURE(has_prefix(urn, len, URN_PREFIX), TSS_E_INVALID,
               "malformed identity \"%s\": must start with \"%s\" (lower case)", shown, URN_PREFIX);
    const char *rest = urn + URN_PREFIX_LEN;
    size_t rest_len = len - URN_PREFIX_LEN;
    tss_tls_identity id;
    memset(&id, 0, sizeof id);
    if (rest_len == strlen("coordinator") && memcmp(rest, "coordinator", rest_len) == 0) {
        id.role = TSS_TLS_ROLE_COORDINATOR;
    } else if (has_prefix(rest, rest_len, "party:")) {
        id.role = TSS_TLS_ROLE_PARTY;
        TSS_GUARD(parse_party_id(rest + 6, rest_len - 6, shown, &id.party_id));
    } else if (has_prefix(rest, rest_len, "operator:")) {
        id.role = TSS_TLS_ROLE_OPERATOR;
        TSS_GUARD(check_operator_name(rest + 9, rest_len - 9, shown));
        memcpy(id.operator_name, rest + 9, rest_len - 9);
    } else if (has_prefix(rest, rest_len, "client:")) {
        id.role = TSS_TLS_ROLE_CLIENT;
        TSS_GUARD(check_operator_name(rest + 7, rest_len - 7, shown));
        memcpy(id.operator_name, rest + 7, rest_len - 7);
    } else {
        return tss_fail(TSS_E_INVALID,
                        "malformed identity \"%s\": expected urn:tssd:coordinator, "
                        "urn:tssd:party:<id>, urn:tssd:operator:<name> or urn:tssd:client:<name>",
                        shown);
    }
    *out = id;
    return TSS_OK_RESULT;
}

void tss_tls_identity_format(const tss_tls_identity *id, char *out, size_t cap) {
    switch (id->role) {
    case TSS_TLS_ROLE_COORDINATOR: snprintf(out, cap, "urn:tssd:coordinator"); break;
    case TSS_TLS_ROLE_PARTY: snprintf(out, cap, "urn:tssd:party:%u", id->party_id); break;
    case TSS_TLS_ROLE_OPERATOR:
        snprintf(out, cap, "urn:tssd:operator:%s", id->operator_name);
        break;
    case TSS_TLS_ROLE_CLIENT: snprintf(out, cap, "urn:tssd:client:%s", id->operator_name); break;
    default: snprintf(out, cap, "(no identity)"); break;
    }
}

bool tss_tls_identity_equal(const tss_tls_identity *a, const tss_tls_identity *b) {
    if (a->role != b->role) return false;
    if (a->role == TSS_TLS_ROLE_PARTY) return a->party_id == b->party_id;
    if (a->role == TSS_TLS_ROLE_OPERATOR || a->role == TSS_TLS_ROLE_CLIENT)
        return strcmp(a->operator_name, b->operator_name) == 0;
    return true;
}

const char *tss_tls_role_name(tss_tls_role role) {
    switch (role) {
    case TSS_TLS_ROLE_COORDINATOR: return "coordinator";
    case TSS_TLS_ROLE_PARTY: return "party";
    case TSS_TLS_ROLE_OPERATOR: return "operator";
    case TSS_TLS_ROLE_CLIENT: return "client";
    default: return "none";
    }
}

void tss_tls_policy_init(tss_tls_policy *p) { memset(p, 0, sizeof *p); }

tss_result tss_tls_policy_allow_party(tss_tls_policy *p, unsigned id) {
    TSS_ENSURE(id >= 1 && id <= TSS_TLS_MAX_PARTY_ID, TSS_E_USAGE, "party id %u out of range 1..%d",
               id, TSS_TLS_MAX_PARTY_ID);
    p->parties |= UINT64_C(1) << id;
    return TSS_OK_RESULT;
}

tss_result tss_tls_policy_allow_operator(tss_tls_policy *p, const char *name) {
    size_t len = strlen(name);
    char shown[TSS_TLS_URN_MAX * 2];
    tss_tls_sanitize(shown, sizeof shown, name, len);
    TSS_GUARD(check_operator_name(name, len, shown));
    for (size_t i = 0; i < p->n_operators; i++)
        if (strcmp(p->operators[i], name) == 0) return TSS_OK_RESULT;
    TSS_ENSURE(p->n_operators < TSS_TLS_MAX_OPERATORS, TSS_E_TOO_LARGE,
               "too many operators (at most %d)", TSS_TLS_MAX_OPERATORS);
    memcpy(p->operators[p->n_operators++], name, len + 1);
    return TSS_OK_RESULT;
}

static bool role_accepted(const tss_tls_policy *p, tss_tls_role role) {
    switch (role) {
    case TSS_TLS_ROLE_COORDINATOR: return p->coordinator;
    case TSS_TLS_ROLE_PARTY: return p->parties != 0;
    case TSS_TLS_ROLE_OPERATOR: return p->n_operators != 0;
    case TSS_TLS_ROLE_CLIENT: return p->clients;
    default: return false;
    }
}

tss_result tss_tls_policy_check(const tss_tls_policy *p, const tss_tls_identity *peer) {
    char urn[TSS_TLS_URN_MAX];
    tss_tls_identity_format(peer, urn, sizeof urn);
    if (!role_accepted(p, peer->role)) {
        char roles[64] = "";
        static const tss_tls_role all[] = {TSS_TLS_ROLE_COORDINATOR, TSS_TLS_ROLE_PARTY,
                                           TSS_TLS_ROLE_OPERATOR, TSS_TLS_ROLE_CLIENT};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
            if (!role_accepted(p, all[i])) continue;
            if (roles[0]) strcat(roles, " or ");
            strcat(roles, tss_tls_role_name(all[i]));
        }
        return tss_fail(TSS_E_PERMISSION,
                        "peer presented %s, a %s identity, where only %s identities are accepted",
                        urn, tss_tls_role_name(peer->role), roles[0] ? roles : "no");
    }
    bool ok = false;
    switch (peer->role) {
    case TSS_TLS_ROLE_COORDINATOR:
    case TSS_TLS_ROLE_CLIENT: ok = true; break;
    case TSS_TLS_ROLE_PARTY:
        ok = peer->party_id >= 1 && peer->party_id <= TSS_TLS_MAX_PARTY_ID &&
             (p->parties >> peer->party_id) & 1;
        break;
    case TSS_TLS_ROLE_OPERATOR:
        for (size_t i = 0; i < p->n_operators && !ok; i++)
            ok = strcmp(p->operators[i], peer->operator_name) == 0;
        break;
    default: break;
    }
    TSS_ENSURE(ok, TSS_E_PERMISSION, "peer presented %s which is not configured", urn);
    return TSS_OK_RESULT;
}
