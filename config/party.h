/* Party daemon configuration (packaging/examples/party.yaml shows every key). */
#ifndef TSS_CONFIG_PARTY_H
#define TSS_CONFIG_PARTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/common.h"
#include "config/schema.h"

#define TSS_CONFIG_ED25519_LEN 32

/* keystore.passphrase: exactly one source. */
typedef enum {
    TSS_PASSPHRASE_FILE = 1,       /* read from a file */
    TSS_PASSPHRASE_CREDENTIAL = 2, /* systemd credential: $CREDENTIALS_DIRECTORY/<name> */
    TSS_PASSPHRASE_FD = 3,         /* an inherited file descriptor */
} tss_config_passphrase_kind;

typedef struct {
    int kind; /* tss_config_passphrase_kind */
    char *file;
    char *credential;
    int64_t fd;
} tss_config_passphrase;

typedef struct {
    char *dir;
    tss_config_passphrase passphrase;
} tss_party_keystore_config;

/* One coordinator: its addresses are alternatives for that one coordinator. */
typedef struct {
    tss_config_addr *address; /* tried in order, at least one */
    size_t address_count;
    char *server_name; /* TLS SNI; NULL: the host of the address being dialled */
} tss_party_coordinator_config;

/* Coordinators a party serves at once (`coordinators:` list). */
#define TSS_PARTY_MAX_COORDINATORS 8

typedef struct {
    int64_t id;
    uint8_t identity[TSS_CONFIG_ED25519_LEN]; /* pinned Ed25519 public key */
} tss_config_peer;

typedef struct {
    uint64_t max_frame_size; /* bytes, header included */
    int64_t max_sessions;
} tss_party_limits_config;

typedef struct { /* all in milliseconds */
    uint64_t heartbeat;
    uint64_t connect;
    uint64_t round;
    uint64_t backoff_initial;
    uint64_t backoff_max;
} tss_party_timeouts_config;

/* approvals.approvers[]: an approver's Ed25519 key pinned by name (the layout
 * of policy/approval.h tss_approver_pin, so the party can use the array as is). */
#define TSS_CONFIG_APPROVER_NAME_MAX 64
#define TSS_CONFIG_MAX_APPROVERS 64
typedef struct {
    char name[TSS_CONFIG_APPROVER_NAME_MAX + 1];
    uint8_t public_key[TSS_CONFIG_ED25519_LEN];
} tss_config_approver;

typedef struct {
    tss_config_approver *approvers;
    size_t approver_count;
    uint64_t clock_skew;   /* ms; tolerance on an approval's expiry */
    uint64_t max_lifetime; /* ms; an approval may expire at most this far ahead */
} tss_party_approvals_config;

typedef struct tss_party_config {
    int64_t party_id;
    tss_party_keystore_config keystore;
    /* Exactly one of the two is given: `coordinator` (one coordinator, the
     * original form) or `coordinators` (several, all served at once). Read
     * them through tss_config_party_coordinators. */
    tss_party_coordinator_config coordinator;
    tss_party_coordinator_config *coordinators;
    size_t coordinator_count;
    tss_config_tls tls;
    tss_config_peer *peers; /* the other parties, never this one */
    size_t peer_count;
    tss_party_limits_config limits;
    tss_party_timeouts_config timeouts;
    char *state_dir;
    int log_level;     /* syslog priority */
    tss_party_approvals_config approvals;
    char *policy_file; /* NULL: no signing policy (any request of a held key is signed) */
    bool allow_retire; /* erase a key's share when the coordinator says it is retired */
} tss_party_config;

extern const tss_config_item tss_config_party_schema;

TSS_MUST_CHECK tss_result tss_config_party_load_file(tss_party_config *out, const char *path);
TSS_MUST_CHECK tss_result tss_config_party_load_buffer(tss_party_config *out, const char *name,
                                                       const char *buf, size_t len);
void tss_config_party_free(tss_party_config *cfg);

/* The coordinators this party connects to (1..TSS_PARTY_MAX_COORDINATORS):
 * the `coordinators` list, or the single `coordinator`. */
const tss_party_coordinator_config *tss_config_party_coordinators(const tss_party_config *cfg,
                                                                  size_t *count);

#endif
