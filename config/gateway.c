/* The tss-gateway schema. Checks keep names, tokens and grants in shapes the
 * daemon can trust without re-validating them per request. */
#include "config/gateway.h"

#include "mpc/bip32.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define MS(x) ((int64_t)(x))
#define SEC(x) ((int64_t)(x) * 1000)
#define MINUTES(x) ((int64_t)(x) * 60000)
#define HOUR(x) ((int64_t)(x) * 3600000)

#define ISSUE(issue, ...) (snprintf((issue)->msg, sizeof (issue)->msg, __VA_ARGS__), false)

static bool check_client_name(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const char *s = *(char *const *)value;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
              *p == '.'))
            return ISSUE(issue, "'%.64s' may only contain [a-z0-9._-] (it is urn:tssd:client:<name>)",
                         s);
    return true;
}

static bool check_token_hash(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const char *s = *(char *const *)value;
    size_t n = strlen(s);
    bool ok = n == 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    if (!ok)
        return ISSUE(issue, "must be 64 lower-case hex digits (sha256sum of the token), not the "
                            "token itself");
    return true;
}

/* Grants are key ids, 0x addresses or "*"; methods are names or "*". */
static bool check_grant(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const char *s = *(char *const *)value;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.' || *p == '*' || *p == '/'))
            return ISSUE(issue, "'%.64s' may only contain letters, digits and -_.*/", s);
    return true;
}

static bool check_client(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const tss_gateway_client_config *c = value;
    if (!c->certificate && c->token_sha256_count == 0)
        return ISSUE(issue, "client '%s' can never authenticate: give token_sha256 or "
                            "certificate: true", c->name);
    return true;
}

static bool check_clients(const void *value, size_t count, tss_config_issue *issue) {
    const tss_gateway_client_config *c = value;
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c[i].name, c[j].name) == 0) {
                issue->index = (long)i;
                return ISSUE(issue, "duplicate name '%s' (also clients[%zu])", c[i].name, j);
            }
            for (size_t a = 0; a < c[i].token_sha256_count; a++)
                for (size_t b = 0; b < c[j].token_sha256_count; b++)
                    if (strcmp(c[i].token_sha256[a], c[j].token_sha256[b]) == 0) {
                        issue->index = (long)i;
                        return ISSUE(issue, "token_sha256 shared with clients[%zu]: a token "
                                            "must name one client", j);
                    }
        }
    return true;
}

static bool is_loopback(const char *host) {
    uint8_t a[16];
    if (inet_pton(AF_INET, host, a) == 1) return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const uint8_t one[16] = {[15] = 1};
        return memcmp(a, one, 16) == 0;
    }
    return false;
}

static bool check_plain(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const tss_config_addr *a = value;
    if (!is_loopback(a->host))
        return ISSUE(issue, "plain HTTP only on a loopback address literal (127.0.0.1, ::1), "
                            "not '%.64s'", a->host);
    return true;
}

/* http://host:port/path only: the node is local or on a private network
 * (TLS to the node is not implemented). */
static bool check_downstream(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const char *s = *(char *const *)value;
    if (strncmp(s, "http://", 7) != 0)
        return ISSUE(issue, "'%.64s': only http://host:port/path is supported", s);
    for (const char *p = s; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
            return ISSUE(issue, "'%.64s': invalid character in URL", s);
    return true;
}

static bool check_path(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const char *s = *(char *const *)value;
    tss_bip32_path p;
    if (!tss_is_ok(tss_bip32_path_parse(&p, s)))
        return ISSUE(issue, "'%.64s': %s", s, tss_error_detail());
    if (p.depth == 0) return ISSUE(issue, "'%.64s': the key itself is granted by keys, not paths", s);
    char canon[TSS_BIP32_PATH_TEXT_MAX];
    tss_bip32_path_format(canon, sizeof canon, &p);
    if (strcmp(canon, s) != 0) return ISSUE(issue, "'%.64s': write it as %.64s", s, canon);
    return true;
}

static const tss_config_item client_items[] = {
    {.name = "name", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_REQUIRED, .min = 1, .max = 64,
     .offset = offsetof(tss_gateway_client_config, name), .check = check_client_name},
    {.name = "certificate", .type = TSS_CONFIG_BOOL, .def = "true",
     .offset = offsetof(tss_gateway_client_config, certificate)},
    {.name = "token_sha256", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_LIST, .min = 64,
     .max = 64, .offset = offsetof(tss_gateway_client_config, token_sha256),
     .count_offset = offsetof(tss_gateway_client_config, token_sha256_count),
     .max_count = TSS_GATEWAY_MAX_TOKENS, .check = check_token_hash},
    {.name = "keys", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_REQUIRED | TSS_CONFIG_LIST,
     .min = 1, .max = 64, .offset = offsetof(tss_gateway_client_config, keys),
     .count_offset = offsetof(tss_gateway_client_config, key_count), .min_count = 1,
     .max_count = TSS_GATEWAY_MAX_GRANTS, .check = check_grant},
    {.name = "methods", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_REQUIRED | TSS_CONFIG_LIST,
     .min = 1, .max = 64, .offset = offsetof(tss_gateway_client_config, methods),
     .count_offset = offsetof(tss_gateway_client_config, method_count), .min_count = 1,
     .max_count = TSS_GATEWAY_MAX_GRANTS, .check = check_grant},
    {.name = "paths", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_LIST, .min = 1, .max = 200,
     .offset = offsetof(tss_gateway_client_config, paths),
     .count_offset = offsetof(tss_gateway_client_config, path_count),
     .max_count = TSS_GATEWAY_MAX_PATHS, .check = check_path},
    {0},
};

static const tss_config_item coordinator_items[] = {
    {.name = "address", .type = TSS_CONFIG_ADDR, .flags = TSS_CONFIG_REQUIRED | TSS_CONFIG_LIST,
     .offset = offsetof(tss_gateway_coordinator_config, address),
     .count_offset = offsetof(tss_gateway_coordinator_config, address_count), .min_count = 1,
     .max_count = 8},
    {.name = "tls", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_gateway_coordinator_config, tls), .sub = tss_config_tls_items,
     .size = sizeof(tss_config_tls)},
    {0},
};

static const tss_config_item limits_items[] = {
    {.name = "max_connections", .type = TSS_CONFIG_INT, .min = 1, .max = 65536, .def = "512",
     .offset = offsetof(tss_gateway_limits_config, max_connections)},
    {.name = "max_connections_per_client", .type = TSS_CONFIG_INT, .min = 1, .max = 65536,
     .def = "64", .offset = offsetof(tss_gateway_limits_config, max_connections_per_client)},
    {.name = "max_header_size", .type = TSS_CONFIG_SIZE, .min = 1024, .max = 1024 * 1024,
     .def = "16KiB", .offset = offsetof(tss_gateway_limits_config, max_header_size)},
    {.name = "max_headers", .type = TSS_CONFIG_INT, .min = 4, .max = 1024, .def = "64",
     .offset = offsetof(tss_gateway_limits_config, max_headers)},
    {.name = "max_body", .type = TSS_CONFIG_SIZE, .min = 1024, .max = 16 * 1024 * 1024,
     .def = "1MiB", .offset = offsetof(tss_gateway_limits_config, max_body)},
    {.name = "max_batch", .type = TSS_CONFIG_INT, .min = 1, .max = 1024, .def = "32",
     .offset = offsetof(tss_gateway_limits_config, max_batch)},
    {.name = "max_json_depth", .type = TSS_CONFIG_INT, .min = 4, .max = 256, .def = "32",
     .offset = offsetof(tss_gateway_limits_config, max_json_depth)},
    {0},
};

static const tss_config_item timeouts_items[] = {
    {.name = "request", .type = TSS_CONFIG_DURATION, .min = MS(100), .max = MINUTES(5),
     .def = "10s", .offset = offsetof(tss_gateway_timeouts_config, request)},
    {.name = "idle", .type = TSS_CONFIG_DURATION, .min = MS(100), .max = HOUR(1), .def = "60s",
     .offset = offsetof(tss_gateway_timeouts_config, idle)},
    {.name = "sign", .type = TSS_CONFIG_DURATION, .min = SEC(1), .max = HOUR(1), .def = "2m",
     .offset = offsetof(tss_gateway_timeouts_config, sign)},
    {0},
};

static const tss_config_item gateway_items[] = {
    {.name = "listen", .type = TSS_CONFIG_ADDR, .flags = TSS_CONFIG_LIST,
     .offset = offsetof(tss_gateway_config, listen),
     .count_offset = offsetof(tss_gateway_config, listen_count), .max_count = 16},
    {.name = "plain_listen", .type = TSS_CONFIG_ADDR, .flags = TSS_CONFIG_LIST,
     .offset = offsetof(tss_gateway_config, plain_listen),
     .count_offset = offsetof(tss_gateway_config, plain_listen_count), .max_count = 4,
     .check = check_plain},
    {.name = "tls", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_gateway_config, tls), .sub = tss_config_tls_items,
     .size = sizeof(tss_config_tls)},
    {.name = "coordinator", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_gateway_config, coordinator), .sub = coordinator_items,
     .size = sizeof(tss_gateway_coordinator_config)},
    {.name = "chain_id", .type = TSS_CONFIG_INT, .flags = TSS_CONFIG_REQUIRED, .min = 1,
     .max = INT64_MAX, .offset = offsetof(tss_gateway_config, chain_id)},
    {.name = "clients", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_REQUIRED | TSS_CONFIG_LIST,
     .offset = offsetof(tss_gateway_config, clients), .sub = client_items,
     .size = sizeof(tss_gateway_client_config), .check = check_client,
     .count_offset = offsetof(tss_gateway_config, client_count), .min_count = 1,
     .max_count = TSS_GATEWAY_MAX_CLIENTS, .check_list = check_clients},
    {.name = "limits", .type = TSS_CONFIG_SECTION, .offset = offsetof(tss_gateway_config, limits),
     .sub = limits_items, .size = sizeof(tss_gateway_limits_config)},
    {.name = "timeouts", .type = TSS_CONFIG_SECTION,
     .offset = offsetof(tss_gateway_config, timeouts), .sub = timeouts_items,
     .size = sizeof(tss_gateway_timeouts_config)},
    {.name = "audit_dir", .type = TSS_CONFIG_PATH, .def = "/var/lib/tssd-gateway/audit",
     .offset = offsetof(tss_gateway_config, audit_dir)},
    {.name = "log_level", .type = TSS_CONFIG_ENUM, .enums = tss_config_log_levels,
     .def = "info", .offset = offsetof(tss_gateway_config, log_level)},
    {.name = "downstream", .type = TSS_CONFIG_STR, .min = 8, .max = 255,
     .offset = offsetof(tss_gateway_config, downstream), .check = check_downstream},
    {0},
};

const tss_config_item tss_config_gateway_schema = {
    .name = NULL, .type = TSS_CONFIG_SECTION, .sub = gateway_items,
    .size = sizeof(tss_gateway_config),
};

tss_result tss_config_gateway_load_file(tss_gateway_config *out, const char *path) {
    TSS_GUARD(tss_config_load_file(&tss_config_gateway_schema, out, path));
    if (out->listen_count + out->plain_listen_count == 0) {
        tss_config_gateway_free(out);
        return tss_fail(TSS_E_CONFIG, "%s: listen: at least one of listen and plain_listen "
                                      "is required", path);
    }
    return TSS_OK_RESULT;
}

tss_result tss_config_gateway_load_buffer(tss_gateway_config *out, const char *name,
                                          const char *buf, size_t len) {
    return tss_config_load_buffer(&tss_config_gateway_schema, out, name, buf, len);
}

void tss_config_gateway_free(tss_gateway_config *cfg) {
    tss_config_free(&tss_config_gateway_schema, cfg);
}
