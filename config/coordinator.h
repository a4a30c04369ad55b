/* Coordinator daemon configuration (packaging/examples/coordinator.yaml shows every key). */
#ifndef TSS_CONFIG_COORDINATOR_H
#define TSS_CONFIG_COORDINATOR_H

#include <stddef.h>
#include <stdint.h>

#include "config/common.h"
#include "config/schema.h"

#define TSS_CONFIG_MAX_OPERATORS 64
#define TSS_CONFIG_MAX_LISTEN 16

/* A party the coordinator serves: its TLS identity must be urn:tssd:party:<id>. */
typedef struct {
    int64_t id;
    char *identity;
} tss_config_party_entry;

/* An operator (tssctl) allowed in: identity urn:tssd:operator:<name>. */
typedef struct {
    char *name;
    char *identity;
} tss_config_operator;

typedef struct {
    int64_t max_connections;
    uint64_t max_frame_size; /* bytes, header included */
    int64_t max_sessions;
    int64_t max_pending_frames; /* queued per connection before it is dropped */
    int64_t max_unauthenticated;  /* connections not yet through TLS, all addresses */
    int64_t max_unauthenticated_per_address;
    int64_t connection_rate;      /* new connections per second and address (burst 4x) */
    int64_t max_queued; /* requests waiting for session capacity (daemon/coordinator/admission.h) */
} tss_coordinator_limits_config;

typedef struct { /* all in milliseconds */
    uint64_t heartbeat;
    uint64_t handshake;
    uint64_t idle;
    uint64_t round;
    uint64_t liveness; /* a party silent this long is not chosen and its sessions fail */
    uint64_t preauth;  /* TLS handshake deadline of an accepted connection */
    uint64_t queue; /* longest a request waits for capacity before it is refused */
} tss_coordinator_timeouts_config;

/* The audit log (daemon/audit.h): segments rotate by size and age; records of
 * read-only and refused requests are written and fdatasynced within sync_interval. */
typedef struct {
    uint64_t rotate_size;   /* bytes, 0: never */
    uint64_t rotate_age;    /* ms, 0: never */
    uint64_t sync_interval; /* ms */
} tss_coordinator_audit_config;

/* Per-operator token buckets (daemon/ratelimit.h); rate 0 disables. */
typedef struct {
    int64_t operator_rate;  /* requests per second */
    int64_t operator_burst; /* requests saved up */
} tss_coordinator_rate_limit_config;

/* The presignature pool (daemon/pool_policy.h, docs/OPERATIONS.md "Presignature
 * pool"): per key, refill presign sessions keep the stock usable now between
 * low and target (never above high in all), at most `rate` a second and
 * max_refill at once; presignatures older than max_age are retired. */
#define TSS_CONFIG_MAX_POOL_KEYS 256
typedef struct {
    char *key;               /* key id */
    int64_t target, low, high; /* high 0: twice target */
    uint64_t max_age;        /* ms, 0: never retired */
    int64_t *signers;        /* empty: the coordinator chooses (rotating, least loaded) */
    size_t signer_count;
} tss_coordinator_pool_key;

typedef struct {
    int64_t target, low, high; /* for keys without an entry in keys; target 0: no pool */
    uint64_t max_age;
    int64_t rate;       /* refill sessions started per second, all keys */
    int64_t max_refill; /* refill sessions running at once, all keys */
    uint64_t interval;  /* ms between checks when nothing else wakes the pool */
    tss_coordinator_pool_key *keys;
    size_t key_count;
} tss_coordinator_pool_config;
/* Where the durable state lives (daemon/coordinator/store.h, docs/STORAGE.md). */
typedef enum {
    TSS_STORAGE_FILES = 0,      /* state_dir (default) */
    TSS_STORAGE_POSTGRESQL = 1, /* libpq; several coordinators may share it */
} tss_coordinator_storage_backend;

/* storage.password: at most one source (never argv or the environment). */
typedef struct {
    char *file; /* mode 0600 or stricter */
    char *credential; /* systemd credential name */
} tss_coordinator_storage_password;

typedef struct {
    int backend; /* tss_coordinator_storage_backend */
    char *conninfo; /* libpq keywords; password= refused */
    tss_coordinator_storage_password password;
    uint64_t timeout; /* ms: longest one database call may take */
    char *name;       /* this coordinator's name in rows; NULL: the host name */
} tss_coordinator_storage_config;

typedef struct tss_coordinator_config {
    tss_config_addr *listen; /* may be empty when socket-activated */
    size_t listen_count;
    tss_config_tls tls;
    tss_config_party_entry *parties;
    size_t party_count;
    tss_config_operator *operators;
    size_t operator_count;
    char *state_dir;
    tss_coordinator_limits_config limits;
    tss_coordinator_timeouts_config timeouts;
    tss_coordinator_audit_config audit;
    tss_coordinator_rate_limit_config rate_limit;
    tss_coordinator_pool_config pool;
    tss_coordinator_storage_config storage;
    int log_level; /* syslog priority */
} tss_coordinator_config;

extern const tss_config_item tss_config_coordinator_schema;

TSS_MUST_CHECK tss_result tss_config_coordinator_load_file(tss_coordinator_config *out,
                                                           const char *path);
TSS_MUST_CHECK tss_result tss_config_coordinator_load_buffer(tss_coordinator_config *out,
                                                             const char *name, const char *buf,
                                                             size_t len);
void tss_config_coordinator_free(tss_coordinator_config *cfg);

#endif
