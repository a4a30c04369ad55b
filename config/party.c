/* The party schema. Ranges are what an operator could sensibly want; the wire
 * limits come from wire/frame.h so the two never disagree. */
#include "config/party.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "config/value.h"
#include "wire/frame.h"

#define MS(x) ((int64_t)(x))
#define SEC(x) ((int64_t)(x) * 1000)
#define MINUTES(x) ((int64_t)(x) * 60000)
#define HOUR(x) ((int64_t)(x) * 3600000)

#define ISSUE(issue, ...) (snprintf((issue)->msg, sizeof (issue)->msg, __VA_ARGS__), false)

/* "ed25519:<standard base64 of 32 bytes>", a valid point outside the small-order
 * subgroup: a typo must not pin a key nobody can sign for. */
static bool parse_ed25519(const char *text, void *field, char *err, size_t cap) {
    static const char prefix[] = "ed25519:";
    uint8_t key[TSS_CONFIG_ED25519_LEN];
    size_t key_len = 0;
    const char *end = NULL;
    if (strncmp(text, prefix, sizeof prefix - 1) != 0) {
        snprintf(err, cap, "expected ed25519:<base64 of 32 bytes>");
        return false;
    }
    const char *b64 = text + sizeof prefix - 1;
    if (sodium_base642bin(key, sizeof key, b64, strlen(b64), NULL, &key_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        key_len != sizeof key || *end != '\0') {
        snprintf(err, cap, "expected ed25519:<base64 of 32 bytes>");
        return false;
    }
    if (sodium_init() < 0 || !crypto_core_ed25519_is_valid_point(key)) {
        snprintf(err, cap, "not a valid Ed25519 public key");
        return false;
    }
    memcpy(field, key, sizeof key);
    return true;
}

/* An approver name: 1..64 characters of [A-Za-z0-9._-] (it is signed into
 * every approval, docs/PROTOCOL.md "Approvals"). */
static bool parse_approver_name(const char *text, void *field, char *err, size_t cap) {
    size_t n = strlen(text);
    bool ok = n >= 1 && n <= TSS_CONFIG_APPROVER_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = text[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    if (!ok) {
        snprintf(err, cap, "expected 1..64 characters of [A-Za-z0-9._-]");
        return false;
    }
    memcpy(field, text, n + 1);
    return true;
}

static bool check_approvers(const void *value, size_t count, tss_config_issue *issue) {
    const tss_config_approver *a = value;
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < i; j++) {
            issue->index = (long)i;
            if (strcmp(a[i].name, a[j].name) == 0)
                return ISSUE(issue, "duplicate approver name '%s' (also approvers[%zu])",
                             a[i].name, j);
            /* One key under two names would count one person twice. */
            if (memcmp(a[i].public_key, a[j].public_key, sizeof a[i].public_key) == 0)
                return ISSUE(issue, "duplicate public key (also approvers[%zu])", j);
        }
    }
    issue->index = -1;
    return true;
}

static bool check_credential_name(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const char *s = *(char *const *)value;
    /* It becomes a file name under $CREDENTIALS_DIRECTORY. */
    if (strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return ISSUE(issue, "'%.64s' is not a credential name (no '/', not . or ..)", s);
    return true;
}

static bool check_hostname(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const char *s = *(char *const *)value;
    if (!tss_config_valid_hostname(s)) return ISSUE(issue, "'%.64s' is not a DNS name", s);
    return true;
}

static bool check_peers(const void *value, size_t count, tss_config_issue *issue) {
    const tss_config_peer *p = value;
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < i; j++) {
            issue->index = (long)i;
            if (p[i].id == p[j].id)
                return ISSUE(issue, "duplicate id %lld (also peers[%zu])", (long long)p[i].id, j);
            if (memcmp(p[i].identity, p[j].identity, sizeof p[i].identity) == 0)
                return ISSUE(issue, "duplicate identity key (also peers[%zu])", j);
        }
    }
    issue->index = -1;
    return true;
}

static bool check_timeouts(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const tss_party_timeouts_config *t = value;
    if (t->backoff_initial > t->backoff_max) {
        char max[32];
        tss_config_format_duration(max, sizeof max, t->backoff_max);
        issue->key = "backoff_initial";
        return ISSUE(issue, "must not exceed backoff_max (%s)", max);
    }
    return true;
}

static bool same_addr(const tss_config_addr *a, const tss_config_addr *b) {
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* Two entries sharing an address would be one coordinator dialled twice: the
 * second connection would replace the first, over and over. */
static bool check_coordinators(const void *value, size_t count, tss_config_issue *issue) {
    const tss_party_coordinator_config *c = value;
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < i; j++)
            for (size_t a = 0; a < c[i].address_count; a++)
                for (size_t b = 0; b < c[j].address_count; b++)
                    if (same_addr(&c[i].address[a], &c[j].address[b])) {
                        issue->index = (long)i;
                        return ISSUE(issue, "address %.64s:%u is also in coordinators[%zu]: "
                                     "list each coordinator once (its alternative addresses "
                                     "go in one entry's address list)",
                                     c[i].address[a].host, c[i].address[a].port, j);
                    }
    issue->index = -1;
    return true;
}

static bool check_party(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const tss_party_config *c = value;
    bool one = c->coordinator.address_count > 0, many = c->coordinator_count > 0;
    if (!one && c->coordinator.server_name) {
        issue->key = "coordinator";
        return ISSUE(issue, "address: required key is missing");
    }
    if (one && many) {
        issue->key = "coordinators";
        return ISSUE(issue, "give either coordinator (one coordinator) or coordinators (several), "
                     "not both");
    }
    if (!one && !many) {
        issue->key = "coordinators";
        return ISSUE(issue, "missing: give coordinator (one coordinator) or coordinators (a list "
                     "of them)");
    }
    for (size_t i = 0; i < c->peer_count; i++) {
        if (c->peers[i].id == c->party_id) {
            issue->key = "peers";
            return ISSUE(issue, "peers[%zu] has this party's own id %lld", i,
                         (long long)c->party_id);
        }
    }
    return true;
}

static const tss_config_item passphrase_items[] = {
    {.name = "file", .type = TSS_CONFIG_PATH, .offset = offsetof(tss_config_passphrase, file)},
    {.name = "credential", .type = TSS_CONFIG_STR, .min = 1, .max = 255,
     .offset = offsetof(tss_config_passphrase, credential), .check = check_credential_name},
    {.name = "fd", .type = TSS_CONFIG_INT, .min = 0, .max = 65535,
     .offset = offsetof(tss_config_passphrase, fd)},
    {0},
};

static const tss_config_item keystore_items[] = {
    {.name = "dir", .type = TSS_CONFIG_PATH, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_party_keystore_config, dir)},
    {.name = "passphrase", .type = TSS_CONFIG_SECTION,
     .flags = TSS_CONFIG_REQUIRED | TSS_CONFIG_ONE_OF,
     .offset = offsetof(tss_party_keystore_config, passphrase), .sub = passphrase_items,
     .size = sizeof(tss_config_passphrase),
     .choice_offset = offsetof(tss_config_passphrase, kind)},
    {0},
};

static const tss_config_item coordinator_items[] = {
    {.name = "address", .type = TSS_CONFIG_ADDR, .flags = TSS_CONFIG_REQUIRED | TSS_CONFIG_LIST,
     .offset = offsetof(tss_party_coordinator_config, address),
     .count_offset = offsetof(tss_party_coordinator_config, address_count), .min_count = 1,
     .max_count = 8},
    {.name = "server_name", .type = TSS_CONFIG_STR, .min = 1, .max = TSS_CONFIG_HOST_MAX,
     .offset = offsetof(tss_party_coordinator_config, server_name), .check = check_hostname},
    {0},
};

/* The single `coordinator` form: optional as a whole (`coordinators` may be
 * given instead), so its address list is required by check_party. */
static const tss_config_item single_coordinator_items[] = {
    {.name = "address", .type = TSS_CONFIG_ADDR, .flags = TSS_CONFIG_LIST,
     .offset = offsetof(tss_party_coordinator_config, address),
     .count_offset = offsetof(tss_party_coordinator_config, address_count), .min_count = 1,
     .max_count = 8},
    {.name = "server_name", .type = TSS_CONFIG_STR, .min = 1, .max = TSS_CONFIG_HOST_MAX,
     .offset = offsetof(tss_party_coordinator_config, server_name), .check = check_hostname},
    {0},
};

static const tss_config_item peer_items[] = {
    {.name = "id", .type = TSS_CONFIG_INT, .flags = TSS_CONFIG_REQUIRED, .min = 1,
     .max = TSS_CONFIG_MAX_PARTIES, .offset = offsetof(tss_config_peer, id)},
    {.name = "identity", .type = TSS_CONFIG_CUSTOM, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_config_peer, identity), .size = TSS_CONFIG_ED25519_LEN,
     .parse = parse_ed25519},
    {0},
};

static const tss_config_item approver_items[] = {
    {.name = "name", .type = TSS_CONFIG_CUSTOM, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_config_approver, name), .size = TSS_CONFIG_APPROVER_NAME_MAX + 1,
     .parse = parse_approver_name},
    {.name = "public_key", .type = TSS_CONFIG_CUSTOM, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_config_approver, public_key), .size = TSS_CONFIG_ED25519_LEN,
     .parse = parse_ed25519},
    {0},
};

static const tss_config_item approvals_items[] = {
    {.name = "approvers", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_LIST,
     .offset = offsetof(tss_party_approvals_config, approvers), .sub = approver_items,
     .size = sizeof(tss_config_approver),
     .count_offset = offsetof(tss_party_approvals_config, approver_count), .min_count = 0,
     .max_count = TSS_CONFIG_MAX_APPROVERS, .check_list = check_approvers},
    {.name = "clock_skew", .type = TSS_CONFIG_DURATION, .min = 0, .max = HOUR(1), .def = "5m",
     .offset = offsetof(tss_party_approvals_config, clock_skew)},
    {.name = "max_lifetime", .type = TSS_CONFIG_DURATION, .min = MINUTES(1),
     .max = HOUR(24) * 30, .def = "1d",
     .offset = offsetof(tss_party_approvals_config, max_lifetime)},
    {0},
};

static const tss_config_item limits_items[] = {
    {.name = "max_frame_size", .type = TSS_CONFIG_SIZE, .min = TSS_WIRE_MIN_FRAME,
     .max = TSS_WIRE_MAX_FRAME, .def = "1MiB",
     .offset = offsetof(tss_party_limits_config, max_frame_size)},
    {.name = "max_sessions", .type = TSS_CONFIG_INT, .min = 1, .max = 1024, .def = "16",
     .offset = offsetof(tss_party_limits_config, max_sessions)},
    {0},
};

static const tss_config_item timeouts_items[] = {
    {.name = "heartbeat", .type = TSS_CONFIG_DURATION, .min = SEC(1), .max = MINUTES(10),
     .def = "15s", .offset = offsetof(tss_party_timeouts_config, heartbeat)},
    {.name = "connect", .type = TSS_CONFIG_DURATION, .min = MS(100), .max = MINUTES(5),
     .def = "10s", .offset = offsetof(tss_party_timeouts_config, connect)},
    {.name = "round", .type = TSS_CONFIG_DURATION, .min = SEC(1), .max = HOUR(1), .def = "2m",
     .offset = offsetof(tss_party_timeouts_config, round)},
    {.name = "backoff_initial", .type = TSS_CONFIG_DURATION, .min = MS(100), .max = MINUTES(5),
     .def = "1s", .offset = offsetof(tss_party_timeouts_config, backoff_initial)},
    {.name = "backoff_max", .type = TSS_CONFIG_DURATION, .min = SEC(1), .max = HOUR(1),
     .def = "1m", .offset = offsetof(tss_party_timeouts_config, backoff_max)},
    {0},
};

static const tss_config_item party_items[] = {
    {.name = "party_id", .type = TSS_CONFIG_INT, .flags = TSS_CONFIG_REQUIRED, .min = 1,
     .max = TSS_CONFIG_MAX_PARTIES, .offset = offsetof(tss_party_config, party_id)},
    {.name = "keystore", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_party_config, keystore), .sub = keystore_items,
     .size = sizeof(tss_party_keystore_config)},
    {.name = "coordinator", .type = TSS_CONFIG_SECTION,
     .offset = offsetof(tss_party_config, coordinator), .sub = single_coordinator_items,
     .size = sizeof(tss_party_coordinator_config)},
    {.name = "coordinators", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_LIST,
     .offset = offsetof(tss_party_config, coordinators), .sub = coordinator_items,
     .size = sizeof(tss_party_coordinator_config),
     .count_offset = offsetof(tss_party_config, coordinator_count), .min_count = 1,
     .max_count = TSS_PARTY_MAX_COORDINATORS, .check_list = check_coordinators},
    {.name = "tls", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_party_config, tls), .sub = tss_config_tls_items,
     .size = sizeof(tss_config_tls)},
    {.name = "peers", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_REQUIRED | TSS_CONFIG_LIST,
     .offset = offsetof(tss_party_config, peers), .sub = peer_items,
     .size = sizeof(tss_config_peer), .count_offset = offsetof(tss_party_config, peer_count),
     .min_count = 1, .max_count = TSS_CONFIG_MAX_PARTIES - 1, .check_list = check_peers},
    {.name = "limits", .type = TSS_CONFIG_SECTION, .offset = offsetof(tss_party_config, limits),
     .sub = limits_items, .size = sizeof(tss_party_limits_config)},
    {.name = "timeouts", .type = TSS_CONFIG_SECTION,
     .offset = offsetof(tss_party_config, timeouts), .sub = timeouts_items,
     .size = sizeof(tss_party_timeouts_config), .check = check_timeouts},
    {.name = "state_dir", .type = TSS_CONFIG_PATH, .def = "/var/lib/tssd",
     .offset = offsetof(tss_party_config, state_dir)},
    {.name = "log_level", .type = TSS_CONFIG_ENUM, .enums = tss_config_log_levels,
     .def = "info", .offset = offsetof(tss_party_config, log_level)},
    {.name = "approvals", .type = TSS_CONFIG_SECTION,
     .offset = offsetof(tss_party_config, approvals), .sub = approvals_items,
     .size = sizeof(tss_party_approvals_config)},
    {.name = "policy_file", .type = TSS_CONFIG_PATH,
     .offset = offsetof(tss_party_config, policy_file)},
    {.name = "allow_retire", .type = TSS_CONFIG_BOOL, .def = "false",
     .offset = offsetof(tss_party_config, allow_retire)},
    {0},
};

const tss_config_item tss_config_party_schema = {
    .name = NULL, .type = TSS_CONFIG_SECTION, .sub = party_items,
    .size = sizeof(tss_party_config), .check = check_party,
};

tss_result tss_config_party_load_file(tss_party_config *out, const char *path) {
    return tss_config_load_file(&tss_config_party_schema, out, path);
}

tss_result tss_config_party_load_buffer(tss_party_config *out, const char *name, const char *buf,
                                        size_t len) {
    return tss_config_load_buffer(&tss_config_party_schema, out, name, buf, len);
}

void tss_config_party_free(tss_party_config *cfg) {
    tss_config_free(&tss_config_party_schema, cfg);
}

const tss_party_coordinator_config *tss_config_party_coordinators(const tss_party_config *cfg,
                                                                  size_t *count) {
    if (cfg->coordinator_count > 0) {
        *count = cfg->coordinator_count;
        return cfg->coordinators;
    }
    *count = 1;
    return &cfg->coordinator;
}
