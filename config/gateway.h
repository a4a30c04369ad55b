/* tss-gateway configuration: the HTTPS listener applications use, the
 * operator channel to the coordinator, the clients and what each may do.
 * Applications authenticate with a client certificate carrying
 * urn:tssd:client:<name> or with a bearer token whose SHA-256 is listed here
 * (the token itself is never stored). */
#ifndef TSS_CONFIG_GATEWAY_H
#define TSS_CONFIG_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/common.h"
#include "config/schema.h"

#define TSS_GATEWAY_MAX_CLIENTS 256
#define TSS_GATEWAY_MAX_GRANTS 256
#define TSS_GATEWAY_MAX_TOKENS 4 /* per client: old and new during a rotation */
#define TSS_GATEWAY_MAX_PATHS 64 /* derived accounts per client */

typedef struct {
    char *name; /* [a-z0-9._-]{1,64}: the certificate's urn:tssd:client:<name> */
    bool certificate; /* a client certificate with that identity is accepted */
    char **token_sha256; /* 64 hex digits each: SHA-256 of a bearer token */
    size_t token_sha256_count;
    char **keys; /* key ids or 0x addresses; "*" grants every key */
    size_t key_count;
    char **methods; /* JSON-RPC methods and REST names; "*" grants all */
    size_t method_count;
    char **paths; /* BIP-32 non-hardened paths "m/a/b": derived accounts of the granted keys */
    size_t path_count;
} tss_gateway_client_config;

typedef struct {
    tss_config_addr *address;
    size_t address_count;
    tss_config_tls tls; /* an operator certificate: urn:tssd:operator:<name> */
} tss_gateway_coordinator_config;

typedef struct {
    int64_t max_connections;
    int64_t max_connections_per_client;
    uint64_t max_header_size; /* request line plus headers, bytes */
    int64_t max_headers;
    uint64_t max_body;
    int64_t max_batch;
    int64_t max_json_depth;
} tss_gateway_limits_config;

typedef struct { /* milliseconds */
    uint64_t request; /* from the first byte of a request to its last */
    uint64_t idle;    /* a kept-alive connection with no request */
    uint64_t sign;    /* waiting for the coordinator's answer */
} tss_gateway_timeouts_config;

typedef struct tss_gateway_config {
    tss_config_addr *listen; /* HTTPS */
    size_t listen_count;
    /* Plain HTTP, for a local reverse proxy or tests: loopback literals only
     * (127.0.0.0/8, ::1), and clients must then use bearer tokens. */
    tss_config_addr *plain_listen;
    size_t plain_listen_count;
    tss_config_tls tls; /* HTTPS certificate, and the CA bundle for client certificates */
    tss_gateway_coordinator_config coordinator;
    int64_t chain_id;
    tss_gateway_client_config *clients;
    size_t client_count;
    tss_gateway_limits_config limits;
    tss_gateway_timeouts_config timeouts;
    char *audit_dir; /* the gateway's hash-chained audit log (daemon/audit.h) */
    char *downstream; /* "http://host:port/path" of an Ethereum node, or NULL */
    int log_level;
} tss_gateway_config;

extern const tss_config_item tss_config_gateway_schema;

TSS_MUST_CHECK tss_result tss_config_gateway_load_file(tss_gateway_config *out, const char *path);
TSS_MUST_CHECK tss_result tss_config_gateway_load_buffer(tss_gateway_config *out, const char *name,
                                                         const char *buf, size_t len);
void tss_config_gateway_free(tss_gateway_config *cfg);

#endif
