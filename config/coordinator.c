/* The coordinator schema. Identities are spelled out in full so the config
 * reads like the certificates it admits (DESIGN.md §4); the checks make sure
 * they agree with the ids and names next to them. */
#include "config/coordinator.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config/value.h"
#include "wire/frame.h"
#include "wire/msg.h"

#define MS(x) ((int64_t)(x))
#define SEC(x) ((int64_t)(x) * 1000)
#define MINUTES(x) ((int64_t)(x) * 60000)
#define HOUR(x) ((int64_t)(x) * 3600000)
#define DAY(x) ((int64_t)(x) * 86400000)

#define ISSUE(issue, ...) (snprintf((issue)->msg, sizeof (issue)->msg, __VA_ARGS__), false)

static bool check_party_entry(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const tss_config_party_entry *p = value;
    char want[64];
    snprintf(want, sizeof want, "urn:tssd:party:%lld", (long long)p->id);
    if (strcmp(p->identity, want) != 0) {
        issue->key = "identity";
        return ISSUE(issue, "'%.64s' does not match id %lld (expected %s)", p->identity,
                     (long long)p->id, want);
    }
    return true;
}

static bool check_parties(const void *value, size_t count, tss_config_issue *issue) {
    const tss_config_party_entry *p = value;
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < i; j++)
            if (p[i].id == p[j].id) {
                issue->index = (long)i;
                return ISSUE(issue, "duplicate id %lld (also parties[%zu])", (long long)p[i].id,
                             j);
            }
    return true;
}

/* Operator names end up in a URN and in logs: keep them to a safe alphabet. */
static bool check_operator_name(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const char *s = *(char *const *)value;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return ISSUE(issue, "'%.64s' may only contain letters, digits, '-', '_' and '.'", s);
    return true;
}

static bool check_operator(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const tss_config_operator *o = value;
    char want[128];
    snprintf(want, sizeof want, "urn:tssd:operator:%s", o->name);
    if (strcmp(o->identity, want) != 0) {
        issue->key = "identity";
        return ISSUE(issue, "'%.80s' does not match name (expected %.80s)", o->identity, want);
    }
    return true;
}

static bool check_operators(const void *value, size_t count, tss_config_issue *issue) {
    const tss_config_operator *o = value;
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(o[i].name, o[j].name) == 0) {
                issue->index = (long)i;
                return ISSUE(issue, "duplicate name '%s' (also operators[%zu])", o[i].name, j);
            }
    return true;
}

static bool check_timeouts(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const tss_coordinator_timeouts_config *t = value;
    /* An idle timeout at or below the heartbeat would drop healthy parties. */
    if (t->idle <= t->heartbeat) {
        char hb[32];
        tss_config_format_duration(hb, sizeof hb, t->heartbeat);
        issue->key = "idle";
        return ISSUE(issue, "must be longer than heartbeat (%s)", hb);
    }
    return true;
}

static const tss_config_item party_items[] = {
    {.name = "id", .type = TSS_CONFIG_INT, .flags = TSS_CONFIG_REQUIRED, .min = 1,
     .max = TSS_CONFIG_MAX_PARTIES, .offset = offsetof(tss_config_party_entry, id)},
    {.name = "identity", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_REQUIRED, .min = 1,
     .max = 64, .offset = offsetof(tss_config_party_entry, identity)},
    {0},
};

static const tss_config_item operator_items[] = {
    {.name = "name", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_REQUIRED, .min = 1, .max = 64,
     .offset = offsetof(tss_config_operator, name), .check = check_operator_name},
    {.name = "identity", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_REQUIRED, .min = 1,
     .max = 128, .offset = offsetof(tss_config_operator, identity)},
    {0},
};

static const tss_config_item limits_items[] = {
    {.name = "max_connections", .type = TSS_CONFIG_INT, .min = 1, .max = 4096, .def = "256",
     .offset = offsetof(tss_coordinator_limits_config, max_connections)},
    {.name = "max_frame_size", .type = TSS_CONFIG_SIZE, .min = TSS_WIRE_MIN_FRAME,
     .max = TSS_WIRE_MAX_FRAME, .def = "1MiB",
     .offset = offsetof(tss_coordinator_limits_config, max_frame_size)},
    {.name = "max_sessions", .type = TSS_CONFIG_INT, .min = 1, .max = 1024, .def = "64",
     .offset = offsetof(tss_coordinator_limits_config, max_sessions)},
    {.name = "max_pending_frames", .type = TSS_CONFIG_INT, .min = 1, .max = 65536,
     .def = "1024", .offset = offsetof(tss_coordinator_limits_config, max_pending_frames)},
    {.name = "max_unauthenticated", .type = TSS_CONFIG_INT, .min = 1, .max = 4096, .def = "128",
     .offset = offsetof(tss_coordinator_limits_config, max_unauthenticated)},
    {.name = "max_unauthenticated_per_address", .type = TSS_CONFIG_INT, .min = 1, .max = 4096,
     .def = "64",
     .offset = offsetof(tss_coordinator_limits_config, max_unauthenticated_per_address)},
    {.name = "connection_rate", .type = TSS_CONFIG_INT, .min = 1, .max = 100000, .def = "100",
     .offset = offsetof(tss_coordinator_limits_config, connection_rate)},
    {.name = "max_queued", .type = TSS_CONFIG_INT, .min = 0, .max = 65536, .def = "1024",
     .offset = offsetof(tss_coordinator_limits_config, max_queued)},
    {0},
};

static const tss_config_item timeouts_items[] = {
    {.name = "heartbeat", .type = TSS_CONFIG_DURATION, .min = SEC(1), .max = MINUTES(10),
     .def = "15s", .offset = offsetof(tss_coordinator_timeouts_config, heartbeat)},
    {.name = "handshake", .type = TSS_CONFIG_DURATION, .min = MS(100), .max = MINUTES(5),
     .def = "10s", .offset = offsetof(tss_coordinator_timeouts_config, handshake)},
    {.name = "idle", .type = TSS_CONFIG_DURATION, .min = SEC(1), .max = DAY(1), .def = "1m",
     .offset = offsetof(tss_coordinator_timeouts_config, idle)},
    {.name = "round", .type = TSS_CONFIG_DURATION, .min = SEC(1), .max = HOUR(1), .def = "2m",
     .offset = offsetof(tss_coordinator_timeouts_config, round)},
    {.name = "liveness", .type = TSS_CONFIG_DURATION, .min = MS(500), .max = MINUTES(10),
     .def = "4s", .offset = offsetof(tss_coordinator_timeouts_config, liveness)},
    {.name = "preauth", .type = TSS_CONFIG_DURATION, .min = MS(100), .max = MINUTES(5),
     .def = "3s", .offset = offsetof(tss_coordinator_timeouts_config, preauth)},
    {.name = "queue", .type = TSS_CONFIG_DURATION, .min = MS(10), .max = HOUR(1), .def = "20s",
     .offset = offsetof(tss_coordinator_timeouts_config, queue)},
    {0},
};

static const tss_config_item audit_items[] = {
    {.name = "rotate_size", .type = TSS_CONFIG_SIZE, .min = 0, .max = 1ull << 32, .def = "64MiB",
     .offset = offsetof(tss_coordinator_audit_config, rotate_size)},
    {.name = "rotate_age", .type = TSS_CONFIG_DURATION, .min = 0, .max = DAY(366), .def = "1d",
     .offset = offsetof(tss_coordinator_audit_config, rotate_age)},
    {.name = "sync_interval", .type = TSS_CONFIG_DURATION, .min = MS(10), .max = MINUTES(1),
     .def = "1s", .offset = offsetof(tss_coordinator_audit_config, sync_interval)},
    {0},
};

static const tss_config_item rate_limit_items[] = {
    {.name = "operator_rate", .type = TSS_CONFIG_INT, .min = 0, .max = 1000000, .def = "200",
     .offset = offsetof(tss_coordinator_rate_limit_config, operator_rate)},
    {.name = "operator_burst", .type = TSS_CONFIG_INT, .min = 1, .max = 1000000, .def = "400",
     .offset = offsetof(tss_coordinator_rate_limit_config, operator_burst)},
    {0},
};

/* low < target <= high (high 0: twice target); a fixed signer set has no
 * duplicates (its size is checked against the key's threshold at run time). */
static bool check_marks(int64_t target, int64_t low, int64_t high, tss_config_issue *issue) {
    if (target == 0) return true;
    if (low >= target) {
        issue->key = "low";
        return ISSUE(issue, "must be below target (%lld)", (long long)target);
    }
    if (high != 0 && high < target) {
        issue->key = "high";
        return ISSUE(issue, "must be at least target (%lld), or 0 for twice target",
                     (long long)target);
    }
    return true;
}

static const tss_config_enum storage_backends[] = {
    {"files", TSS_STORAGE_FILES},
    {"postgresql", TSS_STORAGE_POSTGRESQL},
    {NULL, 0},
};

static bool check_credential_name(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const char *s = *(char *const *)value;
    /* It becomes a file name under $CREDENTIALS_DIRECTORY. */
    if (strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return ISSUE(issue, "'%.64s' is not a credential name (no '/', not . or ..)", s);
    return true;
}

/* A password in conninfo would sit in a world-readable config. */
static bool check_conninfo(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const char *s = *(char *const *)value;
    for (const char *p = s; (p = strstr(p, "password")) != NULL; p++) {
        const char *q = p + 8;
        while (isspace((unsigned char)*q)) q++;
        if (*q == '=' && (p == s || isspace((unsigned char)p[-1])))
            return ISSUE(issue, "must not contain password=: use storage.password.file or "
                                "storage.password.credential");
    }
    if (strstr(s, "://"))
        return ISSUE(issue, "use libpq keyword=value pairs, not a URI (a URI may carry a "
                            "password)");
    return true;
}

static bool check_storage(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const tss_coordinator_storage_config *st = value;
    if (st->backend == TSS_STORAGE_POSTGRESQL && !st->conninfo) {
        issue->key = "conninfo";
        return ISSUE(issue, "required with backend postgresql");
    }
    if (st->password.file && st->password.credential) {
        issue->key = "password";
        return ISSUE(issue, "give at most one of file, credential");
    }
    return true;
}

static bool check_pool_key(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const tss_coordinator_pool_key *k = value;
    if (k->target == 0) {
        issue->key = "target";
        return ISSUE(issue, "must be at least 1 (leave the key out to use the defaults)");
    }
    for (size_t i = 0; i < k->signer_count; i++)
        for (size_t j = 0; j < i; j++)
            if (k->signers[i] == k->signers[j]) {
                issue->key = "signers";
                return ISSUE(issue, "party %lld named twice", (long long)k->signers[i]);
            }
    return check_marks(k->target, k->low, k->high, issue);
}

static bool check_pool_keys(const void *value, size_t count, tss_config_issue *issue) {
    const tss_coordinator_pool_key *k = value;
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(k[i].key, k[j].key) == 0) {
                issue->index = (long)i;
                return ISSUE(issue, "duplicate key '%.64s' (also keys[%zu])", k[i].key, j);
            }
    return true;
}

static bool check_pool(const void *value, size_t count, tss_config_issue *issue) {
    (void)count;
    const tss_coordinator_pool_config *p = value;
    return check_marks(p->target, p->low, p->high, issue);
}

static const tss_config_item pool_key_items[] = {
    {.name = "key", .type = TSS_CONFIG_STR, .flags = TSS_CONFIG_REQUIRED, .min = 1,
     .max = TSS_WIRE_MAX_KEY_ID, .offset = offsetof(tss_coordinator_pool_key, key)},
    {.name = "target", .type = TSS_CONFIG_INT, .flags = TSS_CONFIG_REQUIRED, .min = 1,
     .max = 100000, .offset = offsetof(tss_coordinator_pool_key, target)},
    {.name = "low", .type = TSS_CONFIG_INT, .flags = TSS_CONFIG_REQUIRED, .min = 0, .max = 100000,
     .offset = offsetof(tss_coordinator_pool_key, low)},
    {.name = "high", .type = TSS_CONFIG_INT, .min = 0, .max = 200000, .def = "0",
     .offset = offsetof(tss_coordinator_pool_key, high)},
    {.name = "max_age", .type = TSS_CONFIG_DURATION, .min = 0, .max = DAY(366), .def = "0s",
     .offset = offsetof(tss_coordinator_pool_key, max_age)},
    {.name = "signers", .type = TSS_CONFIG_INT, .flags = TSS_CONFIG_LIST, .min = 1,
     .max = TSS_CONFIG_MAX_PARTIES, .offset = offsetof(tss_coordinator_pool_key, signers),
     .count_offset = offsetof(tss_coordinator_pool_key, signer_count),
     .max_count = TSS_CONFIG_MAX_PARTIES},
    {0},
};

static const tss_config_item pool_items[] = {
    {.name = "target", .type = TSS_CONFIG_INT, .min = 0, .max = 100000, .def = "0",
     .offset = offsetof(tss_coordinator_pool_config, target)},
    {.name = "low", .type = TSS_CONFIG_INT, .min = 0, .max = 100000, .def = "0",
     .offset = offsetof(tss_coordinator_pool_config, low)},
    {.name = "high", .type = TSS_CONFIG_INT, .min = 0, .max = 200000, .def = "0",
     .offset = offsetof(tss_coordinator_pool_config, high)},
    {.name = "max_age", .type = TSS_CONFIG_DURATION, .min = 0, .max = DAY(366), .def = "0s",
     .offset = offsetof(tss_coordinator_pool_config, max_age)},
    {.name = "rate", .type = TSS_CONFIG_INT, .min = 1, .max = 100000, .def = "50",
     .offset = offsetof(tss_coordinator_pool_config, rate)},
    {.name = "max_refill", .type = TSS_CONFIG_INT, .min = 1, .max = 1024, .def = "2",
     .offset = offsetof(tss_coordinator_pool_config, max_refill)},
    {.name = "interval", .type = TSS_CONFIG_DURATION, .min = MS(50), .max = MINUTES(10),
     .def = "1s", .offset = offsetof(tss_coordinator_pool_config, interval)},
    {.name = "keys", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_LIST,
     .offset = offsetof(tss_coordinator_pool_config, keys), .sub = pool_key_items,
     .size = sizeof(tss_coordinator_pool_key), .check = check_pool_key,
     .count_offset = offsetof(tss_coordinator_pool_config, key_count),
     .max_count = TSS_CONFIG_MAX_POOL_KEYS, .check_list = check_pool_keys},
    {0},
};

static const tss_config_item storage_password_items[] = {
    {.name = "file", .type = TSS_CONFIG_PATH,
     .offset = offsetof(tss_coordinator_storage_password, file)},
    {.name = "credential", .type = TSS_CONFIG_STR, .min = 1, .max = 255,
     .offset = offsetof(tss_coordinator_storage_password, credential),
     .check = check_credential_name},
    {0},
};

static const tss_config_item storage_items[] = {
    {.name = "backend", .type = TSS_CONFIG_ENUM, .enums = storage_backends, .def = "files",
     .offset = offsetof(tss_coordinator_storage_config, backend)},
    {.name = "conninfo", .type = TSS_CONFIG_STR, .min = 1, .max = 1024,
     .offset = offsetof(tss_coordinator_storage_config, conninfo), .check = check_conninfo},
    {.name = "password", .type = TSS_CONFIG_SECTION,
     .offset = offsetof(tss_coordinator_storage_config, password), .sub = storage_password_items,
     .size = sizeof(tss_coordinator_storage_password)},
    {.name = "timeout", .type = TSS_CONFIG_DURATION, .min = SEC(1), .max = MINUTES(1),
     .def = "2s", .offset = offsetof(tss_coordinator_storage_config, timeout)},
    {.name = "name", .type = TSS_CONFIG_STR, .min = 1, .max = 64,
     .offset = offsetof(tss_coordinator_storage_config, name), .check = check_operator_name},
    {0},
};

static const tss_config_item coordinator_items[] = {
    {.name = "listen", .type = TSS_CONFIG_ADDR, .flags = TSS_CONFIG_LIST,
     .offset = offsetof(tss_coordinator_config, listen),
     .count_offset = offsetof(tss_coordinator_config, listen_count),
     .max_count = TSS_CONFIG_MAX_LISTEN},
    {.name = "tls", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_coordinator_config, tls), .sub = tss_config_tls_items,
     .size = sizeof(tss_config_tls)},
    {.name = "parties", .type = TSS_CONFIG_SECTION,
     .flags = TSS_CONFIG_REQUIRED | TSS_CONFIG_LIST,
     .offset = offsetof(tss_coordinator_config, parties), .sub = party_items,
     .size = sizeof(tss_config_party_entry), .check = check_party_entry,
     .count_offset = offsetof(tss_coordinator_config, party_count), .min_count = 2,
     .max_count = TSS_CONFIG_MAX_PARTIES, .check_list = check_parties},
    {.name = "operators", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_LIST,
     .offset = offsetof(tss_coordinator_config, operators), .sub = operator_items,
     .size = sizeof(tss_config_operator), .check = check_operator,
     .count_offset = offsetof(tss_coordinator_config, operator_count),
     .max_count = TSS_CONFIG_MAX_OPERATORS, .check_list = check_operators},
    {.name = "state_dir", .type = TSS_CONFIG_PATH, .def = "/var/lib/tssd",
     .offset = offsetof(tss_coordinator_config, state_dir)},
    {.name = "limits", .type = TSS_CONFIG_SECTION,
     .offset = offsetof(tss_coordinator_config, limits), .sub = limits_items,
     .size = sizeof(tss_coordinator_limits_config)},
    {.name = "timeouts", .type = TSS_CONFIG_SECTION,
     .offset = offsetof(tss_coordinator_config, timeouts), .sub = timeouts_items,
     .size = sizeof(tss_coordinator_timeouts_config), .check = check_timeouts},
    {.name = "audit", .type = TSS_CONFIG_SECTION,
     .offset = offsetof(tss_coordinator_config, audit), .sub = audit_items,
     .size = sizeof(tss_coordinator_audit_config)},
    {.name = "rate_limit", .type = TSS_CONFIG_SECTION,
     .offset = offsetof(tss_coordinator_config, rate_limit), .sub = rate_limit_items,
     .size = sizeof(tss_coordinator_rate_limit_config)},
    {.name = "pool", .type = TSS_CONFIG_SECTION,
     .offset = offsetof(tss_coordinator_config, pool), .sub = pool_items,
     .size = sizeof(tss_coordinator_pool_config), .check = check_pool},
    {.name = "storage", .type = TSS_CONFIG_SECTION,
     .offset = offsetof(tss_coordinator_config, storage), .sub = storage_items,
     .size = sizeof(tss_coordinator_storage_config), .check = check_storage},
    {.name = "log_level", .type = TSS_CONFIG_ENUM, .enums = tss_config_log_levels,
     .def = "info", .offset = offsetof(tss_coordinator_config, log_level)},
    {0},
};

const tss_config_item tss_config_coordinator_schema = {
    .name = NULL, .type = TSS_CONFIG_SECTION, .sub = coordinator_items,
    .size = sizeof(tss_coordinator_config),
};

tss_result tss_config_coordinator_load_file(tss_coordinator_config *out, const char *path) {
    return tss_config_load_file(&tss_config_coordinator_schema, out, path);
}

tss_result tss_config_coordinator_load_buffer(tss_coordinator_config *out, const char *name,
                                              const char *buf, size_t len) {
    return tss_config_load_buffer(&tss_config_coordinator_schema, out, name, buf, len);
}

void tss_config_coordinator_free(tss_coordinator_config *cfg) {
    tss_config_free(&tss_config_coordinator_schema, cfg);
}
